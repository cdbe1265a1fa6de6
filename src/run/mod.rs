//! A whole run, as the command line does it: build the model a configuration describes, train
//! it with selection, save the checkpoint directory, and evaluate a saved checkpoint.
//!
//! A checkpoint directory holds
//! - `args.json`: the full resolved [`RunConfig`] (data, model, training, classes, workers and
//!   the outcome) — enough to rebuild the model;
//! - `model.bpk`: the selected model's parameters (burnpack);
//! - `metrics.jsonl`: one [`EpochMetrics`] line per epoch;
//! - `workers.json`: per-worker statistics of a CoNAL model ([`WorkerStats`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::data::{Annotation, CrowdData, Matrix, TaskData};
use crate::error::{Error, Result};
use crate::model::{CrowdModel, Mode};
use crate::progress::Progress;
use crate::report::tensorboard::EventWriter;
use crate::task::{DataSpec, LabeledSource, Split};
use crate::train::checkpoint::{load_model, save_model, state, write_atomic};
use crate::train::eval::{accuracy, argmax_rows, macro_f1, predict, probabilities};
use crate::train::trainer::{rng, stream};
use crate::train::{EpochMetrics, Labeled, TrainConfig, TrainData, Trainer};
use crate::train::{Inputs, LabelIndex};

pub mod spec;

pub use spec::{Head, LabelSource, Method, ModelOptions, ModelSpec, ModelTask};

/// File names inside a checkpoint directory.
pub mod files {
    /// The resolved configuration.
    pub const ARGS: &str = "args.json";
    /// The selected model's parameters.
    pub const MODEL: &str = "model.bpk";
    /// Per-epoch metrics.
    pub const METRICS: &str = "metrics.jsonl";
    /// Per-worker statistics of a CoNAL model.
    pub const WORKERS: &str = "workers.json";
}

/// What a finished run selected and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Epoch of the kept model.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Test accuracy of the kept model, when test data was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_accuracy: Option<f64>,
    /// Test macro-F1 of the kept model, when test data was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test_macro_f1: Option<f64>,
    /// Wall time of training, seconds.
    pub train_seconds: f64,
    /// Members of the ensemble (1: a single model).
    #[serde(default = "one")]
    pub members: usize,
    /// Negative log-likelihood of the held-out items' crowd labels under the kept model (or
    /// the ensemble's average), with crowd-holdout selection: the honest score on which
    /// recipes are compared.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub holdout_nll: Option<f64>,
    /// Accuracy of the kept model (or the ensemble's average) on the validation split, when
    /// there is one: LabelMe's honest score for comparing recipes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub valid_accuracy: Option<f64>,
}

/// Mean negative log of probabilities (floored at 1e-12).
fn mean_nll(p: &[f64]) -> Option<f64> {
    (!p.is_empty()).then(|| -p.iter().map(|v| v.max(1e-12).ln()).sum::<f64>() / p.len() as f64)
}

fn one() -> usize {
    1
}

/// Everything that defines a run; saved as `args.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Version of conal that wrote the file.
    pub conal_version: String,
    /// Where the data comes from.
    pub data: DataSpec,
    /// The model.
    pub model: ModelSpec,
    /// How it is trained.
    pub train: TrainConfig,
    /// Device name (`cpu`, or a GPU backend when built with one).
    pub device: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Worker ids, in worker-index order.
    pub workers: Vec<String>,
    /// Feature width of an item.
    pub n_features: usize,
    /// TensorBoard log directory, if the run writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<PathBuf>,
    /// The outcome, once trained.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub result: Option<RunResult>,
}

impl RunConfig {
    /// Reads `args.json` from a checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(files::ARGS);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::checkpoint(
                &path,
                "not found; --ckpt-dir must be a directory written by `conal train --save-dir`",
            ),
            _ => Error::io(&path, e),
        })?;
        let config: RunConfig = serde_json::from_str(&text)
            .map_err(|e| Error::checkpoint(&path, format!("line {}: {e}", e.line())))?;
        config
            .check()
            .map_err(|e| Error::checkpoint(&path, e.to_string()))?;
        Ok(config)
    }

    /// Checks that the model matches the recorded classes, workers and feature width, and is
    /// of a size that can be built (a damaged or hand-edited args.json fails here, not with
    /// an allocation failure later).
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let (k, r, d) = (self.classes.len(), self.workers.len(), self.n_features);
        if k < 2 || d == 0 {
            return bad(format!(
                "{k} classes and {d} features: a model needs at least 2 and 1"
            ));
        }
        self.train.check()?;
        let c = self.model.classifier();
        if c.n_input != d || c.n_class != k {
            return bad(format!(
                "the classifier maps {} features to {} classes, but the data has {d} and {k}",
                c.n_input, c.n_class
            ));
        }
        let mut params: u128 = (c.n_input as u128 + 1) * c.n_units as u128
            + (c.n_units as u128 + 1) * c.n_class as u128;
        match &self.model {
            ModelSpec::Conal { conal, .. } => {
                if conal.n_input != d || conal.n_class != k || conal.n_worker != r {
                    return bad(format!(
                        "CoNAL is built for {} features, {} classes and {} workers, but the data \
                         has {d}, {k} and {r}",
                        conal.n_input, conal.n_class, conal.n_worker
                    ));
                }
                params += (d as u128 + 1) * conal.aux_hidden as u128
                    + (conal.aux_hidden as u128 + 1) * conal.emb_dim as u128
                    + (r as u128 + 1) * conal.emb_dim as u128
                    + (r as u128 + 1) * (k as u128 * k as u128);
            }
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                if crowd_layer.n_class != k || crowd_layer.n_worker != r {
                    return bad(format!(
                        "the crowd layer is built for {} classes and {} workers, but the data \
                         has {k} and {r}",
                        crowd_layer.n_class, crowd_layer.n_worker
                    ));
                }
                params += r as u128 * (k as u128 * k as u128 + 2 * k as u128);
            }
            ModelSpec::Classifier { .. } => {}
        }
        const MAX_PARAMS: u128 = 1 << 31;
        if params > MAX_PARAMS {
            return bad(format!(
                "a model of {params} parameters is beyond what conal builds"
            ));
        }
        Ok(())
    }

    /// Writes `args.json` into `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise args.json: {e}")))?;
        write_atomic(&dir.join(files::ARGS), text.as_bytes())
    }
}

/// Resolves a device name: `cpu` (burn's flex backend) or, when built with the feature, `cuda`,
/// `cuda:N`, `wgpu`.
pub fn device_from_name(name: &str) -> Result<Device> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "cpu" | "flex" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        s if s == "cuda" || s.starts_with("cuda:") => {
            let index = s.strip_prefix("cuda:").unwrap_or("0");
            let index: usize = index
                .parse()
                .map_err(|_| Error::Config(format!("--device {name}: expected cuda:<index>")))?;
            Ok(Device::cuda(index))
        }
        #[cfg(feature = "wgpu")]
        "wgpu" | "gpu" => Ok(Device::wgpu(Default::default())),
        s if s.starts_with("cuda") || s == "wgpu" || s == "gpu" => Err(Error::Config(format!(
            "--device {name}: this build has no GPU backend; rebuild with \
             `cargo build --release --features cuda` (or `--features wgpu`)"
        ))),
        _ => Err(Error::Config(format!(
            "--device {name}: expected cpu{}{}",
            if cfg!(feature = "cuda") {
                ", cuda or cuda:N"
            } else {
                ""
            },
            if cfg!(feature = "wgpu") { ", wgpu" } else { "" },
        ))),
    }
}

/// The outcome of [`train`].
pub struct TrainOutcome {
    /// The configuration with its `result` filled in.
    pub config: RunConfig,
    /// Metrics of every epoch (of the first member, for an ensemble).
    pub history: Vec<EpochMetrics>,
    /// The kept model's class probabilities on the test items, when there are any:
    /// (row-major values, K).
    pub test_probabilities: Option<(Vec<f32>, usize)>,
    /// The probability of each held-out crowd label under the kept model.
    pub holdout_probabilities: Option<Vec<f64>>,
    /// The kept model's class probabilities on the validation items, when there are any.
    pub valid_probabilities: Option<(Vec<f32>, usize)>,
}

/// Where a run writes: the checkpoint directory and the TensorBoard log directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outputs<'a> {
    /// Checkpoint directory (`--save-dir`): model, args.json, metrics.jsonl, workers.json,
    /// and while training the per-epoch state to resume from.
    pub save_dir: Option<&'a Path>,
    /// TensorBoard log directory (`--log-dir`): event files and a copy of metrics.jsonl.
    pub log_dir: Option<&'a Path>,
    /// Save the training state every this many epochs (0: never); `None`: whenever
    /// [`AUTO_CHECKPOINT_SECONDS`] have passed since the last save, and after the last epoch.
    pub checkpoint_every: Option<usize>,
    /// Continue from the state in `save_dir` instead of starting afresh.
    pub resume: bool,
}

impl<'a> Outputs<'a> {
    /// Outputs to `save_dir` and `log_dir`, with automatic state checkpoints.
    pub fn new(save_dir: Option<&'a Path>, log_dir: Option<&'a Path>) -> Self {
        Outputs {
            save_dir,
            log_dir,
            checkpoint_every: None,
            resume: false,
        }
    }
}

/// With automatic checkpoints, the training state is saved when this much wall time passed
/// since the last save (so that short runs do not spend their time writing states).
pub const AUTO_CHECKPOINT_SECONDS: f64 = 10.0;

/// Receives each epoch's metrics: `metrics.jsonl` lines and TensorBoard scalars.
struct EpochSink {
    jsonl: Vec<(PathBuf, std::fs::File)>,
    events: Option<EventWriter>,
}

impl EpochSink {
    /// Opens the outputs, rewriting metrics.jsonl with `history` (the epochs a resumed run
    /// already has; lines a crash left after them are dropped).
    fn create(outputs: Outputs<'_>, history: &[EpochMetrics]) -> Result<Self> {
        let mut jsonl = Vec::new();
        for dir in [outputs.save_dir, outputs.log_dir].into_iter().flatten() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let path = dir.join(files::METRICS);
            if jsonl.iter().any(|(p, _)| *p == path) {
                continue;
            }
            let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            for m in history {
                let line = serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?;
                writeln!(file, "{line}").map_err(|e| Error::io(&path, e))?;
            }
            jsonl.push((path, file));
        }
        let events = match outputs.log_dir {
            Some(dir) => Some(EventWriter::create(dir)?),
            None => None,
        };
        Ok(EpochSink { jsonl, events })
    }

    fn write(&mut self, m: &EpochMetrics) -> Result<()> {
        let line = serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?;
        for (path, file) in &mut self.jsonl {
            writeln!(file, "{line}").map_err(|e| Error::io(path, e))?;
        }
        if let Some(ev) = &mut self.events {
            let step = m.epoch as i64;
            let mut scalars = vec![
                ("train/loss", Some(m.train_loss)),
                ("train/nll", Some(m.train_nll)),
                ("train/lr", Some(m.lr)),
                ("train/mean_omega", m.mean_omega),
                ("holdout/nll", m.holdout_nll),
                ("holdout/agreement", m.holdout_agreement),
                ("valid/accuracy", m.valid_accuracy),
                ("test/accuracy", m.test_accuracy),
                ("time/epoch_ms", Some(m.wall_ms)),
            ];
            let select_tag = format!("select/{}", m.selection_metric_name);
            scalars.push((select_tag.as_str(), Some(m.selection_metric)));
            for (tag, value) in scalars {
                if let Some(v) = value {
                    ev.scalar(tag, step, v as f32)?;
                }
            }
            ev.flush()?;
        }
        Ok(())
    }
}

/// Per-worker statistics saved beside a CoNAL checkpoint (`workers.json`), for `conal inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Class names.
    pub classes: Vec<String>,
    /// The model's mean predicted class distribution over the training items.
    pub class_prior: Vec<f64>,
    /// One entry per worker, in worker-index order.
    pub workers: Vec<WorkerStat>,
}

/// One worker's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStat {
    /// Worker id as in the input.
    pub id: String,
    /// Labels the worker gave.
    pub labels: usize,
    /// Mean ω over the worker's labels (weight of the common confusion), if the model has ω.
    pub omega_mean: Option<f64>,
    /// Smallest ω.
    pub omega_min: Option<f64>,
    /// Largest ω.
    pub omega_max: Option<f64>,
}

impl WorkerStats {
    /// Computes the statistics of `model` on the training crowd.
    fn compute<M: CrowdModel<Tensor<2>>>(model: &M, crowd: &CrowdData, device: &Device) -> Self {
        let index = LabelIndex::new(crowd.n_items(), &crowd.annotations);
        let k = crowd.n_classes();
        let mut prior = vec![0.0f64; k];
        let mut omegas: Vec<Vec<f64>> = vec![Vec::new(); crowd.n_workers()];
        let rows: Vec<usize> = (0..crowd.n_items()).collect();
        for chunk in rows.chunks(4096) {
            let x = crowd.features.batch(chunk, device);
            let obs = index.observed(chunk, device);
            let out = model.forward(&x, &obs, &mut Mode::eval());
            let (p, _) = probabilities(out.class_logits);
            for row in p.chunks_exact(k) {
                for (acc, v) in prior.iter_mut().zip(row) {
                    *acc += *v as f64;
                }
            }
            if let Some(omega) = out.omega {
                let omega: Vec<f32> = omega.into_data().try_into_vec().unwrap_or_default();
                let workers = chunk
                    .iter()
                    .flat_map(|&i| index.of(i).iter().map(|a| a.worker));
                for (w, o) in workers.zip(omega) {
                    omegas[w as usize].push(o as f64);
                }
            }
        }
        prior
            .iter_mut()
            .for_each(|v| *v /= crowd.n_items().max(1) as f64);
        let counts = crowd.labels_per_worker();
        let workers = crowd
            .workers
            .iter()
            .enumerate()
            .map(|(r, id)| {
                let o = &omegas[r];
                let (mean, min, max) = if o.is_empty() {
                    (None, None, None)
                } else {
                    (
                        Some(o.iter().sum::<f64>() / o.len() as f64),
                        Some(o.iter().cloned().fold(f64::INFINITY, f64::min)),
                        Some(o.iter().cloned().fold(f64::NEG_INFINITY, f64::max)),
                    )
                };
                WorkerStat {
                    id: id.clone(),
                    labels: counts[r],
                    omega_mean: mean,
                    omega_min: min,
                    omega_max: max,
                }
            })
            .collect();
        WorkerStats {
            classes: crowd.classes.clone(),
            class_prior: prior,
            workers,
        }
    }

    /// Reads `workers.json` from a checkpoint directory, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(files::WORKERS);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::checkpoint(&path, format!("line {}: {e}", e.line()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// Trains the run `config` describes on `data`, writing the checkpoint and logs to `outputs`,
/// and reports progress.
pub fn train(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    if config.train.ensemble > 1 {
        train_ensemble(config, data, outputs, progress)
    } else {
        train_single(config, data, outputs, progress)
    }
}

/// Trains one model.
fn train_single(
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
        sink.write(&m)?;
        progress.epoch(&m);
        let due = match outputs.checkpoint_every {
            Some(0) => false,
            Some(n) => m.epoch % n == 0 || trainer.is_done(),
            None => {
                last_save.elapsed().as_secs_f64() >= AUTO_CHECKPOINT_SECONDS || trainer.is_done()
            }
        };
        if let Some(dir) = outputs.save_dir
            && due
        {
            state::save(dir, &trainer.snapshot()?)?;
            last_save = std::time::Instant::now();
            saved_epoch = m.epoch;
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
    if let Some(dir) = outputs.save_dir {
        save_model(&dir.join(files::MODEL), &fitted.model)?;
        if fitted.model.has_noise_model() {
            let stats = WorkerStats::compute(&fitted.model, train, &eval_device);
            let text = serde_json::to_string_pretty(&stats)
                .map_err(|e| Error::Config(format!("cannot serialise workers.json: {e}")))?;
            write_atomic(&dir.join(files::WORKERS), text.as_bytes())?;
        }
        config.save(dir)?;
        // The run is complete: its resumable state is no longer needed.
        state::clear(dir);
    }
    Ok(TrainOutcome {
        config,
        history: fitted.history,
        test_probabilities,
        holdout_probabilities: fitted.holdout_probabilities,
        valid_probabilities,
    })
}

/// Validation accuracy of class probabilities, when there is a validation split.
fn valid_accuracy(data: &TaskData, probabilities: Option<&(Vec<f32>, usize)>) -> Option<f64> {
    match (&data.valid, probabilities) {
        (Some(v), Some((p, k))) => Some(accuracy(&argmax_rows(p, *k), &v.truth)),
        _ => None,
    }
}

/// Test accuracy and macro-F1 of class probabilities, when there is a test split.
fn score(data: &TaskData, probabilities: Option<&(Vec<f32>, usize)>) -> (Option<f64>, Option<f64>) {
    match (&data.test, probabilities) {
        (Some(test), Some((p, k))) => {
            let predicted = argmax_rows(p, *k);
            (
                Some(accuracy(&predicted, &test.truth)),
                Some(macro_f1(&predicted, &test.truth, *k)),
            )
        }
        _ => (None, None),
    }
}

/// The seed of ensemble member `j` of a run seeded `seed` (member 0 is the run's own seed).
pub fn member_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add((j as u64) << 32)
}

/// The folder of ensemble member `j` in a checkpoint directory.
pub fn member_dir(dir: &Path, j: usize) -> PathBuf {
    dir.join("members").join(j.to_string())
}

/// Trains the `config.train.ensemble` members of an ensemble one after another, each a full
/// run (its own seed, holdout split and checkpoint folder `members/<j>`), and scores the
/// average of their class probabilities.
fn train_ensemble(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let start = std::time::Instant::now();
    let k = config.train.ensemble;
    if let Some(dir) = outputs.save_dir
        && !outputs.resume
    {
        let _ = std::fs::remove_dir_all(dir.join("members"));
        config.save(dir)?;
    }
    let mut sum: Option<(Vec<f32>, usize)> = None;
    let mut holdout_sum: Option<Vec<f64>> = None;
    let mut valid_sum: Option<(Vec<f32>, usize)> = None;
    let mut first: Option<TrainOutcome> = None;
    for j in 0..k {
        let mut member = config.clone();
        member.train.ensemble = 1;
        member.train.seed = member_seed(config.train.seed, j);
        member.train.holdout_seed = Some(config.train.holdout_seed.unwrap_or(config.train.seed));
        // Members hold out disjoint folds: together they train on every item, and each
        // item's held-out likelihood comes from the member that did not train on it.
        member.train.holdout_fold = Some((j, k));
        member.log_dir = config
            .log_dir
            .as_ref()
            .map(|d| d.join(format!("member-{j}")));
        let dir = outputs.save_dir.map(|d| member_dir(d, j));
        let finished = dir
            .as_deref()
            .filter(|d| outputs.resume && d.join(files::MODEL).is_file())
            .and_then(|d| RunConfig::load(d).ok())
            .filter(|c| c.result.is_some());
        let outcome = match (finished, &dir) {
            (Some(done), Some(d)) => {
                tracing::debug!("ensemble member {} of {k} already trained", j + 1);
                let probabilities = match &data.test {
                    Some(test) => Some(predict_checkpoint(d, &test.features, 4096)?),
                    None => None,
                };
                TrainOutcome {
                    config: done,
                    history: Vec::new(),
                    test_probabilities: probabilities,
                    // Not kept on disk: a resumed ensemble reports no held-out likelihood.
                    holdout_probabilities: None,
                    valid_probabilities: match &data.valid {
                        Some(v) => Some(predict_checkpoint(d, &v.features, 4096)?),
                        None => None,
                    },
                }
            }
            _ => {
                tracing::debug!("training ensemble member {} of {k}", j + 1);
                let member_outputs = Outputs {
                    save_dir: dir.as_deref(),
                    log_dir: member.log_dir.as_deref(),
                    ..outputs
                };
                train_single(&member, data, member_outputs, progress)?
            }
        };
        if let Some((p, kk)) = &outcome.test_probabilities {
            match &mut sum {
                Some((s, _)) => s.iter_mut().zip(p).for_each(|(a, b)| *a += b),
                None => sum = Some((p.clone(), *kk)),
            }
        }
        if let Some((p, kk)) = &outcome.valid_probabilities {
            match &mut valid_sum {
                Some((s, _)) => s.iter_mut().zip(p).for_each(|(a, b)| *a += b),
                None => valid_sum = Some((p.clone(), *kk)),
            }
        }
        // Out-of-fold: each member's held-out labels are its own fold's.
        holdout_sum = match (holdout_sum, &outcome.holdout_probabilities) {
            (Some(mut s), Some(p)) => {
                s.extend_from_slice(p);
                Some(s)
            }
            (None, Some(p)) if j == 0 => Some(p.clone()),
            _ => None,
        };
        if first.is_none() {
            first = Some(outcome);
        }
    }
    let average = sum.map(|(s, kk)| (s.into_iter().map(|v| v / k as f32).collect(), kk));
    let (test_accuracy, test_macro_f1) = score(data, average.as_ref());
    let first =
        first.ok_or_else(|| Error::Config("an ensemble needs at least one member".into()))?;
    let mut config = config.clone();
    config.result = Some(RunResult {
        best_epoch: first.config.result.as_ref().map_or(0, |r| r.best_epoch),
        epochs_run: first.config.result.as_ref().map_or(0, |r| r.epochs_run),
        test_accuracy,
        test_macro_f1,
        train_seconds: start.elapsed().as_secs_f64(),
        members: k,
        holdout_nll: holdout_sum.as_deref().and_then(mean_nll),
        valid_accuracy: valid_accuracy(data, valid_sum.as_ref()),
    });
    if let Some(dir) = outputs.save_dir {
        config.save(dir)?;
    }
    Ok(TrainOutcome {
        config,
        history: first.history,
        test_probabilities: average,
        holdout_probabilities: holdout_sum,
        valid_probabilities: valid_sum,
    })
}

/// Scores of a model on a labelled split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Fraction of items classified right.
    pub accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Number of items.
    pub n: usize,
    /// The file(s) or folder the items came from.
    pub test_data: String,
    /// Predicted class index per item.
    #[serde(skip)]
    pub predictions: Vec<u32>,
}

/// Loads the checkpoint in `ckpt_dir` and scores it on the labelled data `test_data`.
pub fn evaluate(
    ckpt_dir: &Path,
    test_data: &LabeledSource,
    batch_size: usize,
) -> Result<Evaluation> {
    let config = RunConfig::load(ckpt_dir)?;
    let set =
        config
            .data
            .load_labeled_for(test_data, Split::Test, &config.classes, config.n_features)?;
    let (p, k) = predict_with(ckpt_dir, &config, &set.features, batch_size)?;
    let predictions = argmax_rows(&p, k);
    Ok(Evaluation {
        accuracy: accuracy(&predictions, &set.truth),
        macro_f1: macro_f1(&predictions, &set.truth, k),
        n: set.len(),
        test_data: test_data.describe(),
        predictions,
    })
}

/// Class probabilities of a saved model for the rows of `features`.
pub fn predict_checkpoint(
    ckpt_dir: &Path,
    features: &Matrix,
    batch_size: usize,
) -> Result<(Vec<f32>, usize)> {
    let config = RunConfig::load(ckpt_dir)?;
    if features.cols() != config.n_features {
        return Err(Error::Config(format!(
            "items have {} features, the model in {} was trained on {}",
            features.cols(),
            ckpt_dir.display(),
            config.n_features
        )));
    }
    predict_with(ckpt_dir, &config, features, batch_size)
}

/// Loads the model of the checkpoint `ckpt_dir` (described by `config`) and predicts.
fn predict_with(
    ckpt_dir: &Path,
    config: &RunConfig,
    features: &Matrix,
    batch_size: usize,
) -> Result<(Vec<f32>, usize)> {
    struct Predict<'a> {
        path: PathBuf,
        features: &'a Matrix,
        batch_size: usize,
        device: &'a Device,
    }
    impl ModelTask for Predict<'_> {
        type Output = Result<(Vec<f32>, usize)>;
        fn run<M: CrowdModel<Tensor<2>>>(self, skeleton: M) -> Self::Output {
            let model = load_model(&self.path, skeleton)?;
            Ok(predict(&model, self.features, self.batch_size, self.device))
        }
    }
    if config.train.ensemble > 1 {
        // The average of the members' class probabilities.
        let mut sum: Option<(Vec<f32>, usize)> = None;
        for j in 0..config.train.ensemble {
            let dir = member_dir(ckpt_dir, j);
            let member = RunConfig::load(&dir)?;
            let (p, k) = predict_with(&dir, &member, features, batch_size)?;
            match &mut sum {
                Some((s, _)) => s.iter_mut().zip(&p).for_each(|(a, b)| *a += b),
                None => sum = Some((p, k)),
            }
        }
        let (s, k) =
            sum.ok_or_else(|| Error::checkpoint(ckpt_dir, "an ensemble without members"))?;
        let n = config.train.ensemble as f32;
        return Ok((s.into_iter().map(|v| v / n).collect(), k));
    }
    let device = device_from_name(&config.device)?;
    let task = Predict {
        path: ckpt_dir.join(files::MODEL),
        features,
        batch_size,
        device: &device,
    };
    // The skeleton's random weights are all replaced by the saved ones.
    config
        .model
        .with_model(&mut rng(0, stream::INIT), &device, task)
}
