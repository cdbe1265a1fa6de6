//! Gold majority vote, as crowd-kit 1.4 defines it: each worker's skill is its accuracy on
//! the items whose true label is known, then a majority vote weighted by those skills.
//!
//! ```
//! use conal::aggregate::GoldMajorityVote;
//! use conal::data::Annotation;
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Item 0's true label is 0: worker 1 got it wrong.
//! let labels = [a(0, 0, 0), a(0, 1, 1), a(1, 0, 1), a(1, 1, 0)];
//! let fitted = GoldMajorityVote::new(vec![(0, 0)]).fit_annotations(2, 2, 2, &labels).unwrap();
//! assert_eq!(fitted.skills, vec![1.0, 0.0]);
//! assert_eq!(fitted.aggregation.labels[1], 1);
//! ```

use crate::aggregate::agreement::worker_accuracy;
use crate::aggregate::{Aggregation, MajorityVote, check_annotations};
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};

/// Gold majority vote's parameters: the known labels.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldMajorityVote {
    gold: Vec<(usize, u32)>,
    seed: u64,
}

/// What gold majority vote infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedGoldMajorityVote {
    /// Labels and posteriors of the skill-weighted vote.
    pub aggregation: Aggregation,
    /// Each worker's accuracy on the known items (crowd-kit's `skills_`).
    pub skills: Vec<f64>,
}

impl GoldMajorityVote {
    /// Gold majority vote with the known labels `(item, class)`.
    pub fn new(gold: Vec<(usize, u32)>) -> Self {
        GoldMajorityVote { gold, seed: 0 }
    }

    /// The known labels of `data` (its true labels, where it has them).
    pub fn from_truth(data: &CrowdLabels) -> Self {
        let gold = data
            .truth
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, y)| y.map(|y| (i, y)))
            .collect();
        Self::new(gold)
    }

    /// The known labels `(item, class)`.
    pub fn into_gold(self) -> Vec<(usize, u32)> {
        self.gold
    }

    /// Seed of the weighted vote's tie breaking. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Aggregates the crowd labels of `data` (an error names a worker by its id).
    pub fn fit(&self, data: &CrowdLabels) -> Result<FittedGoldMajorityVote> {
        self.fit_named(
            data.n_items(),
            data.n_workers(),
            data.n_classes(),
            &data.annotations,
            |w| format!("{:?}", data.workers[w]),
        )
    }

    /// Aggregates `annotations` over `n_items` items, `n_workers` workers, `n_class` classes.
    /// Every worker needs a label on a known item (crowd-kit's default: an error otherwise).
    pub fn fit_annotations(
        &self,
        n_items: usize,
        n_workers: usize,
        n_class: usize,
        annotations: &[Annotation],
    ) -> Result<FittedGoldMajorityVote> {
        self.fit_named(n_items, n_workers, n_class, annotations, |w| w.to_string())
    }

    /// [`GoldMajorityVote::fit_annotations`], naming worker `w` as `name(w)` in errors.
    fn fit_named(
        &self,
        n_items: usize,
        n_workers: usize,
        n_class: usize,
        annotations: &[Annotation],
        name: impl Fn(usize) -> String,
    ) -> Result<FittedGoldMajorityVote> {
        check_annotations(n_items, n_workers, n_class, annotations)?;
        let mut known: Vec<Option<u32>> = vec![None; n_items];
        for &(i, y) in &self.gold {
            if i >= n_items || y as usize >= n_class {
                return Err(Error::Config(format!("gold label ({i}, {y}) out of range")));
            }
            known[i] = Some(y);
        }
        let skills = worker_accuracy(n_workers, annotations, |item| known[item]);
        if let Some(w) = skills.iter().position(Option::is_none) {
            return Err(Error::Config(format!(
                "worker {} labelled no item with a known true label, so it has no skill \
                 (gold majority vote needs one for every worker)",
                name(w)
            )));
        }
        let skills: Vec<f64> = skills.into_iter().flatten().collect();
        let weighted = MajorityVote::new()
            .seed(self.seed)
            .weights(skills.clone())
            .fit_annotations(n_items, n_class, annotations)?;
        Ok(FittedGoldMajorityVote {
            aggregation: weighted.aggregation,
            skills,
        })
    }
}
