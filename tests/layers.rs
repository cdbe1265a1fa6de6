//! The library's source files import each other without cycles, and each top-level module
//! imports only modules below it in [`LAYERS`] (the data flow: files → data → model → train
//! → run configuration → checkpoint → reports → the training flow → estimators).
//!
//! How: every `crate::a::b::…` path in a file under `src/` (in `use` items and in code; `{…}`
//! groups expanded) is resolved to the deepest file it names (`src/a/b.rs`, `src/a/b/mod.rs`,
//! else `src/a.rs` / `src/a/mod.rs`), and `super::` to the parent module's file. The binary
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
    "spec",
    "checkpoint",
    "report",
    "run",
    "estimator",
    "experiment",
    "bench",
    "lib",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "bin" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` → [a, b]; `src/lib.rs` → [].
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file of the deepest module that `path` names.
fn resolve(path: &[String]) -> Option<PathBuf> {
    for n in (0..=path.len()).rev() {
        let base = src().join(path[..n].join("/"));
        let candidates = if n == 0 {
            vec![src().join("lib.rs")]
        } else {
            vec![base.with_extension("rs"), base.join("mod.rs")]
        };
        if let Some(f) = candidates.into_iter().find(|f| f.is_file()) {
            return Some(f);
        }
    }
    None
}

/// Identifiers after `start` separated by `::`; a `{…}` group yields each member's first path.
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
                        let m = text[member_start..k].trim_start();
                        let offset = k - m.len();
                        paths_after(text, offset, path.clone(), out);
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
        out.push(path);
        return;
    }
}

fn imports(file: &Path) -> BTreeSet<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap();
    let module = module_of(file);
    let mut paths = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        // `$crate::` in macros and `conal::` in doc examples are not library imports.
        if at > 0 && text.as_bytes()[at - 1] == b'$' {
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..at].trim_start().starts_with("//") {
            continue;
        }
        paths_after(&text, at + "crate::".len(), Vec::new(), &mut paths);
    }
    for (at, _) in text.match_indices("super::") {
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..at].trim_start().starts_with("//") {
            continue;
        }
        let is_mod_file = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let mut parent = module.clone();
        if !is_mod_file {
            parent.pop();
        }
        parent.pop();
        paths_after(&text, at + "super::".len(), parent, &mut paths);
    }
    // `crate::Error` and the like name the root's re-exports, not the root itself.
    let root = src().join("lib.rs");
    paths
        .iter()
        .filter_map(|p| resolve(p))
        .filter(|f| f != file && *f != root)
        .collect()
}

fn graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files
        .into_iter()
        .map(|f| (f.clone(), imports(&f)))
        .collect()
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

fn top(file: &Path) -> String {
    module_of(file)
        .first()
        .cloned()
        .unwrap_or_else(|| "lib".into())
}

#[test]
fn the_resolver_sees_imports() {
    // A known edge, so that a resolver that finds nothing cannot pass the tests below.
    let g = graph();
    let run = src().join("run/single.rs");
    assert!(
        g[&run].contains(&src().join("train/mod.rs")),
        "{:?}",
        g[&run]
    );
    assert!(
        g[&run].contains(&src().join("checkpoint/state.rs")),
        "{:?}",
        g[&run]
    );
    assert!(g.len() > 50, "only {} files found", g.len());
}

#[test]
fn no_import_cycle_between_files() {
    let g = graph();
    let mut done = BTreeSet::new();
    for node in g.keys() {
        if let Some(cycle) = find_cycle(&g, node, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle
                .iter()
                .map(|f| f.strip_prefix(src()).unwrap().display().to_string())
                .collect();
            panic!("import cycle: {}", names.join(" → "));
        }
    }
}

#[test]
fn modules_import_only_lower_layers() {
    let g = graph();
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
                    file.strip_prefix(src()).unwrap().display(),
                    dep.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}
