//! What one training epoch measured: the record shared by the trainer (which produces it),
//! the progress reporters (which show it) and the checkpoint's `metrics.jsonl` (which stores
//! it).
//!
//! ```
//! use conal::metrics::EpochMetrics;
//!
//! // metrics.jsonl holds one of these per line.
//! let line = r#"{"epoch":1,"train_loss":1.5,"train_nll":1.4,"selection_metric":-1.2,
//!   "selection_metric_name":"holdout_nll","lr":0.01,"best":true,"wall_ms":3.0}"#;
//! let m: EpochMetrics = serde_json::from_str(line)?;
//! assert_eq!((m.epoch, m.best), (1, true));
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

/// What one epoch measured. Written as one line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps (crowd NLL plus penalty).
    pub train_loss: f64,
    /// Mean crowd NLL over the epoch's steps.
    pub train_nll: f64,
    /// The selection metric's value (see `selection_metric_name`).
    pub selection_metric: f64,
    /// Which metric `selection_metric` is.
    pub selection_metric_name: String,
    /// NLL of the held-out items' crowd labels (crowd-holdout selection of a model with a
    /// noise model).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub holdout_nll: Option<f64>,
    /// Agreement of the predicted class with the held-out items' target labels (crowd-holdout
    /// selection of a plain classifier trained on aggregated labels).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub holdout_agreement: Option<f64>,
    /// Accuracy on the validation split.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub valid_accuracy: Option<f64>,
    /// Accuracy on the test split, when the trainer was given one (for curves; it selects
    /// nothing unless the selection is `test-peek`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_accuracy: Option<f64>,
    /// Mean ω over the epoch's observed labels (CoNAL only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_omega: Option<f64>,
    /// Learning rate used.
    pub lr: f64,
    /// Whether this epoch's model is the best so far.
    pub best: bool,
    /// Wall time of the epoch, milliseconds.
    pub wall_ms: f64,
}
