//! The classifier trained on one label per item.

use std::path::Path;

use crate::config::RunParams;
use crate::error::Result;
use crate::estimator::fit::wrong_method;
use crate::model::{LabelSource, Method, ModelSpec};
use crate::run::FittedModel;

/// The classifier alone, trained on one label per item: the crowd's labels aggregated by
/// majority vote (the default), Dawid-Skene or GLAD, or the true labels (an upper bound).
/// Trained with standard Adam; the other defaults are CoNAL's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierParams(RunParams);

impl Default for ClassifierParams {
    fn default() -> Self {
        ClassifierParams(RunParams::new(Method::Mv))
    }
}

impl ClassifierParams {
    /// The defaults, on majority-vote labels.
    pub fn new() -> Self {
        Self::default()
    }

    run_setters!();

    /// Where the labels come from. Defaults to `LabelSource::MajorityVote` (ties broken at
    /// random from the seed).
    pub fn labels(mut self, labels: LabelSource) -> Self {
        self.0.method = match labels {
            LabelSource::MajorityVote => Method::Mv,
            LabelSource::DawidSkene => Method::Ds,
            LabelSource::Glad => Method::Glad,
            LabelSource::Gold => Method::Gold,
        };
        self
    }

    fit_methods!(FittedClassifier);
}

/// A trained classifier (or ensemble) on aggregated labels.
#[derive(Debug, Clone)]
pub struct FittedClassifier(FittedModel);

impl FittedClassifier {
    /// Wraps a trained run, which must be a plain classifier.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        match &fitted.config().model {
            ModelSpec::Classifier { .. } => Ok(FittedClassifier(fitted)),
            _ => Err(wrong_method(&fitted, "a classifier on aggregated labels")),
        }
    }

    /// Reads the checkpoint directory of a classifier on aggregated labels.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();

    /// Where its training labels came from.
    pub fn labels(&self) -> LabelSource {
        self.0
            .config()
            .model
            .label_source()
            .unwrap_or(LabelSource::MajorityVote)
    }
}
