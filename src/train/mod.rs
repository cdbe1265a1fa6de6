//! Training: configuration, batching, the epoch loop with model selection, evaluation.

pub mod adam;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod eval;
pub mod trainer;

pub use adam::FusedAdam;
pub use batch::{Inputs, LabelIndex, Vote};
pub use config::{AdamReset, AdamSettings, LrSchedule, Recipe, Selection, TrainConfig};
pub use trainer::{EpochMetrics, Fitted, Labeled, TrainData, Trainer};
