//! Label aggregation: inferring one label per item from the crowd's labels, without features.

pub mod agreement;
pub mod dawid_skene;
pub mod glad;
pub mod gold_majority_vote;
pub mod kos;
pub mod m_msr;
pub mod mace;
pub mod majority_vote;
pub mod wawa;
pub mod zero_based_skill;

pub use dawid_skene::{
    DawidSkene, FittedDawidSkene, FittedOneCoinDawidSkene, InitialErrorStrategy, InitialErrors,
    OneCoinDawidSkene,
};
pub use glad::{FittedGlad, Glad};
pub use gold_majority_vote::{FittedGoldMajorityVote, GoldMajorityVote};
pub use kos::{FittedKos, Kos};
pub use m_msr::{FittedMmsr, Mmsr};
pub use mace::{FittedMace, Mace, MaceMethod};
pub use majority_vote::{FittedMajorityVote, MajorityVote, Ties};
pub use wawa::{FittedWawa, Wawa};
pub use zero_based_skill::{FittedZeroBasedSkill, ZeroBasedSkill};

use serde::{Deserialize, Serialize};

use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};

/// A label aggregation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum AggregationMethod {
    /// Majority vote, ties broken at random from the seed.
    Mv,
    /// Dawid-Skene: one confusion matrix per worker, EM from majority vote.
    Ds,
    /// GLAD: worker ability × item easiness.
    Glad,
    /// Wawa: majority vote weighted by each worker's agreement with the majority vote.
    Wawa,
    /// Gold majority vote: majority vote weighted by each worker's accuracy on the items
    /// whose true label the data gives (every worker needs one such label).
    GoldMv,
    /// One-coin Dawid-Skene: one skill per worker, wrong answers uniform.
    OneCoinDs,
    /// Zero-based skill: majority vote weighted by skills learnt by gradient steps towards
    /// each worker's agreement with the vote.
    Zbs,
    /// KOS: belief-propagation-like messages between items and workers (two classes only).
    Kos,
    /// MACE: each worker knows the answer or spams from its own label distribution
    /// (variational Bayes).
    Mace,
    /// M-MSR: skills from robust rank-one completion of the workers' agreement matrix, then a
    /// log-odds weighted vote (dense in workers × workers).
    Mmsr,
}

impl AggregationMethod {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AggregationMethod::Mv => "mv",
            AggregationMethod::Ds => "ds",
            AggregationMethod::Glad => "glad",
            AggregationMethod::Wawa => "wawa",
            AggregationMethod::GoldMv => "gold-mv",
            AggregationMethod::OneCoinDs => "one-coin-ds",
            AggregationMethod::Zbs => "zbs",
            AggregationMethod::Kos => "kos",
            AggregationMethod::Mace => "mace",
            AggregationMethod::Mmsr => "mmsr",
        }
    }

    /// Runs the method with its default parameters (`seed` breaks majority-vote ties) and
    /// returns what all methods infer.
    pub fn fit(self, data: &CrowdLabels, seed: u64) -> Result<Aggregation> {
        let gold = GoldMajorityVote::from_truth(data).into_gold();
        self.fit_annotations(
            data.n_items(),
            data.n_workers(),
            data.n_classes(),
            &data.annotations,
            seed,
            gold,
        )
    }

    /// [`AggregationMethod::fit`] on bare annotations; `gold` (item, class) is what gold
    /// majority vote weighs the workers by (the other methods ignore it).
    pub fn fit_annotations(
        self,
        n: usize,
        r: usize,
        k: usize,
        a: &[Annotation],
        seed: u64,
        gold: Vec<(usize, u32)>,
    ) -> Result<Aggregation> {
        Ok(match self {
            AggregationMethod::Mv => {
                MajorityVote::new()
                    .seed(seed)
                    .fit_annotations(n, k, a)?
                    .aggregation
            }
            AggregationMethod::Ds => DawidSkene::new().fit_annotations(n, r, k, a)?.aggregation,
            AggregationMethod::Glad => Glad::new().fit_annotations(n, r, k, a)?.aggregation,
            AggregationMethod::Wawa => {
                Wawa::new()
                    .seed(seed)
                    .fit_annotations(n, r, k, a)?
                    .aggregation
            }
            AggregationMethod::OneCoinDs => {
                OneCoinDawidSkene::new()
                    .fit_annotations(n, r, k, a)?
                    .aggregation
            }
            AggregationMethod::GoldMv => {
                GoldMajorityVote::new(gold)
                    .seed(seed)
                    .fit_annotations(n, r, k, a)?
                    .aggregation
            }
            AggregationMethod::Zbs => {
                ZeroBasedSkill::new()
                    .seed(seed)
                    .fit_annotations(n, r, k, a)?
                    .aggregation
            }
            AggregationMethod::Kos => Kos::new().fit_annotations(n, r, k, a)?.aggregation,
            AggregationMethod::Mace => Mace::new().fit_annotations(n, r, k, a)?.aggregation,
            AggregationMethod::Mmsr => {
                Mmsr::new()
                    .seed(seed)
                    .fit_annotations(n, r, k, a)?
                    .aggregation
            }
        })
    }
}

/// Checks that every annotation indexes an existing item, worker and class.
pub(crate) fn check_annotations(
    n_items: usize,
    n_workers: usize,
    n_class: usize,
    annotations: &[Annotation],
) -> Result<()> {
    if annotations.is_empty() {
        return Err(Error::Config("no crowd labels to aggregate".into()));
    }
    if let Some(a) = annotations.iter().find(|a| {
        a.item as usize >= n_items || a.worker as usize >= n_workers || a.label as usize >= n_class
    }) {
        return Err(Error::Config(format!(
            "annotation {a:?} out of range ({n_items} items, {n_workers} workers, {n_class} classes)"
        )));
    }
    Ok(())
}

/// Checks that each named parameter is finite and non-negative.
pub(crate) fn check_non_negative(params: &[(&'static str, f64)]) -> Result<()> {
    match params.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
        Some(&(name, v)) => Err(Error::param(name, v, "finite and non-negative")),
        None => Ok(()),
    }
}

/// What every aggregation method infers: one label and one posterior per item. Each method's
/// fitted type ([`FittedMajorityVote`], [`FittedDawidSkene`], [`FittedGlad`]) holds this and
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
