//! The MaDL estimator.

use std::path::Path;

use crate::config::RunParams;
use crate::error::Result;
use crate::estimator::fit::wrong_method;
use crate::estimator::setters::first_report;
use crate::model::{Method, ModelSpec};
use crate::report::annotators::AnnotatorReport;
use crate::run::FittedModel;

/// MaDL (Herde, Huseljic & Sick, TMLR 2023): the classifier plus an annotator model that
/// gives a confusion matrix per (item, annotator) pair from interacting item and annotator
/// embeddings, each label's loss weighted down where many annotators are alike
/// ([`crate::model::madl`]). Defaults to the Annot-Mix benchmark's recipe
/// (`Recipe::Benchmark`: the deep head, RAdam, cosine annealing over 50 epochs, batches of
/// 64, the last epoch).
///
/// ```
/// use conal::data::synthetic::SyntheticConfig;
/// use conal::estimator::MadlParams;
///
/// let demo = SyntheticConfig::default().generate()?.data;
/// let model = MadlParams::new().epochs(3).fit(&demo.train)?;
/// let test = demo.test.as_ref().unwrap();
/// assert_eq!(model.predict(&test.features)?.len(), test.len());
/// # Ok::<(), conal::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MadlParams(RunParams);

impl Default for MadlParams {
    fn default() -> Self {
        MadlParams(RunParams::new(Method::Madl))
    }
}

impl MadlParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    run_setters!();

    fit_methods!(FittedMadl);
}

/// A trained MaDL model (or ensemble).
#[derive(Debug, Clone)]
pub struct FittedMadl(FittedModel, AnnotatorReport);

impl FittedMadl {
    /// Wraps a trained run, which must be a MaDL model.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        match &fitted.config().model {
            ModelSpec::Madl { .. } => {
                let report = first_report(&fitted)?;
                Ok(FittedMadl(fitted, report))
            }
            _ => Err(wrong_method(&fitted, "a MaDL model")),
        }
    }

    /// Reads a MaDL checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();

    annotator_methods!();
}
