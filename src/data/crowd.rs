//! Crowd labels ([`CrowdLabels`]: the checked triples with their per-item index) and crowd
//! data (the labels joined to item features), the labelled splits and a whole task's data.

use crate::data::labels::{
    Annotation, Duplicates, Items, LabelRow, Place, build_labels, group_by_item,
};
use crate::data::matrix::Matrix;
use crate::error::DataError;

/// Crowd labels without features: the (item, worker, label) triples, the class names and the
/// worker and item ids. What aggregation needs; joined to features ([`CrowdData`]) for
/// training.
///
/// [`CrowdLabels::new`] checks indices and ids; [`CrowdLabels::from_strings`] and
/// [`CrowdLabels::from_codes`] build it from in-memory columns with the same checks and
/// messages as the file loaders, naming the first bad row.
///
/// The labels carry their per-item index, built once with them
/// ([`CrowdLabels::item_labels`]), and, when they were given in memory in another order, the
/// input's order ([`CrowdLabels::in_input_order`]). A crowd whose labels all name one class is
/// valid (crowd-kit aggregates it); training a model needs two.
#[derive(Debug, Clone)]
pub struct CrowdLabels {
    /// The observed labels, sorted by (item, worker). Read it freely; to change the labels,
    /// build new crowd labels (the per-item index is built with them).
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
    /// Item i's labels are `annotations[item_start[i]..item_start[i + 1]]`.
    item_start: Vec<usize>,
    /// Where each label stood in the input, when the input was in another order (in-memory
    /// columns only).
    input_order: Option<Vec<u32>>,
    /// Soft answers: per annotation (in `annotations`' order), a probability per class.
    soft: Option<Vec<f64>>,
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
        if annotations.is_empty() {
            return invalid("no crowd labels: nothing to learn from".into());
        }
        if classes.is_empty() {
            return invalid("no classes: a label needs a class to name".into());
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
        if classes.is_empty() || check_unique("class", &classes).is_err() {
            // `new` says what is wrong.
            return Self::new(annotations, classes, workers, items, truth);
        }
        Self::assemble(annotations, classes, workers, items, truth)
    }

    /// [`CrowdLabels::new`] once the ids are known to be unique and there are classes.
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
        Self::finish(annotations, classes, workers, items, truth, None)
    }

    /// Checked crowd labels with their per-item index built.
    fn finish(
        annotations: Vec<Annotation>,
        classes: Vec<String>,
        workers: Vec<String>,
        items: Vec<String>,
        truth: Option<Vec<Option<u32>>>,
        input_order: Option<Vec<u32>>,
    ) -> Result<Self, DataError> {
        let invalid = |m: String| Err(DataError::Invalid(m));
        let (n, k) = (items.len(), classes.len());
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
        let mut item_start = vec![0usize; n + 1];
        for a in &annotations {
            item_start[a.item as usize + 1] += 1;
        }
        for i in 0..n {
            item_start[i + 1] += item_start[i];
        }
        Ok(CrowdLabels {
            annotations,
            classes,
            workers,
            items,
            truth,
            item_start,
            input_order,
            soft: None,
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
        if k == 0 {
            return Err(DataError::Invalid(
                "no classes: a label needs a class to name".into(),
            ));
        }
        check_unique("class", &classes)?;
        // Methods whose draws follow the input's order (KOS's and MACE's, as crowd-kit's)
        // read it back.
        let (annotations, input_order): (Vec<Annotation>, _) =
            if annotations.is_sorted_by_key(order_key) {
                (annotations, None)
            } else {
                let order = sorting_order(&annotations, n_items);
                let sorted = order.iter().map(|&j| annotations[j as usize]).collect();
                (sorted, Some(order))
            };
        // A repeated pair sits next to itself once sorted; the rows name it to the caller,
        // who knows the ids behind the codes.
        if let Some(s) = (1..annotations.len()).find(|&s| {
            let (x, y) = (annotations[s - 1], annotations[s]);
            x.item == y.item && x.worker == y.worker
        }) {
            let row = |s: usize| input_order.as_ref().map_or(s, |o: &Vec<u32>| o[s] as usize);
            let (a, b) = (row(s - 1), row(s));
            return Err(DataError::RepeatedPair {
                first: a.min(b),
                second: a.max(b),
                worker: annotations[s].worker as usize,
                item: annotations[s].item as usize,
            });
        }
        // The ids are the codes themselves: unique by construction.
        let mut labels = CrowdLabels::assemble(
            annotations,
            classes,
            (0..n_workers).map(|i| i.to_string()).collect(),
            (0..n_items).map(|i| i.to_string()).collect(),
            None,
        )?;
        labels.input_order = input_order;
        Ok(labels)
    }

    /// Crowd labels from index triples over `n_items` items, `n_workers` workers and
    /// `n_classes` classes, named by their indices, with the checks of
    /// [`CrowdLabels::new`] (every worker needs a label).
    ///
    /// ```
    /// use conal::data::{Annotation, CrowdLabels};
    ///
    /// let a = |item, worker, label| Annotation { item, worker, label };
    /// let labels = CrowdLabels::indexed(2, 2, 3, vec![a(1, 0, 2), a(0, 1, 0)])?;
    /// assert_eq!(labels.item_labels(0), [a(0, 1, 0)]);
    /// assert_eq!(labels.classes, ["0", "1", "2"]);
    /// # Ok::<(), conal::DataError>(())
    /// ```
    pub fn indexed(
        n_items: usize,
        n_workers: usize,
        n_classes: usize,
        annotations: Vec<Annotation>,
    ) -> Result<Self, DataError> {
        let name = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        CrowdLabels::assemble(
            annotations,
            name(n_classes),
            name(n_workers),
            name(n_items),
            None,
        )
    }

    /// Item `i`'s labels (sorted by worker).
    pub fn item_labels(&self, i: usize) -> &[Annotation] {
        &self.annotations[self.item_start[i]..self.item_start[i + 1]]
    }

    /// Where each item's labels start in [`CrowdLabels::annotations`]: item i's are
    /// `annotations[starts[i]..starts[i + 1]]` (`n_items + 1` offsets).
    pub fn item_starts(&self) -> &[usize] {
        &self.item_start
    }

    /// The labels in the order they were given, for methods whose random draws follow that
    /// order as crowd-kit's do (KOS, MACE): the order of the in-memory columns they were
    /// built from ([`CrowdLabels::from_codes`]), else [`CrowdLabels::annotations`]'.
    pub fn in_input_order(&self) -> std::borrow::Cow<'_, [Annotation]> {
        match &self.input_order {
            None => std::borrow::Cow::Borrowed(&self.annotations),
            Some(order) => {
                let mut given = self.annotations.clone();
                for (a, &at) in self.annotations.iter().zip(order) {
                    given[at as usize] = *a;
                }
                std::borrow::Cow::Owned(given)
            }
        }
    }

    /// The answers as probabilities over the classes instead of one label each (an LLM's
    /// answer with its probabilities, a worker's stated confidence): `rows` holds one row of
    /// `n_classes` probabilities per label, in the order the labels were given (that of
    /// [`CrowdLabels::in_input_order`]). Each label becomes its row's most probable class (the
    /// first of equal ones), so that a method reading only labels sees that. A row that is not
    /// finite, non-negative and summing to 1 (within 1e-6) is an error naming the row and
    /// the class.
    ///
    /// ```
    /// use conal::data::{Annotation, CrowdLabels};
    ///
    /// let a = |item, worker| Annotation { item, worker, label: 0 };
    /// let labels = CrowdLabels::indexed(1, 2, 2, vec![a(0, 0), a(0, 1)])?
    ///     .with_soft(vec![0.2, 0.8, 0.6, 0.4])?;
    /// assert_eq!(labels.soft().unwrap()[..2], [0.2, 0.8]);
    /// assert_eq!(labels.annotations[0].label, 1);
    /// # Ok::<(), conal::DataError>(())
    /// ```
    pub fn with_soft(mut self, rows: Vec<f64>) -> Result<Self, DataError> {
        let (n, k) = (self.annotations.len(), self.classes.len());
        if rows.len() != n * k {
            return Err(DataError::Invalid(format!(
                "{} probabilities for {n} answers of {k} classes (expected {})",
                rows.len(),
                n * k
            )));
        }
        for (r, row) in rows.chunks_exact(k).enumerate() {
            if let Some(c) = row.iter().position(|p| !(p.is_finite() && *p >= 0.0)) {
                return Err(DataError::Invalid(format!(
                    "row {r}, class {:?}: the probability {} is not a finite non-negative number",
                    self.classes[c], row[c]
                )));
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(DataError::Invalid(format!(
                    "row {r}: the probabilities over the classes sum to {sum}, not 1"
                )));
            }
        }
        let soft = match &self.input_order {
            None => rows,
            Some(order) => order
                .iter()
                .flat_map(|&at| rows[at as usize * k..(at as usize + 1) * k].iter().copied())
                .collect(),
        };
        for (a, row) in self.annotations.iter_mut().zip(soft.chunks_exact(k)) {
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = c;
                }
            }
            a.label = best as u32;
        }
        self.soft = Some(soft);
        Ok(self)
    }

    /// The soft answers, when given ([`CrowdLabels::with_soft`]): a row of `n_classes`
    /// probabilities per annotation, in [`CrowdLabels::annotations`]' order.
    pub fn soft(&self) -> Option<&[f64]> {
        self.soft.as_deref()
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
        let labels = CrowdLabels::finish(
            annotations,
            self.classes.clone(),
            self.workers.clone(),
            items.iter().map(|&i| self.items[i].clone()).collect(),
            self.truth
                .as_ref()
                .map(|t| items.iter().map(|&i| t[i]).collect()),
            None,
        )
        .expect("a subset of checked labels is checked");
        CrowdData {
            features: self.features.select_rows(items),
            labels,
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
    sorting_order(&annotations, n_items)
        .into_iter()
        .map(|j| annotations[j as usize])
        .collect()
}

/// The positions of `annotations` in (item, worker, label) order: `annotations[order[s]]` is
/// the s-th label sorted. A counting sort by item, then each item's few labels sorted, as
/// [`sort_by_item_worker`].
fn sorting_order(annotations: &[Annotation], n_items: usize) -> Vec<u32> {
    let (start, mut order) = group_by_item(annotations, n_items);
    for i in 0..n_items {
        order[start[i]..start[i + 1]]
            .sort_unstable_by_key(|&j| order_key(&annotations[j as usize]));
    }
    order
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use std::sync::Arc;

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
