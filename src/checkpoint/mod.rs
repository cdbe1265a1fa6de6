//! The checkpoint directory, the one place that knows its layout.
//!
//! A directory written by `conal train --save-dir` (or a fitted estimator's `save`) holds
//! - `args.json`: the full resolved [`RunConfig`] (data, model, training, classes, workers and
//!   the outcome) — enough to rebuild the model;
//! - `model.bpk`: the selected model's parameters (burnpack);
//! - `metrics.jsonl`: one [`EpochMetrics`] line per epoch;
//! - `workers.json`: per-worker statistics of a model with a noise model ([`WorkerStats`]);
//! - for an ensemble, `members/<j>/`: one such directory per member (the top level then holds
//!   only `args.json`);
//! - while training, the resumable state ([`state`]);
//! - `.lock`: the write lock of the process writing it ([`rundir`]).
//!
//! Every file is written atomically ([`crate::io::write_atomic`]). Nothing outside this module
//! reads or writes these files: a run, a fitted model's `save` and `load`, and the annotator
//! report all go through [`ModelFiles`], [`MetricsLog`], [`state`], [`rundir`] and [`pack`].
//!
//! ```
//! use conal::checkpoint::{ModelFiles, finished};
//! use conal::config::{Recipe, RunParams};
//! use conal::data::source::DataSpec;
//! use conal::model::Method;
//!
//! let data = DataSpec::synthetic(Default::default()).load()?;
//! let params = RunParams { recipe: Some(Recipe::Paper), epochs: Some(2), ..RunParams::new(Method::Mv) };
//! let dir = tempfile::tempdir().unwrap();
//! conal::estimator::fit(&params, DataSpec::memory(), &data, conal::run::Outputs::new(Some(dir.path()), None), &mut conal::progress::Silent)?;
//! // A finished run: its configuration, model bytes and two epochs of metrics.
//! assert!(finished(dir.path()).is_some());
//! let files = ModelFiles::read(dir.path())?;
//! assert_eq!((files.history.len(), files.config.train.epochs), (2, 2));
//! # Ok::<(), conal::Error>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::metrics::EpochMetrics;

pub mod pack;
pub mod rundir;
pub mod state;

/// File names inside a checkpoint directory.
pub mod files {
    /// The resolved configuration.
    pub const ARGS: &str = "args.json";
    /// The selected model's parameters.
    pub const MODEL: &str = "model.bpk";
    /// Per-epoch metrics.
    pub const METRICS: &str = "metrics.jsonl";
    /// Per-worker statistics of a CoNAL model.
    pub const WORKERS: &str = "workers.json";
}

/// The folder of ensemble member `j` in a checkpoint directory.
pub fn member_dir(dir: &Path, j: usize) -> PathBuf {
    dir.join("members").join(j.to_string())
}

/// What one trained model's folder holds (a single model's checkpoint directory, or an
/// ensemble member's `members/<j>/`).
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// `args.json`.
    pub config: RunConfig,
    /// `model.bpk`: the selected model's parameters (burnpack).
    pub model: Vec<u8>,
    /// `metrics.jsonl`.
    pub history: Vec<EpochMetrics>,
    /// `workers.json`, for a model with a noise model.
    pub worker_stats: Option<WorkerStats>,
}

impl ModelFiles {
    /// Reads the model folder `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        Ok(ModelFiles {
            config: RunConfig::load(dir)?,
            model: read_model(&dir.join(files::MODEL))?,
            history: load_metrics(dir)?,
            worker_stats: WorkerStats::load(dir)?,
        })
    }

    /// Writes the model folder `dir`: `model.bpk`, `metrics.jsonl`, `workers.json`, and
    /// `args.json` last (a folder with it and a model is a finished one).
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(files::MODEL), &self.model)?;
        save_metrics(dir, &self.history)?;
        self.write_result(dir)
    }

    /// What a training run writes when it ends (its metrics were written as it went):
    /// `model.bpk`, `workers.json` and the finished `args.json`.
    pub fn write_result(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(files::MODEL), &self.model)?;
        if let Some(stats) = &self.worker_stats {
            stats.save(dir)?;
        }
        self.config.save(dir)
    }
}

/// The model file of the model folder `dir` (for naming it in errors).
pub fn model_path(dir: &Path) -> PathBuf {
    dir.join(files::MODEL)
}

/// The finished run in the model folder `dir`, if it has one (a model file and a result):
/// how a resumed ensemble knows which members are done.
pub fn finished(dir: &Path) -> Option<RunConfig> {
    dir.join(files::MODEL)
        .is_file()
        .then(|| RunConfig::load(dir).ok())
        .flatten()
        .filter(|c| c.result.is_some())
}

/// Removes the ensemble members' folders of `dir` (a fresh ensemble run).
pub fn clear_members(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir.join("members"));
}

/// Reads the model file at `path` (burnpack bytes), naming it in errors.
fn read_model(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::checkpoint(path, "model file not found"),
        _ => Error::io(path, e),
    })
}

impl RunConfig {
    /// Reads `args.json` from a checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(files::ARGS);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::checkpoint(
                &path,
                "not found: not a checkpoint directory (one written by a training run or a \
                 fitted model's save)",
            ),
            _ => Error::io(&path, e),
        })?;
        let config: RunConfig = serde_json::from_str(&text)
            .map_err(|e| Error::checkpoint(&path, format!("line {}: {e}", e.line())))?;
        config
            .check()
            .map_err(|e| Error::checkpoint(&path, e.to_string()))?;
        Ok(config)
    }

    /// Writes `args.json` into `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Codec {
            what: "args.json",
            message: e.to_string(),
        })?;
        write_atomic(&dir.join(files::ARGS), text.as_bytes())
    }
}

/// Writes `metrics.jsonl` (one line per epoch) into `dir` atomically.
pub fn save_metrics(dir: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut text = Vec::new();
    for m in history {
        writeln!(text, "{}", metrics_line(m)?)
            .map_err(|e| Error::io(&dir.join(files::METRICS), e))?;
    }
    write_atomic(&dir.join(files::METRICS), &text)
}

/// Reads `metrics.jsonl` from `dir`; empty when the file is absent.
pub fn load_metrics(dir: &Path) -> Result<Vec<EpochMetrics>> {
    let path = dir.join(files::METRICS);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::checkpoint(&path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// One `metrics.jsonl` line.
fn metrics_line(m: &EpochMetrics) -> Result<String> {
    serde_json::to_string(m).map_err(|e| Error::Codec {
        what: "an epoch's metrics",
        message: e.to_string(),
    })
}

/// `metrics.jsonl` written as training goes: one line per epoch into the checkpoint
/// directory and, when there is one, the log directory.
pub struct MetricsLog {
    files: Vec<(PathBuf, std::fs::File)>,
}

impl MetricsLog {
    /// Opens `metrics.jsonl` in each of `dirs` (created if needed; one file where two are
    /// the same), rewritten with `history` (the epochs a resumed run already has; lines a
    /// crash left after them are dropped).
    pub fn create(dirs: &[&Path], history: &[EpochMetrics]) -> Result<Self> {
        let mut files: Vec<(PathBuf, std::fs::File)> = Vec::new();
        for dir in dirs {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let path = dir.join(files::METRICS);
            if files.iter().any(|(p, _)| *p == path) {
                continue;
            }
            let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            for m in history {
                writeln!(file, "{}", metrics_line(m)?).map_err(|e| Error::io(&path, e))?;
            }
            files.push((path, file));
        }
        Ok(MetricsLog { files })
    }

    /// Appends one epoch's line to every file.
    pub fn write(&mut self, m: &EpochMetrics) -> Result<()> {
        let line = metrics_line(m)?;
        for (path, file) in &mut self.files {
            writeln!(file, "{line}").map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    }
}

/// What a trained crowd model says about its annotators, computed on the training crowd at
/// the end of training and saved beside the model (`workers.json`) for the annotator report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Class names.
    pub classes: Vec<String>,
    /// The model's mean predicted class distribution over the training items.
    pub class_prior: Vec<f64>,
    /// One entry per worker, in worker-index order.
    pub workers: Vec<WorkerStat>,
    /// For models whose confusion depends on the item (Annot-Mix, MaDL): each worker's mean
    /// confusion over the items it labelled, `[R][K][K]` probabilities (row = true class,
    /// column = label given). Absent for the others, whose matrices are the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_confusions: Option<Vec<Vec<Vec<f64>>>>,
}

/// One worker's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStat {
    /// Worker id as in the input.
    pub id: String,
    /// Labels the worker gave.
    pub labels: usize,
    /// Mean ω over the worker's labels (weight of the common confusion), if the model has ω.
    pub omega_mean: Option<f64>,
    /// Smallest ω.
    pub omega_min: Option<f64>,
    /// Largest ω.
    pub omega_max: Option<f64>,
}

impl WorkerStats {
    /// Reads `workers.json` from a checkpoint directory, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(files::WORKERS);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::checkpoint(&path, format!("line {}: {e}", e.line()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Writes `workers.json` into `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Codec {
            what: "workers.json",
            message: e.to_string(),
        })?;
        write_atomic(&dir.join(files::WORKERS), text.as_bytes())
    }
}
