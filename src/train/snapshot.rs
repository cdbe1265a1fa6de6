//! A trainer's state between two epochs, as bytes: what resuming needs (the checkpoint
//! directory's `state-*/` folders store it, see [`crate::checkpoint::state`]). Modules become
//! bytes through [`crate::model::codec`].

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
