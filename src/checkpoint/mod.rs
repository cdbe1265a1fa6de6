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
//! Every file is written atomically ([`crate::io::write_atomic`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::metrics::EpochMetrics;
use crate::spec::RunConfig;
use crate::train::snapshot::{model_bytes, model_from_bytes};

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

/// Saves a module's parameters to `path` atomically.
pub fn save_model<M: Module>(path: &Path, model: &M) -> Result<()> {
    write_atomic(path, &model_bytes(model)?)
}

/// Reads the model file at `path` (burnpack bytes), naming it in errors.
pub fn read_model(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::checkpoint(path, "model file not found"),
        _ => Error::io(path, e),
    })
}

/// Loads parameters saved by [`save_model`] into `skeleton` (a module of the same shape).
pub fn load_model<M: Module>(path: &Path, skeleton: M) -> Result<M> {
    model_from_bytes(path, read_model(path)?, skeleton)
}

impl RunConfig {
    /// Reads `args.json` from a checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(files::ARGS);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::checkpoint(
                &path,
                "not found; --ckpt-dir must be a directory written by `conal train --save-dir`",
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
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise args.json: {e}")))?;
        write_atomic(&dir.join(files::ARGS), text.as_bytes())
    }
}

/// Writes `metrics.jsonl` (one line per epoch) into `dir` atomically.
pub fn save_metrics(dir: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut text = Vec::new();
    for m in history {
        let line = serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?;
        writeln!(text, "{line}").map_err(|e| Error::io(&dir.join(files::METRICS), e))?;
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

/// Per-worker statistics saved beside a CoNAL checkpoint (`workers.json`), for `conal inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Class names.
    pub classes: Vec<String>,
    /// The model's mean predicted class distribution over the training items.
    pub class_prior: Vec<f64>,
    /// One entry per worker, in worker-index order.
    pub workers: Vec<WorkerStat>,
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
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise workers.json: {e}")))?;
        write_atomic(&dir.join(files::WORKERS), text.as_bytes())
    }
}
