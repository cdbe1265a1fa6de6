//! The crowd likelihood and CoNAL's confusion regulariser.
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor, TensorData};
//! use conal::loss::crowd_nll;
//!
//! let device = Device::flex();
//! // Two observed labels over K = 2 classes with equal logits: loss = ln 2.
//! let h = Tensor::<2>::zeros([2, 2], &device);
//! let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
//! let loss: f32 = crowd_nll(h, y).into_scalar();
//! assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
//! ```

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Mean cross-entropy of the observed worker labels: averaged over the number of **observed
/// labels** M, not over the batch or batch × workers.
///
/// # Shapes
/// - worker_logits: `[M, K]`, labels: `[M]`; output: `[1]`
pub fn crowd_nll(worker_logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [m, _] = worker_logits.dims();
    let log_p = log_softmax(worker_logits, 1);
    log_p.gather(1, labels.reshape([m, 1])).mean().neg()
}

/// [`crowd_nll`] with a weight per label: `Σ w_m ℓ_m / Σ w_m` (soft targets are K
/// weighted labels per item). Without weights it is `crowd_nll`.
///
/// # Shapes
/// - worker_logits: `[M, K]`, labels: `[M]`, weights: `[M]`; output: `[1]`
pub fn weighted_crowd_nll(
    worker_logits: Tensor<2>,
    labels: Tensor<1, Int>,
    weights: Option<Tensor<1>>,
) -> Tensor<1> {
    let Some(w) = weights else {
        return crowd_nll(worker_logits, labels);
    };
    let [m, _] = worker_logits.dims();
    let log_p = log_softmax(worker_logits, 1)
        .gather(1, labels.reshape([m, 1]))
        .reshape([m]);
    (log_p * w.clone()).sum().neg() / w.sum()
}

/// [`crowd_nll`] against soft targets that blend two labels: label m's target is
/// `λ_m onehot(labels_m) + (1 − λ_m) onehot(partners_m)` (Annot-Mix's mixup over labels), so
/// its term is `λ_m ℓ(labels_m) + (1 − λ_m) ℓ(partners_m)`; the mean over the M labels.
///
/// # Shapes
/// - worker_logits: `[M, K]`, labels, partners, lambda: `[M]`; output: `[1]`
pub fn blended_crowd_nll(
    worker_logits: Tensor<2>,
    labels: Tensor<1, Int>,
    partners: Tensor<1, Int>,
    lambda: Tensor<1>,
) -> Tensor<1> {
    let [m, _] = worker_logits.dims();
    let log_p = log_softmax(worker_logits, 1);
    let own = log_p.clone().gather(1, labels.reshape([m, 1])).reshape([m]);
    let partner = log_p.gather(1, partners.reshape([m, 1])).reshape([m]);
    (own * lambda.clone() + partner * lambda.neg().add_scalar(1.0))
        .mean()
        .neg()
}

/// Squared norms below this are treated as zero: `sqrt` then has a zero (not NaN) gradient,
/// which is what the regulariser needs at its starting point W_r = W_g.
const NORM_FLOOR: f64 = 1e-30;

/// CoNAL's regulariser `−λ Σ_r ‖W_r − W_g‖_F` (to be **added** to the loss: it rewards
/// individual matrices that differ from the common one). The norm is not squared. Its gradient
/// at W_r = W_g is defined as 0.
///
/// # Shapes
/// - common: `[K, K]`, individual: `[R, K, K]`; output: `[1]`
pub fn confusion_regulariser(common: Tensor<2>, individual: Tensor<3>, lambda: f64) -> Tensor<1> {
    let [r, k, _] = individual.dims();
    let diff = individual - common.unsqueeze_dim(0);
    let squared = diff.reshape([r, k * k]).square().sum_dim(1);
    squared
        .clamp_min(NORM_FLOOR)
        .sqrt()
        .sum()
        .mul_scalar(-lambda)
}
