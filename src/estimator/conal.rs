//! The CoNAL estimator.

use std::path::Path;

use crate::config::RunParams;
use crate::error::Result;
use crate::estimator::fit::wrong_method;
use crate::estimator::setters::first_report;
use crate::model::{Confusion, Method, ModelSpec};
use crate::report::annotators::{AnnotatorReport, row_softmax};
use crate::run::FittedModel;

/// CoNAL (Chu, Ma & Wang, AAAI 2021): the classifier's class probabilities go through a
/// common confusion matrix shared by all workers and an individual one per worker, mixed per
/// (item, worker) by ω from an auxiliary network.
///
/// By default the tuned recipe: a cross-fitted ensemble of 10 models with the authors'
/// Music settings (200 full-batch epochs, Adam at 0.01 re-created every epoch… see
/// [`crate::config::defaults`]), each selecting its epoch
/// on the crowd labels of its held-out fold. `recipe(Recipe::Paper)` trains one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ConalParams(RunParams);

impl Default for ConalParams {
    fn default() -> Self {
        ConalParams(RunParams::new(Method::Conal))
    }
}

impl ConalParams {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    run_setters!();

    /// Size of the auxiliary network's embeddings (E). Defaults to the task's (80 for your
    /// own data and Music, 20 for LabelMe).
    pub fn emb_dim(mut self, e: usize) -> Self {
        self.0.model.emb_dim = Some(e);
        self
    }

    /// Form of the confusion matrices. Defaults to `Confusion::Free` (the authors'
    /// unconstrained logit maps).
    pub fn confusion(mut self, confusion: Confusion) -> Self {
        self.0.model.confusion = confusion;
        self
    }

    fit_methods!(FittedConal);
}

/// A trained CoNAL model (or ensemble): predictions, the learned confusion matrices and
/// per-worker statistics.
#[derive(Debug, Clone)]
pub struct FittedConal(FittedModel, AnnotatorReport);

impl FittedConal {
    /// Wraps a trained run, which must be CoNAL.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        if !matches!(fitted.config().model, ModelSpec::Conal { .. }) {
            return Err(wrong_method(&fitted, "CoNAL"));
        }
        let report = first_report(&fitted)?;
        Ok(FittedConal(fitted, report))
    }

    /// Reads a CoNAL checkpoint directory (`conal train --save-dir`, or [`Self::save`]).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();

    annotator_methods!();

    /// The raw common matrix W_g (K × K; a worker's label logits are `p · W`).
    pub fn common_confusion(&self) -> &[Vec<f32>] {
        self.1.common.as_deref().unwrap_or_default()
    }

    /// The raw individual matrices W_r (R × K × K, worker-index order).
    pub fn worker_confusions(&self) -> &[Vec<Vec<f32>>] {
        self.1.raw.as_deref().unwrap_or_default()
    }

    /// Row-softmax of W_g: the label distribution through the common matrix for an item of
    /// known true class (row = true class).
    pub fn common_probabilities(&self) -> Vec<Vec<f64>> {
        row_softmax(self.common_confusion())
    }

    /// Row-softmax of each W_r.
    pub fn worker_probabilities(&self) -> Vec<Vec<Vec<f64>>> {
        self.1.confusions.clone()
    }
}
