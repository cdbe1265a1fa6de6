//! Scoring and predicting with a saved checkpoint.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Matrix;
use crate::data::source::{LabeledSource, Split};
use crate::error::Result;
use crate::run::fitted::FittedModel;
use crate::train::eval::{accuracy, argmax_rows, macro_f1};

/// Scores of a model on a labelled split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Fraction of items classified right.
    pub accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Number of items.
    pub n: usize,
    /// The file(s) or folder the items came from.
    pub test_data: String,
    /// Predicted class index per item.
    #[serde(skip)]
    pub predictions: Vec<u32>,
}

/// Loads the checkpoint in `ckpt_dir` and scores it on the labelled data `test_data`.
pub fn evaluate(
    ckpt_dir: &Path,
    test_data: &LabeledSource,
    batch_size: usize,
) -> Result<Evaluation> {
    let fitted = FittedModel::load(ckpt_dir)?;
    let config = fitted.config();
    let set =
        config
            .data
            .load_labeled_for(test_data, Split::Test, &config.classes, config.n_features)?;
    let (p, k) = fitted.predict_proba_batched(&set.features, batch_size)?;
    let predictions = argmax_rows(&p, k);
    Ok(Evaluation {
        accuracy: accuracy(&predictions, &set.truth),
        macro_f1: macro_f1(&predictions, &set.truth, k),
        n: set.len(),
        test_data: test_data.describe(),
        predictions,
    })
}

/// Class probabilities of a saved model for the rows of `features`.
pub fn predict_checkpoint(
    ckpt_dir: &Path,
    features: &Matrix,
    batch_size: usize,
) -> Result<(Vec<f32>, usize)> {
    FittedModel::load(ckpt_dir)?.predict_proba_batched(features, batch_size)
}
