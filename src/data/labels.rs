//! Turning rows of (task, worker, label) ids into indexed crowd labels: the one place that
//! numbers workers and items, maps labels to classes and finds repeated pairs, shared by the
//! file loaders and the in-memory constructors so that both report problems the same way.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use rustc_hash::{FxBuildHasher, FxHashMap};

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// One crowd label: `worker` said `label` for `item` (all indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Annotation {
    /// Item (row of the feature matrix).
    pub item: u32,
    /// Worker index (into [`CrowdLabels::workers`]).
    pub worker: u32,
    /// Class index (into [`CrowdLabels::classes`]).
    pub label: u32,
}

/// What to do with a second label by the same worker for the same task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Duplicates {
    /// Stop with an error naming both lines.
    #[default]
    Error,
    /// Keep the later label.
    KeepLast,
}

/// Sorts labels numerically when they are all integers, else as strings.
pub fn sort_labels(labels: BTreeSet<String>) -> Vec<String> {
    let mut v: Vec<String> = labels.into_iter().collect();
    if v.iter().all(|l| l.parse::<i64>().is_ok()) {
        v.sort_by_key(|l| l.parse::<i64>().unwrap_or(0));
    }
    v
}

/// Where a row came from, for messages.
pub(crate) enum Place<'a> {
    /// Line `line` (1-based; 0: unknown) of a file.
    Line(&'a Path, u64),
    /// Row `i` (0-based) of in-memory columns.
    Row(usize),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(path, 0) => write!(f, "{}", path.display()),
            Place::Line(path, line) => write!(f, "{}:{line}", path.display()),
            Place::Row(i) => write!(f, "row {i}"),
        }
    }
}

/// One crowd label as read.
pub(crate) struct LabelRow<'a> {
    pub task: &'a str,
    pub worker: &'a str,
    pub label: &'a str,
    pub place: Place<'a>,
}

/// The item set rows may refer to.
pub(crate) enum Items<'a> {
    /// Fixed items (those with features): a task outside them is an error naming `features`.
    Fixed {
        ids: &'a [String],
        features: &'a Path,
    },
    /// Items are the tasks the rows name, in order of first appearance.
    Grow,
}

/// Indexed crowd labels, before [`crate::data::CrowdLabels::new`] checks them.
pub(crate) struct Built {
    pub annotations: Vec<Annotation>,
    pub classes: Vec<String>,
    pub workers: Vec<String>,
    pub items: Vec<String>,
}

/// Numbers the workers (and, with [`Items::Grow`], the items) in order of first appearance,
/// maps labels to `classes` (the sorted set of labels when `None`), and applies `duplicates`
/// to a repeated (task, worker) pair.
pub(crate) fn build_labels<'a>(
    rows: impl Iterator<Item = LabelRow<'a>> + Clone,
    items: Items<'a>,
    classes: Option<Vec<String>>,
    duplicates: Duplicates,
) -> Result<Built, DataError> {
    let classes = match classes {
        Some(c) => c,
        None => {
            // The distinct labels first (a handful), then their sorted strings.
            let distinct: HashSet<&str, FxBuildHasher> = rows.clone().map(|r| r.label).collect();
            sort_labels(distinct.into_iter().map(str::to_string).collect())
        }
    };
    let class_index: FxHashMap<&str, u32> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();
    // The maps borrow their keys from the rows (or the fixed ids): one String per distinct
    // id, none per label.
    let (mut item_ids, mut item_index, features) = match items {
        Items::Fixed { ids, features } => (
            ids.to_vec(),
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i as u32))
                .collect::<FxHashMap<&str, u32>>(),
            Some(features),
        ),
        Items::Grow => (Vec::new(), FxHashMap::default(), None),
    };
    let mut workers: Vec<String> = Vec::new();
    let mut worker_index: FxHashMap<&str, u32> = FxHashMap::default();
    // Only --duplicates keep-last needs to know, row by row, where a pair was first seen;
    // the default (an error) finds repeats once all rows are indexed.
    let mut seen: FxHashMap<(u32, u32), usize> = FxHashMap::default();
    let mut annotations: Vec<Annotation> = Vec::with_capacity(rows.size_hint().0);
    for r in rows.clone() {
        let item = match (item_index.get(r.task), features) {
            (Some(&i), _) => i,
            (None, Some(features)) => {
                return Err(DataError::Invalid(format!(
                    "{}: task {:?} has no features in {}",
                    r.place,
                    r.task,
                    features.display()
                )));
            }
            (None, None) => {
                let i = item_ids.len() as u32;
                item_ids.push(r.task.to_string());
                item_index.insert(r.task, i);
                i
            }
        };
        let label = *class_index.get(r.label).ok_or_else(|| {
            DataError::Invalid(format!(
                "{}: label {:?} is not one of the classes {classes:?}",
                r.place, r.label
            ))
        })?;
        let worker = match worker_index.get(r.worker) {
            Some(&w) => w,
            None => {
                let w = workers.len() as u32;
                workers.push(r.worker.to_string());
                worker_index.insert(r.worker, w);
                w
            }
        };
        let a = Annotation {
            item,
            worker,
            label,
        };
        match duplicates {
            Duplicates::Error => annotations.push(a),
            Duplicates::KeepLast => match seen.get(&(item, worker)) {
                Some(&at) => annotations[at] = a,
                None => {
                    seen.insert((item, worker), annotations.len());
                    annotations.push(a);
                }
            },
        }
    }
    if duplicates == Duplicates::Error
        && let Some((later, first)) = first_repeat(&annotations, item_ids.len())
    {
        // Every row made one annotation: the rows at those indices are the two labels.
        let first = rows.clone().nth(first).map(|r| r.place);
        let Some(r) = rows.clone().nth(later) else {
            unreachable!("a repeat is found among the rows")
        };
        let (first, hint) = match first {
            Some(Place::Line(_, line)) if line > 0 => (
                format!(" on line {line}"),
                "or keep the later label: duplicates keep-last",
            ),
            Some(Place::Row(i)) => (
                format!(" in row {i}"),
                "keep one label per (task, worker) pair",
            ),
            _ => (
                String::new(),
                "or keep the later label: duplicates keep-last",
            ),
        };
        return Err(DataError::Invalid(format!(
            "{}: worker {:?} already labelled task {:?}{first} ({hint})",
            r.place, r.worker, r.task,
        )));
    }
    Ok(Built {
        annotations,
        classes,
        workers,
        items: item_ids,
    })
}

/// The first label (in input order) whose (item, worker) pair an earlier label has, as
/// (its index, the index of the pair's first label). Labels are grouped by item (a counting
/// sort, input order kept), so that each group is checked alone.
pub(crate) fn first_repeat(annotations: &[Annotation], n_items: usize) -> Option<(usize, usize)> {
    // Most files list each item's labels together: then each run is one item's group, read
    // in place (no grouping arrays), unless an item comes back in a later run.
    let mut seen = vec![false; n_items];
    let mut best: Option<(usize, usize)> = None;
    let mut at = 0;
    let mut grouped = true;
    for run in annotations.chunk_by(|a, b| a.item == b.item) {
        let item = run[0].item as usize;
        // A long run is left to the grouping path's sort.
        if std::mem::replace(&mut seen[item], true) || run.len() > 32 {
            grouped = false;
            break;
        }
        if best.is_none() {
            best = (1..run.len()).find_map(|x| {
                (0..x)
                    .find(|&y| run[y].worker == run[x].worker)
                    .map(|y| (at + x, at + y))
            });
        }
        at += run.len();
    }
    if grouped {
        return best;
    }
    first_repeat_grouping(annotations, n_items)
}

/// A stable counting sort of `annotations` by item: where each item's labels start in the
/// order (`n_items + 1` offsets), and the positions of the labels in item order (each item's
/// in input order). The crate's one grouping of raw labels by item (checked crowd labels keep
/// theirs, [`crate::data::CrowdLabels::item_labels`]).
pub(crate) fn group_by_item(annotations: &[Annotation], n_items: usize) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n_items + 1];
    for a in annotations {
        start[a.item as usize + 1] += 1;
    }
    for i in 0..n_items {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; annotations.len()];
    for (j, a) in annotations.iter().enumerate() {
        order[next[a.item as usize]] = j as u32;
        next[a.item as usize] += 1;
    }
    (start, order)
}

/// [`first_repeat`] for labels in any order: grouped by item first.
fn first_repeat_grouping(annotations: &[Annotation], n_items: usize) -> Option<(usize, usize)> {
    let (start, order) = group_by_item(annotations, n_items);
    let order: Vec<usize> = order.into_iter().map(|j| j as usize).collect();
    let mut best: Option<(usize, usize)> = None;
    let mut keyed: Vec<(u32, usize)> = Vec::new();
    for i in 0..n_items {
        let group = &order[start[i]..start[i + 1]];
        if group.len() < 2 {
            continue;
        }
        // (later, first) of this item's earliest repeat.
        let found = if group.len() <= 32 {
            (1..group.len()).find_map(|x| {
                (0..x)
                    .find(|&y| annotations[group[y]].worker == annotations[group[x]].worker)
                    .map(|y| (group[x], group[y]))
            })
        } else {
            keyed.clear();
            keyed.extend(group.iter().map(|&j| (annotations[j].worker, j)));
            keyed.sort_unstable();
            keyed
                .windows(2)
                .filter(|w| w[0].0 == w[1].0)
                .map(|w| (w[1].1, w[0].1))
                .min()
                .map(|(later, _)| {
                    // The pair's first label: the smallest index of that worker's run.
                    let worker = annotations[later].worker;
                    let first = keyed.iter().find(|k| k.0 == worker).map_or(later, |k| k.1);
                    (later, first)
                })
        };
        if let Some(f) = found
            && best.is_none_or(|b| f.0 < b.0)
        {
            best = Some(f);
        }
    }
    best
}

#[cfg(test)]
mod repeat_tests {
    use super::*;

    #[test]
    fn first_repeat_is_the_earliest_second_label_of_a_pair() {
        let a = |item, worker| Annotation {
            item,
            worker,
            label: 0,
        };
        assert_eq!(first_repeat(&[a(0, 0), a(0, 1), a(1, 0)], 2), None);
        // Pairs (1, 2) at 1 and 4, (0, 0) at 0 and 3: the repeat at 3 comes first.
        let labels = [a(0, 0), a(1, 2), a(0, 1), a(0, 0), a(1, 2)];
        assert_eq!(first_repeat(&labels, 2), Some((3, 0)));
        // A large group (sorted path): worker 7 at 5 and 40, worker 3 at 10, 20 and 30.
        let mut big: Vec<Annotation> = (0..50).map(|w| a(0, 100 + w)).collect();
        big[5] = a(0, 7);
        big[40] = a(0, 7);
        big[10] = a(0, 3);
        big[20] = a(0, 3);
        big[30] = a(0, 3);
        assert_eq!(first_repeat(&big, 1), Some((20, 10)));
        // Grouped by item (the in-place path): the repeat at 3 of the pair at 2.
        let grouped = [a(0, 0), a(0, 1), a(1, 2), a(1, 2), a(2, 0), a(2, 0)];
        assert_eq!(first_repeat(&grouped, 3), Some((3, 2)));
    }

    #[test]
    fn both_repeat_finders_agree() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for case in 0..2000 {
            let n_items = rng.random_range(1..8u32);
            let mut labels: Vec<Annotation> = (0..rng.random_range(1..40))
                .map(|_| Annotation {
                    item: rng.random_range(0..n_items),
                    worker: rng.random_range(0..12),
                    label: 0,
                })
                .collect();
            if case % 2 == 0 {
                labels.sort_by_key(|a| a.item); // grouped, as most files are
            }
            let n = n_items as usize;
            assert_eq!(
                first_repeat(&labels, n),
                first_repeat_grouping(&labels, n),
                "{labels:?}"
            );
        }
    }
}
