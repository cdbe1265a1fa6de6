//! A plain classifier trained on one label per item (majority-vote, Dawid-Skene or true
//! labels): the crowd machinery with a single pseudo-worker whose labels are taken at face
//! value, i.e. cross-entropy of `softmax(z)` against the given label.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::model::classifier::{Backbone, Mode};
use crate::model::contract::{CrowdModel, CrowdOutput, Observed};

/// A classifier trained directly on hard labels.
#[derive(Module, Debug)]
pub struct Plain<C> {
    /// The classifier.
    pub classifier: C,
}

impl<I, C: Backbone<I>> CrowdModel<I> for Plain<C> {
    fn forward(&self, input: &I, obs: &Observed, mode: &mut Mode) -> CrowdOutput {
        let class_logits = self.classifier.logits(input, mode);
        let worker_logits = class_logits.clone().select(0, obs.items.clone());
        CrowdOutput {
            class_logits,
            worker_logits,
            omega: None,
            label_weights: None,
        }
    }

    fn class_logits(&self, input: &I, mode: &mut Mode) -> Tensor<2> {
        self.classifier.logits(input, mode)
    }

    fn penalty(&self, _lambda: f64) -> Option<Tensor<1>> {
        None
    }

    fn has_noise_model(&self) -> bool {
        false
    }
}
