//! A linear layer's forward pass for wide inputs (thousands of features).
//!
//! With a batch of 128 and 128 hidden units, `x · W` for D = 8,192 is one long, thin GEMM
//! (m = n = 128, k = 8,192). The GEMM kernel splits its work over m and n only, so this product
//! ran on one core however many the machine had, and it is half of the LabelMe-size epoch. Cut
//! along k into a fixed number of slices instead, it becomes a batch of independent GEMMs that
//! burn runs in parallel, followed by a small sum; the weight gradient, a batch as well, stays
//! parallel. The slices are views (no copy of x or W). The number of slices is fixed, not the
//! number of threads, so results do not depend on the thread count. burn has no such option,
//! hence this function.

use burn::nn::Linear;
use burn::tensor::Tensor;

/// Input widths from which the forward pass is cut along the features.
pub const SPLIT_MIN_FEATURES: usize = 2048;
/// Slices of the feature dimension (≥ 4 so that burn parallelises over them).
const SLICES: usize = 4;

/// `layer.forward(x)`, cut into four partial products along the input features when
/// the input is at least [`SPLIT_MIN_FEATURES`] wide (and a multiple of the slice count).
/// Narrower inputs, the Music and 512-d LabelMe heads included, take burn's plain path.
///
/// # Shapes
/// - x: `[batch, d_in]`; output: `[batch, d_out]`
pub fn linear_forward(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    let [rows, d_in] = x.dims();
    if d_in < SPLIT_MIN_FEATURES || !d_in.is_multiple_of(SLICES) {
        return layer.forward(x);
    }
    let w = layer.weight.val();
    let d_out = w.dims()[1];
    let part = d_in / SLICES;
    // [rows, S, part] → [S, rows, part]: slice s is columns s·part.. of x, a strided view.
    let xs = x.reshape([rows, SLICES, part]).swap_dims(0, 1);
    // [S·part, d_out] → [S, part, d_out]: rows s·part.. of W, contiguous.
    let ws = w.reshape([SLICES, part, d_out]);
    let y = xs.matmul(ws).sum_dim(0).reshape([rows, d_out]);
    match &layer.bias {
        Some(b) => y + b.val().unsqueeze_dim(0),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::{Init, linear};
    use crate::rng::rng;
    use burn::tensor::{Device, TensorData};

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "entry {i}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn split_forward_and_weight_gradient_match_the_plain_layer() {
        let device = Device::flex().autodiff();
        let (rows, d_in, d_out) = (5, SPLIT_MIN_FEATURES + 4, 3);
        let layer = linear(d_in, d_out, Init::Torch, &mut rng(7, 0), &device);
        let values: Vec<f32> = (0..rows * d_in)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [rows, d_in]), &device);
        // Different weights per output so that a mixed-up slice would show.
        let target = Tensor::<2>::from_data(
            TensorData::new((0..rows * d_out).map(|i| i as f32).collect(), [rows, d_out]),
            &device,
        );

        let split = linear_forward(&layer, x.clone());
        let plain = layer.forward(x);
        assert_eq!(split.dims(), [rows, d_out]);
        let (s, p) = (
            split
                .clone()
                .into_data()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec(),
            plain
                .clone()
                .into_data()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec(),
        );
        close(&s, &p, 1e-5);

        let gs = (split * target.clone()).sum().backward();
        let gp = (plain * target).sum().backward();
        let grad_of = |t: Tensor<2>, g| t.grad(g).expect("a gradient").into_data();
        let (a, b) = (
            grad_of(layer.weight.val(), &gs),
            grad_of(layer.weight.val(), &gp),
        );
        close(
            a.as_slice::<f32>().expect("f32"),
            b.as_slice::<f32>().expect("f32"),
            1e-5,
        );
        let bias = layer.bias.as_ref().expect("a bias").val();
        let (a, b) = (
            bias.grad(&gs).expect("a gradient").into_data(),
            bias.grad(&gp).expect("a gradient").into_data(),
        );
        close(
            a.as_slice::<f32>().expect("f32"),
            b.as_slice::<f32>().expect("f32"),
            1e-5,
        );
    }

    #[test]
    fn narrow_or_indivisible_inputs_take_the_plain_path_bit_for_bit() {
        let device = Device::flex();
        for d_in in [124, SPLIT_MIN_FEATURES + 1] {
            let layer = linear(d_in, 4, Init::Torch, &mut rng(1, 0), &device);
            let x = Tensor::<2>::from_data(
                TensorData::new(
                    (0..3 * d_in).map(|i| (i % 13) as f32 * 0.1).collect(),
                    [3, d_in],
                ),
                &device,
            );
            let a = linear_forward(&layer, x.clone())
                .into_data()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec();
            let b = layer
                .forward(x)
                .into_data()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec();
            assert_eq!(a, b);
        }
    }
}
