//! The Annot-Mix estimator.

use std::path::Path;

use crate::error::{Error, Result};
use crate::estimator::RunParams;
use crate::run::FittedModel;
use crate::spec::{Method, ModelSpec};

/// Annot-Mix (Herde et al., ECAI 2024): the classifier plus an annotator model that gives a
/// confusion matrix per (item, annotator) pair, trained with mixup over (features,
/// annotator, label) triples. Defaults to the Annot-Mix benchmark's recipe
/// (`Recipe::Benchmark`: the deep head, RAdam, cosine annealing over 50 epochs, batches of 64,
/// the last epoch, mixup α = 1).
///
/// ```
/// use conal::data::synthetic::SyntheticConfig;
/// use conal::estimator::AnnotMixParams;
///
/// let demo = SyntheticConfig::default().generate()?.data;
/// let model = AnnotMixParams::new().epochs(5).fit(&demo.train)?;
/// let test = demo.test.as_ref().unwrap();
/// assert_eq!(model.predict(&test.features)?.len(), test.len());
/// # Ok::<(), conal::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotMixParams(RunParams);

impl Default for AnnotMixParams {
    fn default() -> Self {
        AnnotMixParams(RunParams::new(Method::AnnotMix))
    }
}

impl AnnotMixParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    run_setters!();

    fit_methods!(FittedAnnotMix);
}

/// A trained Annot-Mix model (or ensemble).
#[derive(Debug, Clone)]
pub struct FittedAnnotMix(FittedModel);

impl FittedAnnotMix {
    /// Wraps a trained run, which must be an Annot-Mix model.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        match &fitted.config().model {
            ModelSpec::AnnotMix { .. } => Ok(FittedAnnotMix(fitted)),
            other => Err(Error::Config(format!(
                "a {} model is not an Annot-Mix model",
                other.method().name()
            ))),
        }
    }

    /// Reads an Annot-Mix checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();
}
