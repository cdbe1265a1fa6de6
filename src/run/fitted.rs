//! A trained run in memory: its configuration and its model (or the ensemble's members) as
//! burnpack bytes, with prediction, and saving to / loading from the checkpoint directory the
//! command line writes and reads.

use std::path::Path;

use burn::tensor::Tensor;

use crate::checkpoint::rundir::{Claim, RunDir};
use crate::checkpoint::{WorkerStats, files, load_metrics, member_dir, read_model};
use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::metrics::EpochMetrics;
use crate::model::CrowdModel;
use crate::rng::{rng, stream};
use crate::run::{TrainOutcome, device_from_name};
use crate::spec::{ModelTask, RunConfig, RunResult};
use crate::train::eval::{argmax_rows, predict};
use crate::train::snapshot::model_from_bytes;

/// Items per prediction batch.
const PREDICT_BATCH: usize = 4096;

/// One trained model: its run configuration (with the outcome), its parameters, its metrics
/// and, for a model with a noise model, its worker statistics.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's own configuration (`args.json`; seed and holdout fold are its own).
    pub config: RunConfig,
    /// The selected model's parameters, burnpack bytes (`model.bpk`).
    pub model: Vec<u8>,
    /// Metrics of every epoch (`metrics.jsonl`).
    pub history: Vec<EpochMetrics>,
    /// Per-worker statistics (`workers.json`), for models with a noise model.
    pub worker_stats: Option<WorkerStats>,
}

/// Something to do with a member's trained module, whatever its type.
struct Loaded<'a, T> {
    bytes: &'a [u8],
    path: &'a Path,
    task: T,
}

impl<T: ModelTask> ModelTask for Loaded<'_, T> {
    type Output = Result<T::Output>;
    fn run<M: CrowdModel<Tensor<2>>>(self, skeleton: M) -> Self::Output {
        let model = model_from_bytes(self.path, self.bytes.to_vec(), skeleton)?;
        Ok(self.task.run(model))
    }
}

impl Member {
    /// Reads the member saved in `dir` (whose `args.json` was read as `config`).
    pub fn load(dir: &Path, config: RunConfig) -> Result<Self> {
        Ok(Member {
            model: read_model(&dir.join(files::MODEL))?,
            history: load_metrics(dir)?,
            worker_stats: WorkerStats::load(dir)?,
            config,
        })
    }

    /// Writes `args.json`, `model.bpk`, `metrics.jsonl` and `workers.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(files::MODEL), &self.model)?;
        crate::checkpoint::save_metrics(dir, &self.history)?;
        if let Some(stats) = &self.worker_stats {
            stats.save(dir)?;
        }
        self.config.save(dir)
    }

    /// Runs `task` on the trained module, built on the configuration's device (evaluation
    /// form, no autodiff).
    pub fn with_model<T: ModelTask>(&self, task: T) -> Result<T::Output> {
        let device = device_from_name(&self.config.device)?;
        let path = Path::new(files::MODEL);
        // The skeleton's random weights are all replaced by the saved ones.
        self.config.model.with_model(
            &mut rng(0, stream::INIT),
            &device,
            Loaded {
                bytes: &self.model,
                path,
                task,
            },
        )
    }

    /// Class probabilities for the rows of `features`: (row-major values, K).
    pub fn predict_proba(&self, features: &Matrix, batch_size: usize) -> Result<(Vec<f32>, usize)> {
        struct Predict<'a> {
            features: &'a Matrix,
            batch_size: usize,
            device: burn::tensor::Device,
        }
        impl ModelTask for Predict<'_> {
            type Output = (Vec<f32>, usize);
            fn run<M: CrowdModel<Tensor<2>>>(self, model: M) -> Self::Output {
                predict(&model, self.features, self.batch_size, &self.device)
            }
        }
        let device = device_from_name(&self.config.device)?;
        self.with_model(Predict {
            features,
            batch_size: batch_size.max(1),
            device,
        })
    }
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
        if outcome.members.is_empty() {
            return Err(Error::Config("training returned no model".into()));
        }
        Ok(FittedModel {
            config: outcome.config,
            members: outcome.members,
        })
    }

    /// Reads the checkpoint directory `dir` (written by `conal train --save-dir` or
    /// [`FittedModel::save`]).
    pub fn load(dir: &Path) -> Result<Self> {
        let config = RunConfig::load(dir)?;
        let members = if config.train.ensemble > 1 {
            (0..config.train.ensemble)
                .map(|j| {
                    let d = member_dir(dir, j);
                    Member::load(&d, RunConfig::load(&d)?)
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![Member::load(dir, config.clone())?]
        };
        Ok(FittedModel { config, members })
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
        if self.config.train.ensemble > 1 {
            for (j, member) in self.members.iter().enumerate() {
                member.save(&member_dir(dir, j))?;
            }
            self.config.save(dir)?;
        } else {
            self.members[0].save(dir)?;
        }
        guard.commit();
        Ok(())
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
        if self.members.len() == 1 {
            return self.members[0].predict_proba(features, batch_size);
        }
        // The average of the members' class probabilities.
        let mut sum: Option<(Vec<f32>, usize)> = None;
        for member in &self.members {
            let (p, k) = member.predict_proba(features, batch_size)?;
            match &mut sum {
                Some((s, _)) => s.iter_mut().zip(&p).for_each(|(a, b)| *a += b),
                None => sum = Some((p, k)),
            }
        }
        let (s, k) = sum.ok_or_else(|| Error::Config("an ensemble without members".into()))?;
        let n = self.members.len() as f32;
        Ok((s.into_iter().map(|v| v / n).collect(), k))
    }
}
