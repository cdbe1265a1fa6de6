//! Training an estimator's settings on data, resuming a run, and the wrapping every fitted
//! type shares.

use crate::config::RunParams;
use crate::data::source::DataSpec;
use crate::data::{CrowdData, LabeledSet, TaskData};
use crate::error::{Error, Result};
use crate::progress::{Progress, Silent};
use crate::run::{FittedModel, Outputs};

/// Trains `params` on `data` (loaded from `source`), writing the checkpoint and logs to
/// `outputs` as training goes and reporting to `progress`: the settings are resolved and
/// checked once ([`RunParams::resolve`]).
pub fn fit(
    params: &RunParams,
    source: DataSpec,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<FittedModel> {
    let mut config = params.resolve(source, &data.train, data.valid.is_some())?;
    config.log_dir = outputs.log_dir.map(Into::into);
    with_threads(params.threads, || {
        FittedModel::from_outcome(crate::run::train(&config, data, outputs, progress)?)
    })
}

/// Trains `params` on in-memory crowd data, with optional labelled validation and test
/// splits (for `select` `Valid` and `TestPeek`, and for the scores in the result).
pub fn fit_splits(
    params: &RunParams,
    train: &CrowdData,
    valid: Option<&LabeledSet>,
    test: Option<&LabeledSet>,
) -> Result<FittedModel> {
    // The run's functions read a whole task; it owns its parts, so they are copied once.
    let data = TaskData {
        train: train.clone(),
        valid: valid.cloned(),
        test: test.cloned(),
    };
    fit(
        params,
        DataSpec::memory(),
        &data,
        Outputs::default(),
        &mut Silent,
    )
}

/// Continues the interrupted run in `outputs.save_dir` with the settings of its `args.json`,
/// reading its data as it was read the first time.
pub fn resume(outputs: Outputs<'_>, progress: &mut dyn Progress) -> Result<FittedModel> {
    let dir = outputs
        .save_dir
        .ok_or_else(|| Error::param("resume", true, "needs the checkpoint directory (save_dir)"))?;
    // Under the write lock, settle what a replacing run killed before its first state left
    // (see `checkpoint::rundir`), so that the args.json read is that of the run to continue.
    drop(crate::checkpoint::rundir::RunDir::claim(
        dir,
        crate::checkpoint::rundir::Claim::Resume,
    )?);
    let config = crate::config::RunConfig::load(dir)?;
    let data = config.data.load()?;
    let outputs = Outputs {
        resume: true,
        // The first session's log directory, unless another is given.
        log_dir: outputs.log_dir.or(config.log_dir.as_deref()),
        ..outputs
    };
    FittedModel::from_outcome(crate::run::train(&config, &data, outputs, progress)?)
}

/// Runs `f` with `threads` threads for tensor math, if set.
fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    match threads {
        None => f(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::param("threads", n, format!("cannot start them: {e}")))?
            .install(f),
    }
}

/// The error for a fitted model of another method than the estimator's.
pub(crate) fn wrong_method(fitted: &FittedModel, what: &str) -> Error {
    Error::Invalid {
        what: "fitted model",
        message: format!(
            "a {} model is not {what}",
            fitted.config().model.method().name()
        ),
    }
}
