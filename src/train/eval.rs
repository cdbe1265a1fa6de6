//! Prediction and the scores we report: accuracy and macro-F1.

use crate::model::{CrowdModel, Mode};
use crate::train::batch::Inputs;

pub use crate::model::built::probabilities;

/// Index of the largest value of each row (first one on ties).
pub fn argmax_rows(values: &[f32], k: usize) -> Vec<u32> {
    values
        .chunks_exact(k.max(1))
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

/// Fraction of predictions equal to the truth (0 for empty input).
pub fn accuracy(predicted: &[u32], truth: &[u32]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let right = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    right as f64 / truth.len() as f64
}

/// Macro-averaged F1 over the classes that occur in the truth or the predictions.
pub fn macro_f1(predicted: &[u32], truth: &[u32], n_class: usize) -> f64 {
    let mut tp = vec![0usize; n_class];
    let mut fp = vec![0usize; n_class];
    let mut fn_ = vec![0usize; n_class];
    for (&p, &t) in predicted.iter().zip(truth) {
        if p == t {
            tp[t as usize] += 1;
        } else {
            fp[p as usize] += 1;
            fn_[t as usize] += 1;
        }
    }
    let (mut sum, mut n) = (0.0, 0);
    for c in 0..n_class {
        if tp[c] + fp[c] + fn_[c] == 0 {
            continue;
        }
        sum += 2.0 * tp[c] as f64 / (2 * tp[c] + fp[c] + fn_[c]) as f64;
        n += 1;
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Class probabilities for every item of `inputs`, in chunks of `batch_size`, with the model in
/// evaluation form. Returns (values row-major, K).
pub fn predict<M, I>(
    model: &M,
    inputs: &I,
    batch_size: usize,
    device: &burn::tensor::Device,
) -> (Vec<f32>, usize)
where
    I: Inputs,
    M: CrowdModel<I::Batch>,
{
    let rows: Vec<usize> = (0..inputs.len()).collect();
    let (mut out, mut k) = (Vec::new(), 0);
    for chunk in rows.chunks(batch_size.max(1)) {
        let batch = inputs.batch(chunk, device);
        let (p, kk) = probabilities(model.class_logits(&batch, &mut Mode::eval()));
        out.extend(p);
        k = kk;
    }
    (out, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_on_a_known_case() {
        let truth = [0, 0, 1, 1, 2];
        let pred = [0, 1, 1, 1, 0];
        assert!((accuracy(&pred, &truth) - 0.6).abs() < 1e-12);
        // F1: class 0: tp1 fp1 fn1 → 0.5; class 1: tp2 fp1 fn0 → 0.8; class 2: tp0 fn1 → 0.
        assert!((macro_f1(&pred, &truth, 3) - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(argmax_rows(&[0.1, 0.7, 0.2, 0.5, 0.5, 0.0], 3), vec![1, 0]);
    }
}
