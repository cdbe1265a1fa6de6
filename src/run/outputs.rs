//! Where a run writes, and the settings its steps share.

use std::path::Path;

/// Where a run writes: the checkpoint directory and the TensorBoard log directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outputs<'a> {
    /// Checkpoint directory: model, args.json, metrics.jsonl, workers.json, and while
    /// training the per-epoch state to resume from.
    pub save_dir: Option<&'a Path>,
    /// TensorBoard log directory: event files and a copy of metrics.jsonl.
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

/// The seed of ensemble member `j` of a run seeded `seed` (member 0 is the run's own seed).
pub fn member_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add((j as u64) << 32)
}
