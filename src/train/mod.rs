//! Training: the epoch loop only — batching, the loop with model selection, EMA, snapshots,
//! the fused Adam, evaluation. What a whole run is (an ensemble, its checkpoint directory) is
//! [`crate::run`]'s; its settings are [`crate::config`]'s.
//!
//! ```
//! use burn::tensor::Device;
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::model::{ConalConfig, MlpConfig};
//! use conal::progress::Silent;
//! use conal::train::{TrainConfig, TrainData, Trainer};
//!
//! // The epoch loop on its own, for a model and data of your own (see examples/custom_task.rs).
//! let crowd = SyntheticConfig::default().generate()?.data.train;
//! let (d, r, k) = (crowd.n_features(), crowd.n_workers(), crowd.n_classes());
//! let device = Device::flex().autodiff();
//! let model = ConalConfig::labelme(d, r, k).init(MlpConfig::labelme(d, k), &mut conal::rng::rng(0, 0), &device);
//! let data = TrainData { inputs: &crowd.features, annotations: &crowd.annotations, weights: None, valid: None, test: None };
//! let config = TrainConfig { epochs: 3, batch_size: 256, ..TrainConfig::default() };
//! let fitted = Trainer::new(model, &data, config, &device)?.fit(&crowd.features, &mut Silent)?;
//! assert_eq!(fitted.history.len(), 3);
//! # Ok::<(), conal::Error>(())
//! ```

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
