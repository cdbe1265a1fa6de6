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
//! All of them share [`RunParams`], the method-independent part (recipe, selection, epochs,
//! seed, threads, …) that the command line, `conal experiment` and `conal demo` also build
//! their runs from: it is the one place that turns settings into a [`TrainConfig`] and a
//! [`RunConfig`].
//!
//! ```
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::estimator::ConalParams;
//!
//! let demo = SyntheticConfig::default().generate()?.data;
//! let model = ConalParams::new().recipe(conal::train::Recipe::Paper).epochs(20).fit(&demo.train)?;
//! let test = demo.test.as_ref().unwrap();
//! let predicted = model.predict(&test.features)?;
//! assert_eq!(predicted.len(), test.len());
//! assert_eq!(model.common_confusion().len(), demo.train.n_classes());
//! # Ok::<(), conal::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::data::source::{DataSpec, TaskKind};
use crate::data::{CrowdData, LabeledSet, TaskData};
use crate::error::{Error, Result};
use crate::progress::{Progress, Silent};
use crate::run::{FittedModel, Outputs};
use crate::spec::{Head, Method, ModelOptions, ModelSpec, RunConfig};
use crate::train::{
    AdamReset, AdamSettings, LrSchedule, MixupOver, OptimizerKind, Recipe, Regularizer,
    RegularizerKind, Selection, TrainConfig,
};

#[macro_use]
mod setters;
mod annot_mix;
mod classifier;
mod conal;
mod crowdlayer;
mod madl;

pub use annot_mix::{AnnotMixParams, FittedAnnotMix};
pub use classifier::{ClassifierParams, FittedClassifier};
pub use conal::{ConalParams, FittedConal};
pub use crowdlayer::{CrowdLayerParams, FittedCrowdLayer};
pub use madl::{FittedMadl, MadlParams};

/// Everything a training run needs besides the data, for any method. Each field left `None`
/// takes the value of the task defaults ([`TaskKind::defaults`]) or the recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunParams {
    /// What to train.
    pub method: Method,
    /// Whose per-task defaults fill the unset fields: `Table` (your own data: the authors'
    /// Music settings) unless a built-in task is named.
    pub task: TaskKind,
    /// The training recipe: `Tuned` (a cross-fitted ensemble of 10), `Paper` (one model, the
    /// CoNAL authors' settings) or `Benchmark` (one model, the Annot-Mix benchmark's
    /// settings); `None`: the method's ([`Method::default_recipe`]).
    #[serde(default)]
    pub recipe: Option<Recipe>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Model selection; the task's default when `None` (LabelMe's validation split falls
    /// back to crowd holdout when there is none).
    pub select: Option<Selection>,
    /// Passes over the training items.
    pub epochs: Option<usize>,
    /// Items per optimisation step.
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    pub lr: Option<f64>,
    /// Learning-rate schedule; the recipe's when `None` (constant, or the benchmark's cosine
    /// annealing).
    #[serde(default)]
    pub lr_schedule: Option<LrSchedule>,
    /// Optimiser; the recipe's when `None` (Adam, or the benchmark's RAdam).
    #[serde(default)]
    pub optimizer: Option<OptimizerKind>,
    /// What mixup blends; the method's when `None` (labels for Annot-Mix, items otherwise).
    #[serde(default)]
    pub mixup_over: Option<MixupOver>,
    /// λ of CoNAL's regulariser.
    pub scale: Option<f64>,
    /// GeoCrowdNet's volume regulariser added to the loss; none when `None`.
    #[serde(default)]
    pub regularizer: Option<RegularizerKind>,
    /// λ of the volume regulariser; the Annot-Mix benchmark's 1e-3 when `None`.
    #[serde(default)]
    pub reg_lambda: Option<f64>,
    /// Fraction of crowd-labelled items held out for crowd-holdout selection.
    pub holdout: f64,
    /// When Adam's moments restart; the method's default on the task when `None`.
    pub adam_reset: Option<AdamReset>,
    /// Moving average of the weights with this decay per step.
    pub ema: Option<f64>,
    /// Ensemble members; from the recipe when `None`.
    pub ensemble: Option<usize>,
    /// Mixup's Beta(α, α) parameter.
    pub mixup: Option<f64>,
    /// Adam's ε.
    pub adam_eps: f32,
    /// L2 weight decay.
    pub weight_decay: f32,
    /// Architecture settings.
    pub model: ModelOptions,
    /// Device name: `cpu`, or a GPU backend the build has.
    pub device: String,
    /// Data-parallel shares of every batch, each on its own instance of `device`
    /// ([`TrainConfig::devices`]). 1: none.
    #[serde(
        default = "crate::train::config::one",
        skip_serializing_if = "crate::train::config::is_one"
    )]
    pub devices: usize,
    /// Threads for tensor math during `fit` (`None`: the current thread pool, by default one
    /// thread per core).
    #[serde(skip)]
    pub threads: Option<usize>,
}

impl RunParams {
    /// The defaults for `method`: the tuned recipe, seed 0, the task defaults of your own
    /// data, on the CPU.
    pub fn new(method: Method) -> Self {
        let adam = AdamSettings::default();
        RunParams {
            method,
            task: TaskKind::Table,
            recipe: None,
            seed: 0,
            select: None,
            epochs: None,
            batch_size: None,
            lr: None,
            lr_schedule: None,
            optimizer: None,
            mixup_over: None,
            scale: None,
            regularizer: None,
            reg_lambda: None,
            holdout: TrainConfig::default().holdout,
            adam_reset: None,
            ema: None,
            ensemble: None,
            mixup: None,
            adam_eps: adam.epsilon,
            weight_decay: adam.weight_decay,
            model: ModelOptions::default(),
            device: "cpu".into(),
            devices: 1,
            threads: None,
        }
    }

    /// The recipe: the one named, else the method's.
    pub fn recipe(&self) -> Recipe {
        self.recipe.unwrap_or(self.method.default_recipe())
    }

    /// The training settings these parameters give, for data with (`has_valid`) or without
    /// a validation split: the one place they are resolved.
    pub fn train_config(&self, has_valid: bool) -> Result<TrainConfig> {
        let d = self.task.defaults();
        let recipe = self.recipe();
        let r = RecipeDefaults::of(recipe, self.method);
        let mut select = self.select.or(r.select).unwrap_or(d.select);
        // LabelMe's default is its validation split, which needs one; else crowd holdout.
        if self.select.is_none() && select == Selection::Valid && !has_valid {
            select = Selection::CrowdHoldout;
        }
        let mixup_over = self
            .mixup_over
            .unwrap_or(if self.method == Method::AnnotMix {
                MixupOver::Labels
            } else {
                MixupOver::Items
            });
        let train = TrainConfig {
            seed: self.seed,
            epochs: self.epochs.or(r.epochs).unwrap_or(d.epochs),
            batch_size: self.batch_size.or(r.batch_size).unwrap_or(d.batch_size),
            lr: self.lr.or(r.lr).unwrap_or(d.lr),
            lr_schedule: self.lr_schedule.unwrap_or(r.lr_schedule),
            scale: self.scale.unwrap_or(d.scale),
            select,
            holdout: self.holdout,
            holdout_seed: None,
            holdout_fold: None,
            adam: AdamSettings {
                epsilon: self.adam_eps,
                weight_decay: self.weight_decay,
                reset: self
                    .adam_reset
                    .or(r.adam_reset)
                    .unwrap_or(self.method.adam_reset(self.task)),
                rectified: self.optimizer.unwrap_or(r.optimizer) == OptimizerKind::Radam,
                ..AdamSettings::default()
            },
            ema: self.ema,
            ensemble: self.ensemble.unwrap_or(recipe.ensemble()),
            recipe,
            mixup: self.mixup.or(r.mixup),
            mixup_over,
            devices: self.devices,
            regularizer: self.regularizer.map(|kind| Regularizer {
                kind,
                lambda: self.reg_lambda.unwrap_or(DEFAULT_REG_LAMBDA),
            }),
        };
        train.check()?;
        Ok(train)
    }

    /// Checks every value that does not depend on the data.
    pub fn check(&self) -> Result<()> {
        self.train_config(true)?;
        let m = &self.model;
        if m.n_units == 0 {
            return Err(Error::param("n_units", 0, "must be at least 1"));
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(Error::param("dropout", m.dropout, "must lie in [0, 1)"));
        }
        if m.emb_dim == Some(0) {
            return Err(Error::param("emb_dim", 0, "must be at least 1"));
        }
        if let Some(n) = self.threads
            && n == 0
        {
            return Err(Error::param("threads", 0, "must be at least 1"));
        }
        crate::run::device_from_name(&self.device)?;
        Ok(())
    }

    /// The run configuration (`args.json`) for training on `data` read as `source`: the one
    /// place it is built.
    pub fn run_config(
        &self,
        source: DataSpec,
        data: &CrowdData,
        has_valid: bool,
    ) -> Result<RunConfig> {
        let train = self.train_config(has_valid)?;
        let r = RecipeDefaults::of(self.recipe(), self.method);
        let mut options = self.model.clone();
        options.head = options.head.or(r.head);
        options.emb_dim = options.emb_dim.or(r.emb_dim);
        let mut model = ModelSpec::build(
            self.method,
            self.task,
            data.n_features(),
            data.n_workers(),
            data.n_classes(),
            &options,
        );
        // The deep head has no input batch norm: it standardises the features with the
        // training items' statistics, as the Annot-Mix benchmark does.
        if model.classifier().is_deep() {
            let features = &data.features;
            let st =
                crate::model::classifier::Standardize::fit(features.as_slice(), features.cols());
            if let ModelSpec::Conal { conal, .. } = &mut model {
                conal.standardize = Some(st.clone());
            }
            model.classifier_mut().standardize = Some(st);
        }
        model.check(data)?;
        let config = RunConfig {
            conal_version: env!("CARGO_PKG_VERSION").into(),
            data: source,
            model,
            train,
            device: self.device.clone(),
            classes: data.classes.clone(),
            workers: data.workers.clone(),
            n_features: data.n_features(),
            log_dir: None,
            result: None,
        };
        config.check()?;
        Ok(config)
    }

    /// Trains on `data` (loaded from `source`), writing the checkpoint and logs to `outputs`
    /// as training goes and reporting to `progress`.
    pub fn fit_task(
        &self,
        source: DataSpec,
        data: &TaskData,
        outputs: Outputs<'_>,
        progress: &mut dyn Progress,
    ) -> Result<FittedModel> {
        self.check()?;
        let mut config = self.run_config(source, &data.train, data.valid.is_some())?;
        config.log_dir = outputs.log_dir.map(Into::into);
        self.with_threads(|| resume_or_train(&config, data, outputs, progress))
    }

    /// Trains on in-memory crowd data, with optional labelled validation and test splits
    /// (for `select` `Valid` and `TestPeek`, and for the scores in the result).
    pub fn fit_splits(
        &self,
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
        self.fit_task(DataSpec::memory(), &data, Outputs::default(), &mut Silent)
    }

    /// Runs `f` with `threads` threads for tensor math, if set.
    fn with_threads<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        match self.threads {
            None => f(),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::param("threads", n, format!("cannot start them: {e}")))?
                .install(f),
        }
    }
}

/// λ of the volume regularisers unless one is given: the Annot-Mix benchmark's.
pub const DEFAULT_REG_LAMBDA: f64 = 1e-3;

/// What a recipe sets where a field is left unset, before the task's defaults (`None`: the
/// task's).
#[derive(Default)]
struct RecipeDefaults {
    epochs: Option<usize>,
    batch_size: Option<usize>,
    lr: Option<f64>,
    select: Option<Selection>,
    lr_schedule: LrSchedule,
    optimizer: OptimizerKind,
    adam_reset: Option<AdamReset>,
    mixup: Option<f64>,
    head: Option<Head>,
    emb_dim: Option<usize>,
}

impl RecipeDefaults {
    /// The settings `recipe` brings for `method`: the Annot-Mix benchmark's (METHODS.md) for
    /// `Benchmark`; none for the CoNAL authors' recipes, which are the task's defaults.
    fn of(recipe: Recipe, method: Method) -> Self {
        match recipe {
            Recipe::Paper | Recipe::Tuned => RecipeDefaults::default(),
            Recipe::Benchmark => RecipeDefaults {
                epochs: Some(50),
                batch_size: Some(64),
                lr: Some(1e-2),
                select: Some(Selection::Last),
                lr_schedule: LrSchedule::CosineAnnealing,
                optimizer: OptimizerKind::Radam,
                adam_reset: Some(AdamReset::Never),
                mixup: (method == Method::AnnotMix).then_some(1.0),
                // The benchmark's backbone, and its CoNAL embedding size.
                head: Some(Head::Deep),
                emb_dim: Some(20),
            },
        }
    }
}

/// Trains the run `config` describes (continuing the state in `outputs.save_dir` when
/// `outputs.resume`).
fn resume_or_train(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<FittedModel> {
    FittedModel::from_outcome(crate::run::train(config, data, outputs, progress)?)
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
    let config = RunConfig::load(dir)?;
    let data = config.data.load()?;
    resume_or_train(
        &config,
        &data,
        Outputs {
            resume: true,
            // The first session's log directory, unless another is given.
            log_dir: outputs.log_dir.or(config.log_dir.as_deref()),
            ..outputs
        },
        progress,
    )
}

/// The classifier head a task uses by default.
pub fn default_head(task: TaskKind) -> Head {
    if task.defaults().batch_norm {
        Head::Music
    } else {
        Head::Labelme
    }
}
