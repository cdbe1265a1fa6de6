//! The CrowdLayer estimator.

use std::path::Path;

use crate::config::RunParams;
use crate::error::Result;
use crate::estimator::fit::wrong_method;
use crate::estimator::setters::first_report;
use crate::model::CrowdLayerKind;
use crate::model::{Method, ModelSpec};
use crate::report::annotators::AnnotatorReport;
use crate::run::FittedModel;

/// CrowdLayer (Rodrigues & Pereira, AAAI 2018): the classifier followed by one layer per
/// worker that maps its class probabilities to the worker's labels. Trained with standard
/// Adam; the other defaults are CoNAL's.
#[derive(Debug, Clone, PartialEq)]
pub struct CrowdLayerParams(RunParams);

impl Default for CrowdLayerParams {
    fn default() -> Self {
        CrowdLayerParams(RunParams::new(Method::CrowdlayerMw))
    }
}

impl CrowdLayerParams {
    /// The defaults, with a K × K matrix per worker (`CrowdLayerKind::Mw`).
    pub fn new() -> Self {
        Self::default()
    }

    run_setters!();

    /// The per-worker layer. Defaults to `CrowdLayerKind::Mw` (a K × K matrix, initialised to
    /// the identity); `Vw` a per-class scale, `Vb` a per-class bias, `Vwb` both.
    pub fn kind(mut self, kind: CrowdLayerKind) -> Self {
        self.0.method = match kind {
            CrowdLayerKind::Mw => Method::CrowdlayerMw,
            CrowdLayerKind::Vw => Method::CrowdlayerVw,
            CrowdLayerKind::Vb => Method::CrowdlayerVb,
            CrowdLayerKind::Vwb => Method::CrowdlayerVwb,
        };
        self
    }

    /// Form of MW's matrices: `Confusion::Free` (Rodrigues & Pereira's linear maps to
    /// logits, the default) or `Confusion::Stochastic` (row-stochastic confusions, as
    /// GeoCrowdNet trains them; MW only).
    pub fn confusion(mut self, confusion: crate::model::Confusion) -> Self {
        self.0.model.confusion = confusion;
        self
    }

    fit_methods!(FittedCrowdLayer);
}

/// A trained CrowdLayer model (or ensemble).
#[derive(Debug, Clone)]
pub struct FittedCrowdLayer(FittedModel, AnnotatorReport);

impl FittedCrowdLayer {
    /// Wraps a trained run, which must be a CrowdLayer.
    pub fn new(fitted: FittedModel) -> Result<Self> {
        match &fitted.config().model {
            ModelSpec::CrowdLayer { .. } => {
                let report = first_report(&fitted)?;
                Ok(FittedCrowdLayer(fitted, report))
            }
            _ => Err(wrong_method(&fitted, "a CrowdLayer")),
        }
    }

    /// Reads a CrowdLayer checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::new(FittedModel::load(dir)?)
    }

    fitted_methods!();

    annotator_methods!();

    /// The per-worker layer.
    pub fn kind(&self) -> CrowdLayerKind {
        match &self.0.config().model {
            ModelSpec::CrowdLayer { crowd_layer, .. } => crowd_layer.kind,
            _ => unreachable!("checked by FittedCrowdLayer::new"),
        }
    }
}
