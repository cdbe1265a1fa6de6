//! The library's source files import each other without cycles, and each top-level module
//! imports only modules below it in [`LAYERS`] (the data flow: files → data → model → train
//! → configuration → checkpoint → reports → the training flow → estimators).
//!
//! How: every path a file uses — `crate::a::b::…`, `super::…`, `self::…` and paths that
//! start at one of the file's own child modules (`mod x;` … `x::f()` or `use x::Y`), in `use`
//! items and in code, `{…}` groups expanded — is resolved to the file that defines what it
//! names: the deepest module file it names (`src/a/b.rs`, `src/a/b/mod.rs`), and, where that
//! module only re-exports the name (`pub use child::Y`), the file the re-export points to.
//! A `pub use child::Y` is itself an edge from the parent to the child, so a child that
//! imports something its parent defines makes a parent ⇄ child loop, which is reported: the
//! shared item belongs in a leaf file both import. `mod x;` alone is not an edge. The binary
//! (`src/bin/`) is not part of the library and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest first. A module may import only those before it.
const LAYERS: &[&str] = &[
    "error",
    "io",
    "rng",
    "metrics",
    "progress",
    "data",
    "loss",
    "model",
    "aggregate",
    "train",
    "config",
    "checkpoint",
    "report",
    "run",
    "estimator",
    "experiment",
    "bench",
    "lib",
];

/// A source tree under analysis.
struct Tree {
    src: PathBuf,
}

impl Tree {
    fn crate_src() -> Self {
        Tree {
            src: Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        }
    }

    fn rust_files(&self, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "bin" {
                    self.rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` → [a, b]; `lib.rs` → [].
    fn module_of(&self, file: &Path) -> Vec<String> {
        let rel = file.strip_prefix(&self.src).unwrap();
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        parts
    }

    /// The file of module `path` exactly, if it exists.
    fn module_file(&self, path: &[String]) -> Option<PathBuf> {
        if path.is_empty() {
            return Some(self.src.join("lib.rs"));
        }
        let base = self.src.join(path.join("/"));
        [base.with_extension("rs"), base.join("mod.rs")]
            .into_iter()
            .find(|f| f.is_file())
    }

    /// The file that defines what `path` names: the deepest module file, or where that
    /// module re-exports the next segment, the re-export's target (followed `depth` times).
    fn resolve(&self, path: &[String], depth: usize) -> Option<PathBuf> {
        for n in (0..=path.len()).rev() {
            let Some(file) = self.module_file(&path[..n]) else {
                continue;
            };
            if depth > 0
                && let Some(name) = path.get(n)
                && let Some(target) = self.reexports(&file).get(name)
            {
                let mut next = target.clone();
                next.extend_from_slice(&path[n + 1..]);
                return self.resolve(&next, depth - 1).or(Some(file));
            }
            return Some(file);
        }
        None
    }

    /// The names `file` re-exports (`pub use …`), each with the absolute path it names.
    fn reexports(&self, file: &Path) -> BTreeMap<String, Vec<String>> {
        let text = std::fs::read_to_string(file).unwrap();
        let module = self.module_of(file);
        let children = child_modules(&text);
        let mut out = BTreeMap::new();
        for (at, _) in text.match_indices("pub use ") {
            let start = at + "pub use ".len();
            let mut paths = Vec::new();
            paths_after(&text, start, Vec::new(), &mut paths);
            for p in paths {
                let Some(abs) = self.absolute(file, &module, &children, &p) else {
                    continue;
                };
                if let Some(last) = abs.last() {
                    out.insert(last.clone(), abs);
                }
            }
        }
        out
    }

    /// `path` as written in `file` (module `module`, child modules `children`) made absolute
    /// from the crate root; `None` for paths outside the crate (`std::`, `burn::`, …).
    fn absolute(
        &self,
        file: &Path,
        module: &[String],
        children: &BTreeSet<String>,
        path: &[String],
    ) -> Option<Vec<String>> {
        let first = path.first()?;
        let is_mod_file = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let mut base = module.to_vec();
        match first.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "self" => {
                base.extend_from_slice(&path[1..]);
                Some(base)
            }
            "super" => {
                if !is_mod_file {
                    base.pop();
                }
                base.pop();
                base.extend_from_slice(&path[1..]);
                Some(base)
            }
            // A child of `a/b.rs` lives in `a/b/`, of `a/mod.rs` in `a/`: both [a, b, …].
            name if children.contains(name) => {
                base.extend_from_slice(path);
                Some(base)
            }
            _ => None,
        }
    }

    /// The files `file` imports.
    fn imports(&self, file: &Path) -> BTreeSet<PathBuf> {
        let text = std::fs::read_to_string(file).unwrap();
        let module = self.module_of(file);
        let children = child_modules(&text);
        let mut paths = Vec::new();
        let mut roots: Vec<String> = vec!["crate".into(), "super".into(), "self".into()];
        roots.extend(children.iter().cloned());
        for root in &roots {
            let needle = format!("{root}::");
            for (at, _) in text.match_indices(&needle) {
                let before = text[..at].chars().next_back();
                // Part of a longer path or identifier (`$crate::`, `conal::`, `a::b::x::`).
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                    continue;
                }
                let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                if text[line_start..at].trim_start().starts_with("//") {
                    continue;
                }
                let mut found = Vec::new();
                paths_after(&text, at + needle.len(), vec![root.clone()], &mut found);
                paths.extend(found);
            }
        }
        // `crate::Error` and the like name the root's re-exports, not the root itself.
        let root = self.src.join("lib.rs");
        paths
            .iter()
            .filter_map(|p| self.absolute(file, &module, &children, p))
            .filter_map(|p| self.resolve(&p, 8))
            .filter(|f| f != file && *f != root)
            .collect()
    }

    fn graph(&self) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        let mut files = Vec::new();
        self.rust_files(&self.src, &mut files);
        files
            .into_iter()
            .map(|f| (f.clone(), self.imports(&f)))
            .collect()
    }

    fn name(&self, file: &Path) -> String {
        file.strip_prefix(&self.src).unwrap().display().to_string()
    }

    /// The first import cycle of the graph, as file names.
    fn first_cycle(&self) -> Option<Vec<String>> {
        let g = self.graph();
        let mut done = BTreeSet::new();
        for node in g.keys() {
            if let Some(cycle) = find_cycle(&g, node, &mut Vec::new(), &mut done) {
                return Some(cycle.iter().map(|f| self.name(f)).collect());
            }
        }
        None
    }
}

/// The child modules a file declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn child_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            let name = rest.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// Identifiers after `start` separated by `::`; a `{…}` group yields each member's first
/// path; `X as Y` keeps X.
fn paths_after(text: &str, start: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let bytes = text.as_bytes();
    let mut path = prefix;
    let mut i = start;
    loop {
        let j = i + text[i..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len() - i);
        if j > i {
            path.push(text[i..j].to_string());
        }
        if text[j..].starts_with("::{") {
            // A group: split its top level on commas.
            let mut depth = 0;
            let mut k = j + 3;
            let mut member_start = k;
            while k < bytes.len() {
                match bytes[k] {
                    b'{' => depth += 1,
                    b'}' if depth == 0 => {
                        // (A trailing comma leaves an empty last member.)
                        let m = text[member_start..k].trim_start();
                        if !m.trim().is_empty() {
                            paths_after(text, k - m.len(), path.clone(), out);
                        }
                        break;
                    }
                    b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        let m = text[member_start..k].trim_start();
                        let offset = k - m.len();
                        paths_after(text, offset, path.clone(), out);
                        member_start = k + 1;
                    }
                    _ => {}
                }
                k += 1;
            }
            return;
        }
        if text[j..].starts_with("::") && j > i {
            i = j + 2;
            continue;
        }
        if !path.is_empty() {
            out.push(path);
        }
        return;
    }
}

/// A cycle through `node`, if the graph has one reachable from it.
fn find_cycle(
    graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    node: &PathBuf,
    stack: &mut Vec<PathBuf>,
    done: &mut BTreeSet<PathBuf>,
) -> Option<Vec<PathBuf>> {
    if let Some(at) = stack.iter().position(|n| n == node) {
        return Some(stack[at..].to_vec());
    }
    if done.contains(node) {
        return None;
    }
    stack.push(node.clone());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(c) = find_cycle(graph, next, stack, done) {
            return Some(c);
        }
    }
    stack.pop();
    done.insert(node.clone());
    None
}

#[test]
fn the_resolver_sees_imports() {
    // Known edges, so that a resolver that finds nothing cannot pass the tests below.
    let t = Tree::crate_src();
    let g = t.graph();
    let at = |f: &str| t.src.join(f);
    let single = &g[&at("run/single.rs")];
    assert!(single.contains(&at("train/trainer.rs")), "{single:?}");
    assert!(single.contains(&at("checkpoint/state.rs")), "{single:?}");
    // `crate::run::Member` is defined in run/fitted.rs, which run/mod.rs re-exports.
    let ensemble = &g[&at("run/ensemble.rs")];
    assert!(ensemble.contains(&at("run/fitted.rs")), "{ensemble:?}");
    assert!(!ensemble.contains(&at("run/mod.rs")), "{ensemble:?}");
    // A parent's `pub use child::X` and its calls `child::f()` are edges to the child.
    let run = &g[&at("run/mod.rs")];
    assert!(run.contains(&at("run/single.rs")), "{run:?}");
    assert!(run.contains(&at("run/fitted.rs")), "{run:?}");
    assert!(g.len() > 50, "only {} files found", g.len());
}

#[test]
fn no_import_cycle_between_files() {
    if let Some(cycle) = Tree::crate_src().first_cycle() {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}

/// The check finds a parent ⇄ child loop planted in a small tree, and none once the shared
/// type moves to a leaf file.
#[test]
fn a_planted_parent_child_loop_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let write = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod run;\n");
    write(
        "run/mod.rs",
        "mod single;\npub use single::train;\n/// Shared.\npub struct Outputs;\n",
    );
    write(
        "run/single.rs",
        "use crate::run::Outputs;\npub fn train(_: Outputs) {}\n",
    );
    let tree = Tree { src: src.clone() };
    let cycle = tree.first_cycle().expect("the loop is found");
    assert!(
        cycle.contains(&"run/mod.rs".to_string()) && cycle.contains(&"run/single.rs".to_string()),
        "{cycle:?}"
    );
    // The shared type in a leaf: no loop.
    write(
        "run/mod.rs",
        "mod outputs;\nmod single;\npub use outputs::Outputs;\npub use single::train;\n",
    );
    write("run/outputs.rs", "/// Shared.\npub struct Outputs;\n");
    assert_eq!(tree.first_cycle(), None);
}

#[test]
fn modules_import_only_lower_layers() {
    let t = Tree::crate_src();
    let g = t.graph();
    let top = |file: &Path| {
        t.module_of(file)
            .first()
            .cloned()
            .unwrap_or_else(|| "lib".into())
    };
    let layer = |m: &str| {
        LAYERS
            .iter()
            .position(|l| *l == m)
            .unwrap_or_else(|| panic!("top-level module {m} is not in LAYERS"))
    };
    let mut wrong = Vec::new();
    for (file, deps) in &g {
        let from = top(file);
        for dep in deps {
            let to = top(dep);
            if from != to && layer(&to) > layer(&from) {
                wrong.push(format!(
                    "{} imports {} ({from} is below {to})",
                    t.name(file),
                    t.name(dep)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}
