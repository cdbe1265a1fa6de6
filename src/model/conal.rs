//! CoNAL's auxiliary network and noise adaptation layers (Chu, Ma & Wang, AAAI 2021).
//!
//! For item i and worker r: `p_i = softmax(z_i)` from the backbone, then
//! `h_ir = ω_ir (p_i W_g) + (1 − ω_ir)(p_i W_r)`, a vector of K logits for worker r's label,
//! with `ω_ir = sigmoid(v_i · u_r)` from the auxiliary network. `h` is computed only for the
//! observed (item, worker) pairs: O(|O|·K²) work, never a dense batch × workers × K tensor.
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor};
//! use conal::model::{Backbone, ConalConfig, MlpConfig, Mode, Observed};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let model = ConalConfig::music(124, 44, 10).init(MlpConfig::music(124, 10), &mut rng, &device);
//! let x = Tensor::<2>::zeros([3, 124], &device);
//! // Item 0 labelled by workers 5 and 7, item 2 by worker 0.
//! let obs = Observed::new(&[0, 0, 2], &[5, 7, 0], &[1, 1, 3], &device);
//! let out = model.forward(&x, &obs, &mut Mode::eval());
//! assert_eq!(out.worker_logits.dims(), [3, 10]);
//! // At initialisation W_g = W_r = 2·I, so h = 2·p whatever ω is.
//! ```

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Int, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::loss::confusion_regulariser;
use crate::model::classifier::{Backbone, BackboneConfig, Mode};
use crate::model::contract::{CrowdModel, CrowdOutput, Observed};
use crate::model::init::{Init, linear, scaled_identities};

/// Inputs from which the auxiliary network reads its instance vector (the raw features,
/// flattened). Implemented for feature matrices; implement it for your own batch type.
pub trait FlatInput {
    /// The batch as a `[batch, n_features]` matrix.
    fn flat(&self) -> Tensor<2>;
}

impl FlatInput for Tensor<2> {
    fn flat(&self) -> Tensor<2> {
        self.clone()
    }
}

/// Configuration of the CoNAL layers (the classifier has its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConalConfig {
    /// Width of the auxiliary network's input (the flattened instance features).
    pub n_input: usize,
    /// Workers R.
    pub n_worker: usize,
    /// Classes K.
    pub n_class: usize,
    /// Embedding size E (the seed's `--emb-dim`): Music 80, LabelMe 20.
    pub emb_dim: usize,
    /// Hidden width of the instance embedding (128 in the authors' code).
    pub aux_hidden: usize,
    /// L2-normalise the instance embedding v (LabelMe yes, Music no).
    pub normalize_instance: bool,
    /// L2-normalise the worker embedding u (both data sets).
    pub normalize_worker: bool,
    /// W_g and every W_r start as this multiple of the identity (2 in the authors' code).
    pub confusion_init: f32,
    /// Weight initialisation of the auxiliary network.
    #[serde(default)]
    pub init: Init,
    /// How the confusion matrices act: the authors' free linear maps, or row-stochastic
    /// matrices.
    #[serde(default)]
    pub confusion: Confusion,
    /// Standardisation of the auxiliary network's input (with the deep head, which
    /// standardises the classifier's too); `None`: the raw features, as the authors'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<crate::model::classifier::Standardize>,
}

/// The form of the confusion matrices (`--confusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Confusion {
    /// The authors' form: W maps class probabilities p to a worker's label *logits* `p W`;
    /// W is unconstrained.
    #[default]
    Free,
    /// Each row of a confusion matrix is a probability distribution, `softmax` of free
    /// parameters Θ, and a worker's label *probabilities* are `ω p P_g + (1 − ω) p P_r` — a
    /// proper mixture. Θ starts at 2·I, so every row starts with the probabilities the free
    /// form's 2·I gives a certain classifier; `conal inspect`'s probabilities are then exactly
    /// the model's.
    Stochastic,
}

impl ConalConfig {
    /// The authors' Music settings (E = 80, only u normalised).
    pub fn music(n_input: usize, n_worker: usize, n_class: usize) -> Self {
        ConalConfig {
            n_input,
            n_worker,
            n_class,
            emb_dim: 80,
            aux_hidden: 128,
            normalize_instance: false,
            normalize_worker: true,
            confusion_init: 2.0,
            init: Init::Torch,
            confusion: Confusion::Free,
            standardize: None,
        }
    }

    /// The authors' LabelMe settings (E = 20, v and u normalised).
    pub fn labelme(n_input: usize, n_worker: usize, n_class: usize) -> Self {
        ConalConfig {
            emb_dim: 20,
            normalize_instance: true,
            ..Self::music(n_input, n_worker, n_class)
        }
    }

    /// Builds CoNAL around `classifier`, drawing weights from `rng` (classifier first).
    pub fn init<C>(&self, classifier: C, rng: &mut ChaCha8Rng, device: &Device) -> Conal<C::Model>
    where
        C: BackboneConfig,
    {
        let classifier = classifier.init_backbone(rng, device);
        let k = self.n_class;
        Conal {
            classifier,
            instance_hidden: linear(self.n_input, self.aux_hidden, self.init, rng, device),
            instance_out: linear(self.aux_hidden, self.emb_dim, self.init, rng, device),
            worker: linear(self.n_worker, self.emb_dim, self.init, rng, device),
            common: Param::from_tensor(
                scaled_identities(1, k, self.confusion_init, device).reshape([k, k]),
            ),
            individual: Param::from_tensor(scaled_identities(
                self.n_worker,
                k,
                self.confusion_init,
                device,
            )),
            normalize_instance: self.normalize_instance,
            normalize_worker: self.normalize_worker,
            stochastic: self.confusion == Confusion::Stochastic,
            standardize: self.standardize.clone(),
        }
    }
}

/// CoNAL: a backbone, the auxiliary network that gives ω, and the confusion matrices.
#[derive(Module, Debug)]
pub struct Conal<C> {
    /// The classifier.
    pub classifier: C,
    /// Instance embedding, first layer (D → 128), on the raw features.
    pub instance_hidden: Linear,
    /// Instance embedding, second layer (128 → E); no activation in between.
    pub instance_out: Linear,
    /// Worker embedding: Linear(R → E) on a one-hot worker, i.e. row r of the weight + bias.
    pub worker: Linear,
    /// Common confusion W_g, `[K, K]`, initialised to 2·I.
    pub common: Param<Tensor<2>>,
    /// Individual confusions W_r, `[R, K, K]`, initialised to 2·I.
    pub individual: Param<Tensor<3>>,
    /// L2-normalise v.
    #[module(skip)]
    pub normalize_instance: bool,
    /// L2-normalise u.
    #[module(skip)]
    pub normalize_worker: bool,
    /// Row-stochastic confusions ([`Confusion::Stochastic`]).
    #[module(skip)]
    pub stochastic: bool,
    /// Standardisation of the auxiliary network's input (from the configuration).
    #[module(skip)]
    pub standardize: Option<crate::model::classifier::Standardize>,
}

/// Row-wise L2 normalisation, ‖·‖ clamped at 1e-12 (`F.normalize`).
fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Rows `obs.workers` of a per-worker table `w` `[R, E]`, each blended with its partner's
/// row by λ under mixup over labels (`λ w_a + (1 − λ) w_b`), `[M, E]`.
fn blend_rows(w: Tensor<2>, obs: &Observed) -> Tensor<2> {
    let rows = w.clone().select(0, obs.workers.clone());
    match &obs.mix {
        Some(mix) => {
            let lambda = mix.lambda.clone().unsqueeze_dim(1);
            rows * lambda.clone() + w.select(0, mix.workers.clone()) * lambda.neg().add_scalar(1.0)
        }
        None => rows,
    }
}

/// Rows `index` of a stack of matrices `w` `[R, K, K]`, as `[M, K, K]`.
///
/// Selected through a `[R, K·K]` view: burn-flex's backward of a rank-3 `select` scatters
/// element by element with a division per coordinate, the rank-2 one adds whole rows
/// (28% of a Music epoch before this). Same additions in the same order, so the same bits.
pub(crate) fn select_matrices(w: Tensor<3>, index: Tensor<1, Int>) -> Tensor<3> {
    let [r, k, k2] = w.dims();
    let m = index.dims()[0];
    w.reshape([r, k * k2]).select(0, index).reshape([m, k, k2])
}

/// Contracts `p` `[M, K]` with per-label matrices `w` `[M, K, K]`: row m is `p_m W_m`.
pub(crate) fn rowwise_matmul(p: Tensor<2>, w: Tensor<3>) -> Tensor<2> {
    let [m, k] = p.dims();
    p.reshape([m, 1, k]).matmul(w).reshape([m, k])
}

impl<C> Conal<C> {
    /// Number of workers R.
    pub fn n_worker(&self) -> usize {
        self.individual.dims()[0]
    }

    /// Number of classes K.
    pub fn n_class(&self) -> usize {
        self.common.dims()[0]
    }

    /// Mixing weights ω for the observed pairs, from the instance features `x` `[batch, D]`.
    ///
    /// # Shapes
    /// - x: `[batch, D]`; output: `[M]`
    pub fn omega(&self, x: Tensor<2>, obs: &Observed) -> Tensor<1> {
        let x = match &self.standardize {
            Some(s) => s.apply(x),
            None => x,
        };
        let mut v = self
            .instance_out
            .forward(super::wide::linear_forward(&self.instance_hidden, x));
        if self.normalize_instance {
            v = l2_normalize(v);
        }
        // The worker's embedding is Linear(R → E) of its one-hot: row r of the weight plus the
        // bias; under mixup over labels, of the blended one-hot λ e_a + (1 − λ) e_b.
        // (Normalised as a table, then selected, where there is no blend: the order the
        // checkpoints of earlier versions were trained in, to the bit.)
        let w = self.worker.weight.val();
        let embed = |mut u: Tensor<2>| {
            if let Some(b) = &self.worker.bias {
                u = u + b.val().unsqueeze_dim(0);
            }
            if self.normalize_worker {
                l2_normalize(u)
            } else {
                u
            }
        };
        let u = match &obs.mix {
            Some(_) => embed(blend_rows(w, obs)),
            None => embed(w).select(0, obs.workers.clone()),
        };
        let v = v.select(0, obs.items.clone());
        sigmoid((v * u).sum_dim(1)).reshape([obs.len])
    }

    /// Worker logits `h` for the observed pairs given class probabilities `p` `[batch, K]`.
    ///
    /// # Shapes
    /// - p: `[batch, K]`, omega: `[M]`; output: `[M, K]`
    pub fn worker_logits(&self, p: Tensor<2>, omega: Tensor<1>, obs: &Observed) -> Tensor<2> {
        let p = p.select(0, obs.items.clone());
        let (common, individual) = if self.stochastic {
            (
                softmax(self.common.val(), 1),
                softmax(self.individual.val(), 2),
            )
        } else {
            (self.common.val(), self.individual.val())
        };
        let common = p.clone().matmul(common);
        let mut matrices = select_matrices(individual.clone(), obs.workers.clone());
        if let Some(mix) = &obs.mix {
            // The individual matrix of the blended one-hot: λ W_a + (1 − λ) W_b.
            let lambda = mix.lambda.clone().reshape([obs.len, 1, 1]);
            let partner = select_matrices(individual, mix.workers.clone());
            matrices = matrices * lambda.clone() + partner * lambda.neg().add_scalar(1.0);
        }
        let individual = rowwise_matmul(p, matrices);
        let omega = omega.unsqueeze_dim(1);
        let mixed = omega.clone() * common + (omega.neg().add_scalar(1.0)) * individual;
        if self.stochastic {
            // Probabilities already; as logits, their log (softmax of it gives them back).
            mixed.clamp_min(1e-12).log()
        } else {
            mixed
        }
    }

    /// The full forward pass on a batch.
    ///
    /// # Shapes
    /// - output: class logits `[batch, K]`, worker logits `[M, K]`, ω `[M]`
    pub fn forward<I>(&self, input: &I, obs: &Observed, mode: &mut Mode) -> CrowdOutput
    where
        I: FlatInput,
        C: Backbone<I>,
    {
        let class_logits = self.classifier.logits(input, mode);
        let p = softmax(class_logits.clone(), 1);
        let omega = self.omega(input.flat(), obs);
        let worker_logits = self.worker_logits(p, omega.clone(), obs);
        CrowdOutput {
            class_logits,
            worker_logits,
            omega: Some(omega),
            label_weights: None,
        }
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

    fn mixes_annotators(&self) -> bool {
        true
    }

    fn annotator_confusions(&self) -> Option<Tensor<3>> {
        self.stochastic.then(|| softmax(self.individual.val(), 2))
    }

    fn annotator_matrices(&self) -> Option<Tensor<3>> {
        Some(softmax(self.individual.val(), 2))
    }
}
