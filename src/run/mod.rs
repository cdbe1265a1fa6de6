//! A whole training run, as the estimators and the command line do it: build the model a
//! [`RunConfig`] describes, train it with selection (one model, or a cross-fitted ensemble),
//! write the checkpoint directory as it goes, and keep the result in memory
//! ([`FittedModel`]).

use std::path::Path;

use crate::checkpoint::rundir::{Claim, RunDir};
use crate::data::TaskData;
use crate::error::Result;
use crate::metrics::EpochMetrics;
use crate::progress::Progress;
use crate::spec::RunConfig;

mod device;
mod ensemble;
mod fitted;
mod predict;
mod score;
mod single;
mod sink;
mod workers;

pub use device::device_from_name;
pub use fitted::{FittedModel, Member};
pub use predict::{Evaluation, evaluate, predict_checkpoint};
pub use workers::worker_stats;

/// The outcome of [`train`].
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

/// Where a run writes: the checkpoint directory and the TensorBoard log directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outputs<'a> {
    /// Checkpoint directory (`--save-dir`): model, args.json, metrics.jsonl, workers.json,
    /// and while training the per-epoch state to resume from.
    pub save_dir: Option<&'a Path>,
    /// TensorBoard log directory (`--log-dir`): event files and a copy of metrics.jsonl.
    pub log_dir: Option<&'a Path>,
    /// Save the training state every this many epochs (0: never); `None`: whenever
    /// [`AUTO_CHECKPOINT_SECONDS`] have passed since the last save, and after the last epoch.
    pub checkpoint_every: Option<usize>,
    /// Continue from the state in `save_dir` instead of starting afresh.
    pub resume: bool,
    /// Replace the run `save_dir` holds (kept until the new run has saved its first
    /// state); without it (or `resume`), a directory holding a run is refused.
    pub overwrite: bool,
}

impl<'a> Outputs<'a> {
    /// Outputs to `save_dir` and `log_dir`, with automatic state checkpoints.
    pub fn new(save_dir: Option<&'a Path>, log_dir: Option<&'a Path>) -> Self {
        Outputs {
            save_dir,
            log_dir,
            checkpoint_every: None,
            resume: false,
            overwrite: false,
        }
    }
}

/// With automatic checkpoints, the training state is saved when this much wall time passed
/// since the last save (so that short runs do not spend their time writing states).
pub const AUTO_CHECKPOINT_SECONDS: f64 = 10.0;

/// Trains the run `config` describes on `data`, writing the checkpoint and logs to `outputs`,
/// and reports progress.
pub fn train(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let crowd = &data.train;
    tracing::info!(
        "{}: {} items, {} workers, {} labels, {} classes, {} features",
        config.data.task().name(),
        crowd.n_items(),
        crowd.n_workers(),
        crowd.annotations.len(),
        crowd.n_classes(),
        crowd.n_features()
    );
    if config.train.select == crate::train::Selection::TestPeek {
        tracing::warn!(
            "selection on the test set (test-peek, the paper's Music protocol): its accuracy \
             is optimistic"
        );
    }
    // One writer per directory, and no run replaced unless asked (held to the end).
    let _claim = match outputs.save_dir {
        Some(dir) => Some(RunDir::claim(dir, outputs.claim())?),
        None => None,
    };
    if config.train.ensemble > 1 {
        ensemble::train_ensemble(config, data, outputs, progress)
    } else {
        single::train_single(config, data, outputs, progress)
    }
}

impl Outputs<'_> {
    /// How this run claims its directory.
    fn claim(&self) -> Claim {
        if self.resume {
            Claim::Resume
        } else if self.overwrite {
            Claim::Overwrite
        } else {
            Claim::Fresh
        }
    }
}

/// The seed of ensemble member `j` of a run seeded `seed` (member 0 is the run's own seed).
pub fn member_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add((j as u64) << 32)
}
