//! Label aggregation: inferring one label per item from the crowd's labels, without features.

pub mod majority_vote;

pub use majority_vote::MajorityVote;

use crate::data::Annotation;

/// What an aggregation method infers.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The inferred label of each item.
    pub labels: Vec<u32>,
    /// The posterior over classes of each item (rows sum to 1).
    pub posteriors: Vec<Vec<f64>>,
    /// Per-worker confusion matrices `[worker][true class][given label]`, when the method
    /// estimates them.
    pub worker_confusions: Option<Vec<Vec<Vec<f64>>>>,
    /// Per-worker ability scores, when the method estimates them (GLAD).
    pub worker_abilities: Option<Vec<f64>>,
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
