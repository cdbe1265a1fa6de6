//! A whole training run, as the estimators and the command line do it: build the model a
//! [`RunConfig`] describes, train it with selection (one model, or a cross-fitted ensemble),
//! write the checkpoint directory as it goes, and keep the result in memory
//! ([`FittedModel`]).
//!
//! ```
//! use conal::config::{Recipe, RunParams};
//! use conal::data::source::DataSpec;
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::model::Method;
//! use conal::run::{FittedModel, Outputs, train};
//!
//! let data = DataSpec::synthetic(SyntheticConfig::default()).load()?;
//! let params = RunParams { recipe: Some(Recipe::Paper), epochs: Some(5), ..RunParams::new(Method::Mv) };
//! let config = params.resolve(DataSpec::memory(), &data.train, false)?;
//! let fitted = FittedModel::from_outcome(train(&config, &data, Outputs::default(), &mut conal::progress::Silent)?)?;
//! assert_eq!(fitted.predict(&data.test.unwrap().features)?.len(), 1000);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::checkpoint::rundir::{Claim, RunDir};
use crate::config::RunConfig;
use crate::data::TaskData;
use crate::error::Result;
use crate::progress::Progress;

mod ensemble;
mod fitted;
mod outputs;
mod predict;
mod score;
mod single;
mod sink;
mod workers;

pub use fitted::{FittedModel, Member, TrainOutcome};
pub use outputs::{AUTO_CHECKPOINT_SECONDS, Outputs, member_seed};
pub use predict::{Evaluation, evaluate, predict_checkpoint};
pub use workers::worker_stats;

/// Trains the run `config` describes on `data`, writing the checkpoint and logs to `outputs`,
/// and reports progress.
pub fn train(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    config.check_data(&data.train)?;
    let crowd = &data.train;
    tracing::info!(
        "{}: {} items, {} workers, {} labels, {} classes, {} features",
        config.data.task().name(),
        crowd.n_items(),
        crowd.n_workers(),
        crowd.annotations.len(),
        crowd.n_classes(),
        crowd.n_features()
    );
    if config.train.select == crate::train::Selection::TestPeek {
        tracing::warn!(
            "selection on the test set (test-peek, the paper's Music protocol): its accuracy \
             is optimistic"
        );
    }
    // One writer per directory, and no run replaced unless asked (held to the end).
    let claim = if outputs.resume {
        Claim::Resume
    } else if outputs.overwrite {
        Claim::Overwrite
    } else {
        Claim::Fresh
    };
    let _claim = match outputs.save_dir {
        Some(dir) => Some(RunDir::claim(dir, claim)?),
        None => None,
    };
    if config.ensemble > 1 {
        ensemble::train_ensemble(config, data, outputs, progress)
    } else {
        single::train_single(config, data, outputs, progress)
    }
}
