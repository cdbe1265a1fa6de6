//! The Annot-Mix estimator.

use std::path::Path;

use crate::config::RunParams;
use crate::error::Result;
use crate::estimator::fit::wrong_method;
use crate::estimator::setters::first_report;
use crate::model::{Method, ModelSpec};
use crate::report::annotators::AnnotatorReport;
use crate::run::FittedModel;

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
pub struct FittedAnnotMix(FittedModel, AnnotatorReport);

impl FittedAnnotMix {
    /// Wraps a trained run, which must be an Annot-Mix model.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        match &fitted.config().model {
            ModelSpec::AnnotMix { .. } => {
                let report = first_report(&fitted)?;
                Ok(FittedAnnotMix(fitted, report))
            }
            _ => Err(wrong_method(&fitted, "an Annot-Mix model")),
        }
    }

    /// Reads an Annot-Mix checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();

    annotator_methods!();
}
