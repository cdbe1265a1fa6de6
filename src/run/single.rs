//! Training one model: build it from the run's configuration, train it with selection (and
//! resume), save it, and keep it in memory.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::aggregate::{Params, Value, registry};
use crate::checkpoint::{ModelFiles, state};
use crate::config::{RunConfig, RunResult};
use crate::data::{Annotation, CrowdData, Matrix, TaskData};
use crate::error::{Error, Result};
use crate::model::{AnyModel, CrowdModel, LabelSource, ModelTask, device_from_name};
use crate::progress::Progress;
use crate::rng::{rng, stream};
use crate::run::fitted::{Member, TrainOutcome};
use crate::run::outputs::{AUTO_CHECKPOINT_SECONDS, Outputs};
use crate::run::score::{mean_nll, score, valid_accuracy};
use crate::run::sink::EpochSink;
use crate::run::workers::worker_stats;
use crate::train::eval::predict;
use crate::train::{Labeled, TrainData, Trainer};

/// Trains one model.
pub(crate) fn train_single(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let device = device_from_name(&config.device)?.autodiff();
    // A plain classifier learns from one label per item; the others from the crowd's labels.
    let aggregated;
    let annotations = match config.model.label_source() {
        Some(source) => {
            aggregated = single_labels(source, &data.train, config.train.seed)?;
            &aggregated
        }
        None => &data.train.annotations,
    };
    let task = TrainTask {
        config,
        data,
        annotations,
        device: &device,
        outputs,
        progress,
    };
    config
        .model
        .init(&mut rng(config.train.seed, stream::INIT), &device)
        .run(task)
}

/// The labels of the crowd-labelled items a plain classifier trains on, as annotations of
/// one pseudo-worker.
fn single_labels(source: LabelSource, data: &CrowdData, seed: u64) -> Result<Vec<Annotation>> {
    match source {
        LabelSource::MajorityVote | LabelSource::DawidSkene | LabelSource::Glad => {
            let method = registry::entry(source.name())?;
            let mut params = Params::new();
            // Majority vote breaks its ties from the run's seed; the others have no draws.
            if method.takes("seed") {
                params.set("seed", Value::Int(seed as i64));
            }
            Ok(method.fit(&params, data)?.aggregation().as_annotations())
        }
        LabelSource::Gold => {
            let truth = data.truth.as_ref().ok_or_else(|| {
                Error::param("method", "gold", "needs true labels for the training items")
            })?;
            data.labelled_items()
                .into_iter()
                .map(|i| {
                    let label = truth[i].ok_or_else(|| {
                        Error::param(
                            "method",
                            "gold",
                            format!(
                                "needs a true label for every crowd-labelled item; item {:?} \
                                 has none",
                                data.items[i]
                            ),
                        )
                    })?;
                    Ok(Annotation {
                        item: i as u32,
                        worker: 0,
                        label,
                    })
                })
                .collect()
        }
    }
}

/// Training, as a [`ModelTask`] so that it runs on whichever model the spec builds.
struct TrainTask<'a> {
    config: &'a RunConfig,
    data: &'a TaskData,
    annotations: &'a [Annotation],
    device: &'a Device,
    outputs: Outputs<'a>,
    progress: &'a mut dyn Progress,
}

impl ModelTask for TrainTask<'_> {
    type Output = Result<TrainOutcome>;
    fn run<M: CrowdModel<Tensor<2>> + Into<AnyModel>>(self, model: M) -> Self::Output {
        train_model(
            self.config,
            model,
            self.data,
            self.annotations,
            self.device,
            self.outputs,
            self.progress,
        )
    }
}

fn train_model<M: CrowdModel<Tensor<2>> + Into<AnyModel>>(
    config: &RunConfig,
    model: M,
    data: &TaskData,
    annotations: &[Annotation],
    device: &Device,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let train = &data.train;
    fn labeled(s: &Option<crate::data::LabeledSet>) -> Option<Labeled<'_, Matrix>> {
        s.as_ref().map(|s| Labeled {
            inputs: &s.features,
            truth: &s.truth,
        })
    }
    let train_data = TrainData {
        inputs: &train.features,
        annotations,
        weights: None,
        valid: labeled(&data.valid),
        test: labeled(&data.test),
    };
    let start = std::time::Instant::now();
    let mut trainer = Trainer::new(model, &train_data, config.train.clone(), device)?;
    if let Some(dir) = outputs.save_dir {
        if outputs.resume {
            match state::load(dir)? {
                Some((snapshot, path)) => {
                    trainer = trainer.restore(snapshot, &path)?;
                    tracing::info!(
                        "resuming after epoch {} from {}",
                        trainer.epoch(),
                        path.display()
                    );
                }
                None => tracing::warn!(
                    "{}: no training state to resume from; starting at epoch 1",
                    dir.display()
                ),
            }
        } else {
            // A fresh run: its configuration first (what --resume rebuilds it from), and no
            // state of an earlier run.
            state::clear(dir);
            config.save(dir)?;
        }
    }
    let mut sink = EpochSink::create(outputs, trainer.history())?;
    progress.start("epochs", (config.train.epochs - trainer.epoch()) as u64);
    let mut last_save = std::time::Instant::now();
    let mut saved_epoch = trainer.epoch();
    // A failed write ends the run, keeping the last complete state and saying so.
    let kept = |e: Error, saved_epoch: usize| match (outputs.save_dir, e) {
        (Some(dir), e @ Error::Io { .. }) => Error::WriteFailed {
            cause: Box::new(e),
            dir: dir.to_path_buf(),
            epoch: saved_epoch,
        },
        (_, e) => e,
    };
    while !trainer.is_done() {
        let m = match trainer.run_epoch(&train.features, progress) {
            Ok(m) => m,
            Err(Error::Diverged { message, .. }) => {
                let kept = outputs
                    .save_dir
                    .filter(|_| saved_epoch > 0)
                    .map(|dir| (saved_epoch, dir.to_path_buf()));
                return Err(Error::Diverged { message, kept });
            }
            Err(e) => return Err(e),
        };
        sink.write(&m).map_err(|e| kept(e, saved_epoch))?;
        progress.epoch(&m);
        let stop = progress.cancelled();
        let due = stop
            || match outputs.checkpoint_every {
                Some(0) => false,
                Some(n) => m.epoch % n == 0 || trainer.is_done(),
                None => {
                    last_save.elapsed().as_secs_f64() >= AUTO_CHECKPOINT_SECONDS
                        || trainer.is_done()
                }
            };
        if let Some(dir) = outputs.save_dir
            && due
        {
            state::save(dir, &trainer.snapshot()?).map_err(|e| kept(e, saved_epoch))?;
            last_save = std::time::Instant::now();
            saved_epoch = m.epoch;
        }
        if stop {
            return Err(Error::Interrupted {
                epoch: m.epoch,
                saved: outputs.save_dir.map(Path::to_path_buf),
            });
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let fitted = trainer.finish();
    let eval_device = device.clone().inner();
    let test_probabilities = data
        .test
        .as_ref()
        .map(|test| predict(&fitted.model, &test.features, 4096, &eval_device));
    let (test_accuracy, test_macro_f1) = score(data, test_probabilities.as_ref());
    let valid_probabilities = data
        .valid
        .as_ref()
        .map(|v| predict(&fitted.model, &v.features, 4096, &eval_device));
    let valid_accuracy = valid_accuracy(data, valid_probabilities.as_ref());
    let mut config = config.clone();
    config.result = Some(RunResult {
        best_epoch: fitted.best_epoch,
        epochs_run: fitted.history.len(),
        test_accuracy,
        test_macro_f1,
        train_seconds,
        members: 1,
        holdout_nll: fitted.holdout_probabilities.as_deref().and_then(mean_nll),
        valid_accuracy,
    });
    progress.finish(&format!(
        "kept epoch {} ({} selection)",
        fitted.best_epoch,
        config.train.select.name()
    ));
    let stats = fitted
        .model
        .has_noise_model()
        .then(|| worker_stats(&fitted.model, train, &eval_device));
    let model: AnyModel = fitted.model.into();
    if let Some(dir) = outputs.save_dir {
        let finish = || -> Result<()> {
            ModelFiles {
                config: config.clone(),
                model: model.encode()?,
                history: Vec::new(),
                worker_stats: stats.clone(),
            }
            .write_result(dir)
        };
        finish().map_err(|e| kept(e, saved_epoch))?;
        // The run is complete: its resumable state is no longer needed.
        state::clear(dir);
    }
    Ok(TrainOutcome {
        members: vec![Member {
            config: config.clone(),
            model,
            history: fitted.history.clone(),
            worker_stats: stats,
        }],
        config,
        history: fitted.history,
        test_probabilities,
        holdout_probabilities: fitted.holdout_probabilities,
        valid_probabilities,
    })
}
