//! The validated configuration of a run ([`RunConfig`]): data, model, the training loop's
//! settings, the run's own (ensemble, recipe, device) and the data's shape — what a
//! checkpoint's `args.json` holds, enough to rebuild the model — and what a finished run
//! measured ([`RunResult`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::defaults::Recipe;
use crate::data::CrowdData;
use crate::data::source::DataSpec;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::train::TrainConfig;

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
    #[serde(default = "crate::train::config::one")]
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

/// Everything that defines a run, resolved and checked; saved as `args.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RunConfigFile")]
pub struct RunConfig {
    /// Version of conal that wrote the file.
    pub conal_version: String,
    /// Where the data comes from.
    pub data: DataSpec,
    /// The model.
    pub model: ModelSpec,
    /// How each model is trained (the epoch loop's settings).
    pub train: TrainConfig,
    /// Models trained (seeds derived from the training seed, each holding out its own fold)
    /// whose class probabilities are averaged. 1: a single model.
    pub ensemble: usize,
    /// The recipe the settings came from (for the record; the fields are what counts).
    pub recipe: Recipe,
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

/// `args.json` as written by every version: before the run's own settings left the training
/// loop's, `ensemble` and `recipe` were fields of `train`.
#[derive(Deserialize)]
struct RunConfigFile {
    conal_version: String,
    data: DataSpec,
    model: ModelSpec,
    train: TrainFile,
    #[serde(default)]
    ensemble: Option<usize>,
    #[serde(default)]
    recipe: Option<Recipe>,
    device: String,
    classes: Vec<String>,
    workers: Vec<String>,
    n_features: usize,
    #[serde(default)]
    log_dir: Option<PathBuf>,
    #[serde(default)]
    result: Option<RunResult>,
}

#[derive(Deserialize)]
struct TrainFile {
    #[serde(flatten)]
    train: TrainConfig,
    #[serde(default)]
    ensemble: Option<usize>,
    #[serde(default)]
    recipe: Option<Recipe>,
}

impl From<RunConfigFile> for RunConfig {
    fn from(f: RunConfigFile) -> Self {
        RunConfig {
            conal_version: f.conal_version,
            data: f.data,
            model: f.model,
            ensemble: f.ensemble.or(f.train.ensemble).unwrap_or(1),
            // Files without a recipe predate it: the authors' settings.
            recipe: f.recipe.or(f.train.recipe).unwrap_or(Recipe::Paper),
            train: f.train.train,
            device: f.device,
            classes: f.classes,
            workers: f.workers,
            n_features: f.n_features,
            log_dir: f.log_dir,
            result: f.result,
        }
    }
}

impl RunConfig {
    /// Checks the training settings, and that the model matches the recorded classes,
    /// workers and feature width and is of a size that can be built (a damaged or
    /// hand-edited args.json fails here, not with an allocation failure later).
    pub fn check(&self) -> Result<()> {
        let (k, r, d) = (self.classes.len(), self.workers.len(), self.n_features);
        if k < 2 {
            return Err(Error::param(
                "n_class",
                k,
                format!(
                    "a model needs at least 2 classes; the crowd gave only {}",
                    quoted(&self.classes)
                ),
            ));
        }
        if d == 0 {
            return Err(Error::param(
                "input_dim",
                0,
                "a model needs at least 1 feature",
            ));
        }
        self.train.check()?;
        check_ensemble(self.ensemble)?;
        self.model.check(d, k, r)?;
        const MAX_PARAMS: u128 = 1 << 31;
        let params = self.model.n_params();
        if params > MAX_PARAMS {
            return Err(Error::Invalid {
                what: "model",
                message: format!("a model of {params} parameters is beyond what conal builds"),
            });
        }
        Ok(())
    }

    /// Checks that `data` has the shape this configuration was made for (a resumed run reads
    /// its data again).
    pub fn check_data(&self, data: &CrowdData) -> Result<()> {
        let (got, want) = (
            (data.n_features(), data.n_classes(), data.n_workers()),
            (self.n_features, self.classes.len(), self.workers.len()),
        );
        if got != want || data.classes != self.classes {
            return Err(Error::Invalid {
                what: "data",
                message: format!(
                    "{} features, {} classes and {} workers, but the run was configured for {}, \
                     {} and {}",
                    got.0, got.1, got.2, want.0, want.1, want.2
                ),
            });
        }
        Ok(())
    }
}

/// Names as a quoted list, for messages (at most five).
fn quoted(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("{n:?}")).collect();
    let more = if names.len() > 5 { ", …" } else { "" };
    format!("[{}{more}]", shown.join(", "))
}

/// Ensemble members a run may have.
pub(crate) fn check_ensemble(n: usize) -> Result<()> {
    if n == 0 || n > 1000 {
        return Err(Error::param("ensemble", n, "must lie in 1..=1000"));
    }
    Ok(())
}
