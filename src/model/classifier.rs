//! The backbone contract and the built-in MLP heads of the authors' code.
//!
//! A backbone is any burn [`Module`] that maps a batch of inputs to `[batch, n_class]` logits
//! ([`Backbone`]). CoNAL turns the logits into `p = softmax(z)` and never looks inside.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use conal::model::{Backbone, MlpConfig, Mode};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let head = MlpConfig::labelme(512, 8).init(&mut rng, &device);
//! let logits = head.logits(&Tensor::zeros([4, 512], &device), &mut Mode::eval());
//! assert_eq!(logits.dims(), [4, 8]);
//! ```

use burn::module::{Module, ModuleDisplay, Param, ParamId, RunningState};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::init::{Init, linear};

/// Whether a forward pass trains (dropout on, batch statistics) or evaluates.
///
/// Training carries the RNG that draws dropout masks, so that masks come from the run's seed
/// rather than the backend's global generator.
pub struct Mode<'a> {
    rng: Option<&'a mut ChaCha8Rng>,
}

impl<'a> Mode<'a> {
    /// Training mode, drawing dropout masks from `rng`.
    pub fn train(rng: &'a mut ChaCha8Rng) -> Self {
        Mode { rng: Some(rng) }
    }

    /// Evaluation mode: no dropout, running batch-norm statistics.
    pub fn eval() -> Mode<'static> {
        Mode { rng: None }
    }

    /// Whether this is a training pass.
    pub fn is_train(&self) -> bool {
        self.rng.is_some()
    }

    /// Inverted dropout with drop probability `p` (identity when evaluating or `p == 0`).
    pub fn dropout<const D: usize>(&mut self, x: Tensor<D>, p: f64) -> Tensor<D> {
        let Some(rng) = self.rng.as_deref_mut() else {
            return x;
        };
        if p <= 0.0 {
            return x;
        }
        let keep = 1.0 - p;
        let scale = (1.0 / keep) as f32;
        let shape = x.shape();
        // One bulk fill of 32-bit draws, then a branch-free threshold: drawing an f64 per
        // element cost 16% of a Music epoch. Kept with probability ⌊keep·2³²⌋ / 2³².
        let threshold = (keep * 4_294_967_296.0) as u64;
        let mut bits = vec![0u32; shape.num_elements()];
        rng.fill(&mut bits[..]);
        let mask: Vec<f32> = bits
            .iter()
            .map(|&b| if u64::from(b) < threshold { scale } else { 0.0 })
            .collect();
        let mask = Tensor::from_data(TensorData::new(mask, shape), &x.device());
        x * mask
    }
}

/// A classifier backbone: a module mapping a batch of inputs to `[batch, n_class]` logits.
///
/// `Input` is whatever a batch of items is for this backbone (a feature matrix for the MLP
/// heads, images for a CNN, token ids for a text model, …).
pub trait Backbone<Input>: Module + ModuleDisplay {
    /// Logits for a batch.
    ///
    /// # Shapes
    /// - output: `[batch, n_class]`
    fn logits(&self, input: &Input, mode: &mut Mode) -> Tensor<2>;
}

/// Batch normalisation over the batch axis without learned scale or shift
/// (`nn.BatchNorm1d(affine=False)`): running statistics with momentum 0.1, ε = 1e-5, and the
/// unbiased batch variance in the running estimate, as PyTorch does.
#[derive(Module, Debug)]
pub struct BatchNorm {
    /// Running mean, `[features]`.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running (unbiased) variance, `[features]`.
    pub running_var: RunningState<Tensor<1>>,
}

const BN_MOMENTUM: f64 = 0.1;
/// Ids of the batch-norm buffers of an MLP head (far above the numbered parameters).
const BN_IDS: u64 = 1 << 40;
const BN_EPS: f64 = 1e-5;

impl BatchNorm {
    /// A batch norm over `features` columns (mean 0, variance 1 to start). Its two buffers
    /// get the fixed ids `id` and `id + 1` (instead of burn's random ones) so that a seed gives
    /// the same checkpoint bytes every run.
    pub fn new(features: usize, id: u64, device: &Device) -> Self {
        BatchNorm {
            running_mean: RunningState::with_id(
                ParamId::from(id),
                Tensor::zeros([features], device),
            ),
            running_var: RunningState::with_id(
                ParamId::from(id + 1),
                Tensor::ones([features], device),
            ),
        }
    }

    /// Normalises each column.
    ///
    /// # Shapes
    /// - input: `[batch, features]`; output: same
    pub fn forward(&self, x: Tensor<2>, mode: &Mode) -> Tensor<2> {
        let [batch, features] = x.dims();
        if mode.is_train() && batch > 1 {
            let mean = x.clone().mean_dim(0);
            let centered = x - mean.clone();
            let var = centered.clone().square().mean_dim(0);
            let out = centered / var.clone().add_scalar(BN_EPS).sqrt();
            let device = mean.device();
            let unbiased = var.detach().mul_scalar(batch as f64 / (batch - 1) as f64);
            let rm = self.running_mean.value_sync().to_device(&device);
            let rv = self.running_var.value_sync().to_device(&device);
            self.running_mean.update(
                rm.mul_scalar(1.0 - BN_MOMENTUM)
                    .add(mean.detach().reshape([features]).mul_scalar(BN_MOMENTUM))
                    .detach(),
            );
            self.running_var.update(
                rv.mul_scalar(1.0 - BN_MOMENTUM)
                    .add(unbiased.reshape([features]).mul_scalar(BN_MOMENTUM))
                    .detach(),
            );
            out
        } else {
            let device = x.device();
            let mean = self
                .running_mean
                .value()
                .to_device(&device)
                .unsqueeze_dim(0);
            let var = self.running_var.value().to_device(&device).unsqueeze_dim(0);
            (x - mean) / var.add_scalar(BN_EPS).sqrt()
        }
    }
}

/// Batch normalisation with a learned per-feature scale γ (starts at 1) and shift β (starts at
/// 0): PyTorch's default `nn.BatchNorm1d(features)`, as the Annot-Mix benchmark's networks
/// use it.
#[derive(Module, Debug)]
pub struct AffineBatchNorm {
    /// The normalisation and its running statistics.
    pub norm: BatchNorm,
    /// γ, `[features]`.
    pub scale: Param<Tensor<1>>,
    /// β, `[features]`.
    pub shift: Param<Tensor<1>>,
}

impl AffineBatchNorm {
    /// A batch norm over `features` columns whose buffers get the ids `id`, `id + 1`.
    pub fn new(features: usize, id: u64, device: &Device) -> Self {
        AffineBatchNorm {
            norm: BatchNorm::new(features, id, device),
            scale: Param::from_tensor(Tensor::ones([features], device)),
            shift: Param::from_tensor(Tensor::zeros([features], device)),
        }
    }

    /// Normalises each column, then scales and shifts it.
    ///
    /// # Shapes
    /// - input: `[batch, features]`; output: same
    pub fn forward(&self, x: Tensor<2>, mode: &Mode) -> Tensor<2> {
        self.norm.forward(x, mode) * self.scale.val().unsqueeze_dim(0)
            + self.shift.val().unsqueeze_dim(0)
    }
}

/// A backbone whose last hidden layer can be read: what the Annot-Mix annotator model takes
/// as the item's representation.
pub trait HiddenBackbone<Input>: Backbone<Input> {
    /// The last hidden layer (the input of the output layer) and the logits.
    ///
    /// # Shapes
    /// - output: `([batch, hidden], [batch, n_class])`
    fn hidden_and_logits(&self, input: &Input, mode: &mut Mode) -> (Tensor<2>, Tensor<2>);

    /// Width of the last hidden layer.
    fn hidden_width(&self) -> usize;
}

/// The classifier heads of the authors' code, and the deeper one of the Annot-Mix benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Input features D.
    pub n_input: usize,
    /// Hidden units (the seed's `--n-units`). Defaults to 128.
    pub n_units: usize,
    /// Classes K.
    pub n_class: usize,
    /// Dropout after the hidden ReLU. Defaults to 0.5.
    pub dropout: f64,
    /// Batch-normalise the raw input (Music: the only feature scaling of the authors' code).
    pub input_norm: bool,
    /// Batch-normalise the hidden layer (Music).
    pub hidden_norm: bool,
    /// Weight initialisation. Defaults to PyTorch's.
    #[serde(default)]
    pub init: Init,
    /// Hidden layer widths of the deep head ([`MlpConfig::deep`]); empty (the default): the
    /// one-hidden-layer head above. When set, `n_units`, `input_norm` and `hidden_norm` are
    /// not used: each width is a Linear → BatchNorm (learned scale and shift) → ReLU →
    /// Dropout block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<usize>,
    /// The deep head's input standardisation (it has no input batch norm); `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<Standardize>,
    /// The linear head ([`MlpConfig::linear`]): no hidden layer at all, the standardised
    /// features straight to the K logits. `n_units`, `dropout` and the batch norms are then
    /// not used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linear: bool,
}

/// Per-feature standardisation `(x − mean) / std`, as scikit-learn's `StandardScaler` fitted
/// on the training items (population standard deviation; a constant feature is only centred).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardize {
    /// Per-feature mean.
    pub mean: Vec<f32>,
    /// Per-feature standard deviation (1 where it is 0).
    pub std: Vec<f32>,
}

impl Standardize {
    /// The statistics of the rows of a row-major `[rows, cols]` matrix.
    pub fn fit(values: &[f32], cols: usize) -> Self {
        let rows = values.len().checked_div(cols).unwrap_or(0);
        let mut mean = vec![0f64; cols];
        for row in values.chunks_exact(cols.max(1)) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        let n = rows.max(1) as f64;
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0f64; cols];
        for row in values.chunks_exact(cols.max(1)) {
            for ((v, &x), m) in var.iter_mut().zip(row).zip(&mean) {
                *v += (f64::from(x) - m).powi(2);
            }
        }
        Standardize {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: var
                .iter()
                .map(|&v| {
                    let sd = (v / n).sqrt();
                    if sd > 0.0 && sd.is_finite() {
                        sd as f32
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    /// Applies it to a batch.
    pub fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        let device = x.device();
        let n = self.mean.len();
        let mean = Tensor::<1>::from_data(TensorData::new(self.mean.clone(), [n]), &device);
        let std = Tensor::<1>::from_data(TensorData::new(self.std.clone(), [n]), &device);
        (x - mean.unsqueeze_dim(0)) / std.unsqueeze_dim(0)
    }
}

impl MlpConfig {
    /// Music head: BatchNorm(D) → Linear(D→128) → ReLU → Dropout(0.5) → BatchNorm(128) →
    /// Linear(128→K).
    pub fn music(n_input: usize, n_class: usize) -> Self {
        MlpConfig {
            n_input,
            n_units: 128,
            n_class,
            dropout: 0.5,
            input_norm: true,
            hidden_norm: true,
            init: Init::Torch,
            layers: Vec::new(),
            standardize: None,
            linear: false,
        }
    }

    /// The Annot-Mix benchmark's backbone: Linear(D→256) → BatchNorm → ReLU → Dropout(0.5) →
    /// Linear(256→128) → BatchNorm → ReLU → Dropout(0.5) → Linear(128→K), batch norms with a
    /// learned scale and shift. Built by [`MlpConfig::init_deep`].
    pub fn deep(n_input: usize, n_class: usize) -> Self {
        MlpConfig {
            layers: vec![256, 128],
            input_norm: false,
            hidden_norm: false,
            ..Self::music(n_input, n_class)
        }
    }

    /// The linear head: multinomial logistic regression on the standardised features,
    /// Linear(D→K) (what small or easy crowds need: a thousand items cannot train a deep
    /// network better than a linear one). Built by [`MlpConfig::init_deep`] as a
    /// [`DeepMlp`] without hidden blocks.
    pub fn linear(n_input: usize, n_class: usize) -> Self {
        MlpConfig {
            input_norm: false,
            hidden_norm: false,
            linear: true,
            ..Self::music(n_input, n_class)
        }
    }

    /// Whether this is built as a [`DeepMlp`] by [`MlpConfig::init_deep`] (the deep head,
    /// or the linear one with no hidden block) rather than as the one-hidden-layer [`Mlp`].
    pub fn is_deep(&self) -> bool {
        !self.layers.is_empty() || self.linear
    }

    /// Builds the deep head ([`MlpConfig::deep`]), or the linear one ([`MlpConfig::linear`]:
    /// no block), with weights drawn from `rng`.
    pub fn init_deep(&self, rng: &mut ChaCha8Rng, device: &Device) -> DeepMlp {
        let mut blocks = Vec::with_capacity(self.layers.len());
        let mut width = self.n_input;
        for (i, &units) in self.layers.iter().enumerate() {
            blocks.push(DeepBlock {
                linear: linear(width, units, self.init, rng, device),
                norm: AffineBatchNorm::new(units, BN_IDS + 16 + 2 * i as u64, device),
            });
            width = units;
        }
        DeepMlp {
            blocks,
            output: linear(width, self.n_class, self.init, rng, device),
            dropout: self.dropout,
            standardize: self.standardize.clone(),
        }
    }

    /// LabelMe head: Linear(D→128) → ReLU → Dropout(0.5) → Linear(128→K).
    pub fn labelme(n_input: usize, n_class: usize) -> Self {
        MlpConfig {
            input_norm: false,
            hidden_norm: false,
            ..Self::music(n_input, n_class)
        }
    }

    /// Builds the head with weights drawn from `rng`.
    pub fn init(&self, rng: &mut ChaCha8Rng, device: &Device) -> Mlp {
        Mlp {
            input_norm: self
                .input_norm
                .then(|| BatchNorm::new(self.n_input, BN_IDS, device)),
            hidden: linear(self.n_input, self.n_units, self.init, rng, device),
            hidden_norm: self
                .hidden_norm
                .then(|| BatchNorm::new(self.n_units, BN_IDS + 2, device)),
            output: linear(self.n_units, self.n_class, self.init, rng, device),
            dropout: self.dropout,
        }
    }
}

/// A one-hidden-layer MLP classifier head.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Optional input batch norm.
    pub input_norm: Option<BatchNorm>,
    /// D → hidden.
    pub hidden: Linear,
    /// Optional hidden batch norm.
    pub hidden_norm: Option<BatchNorm>,
    /// hidden → K.
    pub output: Linear,
    /// Dropout probability after the hidden ReLU.
    #[module(skip)]
    pub dropout: f64,
}

impl Backbone<Tensor<2>> for Mlp {
    /// # Shapes
    /// - input: `[batch, n_input]`; output: `[batch, n_class]`
    fn logits(&self, x: &Tensor<2>, mode: &mut Mode) -> Tensor<2> {
        self.output.forward(self.hidden(x, mode))
    }
}

impl HiddenBackbone<Tensor<2>> for Mlp {
    fn hidden_and_logits(&self, x: &Tensor<2>, mode: &mut Mode) -> (Tensor<2>, Tensor<2>) {
        let h = self.hidden(x, mode);
        (h.clone(), self.output.forward(h))
    }

    fn hidden_width(&self) -> usize {
        self.output.weight.dims()[0]
    }
}

impl Mlp {
    /// The hidden layer as the output layer receives it.
    fn hidden(&self, x: &Tensor<2>, mode: &mut Mode) -> Tensor<2> {
        let mut h = x.clone();
        if let Some(bn) = &self.input_norm {
            h = bn.forward(h, mode);
        }
        let mut h = mode.dropout(
            relu(super::wide::linear_forward(&self.hidden, h)),
            self.dropout,
        );
        if let Some(bn) = &self.hidden_norm {
            h = bn.forward(h, mode);
        }
        h
    }
}

/// One block of the deep head: Linear → BatchNorm → ReLU (→ Dropout).
#[derive(Module, Debug)]
pub struct DeepBlock {
    /// The layer.
    pub linear: Linear,
    /// Its batch norm.
    pub norm: AffineBatchNorm,
}

/// The deep head of the Annot-Mix benchmark ([`MlpConfig::deep`]); without blocks, the
/// linear head ([`MlpConfig::linear`]), whose "hidden layer" is the standardised input.
#[derive(Module, Debug)]
pub struct DeepMlp {
    /// Hidden blocks, in order.
    pub blocks: Vec<DeepBlock>,
    /// Last hidden → K.
    pub output: Linear,
    /// Dropout probability after each block.
    #[module(skip)]
    pub dropout: f64,
    /// Input standardisation (from the configuration, not trained).
    #[module(skip)]
    pub standardize: Option<Standardize>,
}

impl DeepMlp {
    fn hidden(&self, x: &Tensor<2>, mode: &mut Mode) -> Tensor<2> {
        let mut h = match &self.standardize {
            Some(s) => s.apply(x.clone()),
            None => x.clone(),
        };
        for block in &self.blocks {
            let z = block.norm.forward(block.linear.forward(h), mode);
            h = mode.dropout(relu(z), self.dropout);
        }
        h
    }
}

impl Backbone<Tensor<2>> for DeepMlp {
    /// # Shapes
    /// - input: `[batch, n_input]`; output: `[batch, n_class]`
    fn logits(&self, x: &Tensor<2>, mode: &mut Mode) -> Tensor<2> {
        self.output.forward(self.hidden(x, mode))
    }
}

impl HiddenBackbone<Tensor<2>> for DeepMlp {
    fn hidden_and_logits(&self, x: &Tensor<2>, mode: &mut Mode) -> (Tensor<2>, Tensor<2>) {
        let h = self.hidden(x, mode);
        (h.clone(), self.output.forward(h))
    }

    fn hidden_width(&self) -> usize {
        self.output.weight.dims()[0]
    }
}

/// Something that builds a backbone from the run's RNG.
pub trait BackboneConfig {
    /// The backbone module.
    type Model: Module;
    /// Builds it.
    fn init_backbone(&self, rng: &mut ChaCha8Rng, device: &Device) -> Self::Model;
}

impl BackboneConfig for MlpConfig {
    type Model = Mlp;
    fn init_backbone(&self, rng: &mut ChaCha8Rng, device: &Device) -> Mlp {
        self.init(rng, device)
    }
}

/// The deep head an [`MlpConfig`] with `layers` describes, as a backbone configuration.
#[derive(Debug, Clone)]
pub struct DeepConfig(pub MlpConfig);

impl BackboneConfig for DeepConfig {
    type Model = DeepMlp;
    fn init_backbone(&self, rng: &mut ChaCha8Rng, device: &Device) -> DeepMlp {
        self.0.init_deep(rng, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's StandardScaler on a hand-built matrix: population standard deviation, a
    /// constant column only centred.
    #[test]
    fn standardize_fits_like_standard_scaler() {
        let st = Standardize::fit(&[1.0, 5.0, 2.0, 3.0, 5.0, 2.0], 3);
        assert_eq!(st.mean, vec![2.0, 5.0, 2.0]);
        assert_eq!(st.std, vec![1.0, 1.0, 1.0]);
        let st = Standardize::fit(&[0.0, 4.0, 8.0], 1);
        assert_eq!(st.mean, vec![4.0]);
        assert!((st.std[0] - (32.0f32 / 3.0).sqrt()).abs() < 1e-6);
        let device = Device::flex();
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 4.0, 8.0], [3, 1]), &device);
        let z: Vec<f32> = st.apply(x).into_data().try_to_vec().expect("f32");
        assert!(
            (z[0] + 1.224_744_9).abs() < 1e-5 && z[1].abs() < 1e-6,
            "{z:?}"
        );
    }

    /// The deep head has the benchmark's shape: two blocks, 256 then 128 wide.
    #[test]
    fn deep_head_shapes() {
        use rand::SeedableRng;
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let head = MlpConfig::deep(124, 10).init_deep(&mut rng, &device);
        assert_eq!(head.blocks.len(), 2);
        assert_eq!(head.blocks[0].linear.weight.dims(), [124, 256]);
        assert_eq!(head.blocks[1].linear.weight.dims(), [256, 128]);
        assert_eq!(head.hidden_width(), 128);
        let (h, logits) =
            head.hidden_and_logits(&Tensor::zeros([3, 124], &device), &mut Mode::eval());
        assert_eq!((h.dims(), logits.dims()), ([3, 128], [3, 10]));
    }

    /// The linear head is one Linear(D→K) on the standardised features: its logits are
    /// exactly `((x − mean) / std) W + b`.
    #[test]
    fn linear_head_is_logistic_regression_on_standardised_features() {
        use rand::SeedableRng;
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut config = MlpConfig::linear(3, 2);
        config.standardize = Some(Standardize {
            mean: vec![1.0, 0.0, -1.0],
            std: vec![2.0, 1.0, 0.5],
        });
        assert!(config.is_deep());
        let head = config.init_deep(&mut rng, &device);
        assert!(head.blocks.is_empty());
        assert_eq!(head.output.weight.dims(), [3, 2]);
        assert_eq!(head.hidden_width(), 3);
        let x = [3.0f32, 2.0, -2.0];
        let logits: Vec<f32> = head
            .logits(
                &Tensor::from_data(TensorData::new(x.to_vec(), [1, 3]), &device),
                &mut Mode::eval(),
            )
            .into_data()
            .try_to_vec()
            .expect("f32");
        let w: Vec<f32> = head
            .output
            .weight
            .val()
            .into_data()
            .try_to_vec()
            .expect("f32");
        let b: Vec<f32> = head
            .output
            .bias
            .as_ref()
            .expect("bias")
            .val()
            .into_data()
            .try_to_vec()
            .expect("f32");
        let z = [1.0f32, 2.0, -2.0]; // (3 − 1)/2, (2 − 0)/1, (−2 + 1)/0.5
        for k in 0..2 {
            let want = b[k] + (0..3).map(|d| z[d] * w[d * 2 + k]).sum::<f32>();
            assert!((logits[k] - want).abs() < 1e-5, "{logits:?} vs {want}");
        }
        // Dropout is never applied: two training passes agree.
        let mut r1 = ChaCha8Rng::seed_from_u64(1);
        let mut r2 = ChaCha8Rng::seed_from_u64(2);
        let xs = Tensor::<2>::ones([4, 3], &device);
        let a: Vec<f32> = head
            .logits(&xs, &mut Mode::train(&mut r1))
            .into_data()
            .try_to_vec()
            .expect("f32");
        let c: Vec<f32> = head
            .logits(&xs, &mut Mode::train(&mut r2))
            .into_data()
            .try_to_vec()
            .expect("f32");
        assert_eq!(a, c);
    }
}
