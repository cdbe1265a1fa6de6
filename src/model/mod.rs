//! Models: the classifier backbones, CoNAL, and the contract the trainer needs.

pub mod annot_mix;
pub mod classifier;
pub mod conal;
pub mod crowdlayer;
pub mod init;
pub mod plain;
pub mod wide;

use burn::module::Module;
use burn::tensor::Tensor;

pub use annot_mix::{AnnotMix, AnnotMixConfig};
pub use classifier::{
    AffineBatchNorm, Backbone, BatchNorm, DeepMlp, HiddenBackbone, Mlp, MlpConfig, Mode,
};
pub use conal::{
    BackboneConfig, Conal, ConalConfig, Confusion, CrowdOutput, DeepConfig, FlatInput, Observed,
    PairMix,
};
pub use crowdlayer::{CrowdLayer, CrowdLayerConfig, CrowdLayerKind};
pub use init::Init;
pub use plain::Plain;

use crate::loss::confusion_regulariser;

/// What the trainer needs of a model that learns from crowd labels.
pub trait CrowdModel<I>: Module {
    /// Classifier logits and the logits of every observed worker label.
    fn forward(&self, input: &I, obs: &Observed, mode: &mut Mode) -> CrowdOutput;

    /// Classifier logits only (prediction).
    ///
    /// # Shapes
    /// - output: `[batch, K]`
    fn class_logits(&self, input: &I, mode: &mut Mode) -> Tensor<2>;

    /// A term added to the loss, if the model has one (`lambda` is the seed's `--scale`).
    fn penalty(&self, lambda: f64) -> Option<Tensor<1>>;

    /// Whether the model explains each worker's labels (a noise model), so that the
    /// likelihood of held-out crowd labels measures it. A plain classifier trained on
    /// aggregated labels has none; it is selected on agreement with held-out targets.
    fn has_noise_model(&self) -> bool {
        true
    }

    /// Whether the model takes a blend of two annotators ([`Observed::mix`], Annot-Mix's
    /// mixup over labels). Models that do not are never given one.
    fn mixes_annotators(&self) -> bool {
        false
    }
}

impl<I: FlatInput, C: Backbone<I>> CrowdModel<I> for Conal<C> {
    fn forward(&self, input: &I, obs: &Observed, mode: &mut Mode) -> CrowdOutput {
        Conal::forward(self, input, obs, mode)
    }

    fn class_logits(&self, input: &I, mode: &mut Mode) -> Tensor<2> {
        self.classifier.logits(input, mode)
    }

    fn penalty(&self, lambda: f64) -> Option<Tensor<1>> {
        (lambda != 0.0)
            .then(|| confusion_regulariser(self.common.val(), self.individual.val(), lambda))
    }
}
