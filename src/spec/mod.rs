//! What a run is: the method and model configuration, the training settings and the data's
//! shape, saved as a checkpoint's `args.json` ([`RunConfig`]) — enough to rebuild the model.
//! Reading and writing the file is the checkpoint directory's job ([`crate::checkpoint`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::source::DataSpec;
use crate::error::{Error, Result};
use crate::train::TrainConfig;

pub mod model;

pub use model::{Head, LabelSource, Method, ModelOptions, ModelSpec, ModelTask};

/// What a finished run selected and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Epoch of the kept model.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Test accuracy of the kept model, when test data was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_accuracy: Option<f64>,
    /// Test macro-F1 of the kept model, when test data was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_macro_f1: Option<f64>,
    /// Wall time of training, seconds.
    pub train_seconds: f64,
    /// Members of the ensemble (1: a single model).
    #[serde(default = "one")]
    pub members: usize,
    /// Negative log-likelihood of the held-out items' crowd labels under the kept model (or
    /// the ensemble's average), with crowd-holdout selection: the honest score on which
    /// recipes are compared.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub holdout_nll: Option<f64>,
    /// Accuracy of the kept model (or the ensemble's average) on the validation split, when
    /// there is one: LabelMe's honest score for comparing recipes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub valid_accuracy: Option<f64>,
}

fn one() -> usize {
    1
}

/// Everything that defines a run; saved as `args.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Version of conal that wrote the file.
    pub conal_version: String,
    /// Where the data comes from.
    pub data: DataSpec,
    /// The model.
    pub model: ModelSpec,
    /// How it is trained.
    pub train: TrainConfig,
    /// Device name (`cpu`, or a GPU backend when built with one).
    pub device: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Worker ids, in worker-index order.
    pub workers: Vec<String>,
    /// Feature width of an item.
    pub n_features: usize,
    /// TensorBoard log directory, if the run writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<PathBuf>,
    /// The outcome, once trained.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub result: Option<RunResult>,
}

impl RunConfig {
    /// Checks that the model matches the recorded classes, workers and feature width, and is
    /// of a size that can be built (a damaged or hand-edited args.json fails here, not with
    /// an allocation failure later).
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let (k, r, d) = (self.classes.len(), self.workers.len(), self.n_features);
        if k < 2 || d == 0 {
            return bad(format!(
                "{k} classes and {d} features: a model needs at least 2 and 1"
            ));
        }
        self.train.check()?;
        let c = self.model.classifier();
        if c.n_input != d || c.n_class != k {
            return bad(format!(
                "the classifier maps {} features to {} classes, but the data has {d} and {k}",
                c.n_input, c.n_class
            ));
        }
        let mut params: u128 = (c.n_input as u128 + 1) * c.n_units as u128
            + (c.n_units as u128 + 1) * c.n_class as u128;
        match &self.model {
            ModelSpec::Conal { conal, .. } => {
                if conal.n_input != d || conal.n_class != k || conal.n_worker != r {
                    return bad(format!(
                        "CoNAL is built for {} features, {} classes and {} workers, but the data \
                         has {d}, {k} and {r}",
                        conal.n_input, conal.n_class, conal.n_worker
                    ));
                }
                params += (d as u128 + 1) * conal.aux_hidden as u128
                    + (conal.aux_hidden as u128 + 1) * conal.emb_dim as u128
                    + (r as u128 + 1) * conal.emb_dim as u128
                    + (r as u128 + 1) * (k as u128 * k as u128);
            }
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                if crowd_layer.n_class != k || crowd_layer.n_worker != r {
                    return bad(format!(
                        "the crowd layer is built for {} classes and {} workers, but the data \
                         has {k} and {r}",
                        crowd_layer.n_class, crowd_layer.n_worker
                    ));
                }
                params += r as u128 * (k as u128 * k as u128 + 2 * k as u128);
            }
            ModelSpec::AnnotMix { annot_mix, .. } => {
                if annot_mix.n_class != k || annot_mix.n_worker != r {
                    return bad(format!(
                        "the annotator model is built for {} classes and {} workers, but the \
                         data has {k} and {r}",
                        annot_mix.n_class, annot_mix.n_worker
                    ));
                }
                let e = annot_mix.emb_dim as u128;
                let h = c.layers.last().copied().unwrap_or(c.n_units) as u128;
                params += (h + 1) * e
                    + (r as u128 + 1) * e
                    + (2 * e + 1) * e
                    + (e + 1) * (k as u128 * k as u128);
            }
            ModelSpec::Madl { madl, .. } => {
                if madl.n_class != k || madl.n_worker != r {
                    return bad(format!(
                        "the annotator model is built for {} classes and {} workers, but the \
                         data has {k} and {r}",
                        madl.n_class, madl.n_worker
                    ));
                }
                params += madl.n_params(c.layers.last().copied().unwrap_or(c.n_units));
            }
            ModelSpec::Classifier { .. } => {}
        }
        for w in c.layers.windows(2) {
            params += (w[0] as u128 + 1) * w[1] as u128;
        }
        const MAX_PARAMS: u128 = 1 << 31;
        if params > MAX_PARAMS {
            return bad(format!(
                "a model of {params} parameters is beyond what conal builds"
            ));
        }
        Ok(())
    }
}
