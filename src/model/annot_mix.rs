//! Annot-Mix (Herde et al., ECAI 2024): the classifier plus an instance-dependent annotator
//! model that gives, for every (item, annotator) pair, a full confusion matrix, as the
//! benchmark's code (`maml/classifiers/_annot_mix.py`) builds it:
//!
//! - the item's representation `e_x = W_x h̄ + b_x`, where `h̄` is the classifier's last hidden
//!   layer with its gradient stopped (the annotator model never trains the classifier's
//!   features);
//! - the annotator's `e_a = W_a onehot(a) + b_a` (a blend of two one-hots under mixup);
//! - `u = ReLU(BN(W_1 · Dropout([e_x ; e_a]) + b_1))` and `L = W_2 u + b_2` reshaped to K × K;
//!   row k of the confusion is `softmax(L_k·)`, the label distribution given true class k;
//! - `b_2` starts at `ln(η (K − 1) / (1 − η))` on the diagonal and 0 elsewhere, so every row
//!   starts with probability about η on its diagonal.
//!
//! The log-probability of the observed label is `logsumexp_k [log p(y = k | x) + log P_kz]`;
//! the forward pass returns these log-probabilities as the worker logits (their softmax is
//! themselves, so the trainer's cross-entropy is the negative log-likelihood). The mixup over
//! (features, annotator, label) triples is the trainer's ([`crate::model::PairMix`]).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use conal::model::{AnnotMixConfig, CrowdModel, MlpConfig, Mode, Observed};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let model = AnnotMixConfig::new(5, 3).init(MlpConfig::labelme(4, 3), &mut rng, &device);
//! let obs = Observed::new(&[0, 1], &[4, 2], &[2, 0], &device);
//! let out = model.forward(&Tensor::<2>::ones([2, 4], &device), &obs, &mut Mode::eval());
//! assert_eq!(out.worker_logits.dims(), [2, 3]);
//! ```

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::classifier::{AffineBatchNorm, BackboneConfig, HiddenBackbone, Mode};
use crate::model::contract::{
    CrowdModel, CrowdOutput, Observed, diagonal_prior_bias, mixture_log_probs,
};
use crate::model::init::{Init, linear};

/// Ids of the annotator model's batch-norm buffers (apart from the classifier's).
const BN_ID: u64 = (1 << 40) + 64;

/// Annot-Mix's annotator model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotMixConfig {
    /// Annotators R.
    pub n_worker: usize,
    /// Classes K.
    pub n_class: usize,
    /// Size of the annotator and item embeddings and of the hidden layer. Defaults to 128.
    pub emb_dim: usize,
    /// Prior probability of a correct label on each confusion's diagonal at the start.
    /// Defaults to 0.9.
    pub eta: f64,
    /// Dropout on the concatenated embeddings. Defaults to 0.5.
    pub dropout: f64,
    /// Weight initialisation. Defaults to PyTorch's.
    #[serde(default)]
    pub init: Init,
}

impl AnnotMixConfig {
    /// The benchmark's settings for `n_worker` annotators and `n_class` classes.
    pub fn new(n_worker: usize, n_class: usize) -> Self {
        AnnotMixConfig {
            n_worker,
            n_class,
            emb_dim: 128,
            eta: 0.9,
            dropout: 0.5,
            init: Init::Torch,
        }
    }

    /// Builds the model around the classifier `classifier` describes.
    pub fn init<C>(
        &self,
        classifier: C,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> AnnotMix<C::Model>
    where
        C: BackboneConfig,
        C::Model: HiddenBackbone<Tensor<2>>,
    {
        let classifier = classifier.init_backbone(rng, device);
        let (e, k) = (self.emb_dim, self.n_class);
        let item = linear(classifier.hidden_width(), e, self.init, rng, device);
        let annotator = linear(self.n_worker, e, self.init, rng, device);
        let hidden = linear(2 * e, e, self.init, rng, device);
        let mut out = linear(e, k * k, self.init, rng, device);
        out.bias = Some(burn::module::Param::from_data(
            TensorData::new(diagonal_prior_bias(k, self.eta), [k * k]),
            device,
        ));
        AnnotMix {
            classifier,
            item,
            annotator,
            hidden,
            norm: AffineBatchNorm::new(e, BN_ID, device),
            out,
            dropout: self.dropout,
            n_class: k,
        }
    }

    /// Checks the ranges of the settings.
    pub fn check(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        if self.emb_dim == 0 {
            return Err(Error::param("emb_dim", 0, "must be at least 1"));
        }
        if !(self.eta > 0.0 && self.eta < 1.0) {
            return Err(Error::param(
                "eta",
                self.eta,
                "must lie strictly between 0 and 1",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::param("dropout", self.dropout, "must lie in [0, 1)"));
        }
        Ok(())
    }
}

/// A classifier with Annot-Mix's annotator model.
#[derive(Module, Debug)]
pub struct AnnotMix<C> {
    /// The classifier.
    pub classifier: C,
    /// h̄ → e_x.
    pub item: Linear,
    /// onehot(a) → e_a (`weight` `[R, E]`: row a is annotator a's embedding before the bias).
    pub annotator: Linear,
    /// [e_x ; e_a] → hidden.
    pub hidden: Linear,
    /// The hidden layer's batch norm.
    pub norm: AffineBatchNorm,
    /// hidden → K × K confusion logits.
    pub out: Linear,
    /// Dropout on [e_x ; e_a].
    #[module(skip)]
    pub dropout: f64,
    /// K.
    #[module(skip)]
    pub n_class: usize,
}

impl<C> AnnotMix<C> {
    /// Annotator embeddings of the observed labels, blended with the partners' under mixup.
    ///
    /// # Shapes
    /// - output: `[M, E]`
    fn annotator_embeddings(&self, obs: &Observed) -> Tensor<2> {
        let w = self.annotator.weight.val();
        let mut e = w.clone().select(0, obs.workers.clone());
        if let Some(mix) = &obs.mix {
            let lambda = mix.lambda.clone().unsqueeze_dim(1);
            let partner = w.select(0, mix.workers.clone());
            e = e * lambda.clone() + partner * (lambda.neg().add_scalar(1.0));
        }
        match &self.annotator.bias {
            Some(b) => e + b.val().unsqueeze_dim(0),
            None => e,
        }
    }

    /// Log-confusions of the observed labels' (item, annotator) pairs, `[M, K, K]`, row k:
    /// log p(label | true class k).
    fn log_confusions(&self, hidden: Tensor<2>, obs: &Observed, mode: &mut Mode) -> Tensor<3> {
        let k = self.n_class;
        let e_x = self
            .item
            .forward(hidden.detach())
            .select(0, obs.items.clone());
        let e_a = self.annotator_embeddings(obs);
        let z = mode.dropout(Tensor::cat(vec![e_x, e_a], 1), self.dropout);
        let u = relu(self.norm.forward(self.hidden.forward(z), mode));
        let logits = self.out.forward(u).reshape([obs.len, k, k]);
        log_softmax(logits, 2)
    }
}

impl<C: HiddenBackbone<Tensor<2>>> CrowdModel<Tensor<2>> for AnnotMix<C> {
    fn forward(&self, input: &Tensor<2>, obs: &Observed, mode: &mut Mode) -> CrowdOutput {
        let (hidden, class_logits) = self.classifier.hidden_and_logits(input, mode);
        let log_p = log_softmax(class_logits.clone(), 1).select(0, obs.items.clone());
        let log_confusion = self.log_confusions(hidden, obs, mode);
        CrowdOutput {
            class_logits,
            worker_logits: mixture_log_probs(log_p, log_confusion),
            omega: None,
            label_weights: None,
        }
    }

    fn class_logits(&self, input: &Tensor<2>, mode: &mut Mode) -> Tensor<2> {
        self.classifier.logits(input, mode)
    }

    fn penalty(&self, _lambda: f64) -> Option<Tensor<1>> {
        None
    }

    fn pair_confusions(&self, input: &Tensor<2>, obs: &Observed) -> Option<Tensor<3>> {
        let mut mode = Mode::eval();
        let (hidden, _) = self.classifier.hidden_and_logits(input, &mut mode);
        Some(self.log_confusions(hidden, obs, &mut mode).exp())
    }

    fn mixes_annotators(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MlpConfig;
    use crate::model::contract::values;
    use rand::SeedableRng;

    fn model(device: &Device) -> AnnotMix<crate::model::Mlp> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        AnnotMixConfig::new(4, 3).init(MlpConfig::labelme(5, 3), &mut rng, device)
    }

    /// The worker logits are log-probabilities: each row's exp sums to 1, and equals
    /// Σ_k p(k | x) P_kz computed by hand from the classifier and the confusions.
    #[test]
    fn worker_logits_are_the_mixture_log_probabilities() {
        let device = Device::flex();
        let m = model(&device);
        let x = Tensor::<2>::from_data(
            TensorData::new((0..10).map(|i| i as f32 * 0.3 - 1.0).collect(), [2, 5]),
            &device,
        );
        let obs = Observed::new(&[0, 1, 1], &[3, 0, 2], &[1, 2, 0], &device);
        let out = m.forward(&x, &obs, &mut Mode::eval());
        assert_eq!(out.worker_logits.dims(), [3, 3]);
        let got = values(out.worker_logits);
        let p = values(burn::tensor::activation::softmax(out.class_logits, 1));
        let (hidden, _) = m.classifier.hidden_and_logits(&x, &mut Mode::eval());
        let conf = values(m.log_confusions(hidden, &obs, &mut Mode::eval()).exp());
        let items = [0usize, 1, 1];
        crate::model::contract::assert_mixture(&got, &p, &conf, &items, 3);
    }

    /// At the start every confusion row puts about η on its diagonal (the weights add a little
    /// noise to the prior bias).
    #[test]
    fn confusions_start_near_the_diagonal_prior() {
        let device = Device::flex();
        let m = model(&device);
        let x = Tensor::<2>::zeros([1, 5], &device);
        let obs = Observed::new(&[0], &[1], &[0], &device);
        let (hidden, _) = m.classifier.hidden_and_logits(&x, &mut Mode::eval());
        let conf = values(m.log_confusions(hidden, &obs, &mut Mode::eval()).exp());
        for k in 0..3 {
            assert!(
                (conf[k * 3 + k] - 0.9).abs() < 0.05,
                "row {k}: {}",
                conf[k * 3 + k]
            );
        }
    }

    /// Mixing an annotator with itself changes nothing; with another, the embedding is the
    /// blend of the two (the bias added once).
    #[test]
    fn mixed_annotator_embeddings_blend_linearly() {
        let device = Device::flex();
        let m = model(&device);
        let plain = Observed::new(&[0, 0], &[1, 3], &[0, 0], &device);
        let e1 = values(m.annotator_embeddings(&Observed::new(&[0], &[1], &[0], &device)));
        let e3 = values(m.annotator_embeddings(&Observed::new(&[0], &[3], &[0], &device)));
        let mixed = plain.clone().with_pair_mix(&[0, 0], &[0.25, 0.25], &device);
        let e = values(m.annotator_embeddings(&mixed));
        let width = e1.len();
        for i in 0..width {
            assert!((e[i] - e1[i]).abs() < 1e-6, "self-mix, entry {i}");
            let want = 0.25 * e3[i] + 0.75 * e1[i];
            assert!((e[width + i] - want).abs() < 1e-5, "blend, entry {i}");
        }
    }
}
