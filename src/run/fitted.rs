//! A trained run in memory: its configuration and its model (or the ensemble's members) as
//! values ([`AnyModel`]), with prediction, and saving to / loading from the checkpoint
//! directory the command line writes and reads.

use std::path::Path;

use crate::checkpoint::rundir::{Claim, RunDir};
use crate::checkpoint::{ModelFiles, WorkerStats, member_dir, model_path};
use crate::config::{RunConfig, RunResult};
use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use crate::model::{AnyModel, device_from_name};
use crate::train::eval::argmax_rows;

/// Items per prediction batch.
pub(crate) const PREDICT_BATCH: usize = 4096;

/// One trained model: its run configuration (with the outcome), the model itself, its
/// metrics and, for a model with a noise model, its worker statistics.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's own configuration (`args.json`; seed and holdout fold are its own).
    pub config: RunConfig,
    /// The selected model, on the configuration's device in evaluation form.
    pub model: AnyModel,
    /// Metrics of every epoch (`metrics.jsonl`).
    pub history: Vec<EpochMetrics>,
    /// Per-worker statistics (`workers.json`), for models with a noise model.
    pub worker_stats: Option<WorkerStats>,
}

impl Member {
    /// Reads the member saved in the model folder `dir`, building its model once.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::from_files(ModelFiles::read(dir)?, &model_path(dir))
    }

    /// The member a model folder's files describe (`path` names the model file in errors).
    pub fn from_files(files: ModelFiles, path: &Path) -> Result<Self> {
        let device = device_from_name(&files.config.device)?;
        let model = AnyModel::decode(&files.config.model, files.model, path, &device)?;
        Ok(Member {
            config: files.config,
            model,
            history: files.history,
            worker_stats: files.worker_stats,
        })
    }

    /// The member's files, its model encoded.
    pub fn to_files(&self) -> Result<ModelFiles> {
        Ok(ModelFiles {
            config: self.config.clone(),
            model: self.model.encode()?,
            history: self.history.clone(),
            worker_stats: self.worker_stats.clone(),
        })
    }

    /// Class probabilities for the rows of `features`: (row-major values, K).
    pub fn predict_proba(&self, features: &Matrix, batch_size: usize) -> Result<(Vec<f32>, usize)> {
        let device = device_from_name(&self.config.device)?;
        Ok(self.model.predict_proba(features, batch_size, &device))
    }
}

/// The outcome of [`crate::run::train`].
pub struct TrainOutcome {
    /// The configuration with its `result` filled in.
    pub config: RunConfig,
    /// Metrics of every epoch (of the first member, for an ensemble).
    pub history: Vec<EpochMetrics>,
    /// The kept model's class probabilities on the test items, when there are any:
    /// (row-major values, K).
    pub test_probabilities: Option<(Vec<f32>, usize)>,
    /// The probability of each held-out crowd label under the kept model.
    pub holdout_probabilities: Option<Vec<f64>>,
    /// The kept model's class probabilities on the validation items, when there are any.
    pub valid_probabilities: Option<(Vec<f32>, usize)>,
    /// The trained model (one member) or the ensemble's members, in memory.
    pub members: Vec<Member>,
}

/// A trained run: one model or a cross-fitted ensemble, in memory. What every estimator's
/// `fit` returns underneath, and what a checkpoint directory holds.
#[derive(Debug, Clone)]
pub struct FittedModel {
    config: RunConfig,
    members: Vec<Member>,
}

impl FittedModel {
    /// The model a finished run trained.
    pub fn from_outcome(outcome: TrainOutcome) -> Result<Self> {
        Self::new(outcome.config, outcome.members)
    }

    /// A run of `config` made of `members` (one, or the ensemble's).
    pub fn new(config: RunConfig, members: Vec<Member>) -> Result<Self> {
        let want = config.ensemble.max(1);
        if members.len() != want {
            return Err(Error::Invalid {
                what: "fitted model",
                message: format!("{} members for an ensemble of {want}", members.len()),
            });
        }
        Ok(FittedModel { config, members })
    }

    /// Reads the checkpoint directory `dir` (written by `conal train --save-dir` or
    /// [`FittedModel::save`]).
    pub fn load(dir: &Path) -> Result<Self> {
        let config = RunConfig::load(dir)?;
        let members = if config.ensemble > 1 {
            (0..config.ensemble)
                .map(|j| Member::load(&member_dir(dir, j)))
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![Member::load(dir)?]
        };
        Self::new(config, members)
    }

    /// Writes the checkpoint directory the command line writes: for one model `args.json`,
    /// `model.bpk`, `metrics.jsonl` and `workers.json`; for an ensemble `args.json` and one
    /// such directory per member under `members/<j>/`.
    ///
    /// A directory that already holds a run is refused ([`crate::Error::RunExists`]) unless
    /// `overwrite`, which replaces it once everything is written (a failed save puts the
    /// old run back). The directory is locked while it is written ([`crate::Error::Busy`]
    /// if another process writes it).
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<()> {
        let claim = if overwrite {
            Claim::Overwrite
        } else {
            Claim::Fresh
        };
        let mut guard = RunDir::claim_for_save(dir, claim)?;
        if self.config.ensemble > 1 {
            for (j, member) in self.members.iter().enumerate() {
                member.to_files()?.write(&member_dir(dir, j))?;
            }
            self.config.save(dir)?;
        } else {
            self.members[0].to_files()?.write(dir)?;
        }
        guard.commit();
        Ok(())
    }

    /// The whole model as one byte string (what [`FittedModel::from_bytes`] reads back):
    /// the checkpoint directory's files in one container, for pickling and shipping.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let files = self
            .members
            .iter()
            .map(Member::to_files)
            .collect::<Result<Vec<_>>>()?;
        crate::checkpoint::pack::pack(&self.config, &files)
    }

    /// The model [`FittedModel::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (config, files) = crate::checkpoint::pack::unpack(bytes)?;
        let members = files
            .into_iter()
            .map(|f| Member::from_files(f, &model_path(Path::new(""))))
            .collect::<Result<Vec<_>>>()?;
        Self::new(config, members)
    }

    /// The run's configuration (`args.json`), with its outcome.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// What training selected and measured.
    pub fn result(&self) -> Option<&RunResult> {
        self.config.result.as_ref()
    }

    /// The trained model, or the ensemble's members.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Class names, in the column order of [`FittedModel::predict_proba`].
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// Worker ids, in worker-index order.
    pub fn workers(&self) -> &[String] {
        &self.config.workers
    }

    /// Metrics of every epoch (of the first member, for an ensemble).
    pub fn history(&self) -> &[EpochMetrics] {
        &self.members[0].history
    }

    /// Class probabilities for the rows of `features` (an ensemble averages its members'):
    /// an items × classes matrix whose rows sum to 1.
    pub fn predict_proba(&self, features: &Matrix) -> Result<Matrix> {
        let (p, k) = self.predict_proba_batched(features, PREDICT_BATCH)?;
        Ok(Matrix::new(features.rows(), k, p)?)
    }

    /// The most probable class index of each row of `features` (ties: the lowest index).
    pub fn predict(&self, features: &Matrix) -> Result<Vec<u32>> {
        let (p, k) = self.predict_proba_batched(features, PREDICT_BATCH)?;
        Ok(argmax_rows(&p, k))
    }

    /// [`FittedModel::predict_proba`] in batches of `batch_size` items, as (row-major
    /// values, K).
    pub fn predict_proba_batched(
        &self,
        features: &Matrix,
        batch_size: usize,
    ) -> Result<(Vec<f32>, usize)> {
        if features.cols() != self.config.n_features {
            return Err(Error::Shape {
                what: "features",
                expected: self.config.n_features,
                got: features.cols(),
            });
        }
        let (mut sum, k) = self.members[0].predict_proba(features, batch_size)?;
        if self.members.len() == 1 {
            return Ok((sum, k));
        }
        // The average of the members' class probabilities, summed in member order.
        for member in &self.members[1..] {
            let (p, _) = member.predict_proba(features, batch_size)?;
            sum.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
        }
        let n = self.members.len() as f32;
        Ok((sum.into_iter().map(|v| v / n).collect(), k))
    }
}
