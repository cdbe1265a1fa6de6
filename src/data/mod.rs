//! Crowd data: item features plus the sparse (item, worker, label) triples the crowd gave.
//!
//! [`CrowdData::new`] is the one place that checks shapes, ranges and emptiness; every loader
//! builds its result through it, so a value of this type is always consistent.
//!
//! ```
//! use conal::data::{Annotation, CrowdData, Matrix};
//!
//! // Three items with two features each, labelled by two workers into two classes.
//! let features = Matrix::new(3, 2, vec![0.0, 1.0, 1.0, 0.0, 0.5, 0.5]).unwrap();
//! let annotations = vec![
//!     Annotation { item: 0, worker: 0, label: 1 },
//!     Annotation { item: 1, worker: 0, label: 0 },
//!     Annotation { item: 1, worker: 1, label: 0 },
//!     Annotation { item: 2, worker: 1, label: 1 },
//! ];
//! let data = CrowdData::new(
//!     features,
//!     annotations,
//!     vec!["cat".into(), "dog".into()],
//!     vec!["w1".into(), "w2".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     None,
//! )
//! .unwrap();
//! assert_eq!((data.n_items(), data.n_workers(), data.n_classes()), (3, 2, 2));
//! ```

pub mod labelme;
mod labels;
mod long_csv;
pub mod music;
pub mod npy;
pub mod source;
pub mod synthetic;
pub mod table;
pub(crate) mod text;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use labels::Duplicates;
use labels::{Items, LabelRow, Place, build_labels};

/// A dense row-major f32 matrix (rows = items, columns = features). Its values are its own
/// or, through [`Matrix::shared`], borrowed from an owner that keeps them alive (an array of
/// the caller's, which is then not copied).
#[derive(Clone)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Values,
}

#[derive(Clone)]
enum Values {
    Owned(Vec<f32>),
    Shared(Arc<dyn AsRef<[f32]> + Send + Sync>),
}

impl Values {
    fn as_slice(&self) -> &[f32] {
        match self {
            Values::Owned(v) => v,
            Values::Shared(owner) => (**owner).as_ref(),
        }
    }
}

impl std::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matrix")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("shared", &matches!(self.data, Values::Shared(_)))
            .finish_non_exhaustive()
    }
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows && self.cols == other.cols && self.as_slice() == other.as_slice()
    }
}

impl Matrix {
    /// Wraps `data` (row-major, `rows * cols` values).
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, DataError> {
        check_size(rows, cols, data.len())?;
        Ok(Matrix {
            rows,
            cols,
            data: Values::Owned(data),
        })
    }

    /// A matrix over values it does not own (row-major, `rows * cols` of them): `owner`
    /// keeps them alive, and must give the same values every time it is asked. Nothing is
    /// copied until [`Matrix::as_mut_slice`] or [`Matrix::into_vec`] asks for values of
    /// the matrix's own.
    pub fn shared(
        rows: usize,
        cols: usize,
        owner: Arc<dyn AsRef<[f32]> + Send + Sync>,
    ) -> Result<Self, DataError> {
        check_size(rows, cols, (*owner).as_ref().len())?;
        Ok(Matrix {
            rows,
            cols,
            data: Values::Shared(owner),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        self.data.as_slice()
    }

    /// Whether the values are borrowed from an owner ([`Matrix::shared`]), not copied.
    pub fn is_shared(&self) -> bool {
        matches!(self.data, Values::Shared(_))
    }

    /// All values, row-major, mutable (a shared matrix copies them first).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if let Values::Shared(owner) = &self.data {
            self.data = Values::Owned((**owner).as_ref().to_vec());
        }
        match &mut self.data {
            Values::Owned(v) => v,
            Values::Shared(_) => unreachable!("made owned above"),
        }
    }

    /// Consumes the matrix and returns its values (copied when shared).
    pub fn into_vec(self) -> Vec<f32> {
        match self.data {
            Values::Owned(v) => v,
            Values::Shared(owner) => (*owner).as_ref().to_vec(),
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.cols..(i + 1) * self.cols]
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Matrix {
            rows: rows.len(),
            cols: self.cols,
            data: Values::Owned(data),
        }
    }

    /// The first (row, column) holding a NaN or infinite value, if any.
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        // Blocks without an early exit vectorise; only a block with a bad value is searched.
        const BLOCK: usize = 4096;
        let at = self
            .as_slice()
            .chunks(BLOCK)
            .enumerate()
            .find_map(|(b, chunk)| {
                let all_finite = chunk.iter().fold(true, |ok, v| ok & v.is_finite());
                if all_finite {
                    None
                } else {
                    chunk
                        .iter()
                        .position(|v| !v.is_finite())
                        .map(|i| b * BLOCK + i)
                }
            });
        at.map(|i| (i / self.cols.max(1), i % self.cols.max(1)))
    }
}

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

/// Crowd labels without features: the (item, worker, label) triples, the class names and the
/// worker and item ids. What aggregation needs; joined to features ([`CrowdData`]) for
/// training.
///
/// [`CrowdLabels::new`] checks indices and ids; [`CrowdLabels::from_strings`] and
/// [`CrowdLabels::from_codes`] build it from in-memory columns with the same checks and
/// messages as the file loaders, naming the first bad row.
#[derive(Debug, Clone)]
pub struct CrowdLabels {
    /// The observed labels, sorted by (item, worker).
    pub annotations: Vec<Annotation>,
    /// Class names; a label `k` means `classes[k]`.
    pub classes: Vec<String>,
    /// Worker ids as in the input; worker index `r` means `workers[r]`.
    pub workers: Vec<String>,
    /// Item ids as in the input; item index `i` means `items[i]`.
    pub items: Vec<String>,
    /// True labels, when the data set has them, per item (`None` for an item without one):
    /// for evaluation only, never used to train a crowd model.
    pub truth: Option<Vec<Option<u32>>>,
}

impl CrowdLabels {
    /// Checks and assembles crowd labels. Annotations are sorted by (item, worker).
    ///
    /// Fails when an index is out of range, an id or class repeats, a (item, worker) pair
    /// repeats, a worker has no label, or there is no label at all.
    pub fn new(
        annotations: Vec<Annotation>,
        classes: Vec<String>,
        workers: Vec<String>,
        items: Vec<String>,
        truth: Option<Vec<Option<u32>>>,
    ) -> Result<Self, DataError> {
        let invalid = |m: String| Err(DataError::Invalid(m));
        if classes.len() < 2 {
            return invalid(format!(
                "need at least 2 classes, got {} ({:?})",
                classes.len(),
                classes
            ));
        }
        check_unique("class", &classes)?;
        check_unique("worker id", &workers)?;
        check_unique("item id", &items)?;
        Self::assemble(annotations, classes, workers, items, truth)
    }

    /// [`CrowdLabels::new`] for workers and items numbered by interning their ids (the
    /// loaders with items grown from the labels), which are unique by construction: their
    /// sets, a million-label crowd's largest hash tables, are not built again.
    pub(crate) fn from_interned(
        annotations: Vec<Annotation>,
        classes: Vec<String>,
        workers: Vec<String>,
        items: Vec<String>,
        truth: Option<Vec<Option<u32>>>,
    ) -> Result<Self, DataError> {
        debug_assert!(check_unique("worker id", &workers).is_ok());
        debug_assert!(check_unique("item id", &items).is_ok());
        if classes.len() < 2 || check_unique("class", &classes).is_err() {
            // `new` says what is wrong.
            return Self::new(annotations, classes, workers, items, truth);
        }
        Self::assemble(annotations, classes, workers, items, truth)
    }

    /// [`CrowdLabels::new`] once the ids are known to be unique and there are 2+ classes.
    fn assemble(
        annotations: Vec<Annotation>,
        classes: Vec<String>,
        workers: Vec<String>,
        items: Vec<String>,
        truth: Option<Vec<Option<u32>>>,
    ) -> Result<Self, DataError> {
        let invalid = |m: String| Err(DataError::Invalid(m));
        if annotations.is_empty() {
            return invalid("no crowd labels: nothing to learn from".into());
        }
        let (n, r, k) = (items.len(), workers.len(), classes.len());
        // One pass for the ranges, each worker's count and whether the labels are already in
        // order (the readers hand them over so); four passes took a tenth of a majority vote.
        let mut count = vec![0usize; r];
        let mut in_order = true;
        let mut last: Option<u128> = None;
        for a in &annotations {
            if a.item as usize >= n || a.worker as usize >= r || a.label as usize >= k {
                return invalid(format!(
                    "annotation {a:?} out of range ({n} items, {r} workers, {k} classes)"
                ));
            }
            count[a.worker as usize] += 1;
            let key = order_key(a);
            // Strictly increasing (item, worker) pairs: in order, and no pair twice.
            in_order &= last.is_none_or(|l| l >> 32 < key >> 32);
            last = Some(key);
        }
        let annotations = if in_order {
            annotations
        } else {
            let annotations = sort_by_item_worker(annotations, n);
            if let Some(w) = annotations
                .windows(2)
                .find(|w| w[0].item == w[1].item && w[0].worker == w[1].worker)
            {
                return invalid(format!(
                    "worker {:?} labelled item {:?} twice",
                    workers[w[0].worker as usize], items[w[0].item as usize]
                ));
            }
            annotations
        };
        if let Some(w) = count.iter().position(|&c| c == 0) {
            return invalid(format!(
                "worker {:?} has no labels; drop it from the worker list",
                workers[w]
            ));
        }
        if let Some(t) = &truth {
            if t.len() != n {
                return invalid(format!("{} true labels for {n} items", t.len()));
            }
            if let Some((i, y)) = t
                .iter()
                .enumerate()
                .find_map(|(i, y)| y.filter(|&y| y as usize >= k).map(|y| (i, y)))
            {
                return invalid(format!(
                    "true label {y} of item {:?} is not one of the {k} classes",
                    items[i]
                ));
            }
        }
        Ok(CrowdLabels {
            annotations,
            classes,
            workers,
            items,
            truth,
        })
    }

    /// Crowd labels from three equally long columns of ids (crowd-kit's `task`, `worker`,
    /// `label`), any strings. Items and workers are numbered in order of first appearance;
    /// the classes are `classes` when given (a label outside them is an error), else the
    /// sorted set of labels (numerically when all are integers). A repeated (task, worker)
    /// pair is an error.
    ///
    /// ```
    /// use conal::data::CrowdLabels;
    ///
    /// let labels = CrowdLabels::from_strings(
    ///     &["a", "a", "b"],
    ///     &["w1", "w2", "w1"],
    ///     &["cat", "dog", "dog"],
    ///     None,
    /// )
    /// .unwrap();
    /// assert_eq!((labels.n_items(), labels.n_workers()), (2, 2));
    /// assert_eq!(labels.classes, ["cat", "dog"]);
    /// ```
    pub fn from_strings<S: AsRef<str>>(
        tasks: &[S],
        workers: &[S],
        labels: &[S],
        classes: Option<Vec<String>>,
    ) -> Result<Self, DataError> {
        same_lengths(tasks.len(), workers.len(), labels.len())?;
        let rows = (0..tasks.len()).map(|i| LabelRow {
            task: tasks[i].as_ref(),
            worker: workers[i].as_ref(),
            label: labels[i].as_ref(),
            place: Place::Row(i),
        });
        let built = build_labels(rows, Items::Grow, classes, Duplicates::Error)?;
        CrowdLabels::new(
            built.annotations,
            built.classes,
            built.workers,
            built.items,
            None,
        )
    }

    /// Crowd labels from integer codes: `tasks[j]`, `workers[j]`, `labels[j]` index the items
    /// `0..n_items`, the workers `0..n_workers` and `classes`; a negative code is a missing
    /// value (pandas' `factorize` gives −1 for NaN). Ids are the codes as text
    /// ([`CrowdLabels::with_ids`] names them).
    pub fn from_codes(
        n_items: usize,
        n_workers: usize,
        classes: Vec<String>,
        tasks: &[i64],
        workers: &[i64],
        labels: &[i64],
    ) -> Result<Self, DataError> {
        same_lengths(tasks.len(), workers.len(), labels.len())?;
        let k = classes.len();
        let mut annotations = Vec::with_capacity(tasks.len());
        for j in 0..tasks.len() {
            for (column, code, n) in [
                ("task", tasks[j], n_items),
                ("worker", workers[j], n_workers),
                ("label", labels[j], k),
            ] {
                if code < 0 {
                    return Err(DataError::Invalid(format!(
                        "column {column:?}, row {j}: missing value (NaN or None)"
                    )));
                }
                if code as u64 >= n as u64 {
                    return Err(DataError::Invalid(format!(
                        "row {j}: {column} {code} is out of range (expected 0..{n})"
                    )));
                }
            }
            annotations.push(Annotation {
                item: tasks[j] as u32,
                worker: workers[j] as u32,
                label: labels[j] as u32,
            });
        }
        if k < 2 {
            return Err(DataError::Invalid(format!(
                "need at least 2 classes, got {k} ({classes:?})"
            )));
        }
        check_unique("class", &classes)?;
        // The ids are the codes themselves: unique by construction.
        CrowdLabels::assemble(
            annotations,
            classes,
            (0..n_workers).map(|i| i.to_string()).collect(),
            (0..n_items).map(|i| i.to_string()).collect(),
            None,
        )
    }

    /// The same labels with these worker and item ids (in index order), checked for their
    /// count and uniqueness.
    pub fn with_ids(mut self, workers: Vec<String>, items: Vec<String>) -> Result<Self, DataError> {
        if workers.len() != self.workers.len() || items.len() != self.items.len() {
            return Err(DataError::Invalid(format!(
                "{} worker ids and {} item ids for {} workers and {} items",
                workers.len(),
                items.len(),
                self.workers.len(),
                self.items.len()
            )));
        }
        check_unique("worker id", &workers)?;
        check_unique("item id", &items)?;
        self.workers = workers;
        self.items = items;
        Ok(self)
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The items with a known true label, and that label.
    pub fn known_truth(&self) -> Vec<(usize, u32)> {
        match &self.truth {
            Some(t) => t
                .iter()
                .enumerate()
                .filter_map(|(i, y)| y.map(|y| (i, y)))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Accuracy of per-item `labels` on the crowd-labelled items with a known true label, and
    /// how many there are; `None` without any.
    pub fn truth_accuracy(&self, labels: &[u32]) -> Option<(f64, usize)> {
        self.truth.as_ref()?;
        let labelled = self.labelled_items();
        let mut is_labelled = vec![false; self.n_items()];
        labelled.iter().for_each(|&i| is_labelled[i] = true);
        let known: Vec<(usize, u32)> = self
            .known_truth()
            .into_iter()
            .filter(|&(i, _)| is_labelled[i])
            .collect();
        if known.is_empty() {
            return None;
        }
        let right = known.iter().filter(|&&(i, y)| labels[i] == y).count();
        Some((right as f64 / known.len() as f64, known.len()))
    }

    /// Number of labels each worker gave.
    pub fn labels_per_worker(&self) -> Vec<usize> {
        let mut count = vec![0; self.n_workers()];
        for a in &self.annotations {
            count[a.worker as usize] += 1;
        }
        count
    }

    /// The items that have at least one crowd label, ascending.
    pub fn labelled_items(&self) -> Vec<usize> {
        let mut items: Vec<usize> = self.annotations.iter().map(|a| a.item as usize).collect();
        items.dedup();
        items
    }
}

/// Items with features and crowd labels, ready for training: [`CrowdLabels`] joined to one
/// feature row per item. It dereferences to its labels, so `data.annotations`,
/// `data.n_workers()` and the like read them directly.
#[derive(Debug, Clone)]
pub struct CrowdData {
    /// Item features, one row per item (row `i` is item `labels.items[i]`).
    pub features: Matrix,
    /// The crowd labels.
    pub labels: CrowdLabels,
}

impl std::ops::Deref for CrowdData {
    type Target = CrowdLabels;
    fn deref(&self) -> &CrowdLabels {
        &self.labels
    }
}

impl CrowdData {
    /// Checks and assembles crowd data. Annotations are sorted by (item, worker).
    ///
    /// Fails when shapes disagree, an index is out of range, a (item, worker) pair repeats, a
    /// worker has no label, a feature is not finite, or there is nothing to learn from.
    pub fn new(
        features: Matrix,
        annotations: Vec<Annotation>,
        classes: Vec<String>,
        workers: Vec<String>,
        items: Vec<String>,
        truth: Option<Vec<Option<u32>>>,
    ) -> Result<Self, DataError> {
        if features.rows() != items.len() {
            return Err(DataError::Invalid(format!(
                "{} feature rows for {} items",
                features.rows(),
                items.len()
            )));
        }
        let labels = CrowdLabels::new(annotations, classes, workers, items, truth)?;
        CrowdData::join(labels, features)
    }

    /// Joins crowd labels to their items' features (row `i` of `features` is item
    /// `labels.items[i]`).
    pub fn join(labels: CrowdLabels, features: Matrix) -> Result<Self, DataError> {
        let items = &labels.items;
        if features.rows() != items.len() {
            return Err(DataError::Invalid(format!(
                "{} feature rows for {} items",
                features.rows(),
                items.len()
            )));
        }
        if features.cols() == 0 {
            return Err(DataError::Invalid(
                "items have no features (0 columns)".into(),
            ));
        }
        if let Some((r, c)) = features.first_non_finite() {
            return Err(DataError::Invalid(format!(
                "feature {c} of item {:?} is not finite ({})",
                items[r],
                features.row(r)[c]
            )));
        }
        Ok(CrowdData { features, labels })
    }

    /// Number of features per item.
    pub fn n_features(&self) -> usize {
        self.features.cols()
    }

    /// The data restricted to `items` (in that order), keeping every worker so that worker
    /// indices stay valid. Unlike [`CrowdData::new`], a worker may end with no label here.
    pub fn subset(&self, items: &[usize]) -> CrowdData {
        let mut new_index = vec![u32::MAX; self.n_items()];
        for (new, &old) in items.iter().enumerate() {
            new_index[old] = new as u32;
        }
        let mut annotations: Vec<Annotation> = self
            .annotations
            .iter()
            .filter(|a| new_index[a.item as usize] != u32::MAX)
            .map(|a| Annotation {
                item: new_index[a.item as usize],
                ..*a
            })
            .collect();
        annotations.sort_unstable();
        CrowdData {
            features: self.features.select_rows(items),
            labels: CrowdLabels {
                annotations,
                classes: self.classes.clone(),
                workers: self.workers.clone(),
                items: items.iter().map(|&i| self.items[i].clone()).collect(),
                truth: self
                    .truth
                    .as_ref()
                    .map(|t| items.iter().map(|&i| t[i]).collect()),
            },
        }
    }
}

/// Items with features and their true labels: a validation or test set.
#[derive(Debug, Clone)]
pub struct LabeledSet {
    /// Item features, one row per item.
    pub features: Matrix,
    /// True class index per item.
    pub truth: Vec<u32>,
    /// Item ids as in the input.
    pub items: Vec<String>,
}

impl LabeledSet {
    /// Checks and assembles a labelled set with `n_class` classes and `n_features` features.
    pub fn new(
        features: Matrix,
        truth: Vec<u32>,
        items: Vec<String>,
        n_class: usize,
    ) -> Result<Self, DataError> {
        if features.rows() != truth.len() || items.len() != truth.len() {
            return Err(DataError::Invalid(format!(
                "{} feature rows, {} labels and {} item ids do not match",
                features.rows(),
                truth.len(),
                items.len()
            )));
        }
        if truth.is_empty() {
            return Err(DataError::Invalid("labelled set has no items".into()));
        }
        if let Some(i) = truth.iter().position(|&y| y as usize >= n_class) {
            return Err(DataError::Invalid(format!(
                "label {} of item {:?} is not one of the {n_class} classes",
                truth[i], items[i]
            )));
        }
        if let Some((r, c)) = features.first_non_finite() {
            return Err(DataError::Invalid(format!(
                "feature {c} of item {:?} is not finite",
                items[r]
            )));
        }
        Ok(LabeledSet {
            features,
            truth,
            items,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.truth.len()
    }

    /// Whether the set is empty (never true for a value built by [`LabeledSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }
}

/// Everything a task provides: crowd-labelled training items and optional clean splits.
#[derive(Debug, Clone)]
pub struct TaskData {
    /// The crowd-labelled training items.
    pub train: CrowdData,
    /// A validation split with true labels, when the data set has one.
    pub valid: Option<LabeledSet>,
    /// A test split with true labels, when the data set has one.
    pub test: Option<LabeledSet>,
}

/// The three columns of crowd labels must be equally long.
fn same_lengths(tasks: usize, workers: usize, labels: usize) -> Result<(), DataError> {
    if tasks == workers && tasks == labels {
        return Ok(());
    }
    Err(DataError::Invalid(format!(
        "the task, worker and label columns have {tasks}, {workers} and {labels} rows; they \
         must be equally long"
    )))
}

/// One integer per label, ordered as the derived order of [`Annotation`] (which compares
/// field by field, and was most of an order check's time).
fn order_key(a: &Annotation) -> u128 {
    (u128::from(a.item) << 64) | (u128::from(a.worker) << 32) | u128::from(a.label)
}

/// The annotations sorted by (item, worker, label), as `sort_unstable` would order them: a
/// counting sort by item, then each item's few labels sorted. Linear in the number of labels
/// (a comparison sort of a million labels took most of the time of a majority vote).
fn sort_by_item_worker(annotations: Vec<Annotation>, n_items: usize) -> Vec<Annotation> {
    if annotations.is_sorted_by_key(order_key) {
        return annotations;
    }
    // Items in increasing order already (files listing each task's labels together, numbered
    // by first appearance): each item's run sorted in place, no second vector.
    if annotations.is_sorted_by_key(|a| a.item) {
        let mut annotations = annotations;
        for run in annotations.chunk_by_mut(|a, b| a.item == b.item) {
            run.sort_unstable();
        }
        return annotations;
    }
    let mut start = vec![0usize; n_items + 1];
    for a in &annotations {
        start[a.item as usize + 1] += 1;
    }
    for i in 0..n_items {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut sorted = vec![
        Annotation {
            item: 0,
            worker: 0,
            label: 0
        };
        annotations.len()
    ];
    for a in annotations {
        sorted[next[a.item as usize]] = a;
        next[a.item as usize] += 1;
    }
    for i in 0..n_items {
        sorted[start[i]..start[i + 1]].sort_unstable();
    }
    sorted
}

fn check_size(rows: usize, cols: usize, len: usize) -> Result<(), DataError> {
    if rows.checked_mul(cols) != Some(len) {
        return Err(DataError::Invalid(format!(
            "matrix of {rows} x {cols} needs {} values, got {len}",
            rows.saturating_mul(cols),
        )));
    }
    Ok(())
}

fn check_unique(what: &str, names: &[String]) -> Result<(), DataError> {
    // FxHash: SipHash over the ids of a million-label crowd showed in profiles.
    let mut seen: rustc_hash::FxHashSet<&str> =
        rustc_hash::FxHashSet::with_capacity_and_hasher(names.len(), Default::default());
    for name in names {
        if !seen.insert(name.as_str()) {
            return Err(DataError::Invalid(format!("{what} {name:?} appears twice")));
        }
    }
    Ok(())
}

/// The directory holding the shared real data sets: `$CONAL_DATA_DIR` when set, else
/// `../shared/data` relative to the crate root (where CI and developers keep them).
pub fn shared_data_dir() -> std::path::PathBuf {
    match std::env::var_os("CONAL_DATA_DIR") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn linear_sort_orders_as_sort_unstable() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for n in [1usize, 7, 500] {
            let annotations: Vec<Annotation> = (0..n * 4)
                .map(|_| Annotation {
                    item: rng.random_range(0..n as u32),
                    worker: rng.random_range(0..9),
                    label: rng.random_range(0..3),
                })
                .collect();
            let mut want = annotations.clone();
            want.sort_unstable();
            // Items in order already (each item's run sorted in place), and in any order.
            let mut by_item = annotations.clone();
            by_item.sort_by_key(|a| a.item);
            assert_eq!(sort_by_item_worker(by_item, n), want);
            assert_eq!(sort_by_item_worker(annotations, n), want);
        }
    }

    #[test]
    fn shared_matrix_reads_its_owner_and_copies_only_to_write() {
        let owner: Arc<Vec<f32>> = Arc::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let dyn_owner: Arc<dyn AsRef<[f32]> + Send + Sync> = owner.clone();
        let mut m = Matrix::shared(2, 3, dyn_owner).unwrap();
        assert!(m.is_shared());
        assert_eq!(m.as_slice().as_ptr(), owner.as_ptr(), "not copied");
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(m, Matrix::new(2, 3, owner.to_vec()).unwrap());
        assert!(Matrix::shared(4, 2, Arc::new(vec![0.0f32; 6])).is_err());
        m.as_mut_slice()[0] = 9.0;
        assert!(!m.is_shared());
        assert_eq!(m.as_slice(), &[9.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(owner[0], 1.0, "the owner's values are never written");
    }
}
