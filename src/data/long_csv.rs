//! The common long CSV (`task,worker,label`, no quotes) read in one pass over the file's
//! bytes, ids interned as they are met.
//!
//! Written by hand rather than with the csv crate because the crate hands out one record at a
//! time, whose fields must then be copied out before the next record overwrites them: on a
//! million labels the record loop, the copy into a text buffer and a second pass to intern
//! the ids took most of `conal aggregate`'s time. Here every field stays a slice of the one
//! file buffer and is interned at once.
//!
//! This path accepts only what it reads exactly as the csv path does, and gives up (returns
//! `None`) on anything else: a quote anywhere in the file, a byte-order mark, a carriage
//! return inside a line, a row with another number of fields than the header, an empty field,
//! a label outside a fixed class list, a task outside the fixed items, a repeated (task,
//! worker) pair, `--duplicates keep-last`. The caller then reads the same bytes with the csv
//! crate, which gives the message (file, line, what was expected) or the result. A test
//! checks that both paths build the same labels.

use rustc_hash::FxHashMap;

use crate::data::Annotation;
use crate::data::labels::{Built, Items, first_repeat, sort_labels};

/// The three columns the reader looks for in the header.
pub(crate) struct Columns<'a> {
    pub task: &'a str,
    pub worker: &'a str,
    pub label: &'a str,
}

/// `str::trim`, with a fast path for the usual field that starts and ends with a visible
/// ASCII character (nothing to trim).
fn trim(field: &str) -> &str {
    let b = field.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => field,
        _ => field.trim(),
    }
}

/// A first-appearance interner for labels: usually a handful of distinct values, where a
/// linear scan beats hashing; a map takes over past [`LabelSet::SCAN`] of them.
#[derive(Default)]
struct LabelSet<'a> {
    seen: Vec<&'a str>,
    map: FxHashMap<&'a str, u32>,
}

impl<'a> LabelSet<'a> {
    const SCAN: usize = 16;

    fn index(&mut self, label: &'a str) -> u32 {
        let found = if self.seen.len() <= Self::SCAN {
            self.seen.iter().position(|&l| l == label).map(|i| i as u32)
        } else {
            self.map.get(label).copied()
        };
        found.unwrap_or_else(|| {
            let i = self.seen.len() as u32;
            self.seen.push(label);
            self.map.insert(label, i);
            i
        })
    }
}

/// Crowd labels from the long CSV `text`, numbered as [`crate::data::labels::build_labels`]
/// numbers them (workers and grown items in order of first appearance, classes sorted unless
/// fixed), or `None` where the csv path must read the file (see the module's docs).
pub(crate) fn read(
    text: &str,
    delimiter: u8,
    columns: &Columns<'_>,
    items: &Items<'_>,
    classes: Option<&[String]>,
) -> Option<Built> {
    let bytes = text.as_bytes();
    if !delimiter.is_ascii()
        || matches!(delimiter, b'"' | b'\n' | b'\r')
        || memchr::memchr(b'"', bytes).is_some()
        || bytes.starts_with("\u{feff}".as_bytes())
    {
        return None;
    }
    let has_cr = memchr::memchr(b'\r', bytes).is_some();
    let delimiter_byte = delimiter;
    let delimiter = char::from(delimiter);
    let (header, body) = match memchr::memchr(b'\n', bytes) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let header = header.strip_suffix('\r').unwrap_or(header);
    if header.is_empty() || (has_cr && header.contains('\r')) {
        return None;
    }
    let names: Vec<&str> = header.split(delimiter).map(str::trim).collect();
    let find = |name: &str| names.iter().position(|&h| h == name);
    let (t, w, l) = (
        find(columns.task)?,
        find(columns.worker)?,
        find(columns.label)?,
    );
    let n_fields = names.len();

    let (mut item_ids, mut item_index, fixed) = match items {
        Items::Fixed { ids, .. } => (
            ids.to_vec(),
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i as u32))
                .collect::<FxHashMap<&str, u32>>(),
            true,
        ),
        // Sized for about 5 labels a task at 15 bytes a label (growing the map rehashed a
        // tenth of the read).
        Items::Grow => {
            let tasks = bytes.len() / 75;
            (
                Vec::with_capacity(tasks),
                FxHashMap::with_capacity_and_hasher(tasks, Default::default()),
                false,
            )
        }
    };
    let class_index: Option<FxHashMap<&str, u32>> = classes.map(|c| {
        c.iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect()
    });
    let mut labels = LabelSet::default();
    let mut workers: Vec<String> = Vec::new();
    let mut worker_index: FxHashMap<&str, u32> = FxHashMap::default();
    // About 15 bytes a label in the usual files.
    let mut annotations: Vec<Annotation> = Vec::with_capacity(bytes.len() / 12);
    // Files usually list an item's labels together: the last task's index saves a lookup.
    let mut last_task: Option<(&str, u32)> = None;
    let mut fields: Vec<&str> = Vec::with_capacity(n_fields);
    // One pass over the body for field and line ends together.
    let body_bytes = body.as_bytes();
    let mut ends = memchr::memchr2_iter(delimiter_byte, b'\n', body_bytes);
    let mut at = 0;
    loop {
        let end = ends.next();
        if end.is_none() && at >= body_bytes.len() && fields.is_empty() {
            break;
        }
        let pos = end.unwrap_or(body_bytes.len());
        fields.push(&body[at..pos]);
        at = pos + 1;
        if end.is_some_and(|e| body_bytes[e] != b'\n') {
            continue; // a field end within the line
        }
        // The line is complete: a `\r` before its `\n` is dropped.
        if let Some(last) = fields.last_mut() {
            *last = last.strip_suffix('\r').unwrap_or(last);
        }
        if fields.len() == 1 && fields[0].is_empty() {
            // The csv crate skips empty lines too.
            fields.clear();
            if end.is_none() {
                break;
            }
            continue;
        }
        if has_cr && fields.iter().any(|f| f.contains('\r')) {
            return None;
        }
        if fields.len() != n_fields {
            return None;
        }
        let field = |c: usize| {
            let v = trim(fields[c]);
            (!v.is_empty()).then_some(v)
        };
        let (task, worker, label) = (field(t)?, field(w)?, field(l)?);
        let item = match last_task {
            Some((id, i)) if id == task => i,
            _ => {
                let i = match item_index.get(task) {
                    Some(&i) => i,
                    None if fixed => return None,
                    None => {
                        let i = item_ids.len() as u32;
                        item_ids.push(task.to_string());
                        item_index.insert(task, i);
                        i
                    }
                };
                last_task = Some((task, i));
                i
            }
        };
        let worker = match worker_index.get(worker) {
            Some(&r) => r,
            None => {
                let r = workers.len() as u32;
                workers.push(worker.to_string());
                worker_index.insert(worker, r);
                r
            }
        };
        let label = match &class_index {
            Some(index) => *index.get(label)?,
            None => labels.index(label),
        };
        annotations.push(Annotation {
            item,
            worker,
            label,
        });
        fields.clear();
        if end.is_none() {
            break;
        }
    }
    // The csv path says "no crowd labels in the file", or names the repeated pair.
    if annotations.is_empty() || first_repeat(&annotations, item_ids.len()).is_some() {
        return None;
    }
    let classes = match classes {
        Some(c) => c.to_vec(),
        None => {
            // First-appearance numbers → positions in the sorted class list.
            let sorted = sort_labels(labels.seen.iter().map(|l| l.to_string()).collect());
            let position: Vec<u32> = labels
                .seen
                .iter()
                .map(|l| sorted.iter().position(|c| c == l).unwrap_or(0) as u32)
                .collect();
            for a in &mut annotations {
                a.label = position[a.label as usize];
            }
            sorted
        }
    };
    Some(Built {
        annotations,
        classes,
        workers,
        items: item_ids,
    })
}
