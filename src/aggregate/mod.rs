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
    /// The posterior over classes of each item (rows sum to 1).
    pub posteriors: Vec<Vec<f64>>,
    /// Whether each item had at least one crowd label (items without one get a guess).
    pub has_labels: Vec<bool>,
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
