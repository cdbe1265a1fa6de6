//! The common long CSV (`task,worker,label`, no quotes) read in one pass over the file's
//! bytes, ids interned as they are met.
//!
//! Written by hand rather than with the csv crate because the crate hands out one record at a
//! time, whose fields must then be copied out before the next record overwrites them: on a
//! million labels the record loop, the copy into a text buffer and a second pass to intern
//! the ids took most of `conal aggregate`'s time. Here every field stays a slice of the one
//! file buffer and is interned at once.
//!
//! Where a million labels' read goes, and what this module does about it (measured with
//! `perf` on the 1 M crowd of `conal bench --shape aggregate`):
//! - field and line ends: a word-at-a-time scan ([`Ends`]) rather than memchr2's iterator,
//!   whose per-match call cost more than the search itself on 3-byte fields;
//! - ids: one of up to 15 bytes is compared and hashed as one integer ([`pack`]), not
//!   through `memcmp` and a byte-wise hash;
//! - tasks: most files list each task's labels together. Then items are numbered run by run,
//!   with no lookup, and are checked to be distinct once at the end (a cache-friendly pass
//!   over their hashes): inserting 200,000 ids into a map as they came, one cache miss
//!   each, was a third of the read. A task that comes back in a later run sends the read to
//!   a second pass that numbers tasks through a map. Each run is sorted (worker, label) as
//!   it ends, while it is in cache, which also finds a repeated pair; the labels then arrive
//!   at [`crate::data::CrowdLabels`] already in its order.
//!
//! This path accepts only what it reads exactly as the csv path does, and gives up (returns
//! `None`) on anything else: a quote anywhere in the file, a byte-order mark, a carriage
//! return inside a line, a row with another number of fields than the header, an empty field,
//! a label outside a fixed class list, a task outside the fixed items, a repeated (task,
//! worker) pair, `--duplicates keep-last`. The caller then reads the same bytes with the csv
//! crate, which gives the message (file, line, what was expected) or the result. Tests check
//! that both paths build the same labels.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::data::Annotation;
use crate::data::labels::{Built, Items, first_repeat, sort_labels};

/// The three columns the reader looks for in the header.
pub(crate) struct Columns<'a> {
    pub task: &'a str,
    pub worker: &'a str,
    pub label: &'a str,
}

/// A field's byte range in the file.
type Span = (usize, usize);

/// The span of `text[start..end]` with surrounding whitespace removed as `str::trim` removes
/// it, with a fast path for the usual field that starts and ends with a visible ASCII
/// character (nothing to trim).
#[inline(always)]
fn trim(text: &str, (start, end): Span) -> Span {
    let b = &text.as_bytes()[start..end];
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => (start, end),
        _ => {
            let rest = text[start..end].trim_start();
            let start = end - rest.len();
            (start, start + rest.trim_end().len())
        }
    }
}

/// The id `bytes[start..end]` as one integer when it has at most 15 bytes: its bytes
/// (little-endian) with its length in the top byte, so that two ids are equal exactly when
/// their keys are. Comparing and hashing a key takes no call, where `&str` keys went through
/// `memcmp` (a tenth of the read).
#[inline]
fn pack(bytes: &[u8], (start, end): Span) -> Option<u128> {
    let len = end - start;
    if len > 15 {
        return None;
    }
    // A fixed-size read (a slice copy called memmove, a tenth of the read).
    let word = match bytes[start..].first_chunk::<16>() {
        Some(w) => *w,
        None => {
            let mut w = [0u8; 16];
            w[..len].copy_from_slice(&bytes[start..end]);
            w
        }
    };
    Some((u128::from_le_bytes(word) & MASKS[len]) | ((len as u128) << 120))
}

/// A direct-mapped cache of (key, number) pairs in front of a map: a lookup that hits is one
/// comparison, where hashing and probing the map (or scanning a short list, whose exit was
/// mispredicted on most lines) took a tenth to a fifth of the read. Colliding keys take
/// turns; the map behind it decides. A key is never 0 (ids are not empty), so 0 marks an
/// empty slot.
struct KeyCache {
    slots: Box<[(u128, u32)]>,
    bits: u32,
}

impl KeyCache {
    fn new(bits: u32) -> Self {
        KeyCache {
            slots: vec![(0, 0); 1 << bits].into_boxed_slice(),
            bits,
        }
    }

    #[inline(always)]
    fn slot(&self, key: u128) -> usize {
        ((key as u64 ^ (key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bits))
            as usize
    }

    #[inline(always)]
    fn get(&self, key: u128) -> Option<u32> {
        match self.slots.get(self.slot(key)) {
            Some(&(cached, i)) if cached == key => Some(i),
            _ => None,
        }
    }

    fn put(&mut self, key: u128, i: u32) {
        let slot = self.slot(key);
        if let Some(c) = self.slots.get_mut(slot) {
            *c = (key, i);
        }
    }
}

/// The low `len` bytes of a word, for `len` up to 15.
const MASKS: [u128; 16] = {
    let mut masks = [0u128; 16];
    let mut len = 1;
    while len < 16 {
        masks[len] = (1u128 << (8 * len)) - 1;
        len += 1;
    }
    masks
};

/// An id's hash, the same whichever way the id is met.
fn hash_id(key: Option<u128>, id: &str) -> u64 {
    let mut h = FxHasher::default();
    match key {
        Some(k) => k.hash(&mut h),
        None => id.hash(&mut h),
    }
    h.finish()
}

/// Bit `j` set where `chunk[j]` is `\n` or `delimiter`: SSE2's byte comparison, which every
/// x86-64 processor has.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn byte_matches(chunk: &[u8; 16], delimiter: u8) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };
    let [lo, hi] = [0, 8].map(|at| {
        let mut half = [0u8; 8];
        half.copy_from_slice(&chunk[at..at + 8]);
        i64::from_le_bytes(half)
    });
    // SAFETY: SSE2 is part of x86-64 itself (every x86-64 target enables it); these
    // intrinsics read no memory.
    unsafe {
        let v = _mm_set_epi64x(hi, lo);
        let hits = _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(delimiter as i8)),
        );
        _mm_movemask_epi8(hits) as u32
    }
}

/// Bit `j` set where `chunk[j]` is `\n` or `delimiter`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn byte_matches(chunk: &[u8; 16], delimiter: u8) -> u32 {
    byte_matches_by_words(chunk, delimiter)
}

/// [`byte_matches`] eight bytes at a time in a word, for processors without SSE2 (and,
/// in the tests, checked against it).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn byte_matches_by_words(chunk: &[u8; 16], delimiter: u8) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The top bit of each zero byte of `x`, and of no other.
    let zero_bytes = |x: u64| !((x & LOW7).wrapping_add(LOW7) | x | LOW7);
    let half = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&chunk[at..at + 8]);
        let w = u64::from_le_bytes(w);
        let top = zero_bytes(w ^ (ONES * u64::from(b'\n')))
            | zero_bytes(w ^ (ONES * u64::from(delimiter)));
        // The top bits gathered into the low byte, byte j's at bit j.
        (((top >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56) as u32
    };
    half(0) | (half(8) << 8)
}

/// The positions of the delimiter and `\n` bytes of `bytes` from `start`, in order, found
/// sixteen bytes at a time. Written by hand: memchr2's iterator finds the same positions but
/// pays a call and its set-up per match, three a line here.
struct Ends<'a> {
    bytes: &'a [u8],
    /// Where the current chunk starts.
    base: usize,
    /// Matches left in the current chunk, a bit each.
    mask: u32,
    delimiter: u8,
}

impl<'a> Ends<'a> {
    fn new(bytes: &'a [u8], start: usize, delimiter: u8) -> Self {
        let mut ends = Ends {
            bytes,
            base: start,
            mask: 0,
            delimiter,
        };
        ends.mask = ends.matches(start);
        ends
    }

    #[inline(always)]
    fn matches(&self, at: usize) -> u32 {
        let chunk = match self.bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            Some(c) => *c,
            None => {
                // The last bytes, padded with a byte that matches neither (`\n` is 10 and the
                // delimiter is not 1 where it is 0).
                let mut c = [u8::from(self.delimiter == 0); 16];
                let rest = self.bytes.get(at..).unwrap_or_default();
                c[..rest.len()].copy_from_slice(rest);
                c
            }
        };
        byte_matches(&chunk, self.delimiter)
    }
}

impl Iterator for Ends<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 16;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.matches(self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Ids numbered in order of first appearance through a map (short ids by key), with a
/// [`KeyCache`] in front of it.
struct Ids<'a> {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<&'a str, u32>,
    ids: Vec<String>,
    cache: KeyCache,
}

impl Default for Ids<'_> {
    fn default() -> Self {
        Ids {
            short: FxHashMap::default(),
            long: FxHashMap::default(),
            ids: Vec::new(),
            // 4,096 slots (128 KiB, in L2).
            cache: KeyCache::new(12),
        }
    }
}

impl<'a> Ids<'a> {
    /// The number of the id `text[span]`, whose key is `key`: the cache's answer inline,
    /// the map's out of line.
    #[inline(always)]
    fn index(&mut self, text: &'a str, span: Span, key: Option<u128>) -> u32 {
        if let Some(i) = key.and_then(|k| self.cache.get(k)) {
            return i;
        }
        self.index_by_map(text, span, key)
    }

    #[inline(never)]
    fn index_by_map(&mut self, text: &'a str, span: Span, key: Option<u128>) -> u32 {
        let next = self.ids.len() as u32;
        let i = match key {
            Some(k) => {
                let i = *self.short.entry(k).or_insert(next);
                self.cache.put(k, i);
                i
            }
            None => *self.long.entry(&text[span.0..span.1]).or_insert(next),
        };
        if i == next {
            self.ids.push(text[span.0..span.1].to_string());
        }
        i
    }
}

/// Labels numbered in order of first appearance (or a fixed list), found through a
/// [`KeyCache`] in front of a map: a label is one of a handful of values met in no order.
struct LabelSet<'a> {
    seen: Vec<&'a str>,
    map: FxHashMap<&'a str, u32>,
    cache: KeyCache,
    /// A fixed class list: an unknown label is `None`.
    fixed: bool,
}

impl<'a> LabelSet<'a> {
    fn new() -> Self {
        LabelSet {
            seen: Vec::new(),
            map: FxHashMap::default(),
            cache: KeyCache::new(6),
            fixed: false,
        }
    }

    /// The fixed classes `classes`, or `None` if one is repeated (the csv path says so).
    fn fixed(classes: &'a [String]) -> Option<Self> {
        let mut set = LabelSet::new();
        for c in classes {
            if set.map.contains_key(c.as_str()) {
                return None;
            }
            set.push(c);
        }
        set.fixed = true;
        Some(set)
    }

    fn push(&mut self, label: &'a str) -> u32 {
        let i = self.seen.len() as u32;
        self.seen.push(label);
        self.map.insert(label, i);
        i
    }

    /// The number of the label `text[span]`, whose key is `key`.
    #[inline]
    fn index(&mut self, text: &'a str, span: Span, key: Option<u128>) -> Option<u32> {
        if let Some(i) = key.and_then(|k| self.cache.get(k)) {
            return Some(i);
        }
        let label = &text[span.0..span.1];
        let i = match self.map.get(label) {
            Some(&i) => i,
            None if self.fixed => return None,
            None => self.push(label),
        };
        if let Some(k) = key {
            self.cache.put(k, i);
        }
        Some(i)
    }
}

/// How tasks become items.
enum Tasks<'a> {
    /// Numbered run by run, assuming each task's labels come together; `hashes` (one a run)
    /// are checked for a task that came back once the file is read.
    Runs { ids: Vec<String>, hashes: Vec<u64> },
    /// In order of first appearance, through a map.
    Mapped(Ids<'a>),
    /// The fixed items `ids`, through a map.
    Fixed {
        ids: &'a [String],
        index: FxHashMap<&'a str, u32>,
    },
}

impl Tasks<'_> {
    /// The items' ids, in item order.
    fn ids(self) -> Vec<String> {
        match self {
            Tasks::Runs { ids, .. } => ids,
            Tasks::Mapped(m) => m.ids,
            Tasks::Fixed { ids, .. } => ids.to_vec(),
        }
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
    let (header, body_start) = match memchr::memchr(b'\n', bytes) {
        Some(i) => (&text[..i], i + 1),
        None => (text, text.len()),
    };
    let header = header.strip_suffix('\r').unwrap_or(header);
    if header.is_empty() || (has_cr && header.contains('\r')) {
        return None;
    }
    let names: Vec<&str> = header.split(char::from(delimiter)).map(str::trim).collect();
    let find = |name: &str| names.iter().position(|&h| h == name);
    // Whether a field may need trimming: a space, tab, vertical tab or form feed that is not
    // the delimiter, or a byte of a non-ASCII character (Unicode spaces). Most files have
    // none, and then no field is trimmed (checking both ends of each took a tenth of the read).
    let spaced = [b' ', b'\t', 0x0b, 0x0c]
        .iter()
        .any(|&w| w != delimiter && memchr::memchr(w, bytes).is_some())
        || !bytes.is_ascii();
    let layout = Layout {
        delimiter,
        has_cr,
        spaced,
        body_start,
        n_fields: names.len(),
        task: find(columns.task)?,
        worker: find(columns.worker)?,
        label: find(columns.label)?,
    };
    let first = match items {
        Items::Fixed { ids, .. } => Tasks::Fixed {
            ids,
            index: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i as u32))
                .collect(),
        },
        // About 5 labels a task at 15 bytes a label in the usual files.
        Items::Grow => Tasks::Runs {
            ids: Vec::with_capacity(bytes.len() / 60),
            hashes: Vec::with_capacity(bytes.len() / 60),
        },
    };
    let (annotations, tasks, workers, labels) = match read_with(text, &layout, first, classes)? {
        (annotations, Tasks::Runs { ids, hashes }, workers, _) if !all_distinct(&hashes, &ids) => {
            // A task came back after other tasks: read again, numbering tasks by a map, with
            // the first pass's memory given back first.
            let mapped = Tasks::Mapped(Ids {
                ids: Vec::with_capacity(ids.len()),
                ..Ids::default()
            });
            drop((annotations, ids, hashes, workers));
            read_with(text, &layout, mapped, classes)?
        }
        read => read,
    };
    // Runs were checked for a repeated pair as they ended.
    let checked = matches!(tasks, Tasks::Runs { .. });
    let items_ids = tasks.ids();
    // The csv path says "no crowd labels in the file", or names the repeated pair.
    if annotations.is_empty() || (!checked && first_repeat(&annotations, items_ids.len()).is_some())
    {
        return None;
    }
    let mut annotations = annotations;
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
            if position.iter().enumerate().any(|(i, &p)| p as usize != i) {
                for a in &mut annotations {
                    a.label = position[a.label as usize];
                }
            }
            sorted
        }
    };
    Some(Built {
        annotations,
        classes,
        workers,
        items: items_ids,
    })
}

/// Where the columns are, read from the header.
struct Layout {
    delimiter: u8,
    has_cr: bool,
    /// Whether fields may have whitespace to trim.
    spaced: bool,
    body_start: usize,
    n_fields: usize,
    task: usize,
    worker: usize,
    label: usize,
}

/// One pass over the body: the labels, the tasks as `tasks` numbers them, the workers and
/// the labels met.
#[allow(clippy::type_complexity)]
fn read_with<'a>(
    text: &'a str,
    layout: &Layout,
    mut tasks: Tasks<'a>,
    classes: Option<&'a [String]>,
) -> Option<(Vec<Annotation>, Tasks<'a>, Vec<String>, LabelSet<'a>)> {
    let bytes = text.as_bytes();
    let mut labels = match classes {
        Some(c) => LabelSet::fixed(c)?,
        None => LabelSet::new(),
    };
    let mut workers = Ids::default();
    // About 15 bytes a label in the usual files.
    let mut annotations: Vec<Annotation> = Vec::with_capacity(bytes.len() / 12);
    // Where each column's span goes: the task's, the worker's, the label's, or nowhere (3).
    let slots: Vec<usize> = (0..layout.n_fields)
        .map(|c| {
            [layout.task, layout.worker, layout.label]
                .iter()
                .position(|&k| k == c)
                .unwrap_or(3)
        })
        .collect();
    let mut spans: [Span; 4] = [(0, 0); 4];
    let mut n_fields = 0;
    // The last task (its key, 0 for a long id; its span; its item): files usually list an
    // item's labels together.
    let (mut last_key, mut last_span, mut last_item) = (0u128, (0, 0), None);
    let mut run_start = 0;
    let mut ends = Ends::new(bytes, layout.body_start, layout.delimiter);
    let (mut line_start, mut at) = (layout.body_start, layout.body_start);
    loop {
        let end = ends.next();
        if end.is_none() && line_start >= bytes.len() {
            break;
        }
        let pos = end.unwrap_or(bytes.len());
        if let Some(&slot) = slots.get(n_fields) {
            spans[slot] = (at, pos);
        }
        n_fields += 1;
        at = pos + 1;
        if end.is_some_and(|e| bytes[e] != b'\n') {
            continue; // a field end within the line
        }
        // The line is complete: a `\r` before its `\n` is dropped, one elsewhere declined.
        let mut line_end = pos;
        if layout.has_cr {
            if line_end > line_start && bytes[line_end - 1] == b'\r' {
                line_end -= 1;
                for span in &mut spans {
                    if span.1 == pos {
                        span.1 = line_end;
                    }
                }
            }
            if bytes[line_start..line_end].contains(&b'\r') {
                return None;
            }
        }
        let (fields, line) = (n_fields, (line_start, line_end));
        (n_fields, line_start) = (0, at);
        if fields == 1 && line.0 == line.1 {
            // The csv crate skips empty lines too.
            if end.is_none() {
                break;
            }
            continue;
        }
        if fields != layout.n_fields {
            return None;
        }
        // Three calls, not `spans.map`: its closure was not inlined (a third of the read).
        let (task, worker, label) = if layout.spaced {
            (
                trim(text, spans[0]),
                trim(text, spans[1]),
                trim(text, spans[2]),
            )
        } else {
            (spans[0], spans[1], spans[2])
        };
        if task.0 == task.1 || worker.0 == worker.1 || label.0 == label.1 {
            return None;
        }
        let task_key = pack(bytes, task);
        let same = match task_key {
            Some(key) => key == last_key,
            None => last_key == 0 && bytes[last_span.0..last_span.1] == bytes[task.0..task.1],
        };
        let item = match last_item {
            Some(i) if same => i,
            _ => {
                let id = &text[task.0..task.1];
                let i = match &mut tasks {
                    Tasks::Runs { ids, hashes } => {
                        if !end_run(&mut annotations[run_start..]) {
                            return None;
                        }
                        run_start = annotations.len();
                        hashes.push(hash_id(task_key, id));
                        ids.push(id.to_string());
                        (ids.len() - 1) as u32
                    }
                    Tasks::Mapped(map) => map.index(text, task, task_key),
                    Tasks::Fixed { index, .. } => *index.get(id)?,
                };
                (last_key, last_span, last_item) = (task_key.unwrap_or(0), task, Some(i));
                i
            }
        };
        let worker = workers.index(text, worker, pack(bytes, worker));
        let label = labels.index(text, label, pack(bytes, label))?;
        annotations.push(Annotation {
            item,
            worker,
            label,
        });
        if end.is_none() {
            break;
        }
    }
    if matches!(tasks, Tasks::Runs { .. }) && !end_run(&mut annotations[run_start..]) {
        return None;
    }
    Some((annotations, tasks, workers.ids, labels))
}

/// Sorts one task's labels (by worker, then label); `false` if a worker labelled it twice.
fn end_run(run: &mut [Annotation]) -> bool {
    // The item is the run's own: one integer key (the derived order compared field by field,
    // a tenth of the read).
    run.sort_unstable_by_key(|a| (u64::from(a.worker) << 32) | u64::from(a.label));
    run.windows(2).all(|w| w[0].worker != w[1].worker)
}

/// Whether the ids whose hashes are `hashes` are all distinct. The hashes are split by their
/// top bits into blocks of about a thousand, each sorted in cache; where two hashes are
/// equal, a set of the ids decides.
fn all_distinct(hashes: &[u64], ids: &[String]) -> bool {
    let bits = (usize::BITS - (hashes.len() / 1024).leading_zeros()).min(16);
    let block = |h: u64| h.checked_shr(64 - bits).unwrap_or(0) as usize;
    let n_blocks = 1usize << bits;
    let mut start = vec![0usize; n_blocks + 1];
    for &h in hashes {
        start[block(h) + 1] += 1;
    }
    for b in 0..n_blocks {
        start[b + 1] += start[b];
    }
    let mut next = start.clone();
    let mut split = vec![0u64; hashes.len()];
    for &h in hashes {
        let b = block(h);
        split[next[b]] = h;
        next[b] += 1;
    }
    let collision = (0..n_blocks).any(|b| {
        let block = &mut split[start[b]..start[b + 1]];
        block.sort_unstable();
        block.windows(2).any(|w| w[0] == w[1])
    });
    if !collision {
        return true;
    }
    let mut seen = FxHashSet::default();
    ids.iter().all(|id| seen.insert(id.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_hashes_are_settled_by_the_ids() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Made-up hashes: a collision between distinct ids is no repeat.
        assert!(all_distinct(&[7, 3, 7], &ids(&["a", "b", "c"])));
        assert!(!all_distinct(&[7, 3, 7], &ids(&["a", "b", "a"])));
        assert!(all_distinct(&[], &[]));
        // Thousands (several blocks), each id's own hash.
        let many: Vec<String> = (0..5000).map(|i| format!("task-{i}")).collect();
        let hashes: Vec<u64> = many
            .iter()
            .map(|id| hash_id(pack(id.as_bytes(), (0, id.len())), id))
            .collect();
        assert!(all_distinct(&hashes, &many));
        let mut again = many.clone();
        again[4000] = many[17].clone();
        let hashes: Vec<u64> = again
            .iter()
            .map(|id| hash_id(pack(id.as_bytes(), (0, id.len())), id))
            .collect();
        assert!(!all_distinct(&hashes, &again));
    }

    #[test]
    fn keys_tell_ids_apart_exactly() {
        let text = b"ab\0ab,abcdefghijklmno,abcdefghijklmnop";
        let key = |s, e| pack(text, (s, e));
        assert_ne!(key(0, 2), key(0, 3)); // "ab" and "ab\0": the length tells
        assert_eq!(key(0, 2), key(3, 5));
        assert!(key(6, 21).is_some()); // 15 bytes
        assert_eq!(key(22, 38), None); // 16 bytes: no key
        // Read at the very end of the buffer.
        assert_eq!(key(36, 38), pack(b"op", (0, 2)));
    }

    #[test]
    fn both_byte_matchers_agree() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let bytes = [
            b'\n',
            b',',
            b'\t',
            0,
            1,
            0x80,
            0xff,
            b'a',
            0x0a ^ 0x80,
            0x8a,
        ];
        for _ in 0..100_000 {
            let chunk: [u8; 16] = std::array::from_fn(|_| bytes[rng.random_range(0..bytes.len())]);
            for delimiter in [b',', b'\t', 0] {
                let want = (0..16)
                    .filter(|&j| chunk[j] == b'\n' || chunk[j] == delimiter)
                    .fold(0u32, |m, j| m | 1 << j);
                assert_eq!(byte_matches(&chunk, delimiter), want, "{chunk:?}");
                assert_eq!(byte_matches_by_words(&chunk, delimiter), want, "{chunk:?}");
            }
        }
    }

    #[test]
    fn field_ends_are_every_delimiter_and_newline() {
        for delimiter in [b',', b'\t', 0u8] {
            let text: Vec<u8> = b"a,b\tc\n\0dd,\n,,,x\tyz\n\n"
                .iter()
                .copied()
                .cycle()
                .take(97)
                .collect();
            for start in 0..9 {
                let want: Vec<usize> = (start..text.len())
                    .filter(|&i| text[i] == b'\n' || text[i] == delimiter)
                    .collect();
                let got: Vec<usize> = Ends::new(&text, start, delimiter).collect();
                assert_eq!(got, want, "delimiter {delimiter}, from {start}");
            }
        }
    }
}
