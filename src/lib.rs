//! # conal — learning from crowds
//!
//! Train a classifier when each training item was labelled by a few of many noisy annotators
//! ("workers") and the true label is unknown. The core is CoNAL (Chu, Ma & Wang, AAAI 2021):
//! the classifier's `p(true class | x)` goes through a **common** confusion matrix shared by
//! all workers and an **individual** one per worker, mixed per (item, worker) by a weight ω from
//! a small auxiliary network; training maximises the likelihood of the labels the workers gave.
//!
//! Train CoNAL's default recipe (a cross-fitted ensemble of 10) on a generated crowd and
//! predict:
//!
//! ```
//! use conal::{ConalParams, data::synthetic::SyntheticConfig};
//!
//! let demo = SyntheticConfig::default().generate()?.data; // 2,000 items, 30 workers
//! let model = ConalParams::new().epochs(30).fit(&demo.train)?;
//! let test = demo.test.unwrap();
//! let predicted = model.predict(&test.features)?;
//! # let accuracy = conal::train::eval::accuracy(&predicted, &test.truth);
//! # assert!(accuracy > 0.6, "test accuracy {accuracy}");
//! # assert_eq!(model.worker_confusions().len(), 30);
//! # Ok::<(), conal::Error>(())
//! ```
//!
//! The estimators ([`estimator`]) take in-memory data: [`data::CrowdData`] (crowd labels
//! joined to item features) for the learning methods, [`data::CrowdLabels`] alone for the
//! aggregators ([`aggregate`]). Both are built from files ([`data::table`], the built-in
//! tasks) or from arrays ([`data::CrowdLabels::from_strings`], [`data::CrowdLabels::from_codes`],
//! [`data::CrowdData::join`]) through the same checks. A fitted model predicts, reports what
//! it learned and saves the checkpoint directory the `conal` command line reads
//! ([`checkpoint`]).
//!
//! The layers, lowest first (each module imports only those before it; `tests/layers.rs`
//! checks): [`error`], [`io`], [`rng`], [`metrics`], [`progress`] → [`data`] → [`loss`],
//! [`model`] (the modules, what a run trains, a trained model as a value), [`aggregate`] →
//! [`train`] (the epoch loop, selection, snapshots) → [`config`] (settings, every default,
//! the validated run configuration) → [`checkpoint`] (the only code that touches a run
//! directory) → [`report`] (annotator reports, pictures, TensorBoard) → [`run`] (a whole
//! run: one model or an ensemble) → [`estimator`], [`experiment`], [`mod@bench`].
//!
//! For a custom backbone or data type, drive the trainer directly: [`train::Trainer`] with
//! a [`model::Conal`] around your [`model::Backbone`] (see `examples/custom_task.rs`).

pub mod aggregate;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod estimator;
pub mod experiment;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run;
pub mod train;

pub use error::{DataError, Error, Result};
pub use estimator::{
    AnnotMixParams, ClassifierParams, ConalParams, CrowdLayerParams, FittedAnnotMix,
    FittedClassifier, FittedConal, FittedCrowdLayer, FittedMadl, MadlParams,
};
