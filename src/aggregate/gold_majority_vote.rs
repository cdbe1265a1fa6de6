//! Gold majority vote, as crowd-kit 1.4 defines it: each worker's skill is its accuracy on
//! the items whose true label is known, then a majority vote weighted by those skills.
//!
//! ```
//! use conal::aggregate::{Aggregator, GoldMajorityVote};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Item 0's true label is 0: worker 1 got it wrong.
//! let labels = vec![a(0, 0, 0), a(0, 1, 1), a(1, 0, 1), a(1, 1, 0)];
//! let data = CrowdLabels::indexed(2, 2, 2, labels)?;
//! let fitted = GoldMajorityVote::new(vec![(0, 0)]).fit(&data)?;
//! assert_eq!(fitted.skills, vec![1.0, 0.0]);
//! assert_eq!(fitted.aggregation.labels[1], 1);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::agreement::worker_accuracy;
use crate::aggregate::contract::{Aggregation, Aggregator, Entry, fitted_with_skills};
use crate::aggregate::majority_vote::{MajorityVote, Ties, ties_param};
use crate::data::CrowdLabels;
use crate::error::{Error, Result};

/// Gold majority vote in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "gold-mv",
    about: "majority vote weighted by each worker's accuracy on the items whose true label is \
            known (every worker needs one)",
    params: &[
        (
            "seed",
            "seed of the weighted vote's tie breaking (default 0)",
        ),
        (
            "ties",
            "random (default) or lowest (the first class in label order)",
        ),
        (
            "gold_tasks",
            "the items whose true label is known (default: the data's true labels)",
        ),
        (
            "gold_labels",
            "their true classes, one per item of gold_tasks",
        ),
    ],
    build: |p| {
        let mut gold = GoldMajorityVote::from_data_truth();
        match (p.ints("gold_tasks")?, p.ints("gold_labels")?) {
            (None, None) => {}
            (Some(items), Some(labels)) => gold = GoldMajorityVote::new(gold_pairs(items, labels)?),
            _ => {
                return Err(Error::param(
                    "gold_tasks",
                    "given alone",
                    "goes with gold_labels (one class per item)",
                ));
            }
        }
        gold = gold.seed(p.u64("seed")?.unwrap_or(0));
        if let Some(ties) = ties_param(p)? {
            gold = gold.ties(ties);
        }
        Ok(Box::new(gold))
    },
};

/// Known (item, class) pairs from two equally long code lists.
pub(crate) fn gold_pairs(items: &[i64], labels: &[i64]) -> Result<Vec<(usize, u32)>> {
    if items.len() != labels.len() {
        return Err(Error::param(
            "gold_labels",
            format!("{} values", labels.len()),
            format!("one class per item of gold_tasks ({})", items.len()),
        ));
    }
    items
        .iter()
        .zip(labels)
        .map(|(&i, &y)| match (usize::try_from(i), u32::try_from(y)) {
            (Ok(i), Ok(y)) => Ok((i, y)),
            _ => Err(Error::param("gold_tasks", i, "codes must be non-negative")),
        })
        .collect()
}

/// Gold majority vote's parameters: the known labels.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldMajorityVote {
    /// `None`: the data's own true labels.
    gold: Option<Vec<(usize, u32)>>,
    seed: u64,
    ties: Ties,
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
        GoldMajorityVote {
            gold: Some(gold),
            seed: 0,
            ties: Ties::Random,
        }
    }

    /// Gold majority vote with the data's own true labels, where it has them.
    pub fn from_data_truth() -> Self {
        GoldMajorityVote {
            gold: None,
            seed: 0,
            ties: Ties::Random,
        }
    }

    /// Seed of the weighted vote's tie breaking. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How the weighted vote breaks ties. Defaults to [`Ties::Random`].
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }
}

impl Aggregator for GoldMajorityVote {
    type Fitted = FittedGoldMajorityVote;

    /// Every worker needs a label on a known item (crowd-kit's default: an error otherwise,
    /// naming the worker).
    fn fit(&self, data: &CrowdLabels) -> Result<FittedGoldMajorityVote> {
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        let gold = match &self.gold {
            Some(g) => g.clone(),
            None => data.known_truth(),
        };
        let mut known: Vec<Option<u32>> = vec![None; n_items];
        for &(i, y) in &gold {
            if i >= n_items || y as usize >= n_class {
                return Err(Error::param(
                    "gold_tasks",
                    format!("({i}, {y})"),
                    format!("a known label must name one of {n_items} items and {n_class} classes"),
                ));
            }
            known[i] = Some(y);
        }
        let skills = worker_accuracy(n_workers, &data.annotations, |item| known[item]);
        if let Some(w) = skills.iter().position(Option::is_none) {
            return Err(Error::Invalid {
                what: "gold majority vote",
                message: format!(
                    "worker {:?} labelled no item with a known true label, so it has no skill \
                     (gold majority vote needs one for every worker)",
                    data.workers[w]
                ),
            });
        }
        let skills: Vec<f64> = skills.into_iter().flatten().collect();
        let weighted = MajorityVote::new()
            .seed(self.seed)
            .ties(self.ties)
            .weights(skills.clone())
            .vote(n_items, n_workers, n_class, &data.annotations, None)?;
        Ok(FittedGoldMajorityVote {
            aggregation: weighted.aggregation,
            skills,
        })
    }
}

fitted_with_skills!(FittedGoldMajorityVote);
