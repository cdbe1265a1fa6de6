//! Training: configuration, batching, the epoch loop with model selection, evaluation.

pub mod adam;
pub mod batch;
pub mod config;
mod ema;
pub mod eval;
mod finite;
mod holdout;
mod select;
pub mod snapshot;
pub mod trainer;

pub use crate::metrics::EpochMetrics;
pub use adam::FusedAdam;
pub use batch::{Inputs, LabelIndex, Vote};
pub use config::{
    AdamReset, AdamSettings, LrSchedule, MixupOver, OptimizerKind, Regularizer, RegularizerKind,
    Selection, TrainConfig,
};
pub use trainer::{Fitted, Labeled, TrainData, Trainer};
