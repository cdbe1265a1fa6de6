//! What every crowd model provides ([`CrowdModel`]): the trainer's contract, and what the
//! annotator report reads (each annotator's confusion, fixed or per item), with the helpers
//! the models share.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::model::classifier::Mode;

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

    /// Each annotator's confusion as the annotator report shows it, `[R, K, K]`
    /// probabilities (row k: the distribution of the annotator's label for an item of true
    /// class k), for models whose confusions do not depend on the item (CoNAL's individual
    /// matrices, every CrowdLayer). `None` for the others.
    fn annotator_matrices(&self) -> Option<Tensor<3>> {
        None
    }

    /// The confusion of each observed (item, annotator) pair, `[M, K, K]` probabilities (row
    /// k as in [`CrowdModel::annotator_matrices`]), in evaluation mode, for models whose
    /// confusions depend on the item (Annot-Mix, MaDL). `None` for the others.
    fn pair_confusions(&self, _input: &I, _obs: &Observed) -> Option<Tensor<3>> {
        None
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

/// The observed labels of a batch: parallel index vectors of length M.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Row of the batch each label belongs to, `[M]`.
    pub items: Tensor<1, Int>,
    /// Worker index, `[M]`.
    pub workers: Tensor<1, Int>,
    /// Label given, `[M]`.
    pub labels: Tensor<1, Int>,
    /// Number of labels M.
    pub len: usize,
    /// Weight of each label, `[M]` (soft targets); `None`: all 1.
    pub weights: Option<Tensor<1>>,
    /// Mixup over labels (Annot-Mix): each label blended with a partner label, annotator
    /// and item. `None`: no blending.
    pub mix: Option<PairMix>,
}

/// Annot-Mix's mixup over (features, annotator, label) triples, one λ per triple: label j's
/// row of the batch already holds `λ_j x_j + (1 − λ_j) x_π(j)`; the model is to take
/// `λ_j onehot(a_j) + (1 − λ_j) onehot(a_π(j))` as its annotator input, and the loss the soft
/// target `λ_j onehot(z_j) + (1 − λ_j) onehot(z_π(j))`.
#[derive(Debug, Clone)]
pub struct PairMix {
    /// The partner's annotator a_π(j), `[M]`.
    pub workers: Tensor<1, Int>,
    /// The partner's label z_π(j), `[M]`.
    pub labels: Tensor<1, Int>,
    /// λ_j, `[M]`.
    pub lambda: Tensor<1>,
}

impl Observed {
    /// Builds the index tensors (all slices must have the same length).
    pub fn new(items: &[u32], workers: &[u32], labels: &[u32], device: &Device) -> Self {
        assert!(
            items.len() == workers.len() && items.len() == labels.len(),
            "Observed::new: index slices differ in length"
        );
        Observed {
            items: int_tensor(items, device),
            workers: int_tensor(workers, device),
            labels: int_tensor(labels, device),
            len: items.len(),
            weights: None,
            mix: None,
        }
    }

    /// Blends label j with label `partners[j]` by `lambdas[j]` ([`PairMix`]).
    pub fn with_pair_mix(mut self, partners: &[usize], lambdas: &[f32], device: &Device) -> Self {
        assert!(
            partners.len() == self.len && lambdas.len() == self.len,
            "Observed::with_pair_mix: one partner and one λ per label"
        );
        let partners: Vec<u32> = partners.iter().map(|&p| p as u32).collect();
        let partners = int_tensor(&partners, device);
        self.mix = Some(PairMix {
            workers: self.workers.clone().select(0, partners.clone()),
            labels: self.labels.clone().select(0, partners),
            lambda: Tensor::from_data(TensorData::new(lambdas.to_vec(), [lambdas.len()]), device),
        });
        self
    }

    /// Gives the labels weights (one per label, same order).
    pub fn with_weights(mut self, weights: &[f32], device: &Device) -> Self {
        assert_eq!(
            weights.len(),
            self.len,
            "Observed::with_weights: one weight per label"
        );
        self.weights = Some(Tensor::from_data(
            TensorData::new(weights.to_vec(), [weights.len()]),
            device,
        ));
        self
    }
}

/// An index vector as an integer tensor.
fn int_tensor(v: &[u32], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    Tensor::from_data(TensorData::new(data, [v.len()]), device)
}

/// What a crowd model's forward pass returns.
#[derive(Debug, Clone)]
pub struct CrowdOutput {
    /// Classifier logits z, `[batch, K]`.
    pub class_logits: Tensor<2>,
    /// Logits of each observed worker label, `[M, K]`.
    pub worker_logits: Tensor<2>,
    /// Mixing weight ω per observed label, `[M]` (absent for models without one).
    pub omega: Option<Tensor<1>>,
    /// A weight per observed label that the model gives its loss term (MaDL's annotator
    /// weights), `[M]`, treated as constants; `None`: all 1. The loss is then
    /// `Σ_m w_m ℓ_m / M` (times the labels' own weights, if any, over their sum).
    pub label_weights: Option<Tensor<1>>,
}
