//! The crowd holdout: which crowd-labelled items are held out for selection (a fraction, or
//! fold j of k for ensemble members), pre-batched with their observed labels, and the scores
//! a model gets on them.

use burn::tensor::Device;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::loss::weighted_crowd_nll;
use crate::model::{CrowdModel, Mode, Observed};
use crate::rng::{rng, stream};
use crate::train::batch::{Inputs, LabelIndex};
use crate::train::config::TrainConfig;
use crate::train::eval::{argmax_rows, probabilities};
use crate::train::select::EVAL_CHUNK;

/// Splits the labelled `items` into (held out, trained on), both ascending: the first
/// `config.holdout` of them shuffled by the holdout seed, or fold j of k.
pub(crate) fn split(items: &[usize], config: &TrainConfig) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut shuffled = items.to_vec();
    let holdout_seed = config.holdout_seed.unwrap_or(config.seed);
    shuffled.shuffle(&mut rng(holdout_seed, stream::HOLDOUT));
    // The held-out items: the first `holdout` of the shuffled items, or fold j of k.
    let (from, to) = match config.holdout_fold {
        Some((j, k)) if k >= 2 && j < k => {
            let n = shuffled.len();
            (j * n / k, (j + 1) * n / k)
        }
        Some((j, k)) => {
            return Err(Error::param(
                "holdout_fold",
                format!("{j} of {k}"),
                "must name one of at least 2 folds",
            ));
        }
        None => (
            0,
            ((shuffled.len() as f64) * config.holdout).round() as usize,
        ),
    };
    if from >= to || to - from >= shuffled.len() {
        return Err(Error::param(
            "holdout",
            config.holdout,
            format!(
                "of {} labelled items leaves nothing to hold out or to train on",
                shuffled.len()
            ),
        ));
    }
    let mut held: Vec<usize> = shuffled[from..to].to_vec();
    held.sort_unstable();
    let mut rest: Vec<usize> = shuffled[..from]
        .iter()
        .chain(&shuffled[to..])
        .copied()
        .collect();
    rest.sort_unstable();
    Ok((held, rest))
}

/// Held-out crowd-labelled items, pre-batched with their observed labels (also kept on the
/// host as (batch row, label) pairs).
pub(crate) struct Holdout<B> {
    chunks: Vec<HoldoutChunk<B>>,
}

/// A batch, its observed labels, and the same labels as (batch row, label) pairs.
type HoldoutChunk<B> = (B, Observed, Vec<(usize, u32)>);

impl<B> Holdout<B> {
    /// Pre-batches the `held` items of `inputs` with their labels from `labels`.
    pub(crate) fn new<I: Inputs<Batch = B>>(
        held: &[usize],
        inputs: &I,
        labels: &LabelIndex,
        device: &Device,
    ) -> Self {
        Holdout {
            chunks: held
                .chunks(EVAL_CHUNK)
                .map(|c| {
                    (
                        inputs.batch(c, device),
                        labels.observed(c, device),
                        labels.pairs(c),
                    )
                })
                .collect(),
        }
    }

    /// Agreement of the predicted class with the held-out items' target labels.
    pub(crate) fn agreement<M: CrowdModel<B>>(&self, model: &M) -> f64 {
        let holdout = self;
        let (mut right, mut n) = (0usize, 0usize);
        for (x, _, pairs) in &holdout.chunks {
            let probs = probabilities(model.class_logits(x, &mut Mode::eval()));
            let predicted = argmax_rows(&probs.0, probs.1);
            for &(row, label) in pairs {
                right += usize::from(predicted[row] == label);
                n += 1;
            }
        }
        if n == 0 { 0.0 } else { right as f64 / n as f64 }
    }

    /// The probability of each held-out crowd label under `model`, chunk by chunk.
    pub(crate) fn label_probabilities<M: CrowdModel<B>>(&self, model: &M) -> Vec<f64> {
        let holdout = self;
        let mut out = Vec::new();
        for (x, obs, _) in &holdout.chunks {
            if obs.len == 0 {
                continue;
            }
            let logits = model.forward(x, obs, &mut Mode::eval()).worker_logits;
            let p = burn::tensor::activation::log_softmax(logits, 1)
                .gather(1, obs.labels.clone().reshape([obs.len, 1]))
                .exp()
                .into_data();
            out.extend(
                p.try_into_vec::<f32>()
                    .expect("float tensors are f32")
                    .into_iter()
                    .map(f64::from),
            );
        }
        out
    }

    /// Mean negative log-likelihood of the held-out crowd labels under `model`.
    pub(crate) fn nll<M: CrowdModel<B>>(&self, model: &M) -> f64 {
        let holdout = self;
        let (mut total, mut n) = (0.0, 0usize);
        for (x, obs, _) in &holdout.chunks {
            if obs.len == 0 {
                continue;
            }
            let out = model.forward(x, obs, &mut Mode::eval());
            let nll: f32 =
                weighted_crowd_nll(out.worker_logits, obs.labels.clone(), obs.weights.clone())
                    .into_scalar();
            total += nll as f64 * obs.len as f64;
            n += obs.len;
        }
        if n == 0 {
            f64::INFINITY
        } else {
            total / n as f64
        }
    }
}
