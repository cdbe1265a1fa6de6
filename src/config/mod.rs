//! The one owner of a run's settings: the unchecked [`RunParams`] a user fills (on the
//! command line, through an estimator's setters or from Python), the table of every default
//! ([`defaults`]), and the validated [`RunConfig`] that [`RunParams::resolve`] makes of them
//! once — what a run trains from and a checkpoint's `args.json` records.
//!
//! ```
//! use conal::config::{Recipe, RunParams};
//! use conal::data::source::DataSpec;
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::model::Method;
//!
//! let data = SyntheticConfig::default().generate()?.data.train;
//! let params = RunParams { epochs: Some(20), ..RunParams::new(Method::Conal) };
//! let config = params.resolve(DataSpec::memory(), &data, false)?;
//! // Unset settings come from the table: the tuned recipe's ensemble of 10, Music's 1024.
//! assert_eq!((config.ensemble, config.recipe), (10, Recipe::Tuned));
//! assert_eq!((config.train.epochs, config.train.batch_size), (20, 1024));
//! # Ok::<(), conal::Error>(())
//! ```

pub mod defaults;
pub mod params;
pub mod run;

pub use defaults::{Defaults, Recipe};
pub use params::{ModelOptions, RunParams};
pub use run::{RunConfig, RunResult};
