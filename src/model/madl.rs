//! MaDL, multi-annotator deep learning (Herde, Huseljic & Sick, TMLR 2023), as the Annot-Mix
//! benchmark's code (`maml/classifiers/_madl.py`, `maml/architectures/_base.py`) builds it:
//!
//! - the annotator's `e_a = W_a onehot(a) + b_a` and the item's `e_x = W_x h + b_x` (E = 16
//!   values each), where `h` is the classifier's last hidden layer, **not** detached: the
//!   annotator model trains the classifier's features too (unlike Annot-Mix);
//! - an interaction of the two through a learned `E × E × E` tensor T (Xavier-initialised):
//!   with `s = e_a + e_x`, `o_p = Σ_ij s_i s_j T_pij`;
//! - `[e_a ; e_x ; o]` → Linear(3E → 128) → BN → ReLU → Linear(128 → E) → BN, then
//!   `u = ReLU(that + e_a)` (a residual connection to the annotator embedding);
//! - `L = W_o u + b_o` reshaped to K × K, row k = softmax: the label distribution given true
//!   class k; `b_o` starts at `ln(η (K − 1) / (1 − η))` on the diagonal, η = 0.8.
//!
//! The log-probability of the observed label is `logsumexp_k [log p(y = k | x) + log P_kz]`,
//! as Annot-Mix's. Each label's loss term is weighted by its **annotator's weight**: with ē
//! the annotator embeddings (gradient stopped), `K_mn = exp(−γ ‖ē_m − ē_n‖²)`, `w̃_m = 1 /
//! Σ_n K_nm` and `w = R w̃ / Σ w̃` (mean 1), so annotators in dense regions of the embedding
//! space — many alike — weigh less. The loss is `Σ w_a ℓ / M` over the M labels.
//!
//! γ: the benchmark's module holds γ as a parameter with a Gamma(1.25, 0.25) prior, starting
//! at the prior's mode 1, but hands it to neither of its optimiser's parameter groups, so it
//! stays 1 throughout and the prior's term is a constant. Here γ is that fixed setting.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use conal::model::{CrowdModel, MadlConfig, MlpConfig, Mode, Observed};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let model = MadlConfig::new(5, 3).init(MlpConfig::labelme(4, 3), &mut rng, &device);
//! let obs = Observed::new(&[0, 1], &[4, 2], &[2, 0], &device);
//! let x = Tensor::<2>::ones([2, 4], &device);
//! let out = model.forward(&x, &obs, &mut Mode::train(&mut rng));
//! assert_eq!(out.worker_logits.dims(), [2, 3]);
//! // Training passes weigh each label by its annotator's weight.
//! assert_eq!(out.label_weights.unwrap().dims(), [2]);
//! ```

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::classifier::{AffineBatchNorm, BackboneConfig, HiddenBackbone, Mode};
use crate::model::contract::{
    CrowdModel, CrowdOutput, Observed, diagonal_prior_bias, mixture_log_probs,
};
use crate::model::init::{Init, linear};

/// Ids of the annotator model's batch-norm buffers (apart from the classifier's and
/// Annot-Mix's).
const BN_ID: u64 = (1 << 40) + 80;

/// MaDL's annotator model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MadlConfig {
    /// Annotators R.
    pub n_worker: usize,
    /// Classes K.
    pub n_class: usize,
    /// Size of the annotator and item embeddings and of the interaction. Defaults to 16.
    pub emb_dim: usize,
    /// Width of the hidden layer. Defaults to 128.
    pub hidden: usize,
    /// Prior probability of a correct label on each confusion's diagonal at the start.
    /// Defaults to 0.8.
    pub eta: f64,
    /// Bandwidth γ of the RBF kernel between annotator embeddings that gives the annotator
    /// weights; 0 turns the weights off (all 1). Defaults to 1.
    pub gamma: f64,
    /// Weight initialisation of the linear layers. Defaults to PyTorch's.
    #[serde(default)]
    pub init: Init,
}

impl MadlConfig {
    /// The benchmark's settings for `n_worker` annotators and `n_class` classes.
    pub fn new(n_worker: usize, n_class: usize) -> Self {
        MadlConfig {
            n_worker,
            n_class,
            emb_dim: 16,
            hidden: 128,
            eta: 0.8,
            gamma: 1.0,
            init: Init::Torch,
        }
    }

    /// Builds the model around the classifier `classifier` describes (classifier first, then
    /// the layers in the order the benchmark creates them).
    pub fn init<C>(&self, classifier: C, rng: &mut ChaCha8Rng, device: &Device) -> Madl<C::Model>
    where
        C: BackboneConfig,
        C::Model: HiddenBackbone<Tensor<2>>,
    {
        let classifier = classifier.init_backbone(rng, device);
        let (e, k) = (self.emb_dim, self.n_class);
        let annotator = linear(self.n_worker, e, self.init, rng, device);
        let item = linear(classifier.hidden_width(), e, self.init, rng, device);
        let hidden_in = linear(3 * e, self.hidden, self.init, rng, device);
        let hidden_out = linear(self.hidden, e, self.init, rng, device);
        let mut out = linear(e, k * k, self.init, rng, device);
        out.bias = Some(Param::from_data(
            TensorData::new(diagonal_prior_bias(k, self.eta), [k * k]),
            device,
        ));
        // torch's xavier_uniform_ on a [E, E, E] tensor: fan_in = fan_out = E·E.
        let bound = (6.0 / (2.0 * (e * e) as f64)).sqrt();
        let interaction: Vec<f32> = (0..e * e * e)
            .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
            .collect();
        Madl {
            classifier,
            annotator,
            item,
            interaction: Param::from_data(TensorData::new(interaction, [e, e * e]), device),
            hidden_in,
            hidden_norm: AffineBatchNorm::new(self.hidden, BN_ID, device),
            hidden_out,
            out_norm: AffineBatchNorm::new(e, BN_ID + 2, device),
            out,
            n_class: k,
            gamma: self.gamma,
        }
    }

    /// Checks the ranges of the settings.
    pub fn check(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        if self.emb_dim == 0 {
            return Err(Error::param("emb_dim", 0, "must be at least 1"));
        }
        if self.hidden == 0 {
            return Err(Error::param("hidden", 0, "must be at least 1"));
        }
        if !(self.eta > 0.0 && self.eta < 1.0) {
            return Err(Error::param(
                "eta",
                self.eta,
                "must lie strictly between 0 and 1",
            ));
        }
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return Err(Error::param(
                "gamma",
                self.gamma,
                "must be a non-negative number",
            ));
        }
        Ok(())
    }

    /// Number of parameters of the annotator model, given the classifier's last hidden width
    /// `h`.
    pub fn n_params(&self, h: usize) -> u128 {
        let (e, k) = (self.emb_dim as u128, self.n_class as u128);
        let (r, u, h) = (self.n_worker as u128, self.hidden as u128, h as u128);
        (r + 1) * e
            + (h + 1) * e
            + e * e * e
            + (3 * e + 1) * u
            + 2 * u
            + (u + 1) * e
            + 2 * e
            + (e + 1) * k * k
    }
}

/// A classifier with MaDL's annotator model.
#[derive(Module, Debug)]
pub struct Madl<C> {
    /// The classifier.
    pub classifier: C,
    /// onehot(a) → e_a (`weight` `[R, E]`: row a is annotator a's embedding before the bias).
    pub annotator: Linear,
    /// h → e_x (the classifier's last hidden layer, gradient kept).
    pub item: Linear,
    /// The interaction tensor T, `[E, E·E]`: row p holds T_p·· flattened.
    pub interaction: Param<Tensor<2>>,
    /// [e_a ; e_x ; o] → hidden.
    pub hidden_in: Linear,
    /// Batch norm of the hidden layer.
    pub hidden_norm: AffineBatchNorm,
    /// hidden → E.
    pub hidden_out: Linear,
    /// Batch norm after `hidden_out`.
    pub out_norm: AffineBatchNorm,
    /// E → K × K confusion logits.
    pub out: Linear,
    /// K.
    #[module(skip)]
    pub n_class: usize,
    /// γ of the annotator weights' kernel.
    #[module(skip)]
    pub gamma: f64,
}

impl<C> Madl<C> {
    /// Every annotator's embedding `ē = W_a + b_a`, `[R, E]`.
    fn annotator_table(&self) -> Tensor<2> {
        let w = self.annotator.weight.val();
        match &self.annotator.bias {
            Some(b) => w + b.val().unsqueeze_dim(0),
            None => w,
        }
    }

    /// The annotator weights `w` `[R]` (mean 1) from the embeddings with their gradient
    /// stopped: `w̃_m = 1 / Σ_n exp(−γ ‖ē_m − ē_n‖²)`, `w = R w̃ / Σ w̃`.
    pub fn annotator_weights(&self) -> Tensor<1> {
        let e = self.annotator_table().detach();
        let [r, _] = e.dims();
        let sq = e.clone().square().sum_dim(1); // [R, 1]
        let cross = e.clone().matmul(e.transpose()); // [R, R]
        let dist = (sq.clone() + sq.transpose() - cross.mul_scalar(2.0)).clamp_min(0.0);
        let kernel = dist.mul_scalar(-self.gamma).exp();
        let inverse = kernel.sum_dim(0).recip().reshape([r]); // [R]
        let total = inverse.clone().sum();
        inverse.mul_scalar(r as f64) / total
    }

    /// The interaction `o_p = Σ_ij s_i s_j T_pij` of each row `s`.
    ///
    /// # Shapes
    /// - s: `[M, E]`; output: `[M, E]`
    fn interaction(&self, s: Tensor<2>) -> Tensor<2> {
        let [m, e] = s.dims();
        let outer = (s.clone().unsqueeze_dim::<3>(2) * s.unsqueeze_dim::<3>(1)).reshape([m, e * e]);
        outer.matmul(self.interaction.val().transpose())
    }

    /// Log-confusions of the observed labels' (item, annotator) pairs, `[M, K, K]`, row k:
    /// log p(label | true class k).
    fn log_confusions(&self, hidden: Tensor<2>, obs: &Observed, mode: &mut Mode) -> Tensor<3> {
        let k = self.n_class;
        let e_a = self.annotator_table().select(0, obs.workers.clone());
        let e_x = self.item.forward(hidden).select(0, obs.items.clone());
        let o = self.interaction(e_a.clone() + e_x.clone());
        let z = Tensor::cat(vec![e_a.clone(), e_x, o], 1);
        let u = relu(self.hidden_norm.forward(self.hidden_in.forward(z), mode));
        let u = self.out_norm.forward(self.hidden_out.forward(u), mode);
        let u = relu(u + e_a);
        let logits = self.out.forward(u).reshape([obs.len, k, k]);
        log_softmax(logits, 2)
    }
}

impl<C: HiddenBackbone<Tensor<2>>> CrowdModel<Tensor<2>> for Madl<C> {
    fn forward(&self, input: &Tensor<2>, obs: &Observed, mode: &mut Mode) -> CrowdOutput {
        let (hidden, class_logits) = self.classifier.hidden_and_logits(input, mode);
        let log_p = log_softmax(class_logits.clone(), 1).select(0, obs.items.clone());
        let log_confusion = self.log_confusions(hidden, obs, mode);
        // The weights matter only to the training loss; evaluation scores labels unweighted.
        let label_weights = (mode.is_train() && self.gamma > 0.0)
            .then(|| self.annotator_weights().select(0, obs.workers.clone()));
        CrowdOutput {
            class_logits,
            worker_logits: mixture_log_probs(log_p, log_confusion),
            omega: None,
            label_weights,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MlpConfig;
    use crate::model::contract::values;
    use rand::SeedableRng;

    fn model(device: &Device) -> Madl<crate::model::Mlp> {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        MadlConfig::new(4, 3).init(MlpConfig::labelme(5, 3), &mut rng, device)
    }

    /// The worker logits are the log of Σ_k p(k | x) P_kz computed by hand, and evaluation
    /// gives no label weights.
    #[test]
    fn forward_matches_the_formulas_written_out() {
        let device = Device::flex();
        let m = model(&device);
        let x = Tensor::<2>::from_data(
            TensorData::new((0..10).map(|i| i as f32 * 0.2 - 0.7).collect(), [2, 5]),
            &device,
        );
        let obs = Observed::new(&[0, 1, 1], &[3, 0, 2], &[1, 2, 0], &device);
        let out = m.forward(&x, &obs, &mut Mode::eval());
        assert_eq!(out.worker_logits.dims(), [3, 3]);
        assert!(out.label_weights.is_none(), "no weights outside training");
        let got = values(out.worker_logits);
        let p = values(burn::tensor::activation::softmax(out.class_logits, 1));
        let (hidden, _) = m.classifier.hidden_and_logits(&x, &mut Mode::eval());
        let conf = values(
            m.log_confusions(hidden.clone(), &obs, &mut Mode::eval())
                .exp(),
        );
        let items = [0usize, 1, 1];
        crate::model::contract::assert_mixture(&got, &p, &conf, &items, 3);
    }

    /// The interaction term equals Σ_ij s_i s_j T_pij written out in loops.
    #[test]
    fn interaction_is_the_bilinear_form() {
        let device = Device::flex();
        let m = model(&device);
        let e = 16;
        let rows: Vec<f32> = (0..2 * e)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let s = Tensor::<2>::from_data(TensorData::new(rows.clone(), [2, e]), &device);
        let o = values(m.interaction(s));
        let t = values(m.interaction.val());
        for r in 0..2 {
            for p in 0..e {
                let mut want = 0.0f64;
                for i in 0..e {
                    for j in 0..e {
                        want +=
                            (rows[r * e + i] * rows[r * e + j] * t[p * e * e + i * e + j]) as f64;
                    }
                }
                let got = o[r * e + p] as f64;
                assert!((got - want).abs() < 1e-5, "row {r}, o_{p}: {got} vs {want}");
            }
        }
    }

    /// The annotator weights follow the formula: two identical annotators and two far apart
    /// give the pair half the weight of each loner (before the mean-1 scaling), and the
    /// weights average 1.
    #[test]
    fn annotator_weights_down_weigh_crowded_regions() {
        let device = Device::flex();
        let mut m = model(&device);
        let mut table = vec![0f32; 4 * 16];
        table[16..32].fill(0.0); // annotator 1 equals annotator 0
        table[32] = 10.0; // annotator 2 far away
        table[48 + 1] = -10.0; // annotator 3 far away elsewhere
        m.annotator.weight = Param::from_data(TensorData::new(table, [4, 16]), &device);
        m.annotator.bias = Some(Param::from_data(
            TensorData::new(vec![0.5f32; 16], [16]),
            &device,
        ));
        let w = values(m.annotator_weights());
        // Kernel sums: 2 for annotators 0 and 1 (each other), 1 for the loners (e^-100 ≈ 0).
        let inv = [0.5f64, 0.5, 1.0, 1.0];
        let total: f64 = inv.iter().sum();
        for a in 0..4 {
            let want = 4.0 * inv[a] / total;
            assert!(
                (w[a] as f64 - want).abs() < 1e-6,
                "annotator {a}: {} vs {want}",
                w[a]
            );
        }
        let mean: f32 = w.iter().sum::<f32>() / 4.0;
        assert!((mean - 1.0).abs() < 1e-6);
    }

    /// At the start every confusion row puts about η = 0.8 on its diagonal.
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
                (conf[k * 3 + k] - 0.8).abs() < 0.1,
                "row {k}: {}",
                conf[k * 3 + k]
            );
        }
    }
}
