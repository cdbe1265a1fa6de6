//! Scores of a run's kept model (or an ensemble's average) on its labelled splits.

use crate::data::TaskData;
use crate::train::eval::{accuracy, argmax_rows, macro_f1};

/// Mean negative log of probabilities (floored at 1e-12).
pub(crate) fn mean_nll(p: &[f64]) -> Option<f64> {
    (!p.is_empty()).then(|| -p.iter().map(|v| v.max(1e-12).ln()).sum::<f64>() / p.len() as f64)
}

/// Validation accuracy of class probabilities, when there is a validation split.
pub(crate) fn valid_accuracy(
    data: &TaskData,
    probabilities: Option<&(Vec<f32>, usize)>,
) -> Option<f64> {
    match (&data.valid, probabilities) {
        (Some(v), Some((p, k))) => Some(accuracy(&argmax_rows(p, *k), &v.truth)),
        _ => None,
    }
}

/// Test accuracy and macro-F1 of class probabilities, when there is a test split.
pub(crate) fn score(
    data: &TaskData,
    probabilities: Option<&(Vec<f32>, usize)>,
) -> (Option<f64>, Option<f64>) {
    match (&data.test, probabilities) {
        (Some(test), Some((p, k))) => {
            let predicted = argmax_rows(p, *k);
            (
                Some(accuracy(&predicted, &test.truth)),
                Some(macro_f1(&predicted, &test.truth, *k)),
            )
        }
        _ => (None, None),
    }
}
