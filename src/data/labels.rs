//! Turning rows of (task, worker, label) ids into indexed crowd labels: the one place that
//! numbers workers and items, maps labels to classes and finds repeated pairs, shared by the
//! file loaders and the in-memory constructors so that both report problems the same way.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use rustc_hash::{FxBuildHasher, FxHashMap};

use serde::{Deserialize, Serialize};

use crate::data::Annotation;
use crate::error::DataError;

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
    items: Items<'_>,
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
    let (mut item_ids, mut item_index, features) = match items {
        Items::Fixed { ids, features } => (
            ids.to_vec(),
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i as u32))
                .collect::<FxHashMap<String, u32>>(),
            Some(features),
        ),
        Items::Grow => (Vec::new(), FxHashMap::default(), None),
    };
    let mut workers: Vec<String> = Vec::new();
    let mut worker_index: FxHashMap<String, u32> = FxHashMap::default();
    let mut seen: FxHashMap<(u32, u32), (usize, u64)> = FxHashMap::default();
    let mut annotations: Vec<Annotation> = Vec::new();
    for r in rows {
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
                item_index.insert(r.task.to_string(), i);
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
                worker_index.insert(r.worker.to_string(), w);
                w
            }
        };
        let a = Annotation {
            item,
            worker,
            label,
        };
        match seen.get(&(item, worker)) {
            Some(&(at, first)) => match duplicates {
                Duplicates::Error => {
                    let (first, hint) = match r.place {
                        Place::Line(..) if first > 0 => (
                            format!(" on line {first}"),
                            "use --duplicates keep-last to keep the later label",
                        ),
                        Place::Line(..) => (
                            String::new(),
                            "use --duplicates keep-last to keep the later label",
                        ),
                        Place::Row(_) => (
                            format!(" in row {first}"),
                            "keep one label per (task, worker) pair",
                        ),
                    };
                    return Err(DataError::Invalid(format!(
                        "{}: worker {:?} already labelled task {:?}{first} ({hint})",
                        r.place, r.worker, r.task,
                    )));
                }
                Duplicates::KeepLast => annotations[at] = a,
            },
            None => {
                let first = match r.place {
                    Place::Line(_, line) => line,
                    Place::Row(i) => i as u64,
                };
                seen.insert((item, worker), (annotations.len(), first));
                annotations.push(a);
            }
        }
    }
    Ok(Built {
        annotations,
        classes,
        workers,
        items: item_ids,
    })
}
