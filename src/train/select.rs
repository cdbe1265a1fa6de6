//! The labelled splits a trainer scores each epoch on (validation, test), pre-batched.

use burn::tensor::Device;

use crate::model::{CrowdModel, Mode};
use crate::train::batch::Inputs;
use crate::train::eval::{accuracy, argmax_rows, probabilities};

/// Items per evaluation batch.
pub(crate) const EVAL_CHUNK: usize = 4096;

/// A split with true labels, pre-batched for evaluation.
pub(crate) struct EvalSet<B> {
    chunks: Vec<B>,
    truth: Vec<u32>,
}

/// Pre-batches `inputs` with their true labels.
pub(crate) fn eval_set<I: Inputs>(inputs: &I, truth: &[u32], device: &Device) -> EvalSet<I::Batch> {
    let rows: Vec<usize> = (0..inputs.len()).collect();
    EvalSet {
        chunks: rows
            .chunks(EVAL_CHUNK)
            .map(|c| inputs.batch(c, device))
            .collect(),
        truth: truth.to_vec(),
    }
}

impl<B> EvalSet<B> {
    /// Accuracy of `model` on the split.
    pub(crate) fn accuracy<M: CrowdModel<B>>(&self, model: &M) -> f64 {
        let set = self;
        let mut predictions = Vec::with_capacity(set.truth.len());
        for chunk in &set.chunks {
            let probs = probabilities(model.class_logits(chunk, &mut Mode::eval()));
            predictions.extend(argmax_rows(&probs.0, probs.1));
        }
        accuracy(&predictions, &set.truth)
    }
}
