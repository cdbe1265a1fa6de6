//! What every aggregation method is and gives. Two kinds of answers, one shape each:
//! - crowd labels of classes: the [`Aggregator`] trait (settings → `fit` over
//!   [`CrowdLabels`] → a fitted value), the [`FittedAggregator`] trait (labels, posteriors and
//!   what the method learned, by name);
//! - pairwise comparisons: the [`Ranker`] trait (settings → `fit` over [`Comparisons`],
//!   optionally weighted → a [`FittedRanking`]: one score per item and what it learned);
//! - image segmentations: the [`Segmenter`] trait (settings → `fit` over [`Segmentations`] →
//!   a [`FittedSegmentation`]: one mask per task);
//! - embedded answers: the [`Embedder`] trait (settings → `fit` over [`Embeddings`] → a
//!   [`FittedEmbeddings`]: one embedding per task and the answer closest to it);
//! - tokenised texts: the [`TextAggregator`] trait (settings → `fit` over [`Texts`] → a
//!   [`FittedTexts`]: one word sequence per task).
//!
//! Both are listed in the registry as an [`Entry`] (name, summary, parameters, builder).

use crate::aggregate::params::Params;
use crate::data::{Annotation, Comparisons, CrowdLabels, Embeddings, Segmentations, Texts};
use crate::error::{Error, Result};

/// An aggregation method with its settings: infers one label per item from the crowd's
/// labels alone.
pub trait Aggregator {
    /// What it infers.
    type Fitted: FittedAggregator + 'static;

    /// Whether it reads soft answers ([`CrowdLabels::soft`]); through the registry, one that
    /// does not refuses them rather than reading only their most probable labels.
    const SOFT: bool = false;

    /// Aggregates the crowd labels of `data`.
    fn fit(&self, data: &CrowdLabels) -> Result<Self::Fitted>;
}

/// What a fitted aggregation method gives, whatever the method.
pub trait FittedAggregator: std::fmt::Debug + Send + Sync {
    /// The labels and posteriors of every item.
    fn aggregation(&self) -> &Aggregation;

    /// Everything else the method learned, by crowd-kit's attribute name where it has one
    /// (`errors`, `priors`, `skills`, `alphas`, `betas`, `loss_history`, …).
    fn learned(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }

    /// What it learned about each worker, for reports: one entry per name (`confusion`: a
    /// K × K matrix `[true class][label given]`; `skill`; `ability`), indexed by worker.
    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }
}

/// A ranking method with its settings: one score per item from pairwise comparisons.
pub trait Ranker {
    /// What it infers.
    type Fitted: FittedRanking + 'static;

    /// Ranks the items of `data`, each comparison weighing `weights[c]` (all 1 when `None`;
    /// a bootstrap resample weighs each comparison by how often it was drawn).
    fn fit_weighted(&self, data: &Comparisons, weights: Option<&[f64]>) -> Result<Self::Fitted>;

    /// Ranks the items of `data`.
    fn fit(&self, data: &Comparisons) -> Result<Self::Fitted> {
        self.fit_weighted(data, None)
    }
}

/// What a fitted ranking method gives, whatever the method.
pub trait FittedRanking: std::fmt::Debug + Send + Sync {
    /// One score per item (higher: preferred more often); NaN for an item without a
    /// decisive comparison.
    fn scores(&self) -> &[f64];

    /// Everything else the method learned, by crowd-kit's attribute name (`skills`,
    /// `biases`, `loss_history`).
    fn learned(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }

    /// What it learned about each worker (`skill`, `bias`), indexed by worker.
    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }
}

/// A segmentation method with its settings: one binary mask per task from the workers'
/// masks.
pub trait Segmenter {
    /// What it infers.
    type Fitted: FittedSegmentation + 'static;

    /// Aggregates the masks of `data`.
    fn fit(&self, data: &Segmentations) -> Result<Self::Fitted>;
}

/// What a fitted segmentation method gives, whatever the method.
pub trait FittedSegmentation: std::fmt::Debug + Send + Sync {
    /// Each task's mask, row-major in the task's shape (empty for a task without a mask).
    fn masks(&self) -> &[Vec<bool>];

    /// Everything else the method learned, by name (`loss_history`: one vector per task).
    fn learned(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }
}

/// A [`Segmenter`] behind a pointer, as the registry hands it out.
pub trait DynSegmenter: Send + Sync {
    /// Aggregates the masks of `data`.
    fn fit(&self, data: &Segmentations) -> Result<Box<dyn FittedSegmentation>>;
}

impl<S: Segmenter + Send + Sync> DynSegmenter for S {
    fn fit(&self, data: &Segmentations) -> Result<Box<dyn FittedSegmentation>> {
        Ok(Box::new(Segmenter::fit(self, data)?))
    }
}

/// An embedding method with its settings: one embedding per task from the workers'
/// embedded answers, and the answer closest to it.
pub trait Embedder {
    /// What it infers.
    type Fitted: FittedEmbeddings + 'static;

    /// Aggregates the embedded answers of `data`.
    fn fit(&self, data: &Embeddings) -> Result<Self::Fitted>;
}

/// What a fitted embedding method gives, whatever the method.
pub trait FittedEmbeddings: std::fmt::Debug + Send + Sync {
    /// Each task's aggregated embedding (empty for a task without answers).
    fn aggregated(&self) -> &[Vec<f64>];

    /// Each row's distance to its task's aggregated embedding.
    fn scores(&self) -> &[f64];

    /// Each task's answer (row) closest to its aggregate: the first of the smallest
    /// distances; `None` for a task without a row or whose distances are all NaN.
    fn closest(&self) -> &[Option<usize>];

    /// Everything else the method learned, by crowd-kit's attribute name (`skills`,
    /// `prior_skills`, `loss_history`).
    fn learned(&self) -> Vec<(&'static str, Values)> {
        Vec::new()
    }
}

/// An [`Embedder`] behind a pointer, as the registry hands it out.
pub trait DynEmbedder: Send + Sync {
    /// Aggregates the embedded answers of `data`.
    fn fit(&self, data: &Embeddings) -> Result<Box<dyn FittedEmbeddings>>;
}

impl<E: Embedder + Send + Sync> DynEmbedder for E {
    fn fit(&self, data: &Embeddings) -> Result<Box<dyn FittedEmbeddings>> {
        Ok(Box::new(Embedder::fit(self, data)?))
    }
}

/// A text method with its settings: one word sequence per task from the workers' texts.
pub trait TextAggregator {
    /// What it infers.
    type Fitted: FittedTexts + 'static;

    /// Aggregates the texts of `data`.
    fn fit(&self, data: &Texts) -> Result<Self::Fitted>;
}

/// What a fitted text method gives, whatever the method.
pub trait FittedTexts: std::fmt::Debug + Send + Sync {
    /// Each task's words (ids into the vocabulary).
    fn texts(&self) -> &[Vec<u32>];
}

/// A [`TextAggregator`] behind a pointer, as the registry hands it out.
pub trait DynTextAggregator: Send + Sync {
    /// Aggregates the texts of `data`.
    fn fit(&self, data: &Texts) -> Result<Box<dyn FittedTexts>>;
}

impl<T: TextAggregator + Send + Sync> DynTextAggregator for T {
    fn fit(&self, data: &Texts) -> Result<Box<dyn FittedTexts>> {
        Ok(Box::new(TextAggregator::fit(self, data)?))
    }
}

/// A method in the registry: an aggregation method of classes (`M` = [`DynAggregator`], the
/// default), a ranking method of comparisons (`M` = [`DynRanker`]), a segmentation method
/// (`M` = [`DynSegmenter`]), an embedding method (`M` = [`DynEmbedder`]) or a text method
/// (`M` = [`DynTextAggregator`]).
pub struct Entry<M: ?Sized + 'static = dyn DynAggregator> {
    /// Name as written on the command line and given to the bindings (`ds`, `glad`, …).
    pub name: &'static str,
    /// One line for `--help` and tables.
    pub about: &'static str,
    /// The parameters it takes (crowd-kit's names), with a line each.
    pub params: &'static [(&'static str, &'static str)],
    /// Builds the method from checked parameters.
    pub(crate) build: fn(&Params) -> Result<Box<M>>,
}

/// An [`Aggregator`] behind a pointer, as the registry hands it out.
pub trait DynAggregator: Send + Sync {
    /// Aggregates the crowd labels of `data`.
    fn fit(&self, data: &CrowdLabels) -> Result<Box<dyn FittedAggregator>>;
}

impl<A: Aggregator + Send + Sync> DynAggregator for A {
    fn fit(&self, data: &CrowdLabels) -> Result<Box<dyn FittedAggregator>> {
        if data.soft().is_some() && !A::SOFT {
            return Err(crate::error::Error::Invalid {
                what: "answers",
                message: "this method takes one label per answer; soft answers (probabilities) \
                          are aggregated by majority vote, Wawa, Dawid-Skene and one-coin \
                          Dawid-Skene"
                    .into(),
            });
        }
        Ok(Box::new(Aggregator::fit(self, data)?))
    }
}

/// A [`Ranker`] behind a pointer, as the registry hands it out.
pub trait DynRanker: Send + Sync {
    /// Ranks the items of `data`, comparisons weighted by `weights` where given.
    fn fit(&self, data: &Comparisons, weights: Option<&[f64]>) -> Result<Box<dyn FittedRanking>>;
}

impl<R: Ranker + Send + Sync> DynRanker for R {
    fn fit(&self, data: &Comparisons, weights: Option<&[f64]>) -> Result<Box<dyn FittedRanking>> {
        Ok(Box::new(self.fit_weighted(data, weights)?))
    }
}

impl<M: ?Sized> Entry<M> {
    /// Whether the method takes a parameter of this name.
    pub fn takes(&self, name: &str) -> bool {
        self.params.iter().any(|(n, _)| *n == name)
    }

    /// The method with `params` (unset ones at their defaults); a name it does not take is
    /// an error that lists those it does.
    pub fn build(&self, params: &Params) -> Result<Box<M>> {
        if let Some(unknown) = params.names().find(|n| !self.takes(n)) {
            let names: Vec<&str> = self.params.iter().map(|(n, _)| *n).collect();
            return Err(Error::Invalid {
                what: "parameters",
                message: format!(
                    "{} takes no parameter {unknown:?} (it takes {})",
                    self.name,
                    names.join(", ")
                ),
            });
        }
        (self.build)(params)
    }
}

impl Entry {
    /// Builds the method with `params` and aggregates `data`.
    pub fn fit(&self, params: &Params, data: &CrowdLabels) -> Result<Box<dyn FittedAggregator>> {
        self.build(params)?.fit(data)
    }
}

impl Entry<dyn DynSegmenter> {
    /// Builds the method with `params` and aggregates the masks of `data`.
    pub fn fit(
        &self,
        params: &Params,
        data: &Segmentations,
    ) -> Result<Box<dyn FittedSegmentation>> {
        self.build(params)?.fit(data)
    }
}

impl Entry<dyn DynEmbedder> {
    /// Builds the method with `params` and aggregates the embedded answers of `data`.
    pub fn fit(&self, params: &Params, data: &Embeddings) -> Result<Box<dyn FittedEmbeddings>> {
        self.build(params)?.fit(data)
    }
}

impl Entry<dyn DynRanker> {
    /// Builds the method with `params` and ranks the items of `data`.
    pub fn fit(&self, params: &Params, data: &Comparisons) -> Result<Box<dyn FittedRanking>> {
        self.build(params)?.fit(data, None)
    }
}

/// A learned quantity: a number, a vector, a matrix or a stack of matrices, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// One number.
    Scalar(f64),
    /// A vector.
    Vector(Vec<f64>),
    /// `rows × cols` values.
    Matrix {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Row after row.
        values: Vec<f64>,
    },
    /// `dims[0]` matrices of `dims[1] × dims[2]`.
    Cube {
        /// The three sizes.
        dims: [usize; 3],
        /// Matrix after matrix, row after row.
        values: Vec<f64>,
    },
}

impl Values {
    /// Rows of equal length as a matrix.
    pub fn matrix(rows: &[Vec<f64>]) -> Values {
        Values::Matrix {
            rows: rows.len(),
            cols: rows.first().map_or(0, Vec::len),
            values: rows.concat(),
        }
    }

    /// Matrices of equal shape as a cube.
    pub fn cube(matrices: &[Vec<Vec<f64>>]) -> Values {
        let (b, c) = matrices
            .first()
            .map_or((0, 0), |m| (m.len(), m.first().map_or(0, Vec::len)));
        Values::Cube {
            dims: [matrices.len(), b, c],
            values: matrices.iter().flat_map(|m| m.concat()).collect(),
        }
    }

    /// Entry `i` of the first dimension, as JSON (a worker's skill, confusion, …).
    pub fn entry_json(&self, i: usize) -> serde_json::Value {
        match self {
            Values::Scalar(v) => serde_json::json!(v),
            Values::Vector(v) => serde_json::json!(v[i]),
            Values::Matrix { cols, values, .. } => {
                serde_json::json!(&values[i * cols..(i + 1) * cols])
            }
            Values::Cube { dims, values } => {
                let [_, b, c] = *dims;
                let m = &values[i * b * c..(i + 1) * b * c];
                serde_json::json!(m.chunks(c.max(1)).collect::<Vec<_>>())
            }
        }
    }
}

/// The [`FittedAggregator`] of a fitted type whose fields are its `aggregation` and one
/// `skills` value per worker (Wawa, gold majority vote, zero-based skill).
macro_rules! fitted_with_skills {
    ($fitted:ty) => {
        impl $crate::aggregate::contract::FittedAggregator for $fitted {
            fn aggregation(&self) -> &$crate::aggregate::contract::Aggregation {
                &self.aggregation
            }

            fn learned(&self) -> Vec<(&'static str, $crate::aggregate::contract::Values)> {
                vec![(
                    "skills",
                    $crate::aggregate::contract::Values::Vector(self.skills.clone()),
                )]
            }

            fn worker_params(&self) -> Vec<(&'static str, $crate::aggregate::contract::Values)> {
                vec![(
                    "skill",
                    $crate::aggregate::contract::Values::Vector(self.skills.clone()),
                )]
            }
        }
    };
}
pub(crate) use fitted_with_skills;

/// Checks that each named parameter is finite and non-negative.
pub(crate) fn check_non_negative(params: &[(&'static str, f64)]) -> Result<()> {
    match params.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
        Some(&(name, v)) => Err(Error::param(name, v, "finite and non-negative")),
        None => Ok(()),
    }
}

/// What every aggregation method infers: one label and one posterior per item. Each method's
/// fitted type holds this and
/// what the method learned about the workers and items.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The inferred label of each item.
    pub labels: Vec<u32>,
    /// The posterior over classes of each item (rows sum to 1): `posteriors[i]` is item
    /// `i`'s row.
    pub posteriors: Posteriors,
    /// Whether each item had at least one crowd label (items without one get a guess).
    pub has_labels: Vec<bool>,
}

/// One row of class probabilities per item, stored as one row-major vector: a row is
/// `posteriors[i]` (a slice), all of them `rows()` or `as_flat()`. One allocation rather
/// than one per item (on a million labels, majority vote's 200,000 row vectors took longer
/// than its vote).
///
/// ```
/// use conal::aggregate::Posteriors;
///
/// let p = Posteriors::from_rows(&[vec![0.25, 0.75], vec![1.0, 0.0]]);
/// assert_eq!((p.len(), p.n_classes()), (2, 2));
/// assert_eq!(p[1], [1.0, 0.0]);
/// assert_eq!(p.as_flat(), [0.25, 0.75, 1.0, 0.0]);
/// assert_eq!(p.rows().map(|r| r[0]).collect::<Vec<_>>(), [0.25, 1.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Posteriors {
    n_items: usize,
    n_classes: usize,
    values: Vec<f64>,
}

impl Posteriors {
    /// `n_items` rows of `n_classes` values from one row-major vector.
    ///
    /// # Panics
    /// If `values` does not hold `n_items × n_classes` values (a bug of the caller, never
    /// the data).
    pub fn from_flat(n_items: usize, n_classes: usize, values: Vec<f64>) -> Self {
        assert_eq!(
            values.len(),
            n_items * n_classes,
            "{n_items} × {n_classes} posteriors"
        );
        Posteriors {
            n_items,
            n_classes,
            values,
        }
    }

    /// The rows `rows`, all as long as the first.
    ///
    /// # Panics
    /// If the rows differ in length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let n_classes = rows.first().map_or(0, Vec::len);
        Self::from_flat(rows.len(), n_classes, rows.concat())
    }

    /// The number of items (rows).
    pub fn len(&self) -> usize {
        self.n_items
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.n_items == 0
    }

    /// The number of classes (the length of a row).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The rows in item order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        let k = self.n_classes;
        (0..self.n_items).map(move |i| &self.values[i * k..(i + 1) * k])
    }

    /// Every value, row after row.
    pub fn as_flat(&self) -> &[f64] {
        &self.values
    }

    /// Every value, row after row, by value.
    pub fn into_flat(self) -> Vec<f64> {
        self.values
    }

    /// The rows as vectors of their own.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.rows().map(<[f64]>::to_vec).collect()
    }
}

impl std::ops::Index<usize> for Posteriors {
    type Output = [f64];

    fn index(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_classes..(i + 1) * self.n_classes]
    }
}

impl std::ops::IndexMut<usize> for Posteriors {
    fn index_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.values[i * self.n_classes..(i + 1) * self.n_classes]
    }
}

impl Aggregation {
    /// The inferred labels of the labelled items as annotations of a single pseudo-worker 0,
    /// for training a plain classifier on them.
    pub fn as_annotations(&self) -> Vec<Annotation> {
        self.labels
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.has_labels[i])
            .map(|(i, &label)| Annotation {
                item: i as u32,
                worker: 0,
                label,
            })
            .collect()
    }
}
