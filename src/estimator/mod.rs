//! Estimators over in-memory data, linfa-shaped: a params type with documented builder setters
//! ("defaults to …") and `check()`, `fit(&data)` returning a fitted type that predicts, reports
//! what it learned, and saves to (or loads from) the checkpoint directory the command line
//! writes and reads.
//!
//! - [`ConalParams`] → [`FittedConal`]: CoNAL (common + individual confusions mixed by ω).
//! - [`CrowdLayerParams`] → [`FittedCrowdLayer`]: CrowdLayer (Rodrigues & Pereira 2018).
//! - [`AnnotMixParams`] → [`FittedAnnotMix`]: Annot-Mix (Herde et al. 2024).
//! - [`MadlParams`] → [`FittedMadl`]: MaDL (Herde et al. 2023).
//! - [`ClassifierParams`] → [`FittedClassifier`]: the classifier alone, trained on aggregated
//!   (majority vote, Dawid-Skene, GLAD) or true labels.
//! - The aggregators, which need no features, are in [`crate::aggregate`].
//!
//! All of them hold a [`RunParams`] (the settings of [`crate::config`], which the command
//! line, `conal experiment` and Python fill too) and train through [`fit`], which resolves
//! and checks it once. The crowd models' fitted types report what they learned about each
//! annotator ([`crate::report::annotators::AnnotatorReport`]).
//!
//! ```
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::estimator::ConalParams;
//!
//! let demo = SyntheticConfig::default().generate()?.data;
//! let model = ConalParams::new().recipe(conal::config::Recipe::Paper).epochs(20).fit(&demo.train)?;
//! let test = demo.test.as_ref().unwrap();
//! let predicted = model.predict(&test.features)?;
//! assert_eq!(predicted.len(), test.len());
//! assert_eq!(model.common_confusion().len(), demo.train.n_classes());
//! assert_eq!(model.annotators().reliability().len(), demo.train.n_workers());
//! # Ok::<(), conal::Error>(())
//! ```

pub use crate::config::RunParams;

#[macro_use]
mod setters;
mod annot_mix;
mod classifier;
mod conal;
mod crowdlayer;
mod fit;
mod madl;

pub use annot_mix::{AnnotMixParams, FittedAnnotMix};
pub use classifier::{ClassifierParams, FittedClassifier};
pub use conal::{ConalParams, FittedConal};
pub use crowdlayer::{CrowdLayerParams, FittedCrowdLayer};
pub use fit::{fit, fit_splits, resume};
pub use madl::{FittedMadl, MadlParams};
