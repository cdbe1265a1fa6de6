//! Models: the classifier backbones, CoNAL, and the contract the trainer needs.

pub mod annot_mix;
pub mod classifier;
pub mod conal;
pub mod crowdlayer;
pub mod init;
pub mod madl;
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
pub use madl::{Madl, MadlConfig};
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

    /// Each annotator's confusion matrix as probabilities, `[R, K, K]` (row k: the label
    /// distribution given true class k), for models whose confusions are stochastic
    /// matrices that do not depend on the item (GeoCrowdNet-W's regulariser reads them).
    /// `None` for the others.
    fn annotator_confusions(&self) -> Option<Tensor<3>> {
        None
    }

    /// Whether the model takes a blend of two annotators ([`Observed::mix`], Annot-Mix's
    /// mixup over labels). Models that do not are never given one.
    fn mixes_annotators(&self) -> bool {
        false
    }
}

/// `log Σ_k p(y = k | x) P_kz` for every label z: the log-probabilities of a worker's labels
/// under the mixture of a classifier's `log_p` `[M, K]` and a confusion per label
/// `log_confusion` `[M, K, K]` (row k: log p(label | true class k)), as
/// `logsumexp_k [log p_k + log P_kz]`, `[M, K]`. Their softmax is themselves, so the trainer's
/// cross-entropy of them is the negative log-likelihood.
pub(crate) fn mixture_log_probs(log_p: Tensor<2>, log_confusion: Tensor<3>) -> Tensor<2> {
    let x = log_confusion + log_p.unsqueeze_dim(2);
    let [m, _, k] = x.dims();
    let max = x.clone().max_dim(1).detach();
    let sum = (x - max.clone()).exp().sum_dim(1);
    (sum.log() + max).reshape([m, k])
}

/// A tensor's values, flat, for tests.
#[cfg(test)]
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

/// Checks worker log-probabilities `got` `[M, K]` against `Σ_k p[items[m], k] P_m[k, z]`
/// written out (`p` `[batch, K]`, `confusion` `[M, K, K]`, all flat): each row's
/// probabilities sum to 1 and equal the mixture.
#[cfg(test)]
pub(crate) fn assert_mixture(got: &[f32], p: &[f32], confusion: &[f32], items: &[usize], k: usize) {
    for (m, &item) in items.iter().enumerate() {
        let row: f32 = (0..k).map(|z| got[m * k + z].exp()).sum();
        assert!(
            (row - 1.0).abs() < 1e-5,
            "label {m}: probabilities sum to {row}"
        );
        for z in 0..k {
            let want: f32 = (0..k)
                .map(|c| p[item * k + c] * confusion[m * k * k + c * k + z])
                .sum();
            let have = got[m * k + z].exp();
            assert!(
                (have - want).abs() < 1e-6,
                "label {m}, class {z}: {have} vs {want}"
            );
        }
    }
}

/// The bias of a K × K confusion's logits that starts each row with probability about `eta`
/// on its diagonal: `ln(η (K − 1) / (1 − η))` on entries (k, k), 0 elsewhere, flattened.
pub(crate) fn diagonal_prior_bias(k: usize, eta: f64) -> Vec<f32> {
    let diagonal = if k > 1 {
        (eta * (k as f64 - 1.0) / (1.0 - eta)).ln() as f32
    } else {
        0.0
    };
    let mut bias = vec![0f32; k * k];
    for c in 0..k {
        bias[c * k + c] = diagonal;
    }
    bias
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

    fn mixes_annotators(&self) -> bool {
        true
    }

    fn annotator_confusions(&self) -> Option<Tensor<3>> {
        self.stochastic
            .then(|| burn::tensor::activation::softmax(self.individual.val(), 2))
    }
}
