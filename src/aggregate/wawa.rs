//! Wawa (worker agreement with aggregate), as crowd-kit 1.4 defines it: majority vote, each
//! worker's skill is the share of its labels equal to the majority label, then a majority
//! vote weighted by those skills.
//!
//! ```
//! use conal::aggregate::{Aggregator, Wawa};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0 and 1 agree on items 0-2; worker 2 contradicts them.
//! let mut labels = Vec::new();
//! for i in 0..3 {
//!     labels.extend([a(i, 0, i % 2), a(i, 1, i % 2), a(i, 2, 1 - i % 2)]);
//! }
//! // Item 3: a tie between workers 0 and 2 in the plain vote.
//! labels.extend([a(3, 0, 1), a(3, 2, 0)]);
//! let fitted = Wawa::new().fit(&CrowdLabels::indexed(4, 3, 2, labels)?)?;
//! assert_eq!(fitted.skills[1], 1.0);
//! assert!(fitted.skills[0] > fitted.skills[2]);
//! // Worker 0's vote weighs more: item 3 goes its way.
//! assert_eq!(fitted.aggregation.labels[3], 1);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::agreement::accuracy_on_aggregates;
use crate::aggregate::contract::{Aggregation, Aggregator, Entry, fitted_with_skills};
use crate::aggregate::majority_vote::{MajorityVote, Ties, ties_param};
use crate::data::CrowdLabels;
use crate::error::Result;

/// Wawa in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "wawa",
    about: "majority vote weighted by each worker's agreement with the majority vote",
    params: &[
        (
            "seed",
            "seed of the tie-breaking draws of both votes (default 0)",
        ),
        (
            "ties",
            "random (default) or lowest (the first class in label order)",
        ),
    ],
    build: |p| {
        let mut wawa = Wawa::new().seed(p.u64("seed")?.unwrap_or(0));
        if let Some(ties) = ties_param(p)? {
            wawa = wawa.ties(ties);
        }
        Ok(Box::new(wawa))
    },
};

/// Wawa's parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wawa {
    seed: u64,
    ties: Ties,
}

/// What Wawa infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedWawa {
    /// Labels and posteriors of the skill-weighted vote (an item whose voters all have skill
    /// 0 is unlabelled: uniform posterior).
    pub aggregation: Aggregation,
    /// Each worker's agreement with the plain majority vote (crowd-kit's `skills_`).
    pub skills: Vec<f64>,
}

impl Wawa {
    /// Wawa with seed 0 for tie breaking.
    pub fn new() -> Self {
        Wawa {
            seed: 0,
            ties: Ties::Random,
        }
    }

    /// Seed of the tie-breaking draws of both votes. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How both votes break ties. Defaults to [`Ties::Random`].
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }
}

impl Aggregator for Wawa {
    type Fitted = FittedWawa;
    const SOFT: bool = true;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedWawa> {
        let (n, r, k) = (data.n_items(), data.n_workers(), data.n_classes());
        let annotations = &data.annotations;
        let soft = data.soft();
        let mv = MajorityVote::new().seed(self.seed).ties(self.ties);
        let vote = mv.vote(n, r, k, annotations, soft)?;
        // A worker without labels gets skill 0 (it casts no vote anyway).
        let skills: Vec<f64> = match soft {
            None => accuracy_on_aggregates(r, annotations, &vote.aggregation.labels)
                .into_iter()
                .map(|s| s.unwrap_or(0.0))
                .collect(),
            // Soft answers agree with the vote by the probability they give its label (a
            // one-hot row: 1 or 0, as a label).
            Some(soft) => {
                let (mut agree, mut total) = (vec![0.0; r], vec![0u64; r]);
                for (a, q) in annotations.iter().zip(soft.chunks_exact(k)) {
                    agree[a.worker as usize] +=
                        q[vote.aggregation.labels[a.item as usize] as usize];
                    total[a.worker as usize] += 1;
                }
                agree
                    .iter()
                    .zip(&total)
                    .map(|(&s, &t)| if t > 0 { s / t as f64 } else { 0.0 })
                    .collect()
            }
        };
        let weighted = mv
            .weights(skills.clone())
            .vote(n, r, k, annotations, soft)?;
        Ok(FittedWawa {
            aggregation: weighted.aggregation,
            skills,
        })
    }
}

fitted_with_skills!(FittedWawa);
