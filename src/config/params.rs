//! The unchecked settings of a training run ([`RunParams`]: every field a user may set, unset
//! ones `None`) and their one resolution into the validated [`RunConfig`]
//! ([`RunParams::resolve`]), which fills what is unset from the defaults table and checks
//! everything once.

use serde::{Deserialize, Serialize};

use crate::config::defaults::{self, Defaults, Recipe};
use crate::config::run::{RunConfig, check_ensemble};
use crate::data::CrowdData;
use crate::data::source::{DataSpec, TaskKind};
use crate::error::{Error, Result};
use crate::model::classifier::Standardize;
use crate::model::{
    AnnotMixConfig, ConalConfig, Confusion, CrowdLayerConfig, CrowdLayerKind, Head, Init,
    LabelSource, MadlConfig, Method, MlpConfig, ModelSpec,
};
use crate::train::{
    AdamReset, AdamSettings, LrSchedule, MixupOver, OptimizerKind, Regularizer, RegularizerKind,
    Selection, TrainConfig,
};

/// Architecture settings shared by all methods (the rest comes from the task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    /// Hidden units of the classifier. Defaults to 128.
    pub n_units: usize,
    /// Dropout after the classifier's hidden layer. Defaults to 0.5.
    pub dropout: f64,
    /// Embedding size of CoNAL's auxiliary network; the task's when `None`.
    pub emb_dim: Option<usize>,
    /// Weight initialisation.
    pub init: Init,
    /// Classifier head; the recipe's or the task's when `None`.
    #[serde(default)]
    pub head: Option<Head>,
    /// Form of the confusion matrices of CoNAL and CrowdLayer MW.
    #[serde(default)]
    pub confusion: Confusion,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            n_units: defaults::N_UNITS,
            dropout: defaults::DROPOUT,
            emb_dim: None,
            init: Init::Torch,
            head: None,
            confusion: Confusion::Free,
        }
    }
}

/// Everything a training run needs besides the data, for any method, as the user gave it:
/// each field left `None` takes the value of the defaults table ([`Defaults::of`] the task,
/// recipe and method). Checked and resolved once, by [`RunParams::resolve`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunParams {
    /// What to train.
    pub method: Method,
    /// Whose per-task defaults fill the unset fields: `Table` (your own data: the authors'
    /// Music settings) unless a built-in task is named.
    pub task: TaskKind,
    /// The training recipe; `None`: the method's ([`Recipe::of`]).
    #[serde(default)]
    pub recipe: Option<Recipe>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Model selection; the default's when `None` (a validation split the data lacks falls
    /// back to crowd holdout).
    pub select: Option<Selection>,
    /// Passes over the training items.
    pub epochs: Option<usize>,
    /// Items per optimisation step.
    pub batch_size: Option<usize>,
    /// Learning rate.
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[serde(default)]
    pub lr_schedule: Option<LrSchedule>,
    /// Optimiser.
    #[serde(default)]
    pub optimizer: Option<OptimizerKind>,
    /// What mixup blends.
    #[serde(default)]
    pub mixup_over: Option<MixupOver>,
    /// λ of CoNAL's regulariser.
    pub scale: Option<f64>,
    /// GeoCrowdNet's volume regulariser added to the loss; none when `None`.
    #[serde(default)]
    pub regularizer: Option<RegularizerKind>,
    /// λ of the volume regulariser; [`defaults::REG_LAMBDA`] when `None`.
    #[serde(default)]
    pub reg_lambda: Option<f64>,
    /// Fraction of crowd-labelled items held out for crowd-holdout selection.
    pub holdout: f64,
    /// When Adam's moments restart.
    pub adam_reset: Option<AdamReset>,
    /// Moving average of the weights with this decay per step.
    pub ema: Option<f64>,
    /// Ensemble members.
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
    /// The defaults for `method`: its recipe, seed 0, the task defaults of your own data, on
    /// the CPU.
    pub fn new(method: Method) -> Self {
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
            holdout: defaults::HOLDOUT,
            adam_reset: None,
            ema: None,
            ensemble: None,
            mixup: None,
            adam_eps: defaults::ADAM_EPS,
            weight_decay: defaults::WEIGHT_DECAY,
            model: ModelOptions::default(),
            device: defaults::DEVICE.into(),
            devices: 1,
            threads: None,
        }
    }

    /// The recipe: the one named, else the method's.
    pub fn recipe(&self) -> Recipe {
        self.recipe.unwrap_or(Recipe::of(self.method))
    }

    /// The defaults that fill what is unset.
    pub fn defaults(&self) -> Defaults {
        Defaults::of(self.task, self.recipe(), self.method)
    }

    /// Checks every value that does not depend on the data; errors name the field
    /// ([`Error::Param`]). [`RunParams::resolve`] runs the same checks.
    pub fn check(&self) -> Result<()> {
        self.check_options()?;
        self.train_config(&self.defaults(), true).check()
    }

    /// The settings outside the training loop's.
    fn check_options(&self) -> Result<()> {
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
        if self.threads == Some(0) {
            return Err(Error::param("threads", 0, "must be at least 1"));
        }
        if let Some(n) = self.ensemble {
            check_ensemble(n)?;
        }
        crate::model::device_from_name(&self.device)?;
        Ok(())
    }

    /// The training loop's settings for data with (`has_valid`) or without a validation
    /// split.
    fn train_config(&self, d: &Defaults, has_valid: bool) -> TrainConfig {
        let mut select = self.select.unwrap_or(d.select);
        // LabelMe's default is its validation split, which needs one; else crowd holdout.
        if self.select.is_none() && select == Selection::Valid && !has_valid {
            select = Selection::CrowdHoldout;
        }
        TrainConfig {
            seed: self.seed,
            epochs: self.epochs.unwrap_or(d.epochs),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            lr: self.lr.unwrap_or(d.lr),
            lr_schedule: self.lr_schedule.unwrap_or(d.lr_schedule),
            scale: self.scale.unwrap_or(d.scale),
            select,
            holdout: self.holdout,
            holdout_seed: None,
            holdout_fold: None,
            adam: AdamSettings {
                epsilon: self.adam_eps,
                weight_decay: self.weight_decay,
                reset: self.adam_reset.unwrap_or(d.adam_reset),
                rectified: self.optimizer.unwrap_or(d.optimizer) == OptimizerKind::Radam,
                ..AdamSettings::default()
            },
            ema: self.ema,
            mixup: self.mixup.or(d.mixup),
            mixup_over: self.mixup_over.unwrap_or(d.mixup_over),
            devices: self.devices,
            regularizer: self.regularizer.map(|kind| Regularizer {
                kind,
                lambda: self.reg_lambda.unwrap_or(defaults::REG_LAMBDA),
            }),
        }
    }

    /// The run configuration (`args.json`) for training on `data` read as `source`, with
    /// (`has_valid`) or without a validation split: every unset setting filled from the
    /// defaults table, everything checked. The one place settings are resolved.
    pub fn resolve(
        &self,
        source: DataSpec,
        data: &CrowdData,
        has_valid: bool,
    ) -> Result<RunConfig> {
        self.check_options()?;
        let d = self.defaults();
        let model = self.model_spec(&d, data);
        let config = RunConfig {
            conal_version: env!("CARGO_PKG_VERSION").into(),
            data: source,
            model,
            train: self.train_config(&d, has_valid),
            ensemble: self.ensemble.unwrap_or(d.ensemble),
            recipe: self.recipe(),
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

    /// The model the method trains on data of this shape.
    fn model_spec(&self, d: &Defaults, data: &CrowdData) -> ModelSpec {
        let (n_features, n_worker, n_class) =
            (data.n_features(), data.n_workers(), data.n_classes());
        let options = &self.model;
        let mut classifier = match options.head.unwrap_or(d.head) {
            Head::Music => MlpConfig::music(n_features, n_class),
            Head::Labelme => MlpConfig::labelme(n_features, n_class),
            Head::Deep => MlpConfig::deep(n_features, n_class),
            Head::Linear => MlpConfig::linear(n_features, n_class),
        };
        classifier.n_units = options.n_units;
        classifier.dropout = options.dropout;
        classifier.init = options.init;
        // The deep and linear heads have no input batch norm: they standardise the features
        // with the training items' statistics, as the Annot-Mix benchmark does.
        let standardize = classifier
            .is_deep()
            .then(|| Standardize::fit(data.features.as_slice(), data.features.cols()));
        classifier.standardize = standardize.clone();
        let crowd_layer = |kind| ModelSpec::CrowdLayer {
            classifier: classifier.clone(),
            crowd_layer: CrowdLayerConfig {
                kind,
                n_worker,
                n_class,
                confusion: options.confusion,
            },
        };
        let plain = |labels| ModelSpec::Classifier {
            classifier: classifier.clone(),
            labels,
        };
        match self.method {
            Method::Conal => {
                let mut conal = if d.normalize_instance {
                    ConalConfig::labelme(n_features, n_worker, n_class)
                } else {
                    ConalConfig::music(n_features, n_worker, n_class)
                };
                conal.emb_dim = options.emb_dim.unwrap_or(d.emb_dim);
                conal.init = options.init;
                conal.confusion = options.confusion;
                conal.standardize = standardize;
                ModelSpec::Conal {
                    classifier: classifier.clone(),
                    conal,
                }
            }
            Method::AnnotMix => ModelSpec::AnnotMix {
                classifier: classifier.clone(),
                annot_mix: AnnotMixConfig {
                    init: options.init,
                    ..AnnotMixConfig::new(n_worker, n_class)
                },
            },
            Method::Madl => ModelSpec::Madl {
                classifier: classifier.clone(),
                madl: MadlConfig {
                    init: options.init,
                    ..MadlConfig::new(n_worker, n_class)
                },
            },
            Method::CrowdlayerMw => crowd_layer(CrowdLayerKind::Mw),
            Method::CrowdlayerVw => crowd_layer(CrowdLayerKind::Vw),
            Method::CrowdlayerVb => crowd_layer(CrowdLayerKind::Vb),
            Method::CrowdlayerVwb => crowd_layer(CrowdLayerKind::Vwb),
            Method::Mv => plain(LabelSource::MajorityVote),
            Method::Ds => plain(LabelSource::DawidSkene),
            Method::Glad => plain(LabelSource::Glad),
            Method::Gold => plain(LabelSource::Gold),
        }
    }
}
