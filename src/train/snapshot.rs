//! A trainer's state between two epochs, as bytes: what resuming needs (the checkpoint
//! directory's `state-*/` folders store it, see [`crate::checkpoint::state`]), and the
//! burnpack (de)serialisation of a module that it and the checkpoint files share.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;

/// A trainer's state between two epochs (see [`Trainer::snapshot`](crate::train::Trainer::snapshot)).
pub struct Snapshot {
    /// Epochs done.
    pub epoch: usize,
    /// The model being trained (burnpack bytes).
    pub model: Vec<u8>,
    /// The optimiser's state (burnpack bytes).
    pub optimizer: Vec<u8>,
    /// The best model so far.
    pub best: Option<BestSnapshot>,
    /// Metrics of the epochs done.
    pub history: Vec<EpochMetrics>,
    /// The moving average of the weights, when training keeps one (burnpack bytes).
    pub ema: Option<Vec<u8>>,
}

/// The best model so far in a [`Snapshot`].
pub struct BestSnapshot {
    /// Its epoch.
    pub epoch: usize,
    /// Its selection score (higher is better).
    pub score: f64,
    /// The model (burnpack bytes).
    pub model: Vec<u8>,
}

/// Serialises a module's parameters (burnpack format).
pub fn model_bytes<M: Module>(model: &M) -> Result<Vec<u8>> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Config(format!("cannot serialise the model: {e}")))?;
    Ok(bytes.to_vec())
}

/// Loads parameters from burnpack `bytes` (read from `path`, named in errors) into `skeleton`.
pub fn model_from_bytes<M: Module>(path: &Path, bytes: Vec<u8>, skeleton: M) -> Result<M> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
        Error::checkpoint(
            path,
            format!("not a readable model file (truncated or corrupt?): {e}"),
        )
    })?;
    skeleton
        .try_load_record(record)
        .map_err(|e| Error::checkpoint(path, format!("does not match the model in args.json: {e}")))
}
