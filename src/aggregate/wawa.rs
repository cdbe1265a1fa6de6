//! Wawa (worker agreement with aggregate), as crowd-kit 1.4 defines it: majority vote, each
//! worker's skill is the share of its labels equal to the majority label, then a majority
//! vote weighted by those skills.
//!
//! ```
//! use conal::aggregate::Wawa;
//! use conal::data::Annotation;
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0 and 1 agree on items 0-2; worker 2 contradicts them.
//! let mut labels = Vec::new();
//! for i in 0..3 {
//!     labels.extend([a(i, 0, i % 2), a(i, 1, i % 2), a(i, 2, 1 - i % 2)]);
//! }
//! // Item 3: a tie between workers 0 and 2 in the plain vote.
//! labels.extend([a(3, 0, 1), a(3, 2, 0)]);
//! let fitted = Wawa::new().fit_annotations(4, 3, 2, &labels).unwrap();
//! assert_eq!(fitted.skills[1], 1.0);
//! assert!(fitted.skills[0] > fitted.skills[2]);
//! // Worker 0's vote weighs more: item 3 goes its way.
//! assert_eq!(fitted.aggregation.labels[3], 1);
//! ```

use crate::aggregate::agreement::accuracy_on_aggregates;
use crate::aggregate::{Aggregation, MajorityVote, check_annotations};
use crate::data::{Annotation, CrowdLabels};
use crate::error::Result;

/// Wawa's parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wawa {
    seed: u64,
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
        Wawa { seed: 0 }
    }

    /// Seed of the tie-breaking draws of both votes. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Aggregates the crowd labels of `data`.
    pub fn fit(&self, data: &CrowdLabels) -> Result<FittedWawa> {
        self.fit_annotations(
            data.n_items(),
            data.n_workers(),
            data.n_classes(),
            &data.annotations,
        )
    }

    /// Aggregates `annotations` over `n_items` items, `n_workers` workers, `n_class` classes.
    pub fn fit_annotations(
        &self,
        n_items: usize,
        n_workers: usize,
        n_class: usize,
        annotations: &[Annotation],
    ) -> Result<FittedWawa> {
        check_annotations(n_items, n_workers, n_class, annotations)?;
        let vote =
            MajorityVote::new()
                .seed(self.seed)
                .fit_annotations(n_items, n_class, annotations)?;
        // A worker without labels gets skill 0 (it casts no vote anyway).
        let skills: Vec<f64> =
            accuracy_on_aggregates(n_workers, annotations, &vote.aggregation.labels)
                .into_iter()
                .map(|s| s.unwrap_or(0.0))
                .collect();
        let weighted = MajorityVote::new()
            .seed(self.seed)
            .weights(skills.clone())
            .fit_annotations(n_items, n_class, annotations)?;
        Ok(FittedWawa {
            aggregation: weighted.aggregation,
            skills,
        })
    }
}
