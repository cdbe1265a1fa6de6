//! Training one model: build it from the run's configuration, train it with selection (and
//! resume), save it, and keep it in memory.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::checkpoint::{files, state};
use crate::data::{Annotation, Matrix, TaskData};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::model::CrowdModel;
use crate::progress::Progress;
use crate::rng::{rng, stream};
use crate::run::score::{mean_nll, score, valid_accuracy};
use crate::run::sink::EpochSink;
use crate::run::workers::worker_stats;
use crate::run::{AUTO_CHECKPOINT_SECONDS, Member, Outputs, TrainOutcome, device_from_name};
use crate::spec::{ModelTask, RunConfig, RunResult};
use crate::train::eval::predict;
use crate::train::snapshot::model_bytes;
use crate::train::{Labeled, TrainData, Trainer};

/// Trains one model.
pub(crate) fn train_single(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    config.model.check(&data.train)?;
    let device = device_from_name(&config.device)?.autodiff();
    // A plain classifier learns from one label per item; the others from the crowd's labels.
    let aggregated;
    let annotations = match config.model.label_source() {
        Some(source) => {
            aggregated = source.annotations(&data.train, config.train.seed)?;
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
        .with_model(&mut rng(config.train.seed, stream::INIT), &device, task)
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
    fn run<M: CrowdModel<Tensor<2>>>(self, model: M) -> Self::Output {
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

fn train_model<M: CrowdModel<Tensor<2>>>(
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
            Err(Error::Diverged(message)) => {
                let kept = match outputs.save_dir {
                    Some(dir) if saved_epoch > 0 => format!(
                        "; the last good state (epoch {saved_epoch}) stays in {}: resume with \
                         `conal train --resume --save-dir {}` after lowering the learning rate \
                         in its args.json",
                        dir.display(),
                        dir.display()
                    ),
                    _ => String::new(),
                };
                return Err(Error::Diverged(format!("{message}{kept}")));
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
    let model = model_bytes(&fitted.model)?;
    let stats = fitted
        .model
        .has_noise_model()
        .then(|| worker_stats(&fitted.model, train, &eval_device));
    if let Some(dir) = outputs.save_dir {
        let finish = || -> Result<()> {
            write_atomic(&dir.join(files::MODEL), &model)?;
            if let Some(stats) = &stats {
                stats.save(dir)?;
            }
            config.save(dir)
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
