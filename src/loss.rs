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

/// [`weighted_crowd_nll`] with every label's term also scaled by a weight the model gives it
/// (MaDL's annotator weights, constants): `Σ_m u_m ℓ_m / M`, or with label weights w,
/// `Σ_m w_m u_m ℓ_m / Σ_m w_m`.
///
/// # Shapes
/// - worker_logits: `[M, K]`, labels, weights, scale: `[M]`; output: `[1]`
pub fn scaled_crowd_nll(
    worker_logits: Tensor<2>,
    labels: Tensor<1, Int>,
    weights: Option<Tensor<1>>,
    scale: Tensor<1>,
) -> Tensor<1> {
    let [m, _] = worker_logits.dims();
    let terms = log_softmax(worker_logits, 1)
        .gather(1, labels.reshape([m, 1]))
        .reshape([m])
        * scale.detach();
    match weights {
        Some(w) => (terms * w.clone()).sum().neg() / w.sum(),
        None => terms.mean().neg(),
    }
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

/// GeoCrowdNet's guard (the authors' code, kept by the Annot-Mix benchmark): a volume term
/// above this, or not finite, counts as 0 for that batch.
const VOLUME_CAP: f64 = 100.0;

/// GeoCrowdNet's volume regulariser `−log det(XᵀX)` of a tall matrix X `[N, K]` (Ibrahim,
/// Nguyen & Fu, ICLR 2023): with X a batch's class probabilities (`geo-f`) it favours
/// confident, spread-out predictions; with X the stack of every annotator's confusion
/// (`geo-w`), spread-out confusions. `None` where `XᵀX` is singular, or the value is not
/// finite or above 100 — the authors' code then adds 0 for the batch.
///
/// The K × K Gram matrix is small, so its log-determinant and inverse are computed on the
/// host, in f64, by a Cholesky factorisation (burn has no determinant; a K-step
/// factorisation here is simpler than K steps of tensor slicing). The returned tensor has
/// that value and the exact gradient `−2 X (XᵀX)⁻¹` with respect to X.
///
/// # Shapes
/// - x: `[N, K]`; output: `[1]`
pub fn neg_log_det_gram(x: Tensor<2>) -> Option<Tensor<1>> {
    let [_, k] = x.dims();
    let device = x.device();
    let gram: Vec<f64> = x
        .clone()
        .transpose()
        .matmul(x.clone())
        .detach()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .ok()?;
    let (log_det, inverse) = cholesky_log_det_inverse(&gram, k)?;
    let value = -log_det;
    if !value.is_finite() || value > VOLUME_CAP {
        return None;
    }
    let inverse: Vec<f32> = inverse.iter().map(|&v| v as f32).collect();
    let inverse = Tensor::<2>::from_data(burn::tensor::TensorData::new(inverse, [k, k]), &device);
    // d(−log det XᵀX)/dX = −2 X (XᵀX)⁻¹: the gradient of −2 Σ X ⊙ stop(X (XᵀX)⁻¹). That
    // surrogate, minus its own value, plus the log-determinant carries both.
    let direction = x.clone().detach().matmul(inverse);
    let surrogate = (x * direction).sum().mul_scalar(-2.0);
    Some((surrogate.clone() - surrogate.detach()).add_scalar(value))
}

/// `ln det A` and `A⁻¹` of a symmetric K × K matrix (row-major), `None` unless positive
/// definite.
fn cholesky_log_det_inverse(a: &[f64], k: usize) -> Option<(f64, Vec<f64>)> {
    // A = L Lᵀ, L lower triangular.
    let mut l = vec![0f64; k * k];
    for j in 0..k {
        let mut d = a[j * k + j];
        for p in 0..j {
            d -= l[j * k + p] * l[j * k + p];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        l[j * k + j] = d;
        for i in j + 1..k {
            let mut v = a[i * k + j];
            for p in 0..j {
                v -= l[i * k + p] * l[j * k + p];
            }
            l[i * k + j] = v / d;
        }
    }
    let log_det = 2.0 * (0..k).map(|i| l[i * k + i].ln()).sum::<f64>();
    // A⁻¹ column by column: solve L y = e_c, then Lᵀ x = y.
    let mut inverse = vec![0f64; k * k];
    let mut y = vec![0f64; k];
    for c in 0..k {
        for i in 0..k {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for p in 0..i {
                v -= l[i * k + p] * y[p];
            }
            y[i] = v / l[i * k + i];
        }
        for i in (0..k).rev() {
            let mut v = y[i];
            for p in i + 1..k {
                v -= l[p * k + i] * inverse[p * k + c];
            }
            inverse[i * k + c] = v / l[i * k + i];
        }
    }
    Some((log_det, inverse))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// `−log det(XᵀX)` in f64 by the same factorisation, for finite differences.
    fn value(x: &[f64], n: usize, k: usize) -> f64 {
        let mut g = vec![0f64; k * k];
        for a in 0..k {
            for b in 0..k {
                g[a * k + b] = (0..n).map(|r| x[r * k + a] * x[r * k + b]).sum();
            }
        }
        -cholesky_log_det_inverse(&g, k)
            .expect("positive definite")
            .0
    }

    /// The value is −ln det(XᵀX) of a hand-built case, and the gradient equals central
    /// finite differences of it (f64) entry by entry.
    #[test]
    fn volume_term_value_and_gradient() {
        let (n, k) = (5, 3);
        let x: Vec<f64> = vec![
            0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1, 0.3, 0.3, 0.4,
        ];
        // det by the rule of Sarrus on XᵀX.
        let mut g = [[0f64; 3]; 3];
        for a in 0..3 {
            for b in 0..3 {
                g[a][b] = (0..n).map(|r| x[r * k + a] * x[r * k + b]).sum();
            }
        }
        let det = g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1])
            - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
            + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
        let device = Device::flex().autodiff();
        let t = Tensor::<2>::from_data(
            TensorData::new(x.iter().map(|&v| v as f32).collect::<Vec<f32>>(), [n, k]),
            &device,
        )
        .require_grad();
        let r = neg_log_det_gram(t.clone()).expect("a finite volume term");
        let got: f32 = r.clone().into_scalar();
        assert!(
            (got as f64 + det.ln()).abs() < 1e-4,
            "{got} vs {}",
            -det.ln()
        );
        let grads = r.backward();
        let grad = t
            .grad(&grads)
            .expect("a gradient")
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let h = 1e-6;
        for i in 0..n * k {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let want = (value(&up, n, k) - value(&down, n, k)) / (2.0 * h);
            assert!(
                (grad[i] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                "entry {i}: {} vs {want}",
                grad[i]
            );
        }
    }

    /// A rank-deficient X (two equal columns) has no volume term: the batch adds 0.
    #[test]
    fn singular_gram_gives_none() {
        let device = Device::flex();
        let t = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, 0.5, 0.3, 0.3, 0.2, 0.2], [3, 2]),
            &device,
        );
        assert!(neg_log_det_gram(t).is_none());
    }
}
