//! What a run trains: the method, its model configuration (saved in `args.json`), and the one
//! place that turns that configuration into a burn module.

use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::aggregate::AggregationMethod;
use crate::data::source::TaskKind;
use crate::data::{Annotation, CrowdData};
use crate::error::{Error, Result};
use crate::model::init::number_params;
use crate::model::{
    AnnotMixConfig, BackboneConfig, ConalConfig, Confusion, CrowdLayerConfig, CrowdLayerKind,
    CrowdModel, DeepConfig, HiddenBackbone, Init, MadlConfig, MlpConfig, Plain,
};
use crate::train::{AdamReset, Recipe};

/// What to train (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// CoNAL: common + individual confusions mixed by ω.
    Conal,
    /// Annot-Mix (Herde et al. 2024): an instance-dependent confusion per (item, annotator)
    /// pair, trained with mixup over (features, annotator, label) triples.
    AnnotMix,
    /// MaDL (Herde et al. 2023): an instance-dependent confusion per (item, annotator) pair
    /// from interacting item and annotator embeddings, each label weighted down where many
    /// annotators are alike.
    Madl,
    /// CrowdLayer with a K × K matrix per worker (initialised to I).
    CrowdlayerMw,
    /// CrowdLayer with a per-class scale per worker.
    CrowdlayerVw,
    /// CrowdLayer with a per-class bias per worker.
    CrowdlayerVb,
    /// CrowdLayer with a per-class scale and bias per worker.
    CrowdlayerVwb,
    /// The classifier alone, trained on majority-vote labels (ties broken at random).
    Mv,
    /// The classifier alone, trained on Dawid-Skene labels.
    Ds,
    /// The classifier alone, trained on GLAD labels.
    Glad,
    /// The classifier alone, trained on the true labels (upper bound; needs true labels).
    Gold,
}

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 11] = [
        Method::Conal,
        Method::AnnotMix,
        Method::Madl,
        Method::CrowdlayerMw,
        Method::CrowdlayerVw,
        Method::CrowdlayerVb,
        Method::CrowdlayerVwb,
        Method::Ds,
        Method::Glad,
        Method::Mv,
        Method::Gold,
    ];

    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Conal => "conal",
            Method::AnnotMix => "annot-mix",
            Method::Madl => "madl",
            Method::CrowdlayerMw => "crowdlayer-mw",
            Method::CrowdlayerVw => "crowdlayer-vw",
            Method::CrowdlayerVb => "crowdlayer-vb",
            Method::CrowdlayerVwb => "crowdlayer-vwb",
            Method::Mv => "mv",
            Method::Ds => "ds",
            Method::Glad => "glad",
            Method::Gold => "gold",
        }
    }

    /// When Adam restarts for this method on `task` unless `--adam-reset` says otherwise:
    /// CoNAL keeps the authors' per-epoch re-creation where the task's defaults do (their
    /// code trains it that way); the baselines use standard Adam.
    pub fn adam_reset(self, task: TaskKind) -> AdamReset {
        match self {
            Method::Conal => task.defaults().adam_reset,
            _ => AdamReset::Never,
        }
    }

    /// The recipe the method trains with unless one is named: Annot-Mix and MaDL their
    /// benchmark's (as published), the others the tuned one.
    pub fn default_recipe(self) -> Recipe {
        match self {
            Method::AnnotMix | Method::Madl => Recipe::Benchmark,
            _ => Recipe::Tuned,
        }
    }

    /// A longer description for tables.
    pub fn label(self) -> &'static str {
        match self {
            Method::Conal => "CoNAL",
            Method::AnnotMix => "Annot-Mix",
            Method::Madl => "MaDL",
            Method::CrowdlayerMw => "CrowdLayer MW",
            Method::CrowdlayerVw => "CrowdLayer VW",
            Method::CrowdlayerVb => "CrowdLayer VB",
            Method::CrowdlayerVwb => "CrowdLayer VW+B",
            Method::Mv => "MLP on majority-vote labels",
            Method::Ds => "MLP on Dawid-Skene labels",
            Method::Glad => "MLP on GLAD labels",
            Method::Gold => "MLP on true labels (bound)",
        }
    }
}

/// Architecture settings shared by all methods (the rest comes from the task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    /// Hidden units of the classifier (`--n-units`).
    pub n_units: usize,
    /// Dropout after the classifier's hidden layer (`--dropout`).
    pub dropout: f64,
    /// Embedding size of CoNAL's auxiliary network (`--emb-dim`); the task's when `None`.
    pub emb_dim: Option<usize>,
    /// Weight initialisation (`--init`).
    pub init: Init,
    /// Classifier head (`--head`); the task's when `None`.
    #[serde(default)]
    pub head: Option<Head>,
    /// Form of the confusion matrices of CoNAL and CrowdLayer MW (`--confusion`).
    #[serde(default)]
    pub confusion: Confusion,
}

/// The two classifier heads of the authors' code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Head {
    /// BatchNorm on the input and the hidden layer (copes with unscaled features).
    Music,
    /// No batch norm (for features already on a sensible scale, such as VGG activations).
    Labelme,
    /// The Annot-Mix benchmark's: Linear(D→256) → BatchNorm → ReLU → Dropout → Linear(256→128)
    /// → BatchNorm → ReLU → Dropout → Linear(128→K) (batch norms with scale and shift).
    Deep,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            n_units: 128,
            dropout: 0.5,
            emb_dim: None,
            init: Init::Torch,
            head: None,
            confusion: Confusion::Free,
        }
    }
}

/// The single label per item a plain classifier is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelSource {
    /// Majority vote of the crowd labels, ties broken at random from the seed.
    MajorityVote,
    /// Dawid-Skene's most probable labels.
    DawidSkene,
    /// GLAD's most probable labels.
    Glad,
    /// The true labels (an upper bound; needs a data set that has them).
    Gold,
}

impl LabelSource {
    /// The labels of the crowd-labelled items, as annotations of one pseudo-worker.
    pub fn annotations(self, data: &CrowdData, seed: u64) -> Result<Vec<Annotation>> {
        let aggregate = |m: AggregationMethod| -> Result<Vec<Annotation>> {
            Ok(m.fit(data, seed)?.as_annotations())
        };
        match self {
            LabelSource::MajorityVote => aggregate(AggregationMethod::Mv),
            LabelSource::DawidSkene => aggregate(AggregationMethod::Ds),
            LabelSource::Glad => aggregate(AggregationMethod::Glad),
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
}

/// The model a run trains. Saved in `args.json`; enough to rebuild the module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum ModelSpec {
    /// CoNAL with an MLP classifier head.
    Conal {
        /// The classifier head.
        classifier: MlpConfig,
        /// The auxiliary network and confusion matrices.
        conal: ConalConfig,
    },
    /// A CrowdLayer on an MLP classifier head.
    CrowdLayer {
        /// The classifier head.
        classifier: MlpConfig,
        /// The per-worker layers.
        crowd_layer: CrowdLayerConfig,
    },
    /// Annot-Mix's annotator model on a classifier head.
    AnnotMix {
        /// The classifier head.
        classifier: MlpConfig,
        /// The annotator model.
        annot_mix: AnnotMixConfig,
    },
    /// MaDL's annotator model on a classifier head.
    Madl {
        /// The classifier head.
        classifier: MlpConfig,
        /// The annotator model.
        madl: MadlConfig,
    },
    /// The classifier alone, trained on one label per item.
    Classifier {
        /// The classifier head.
        classifier: MlpConfig,
        /// Where the labels come from.
        labels: LabelSource,
    },
}

/// Something to do with a freshly built model, whatever its type (see [`ModelSpec::with_model`]).
pub trait ModelTask {
    /// The result.
    type Output;
    /// Does it.
    fn run<M: CrowdModel<Tensor<2>>>(self, model: M) -> Self::Output;
}

impl ModelSpec {
    /// The model `method` trains on `task` for data of this shape, with the task's head.
    pub fn build(
        method: Method,
        task: TaskKind,
        n_features: usize,
        n_worker: usize,
        n_class: usize,
        options: &ModelOptions,
    ) -> ModelSpec {
        let d = task.defaults();
        let head = options.head.unwrap_or(if d.batch_norm {
            Head::Music
        } else {
            Head::Labelme
        });
        let mut classifier = match head {
            Head::Music => MlpConfig::music(n_features, n_class),
            Head::Labelme => MlpConfig::labelme(n_features, n_class),
            Head::Deep => MlpConfig::deep(n_features, n_class),
        };
        classifier.n_units = options.n_units;
        classifier.dropout = options.dropout;
        classifier.init = options.init;
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
        match method {
            Method::Conal => {
                let mut conal = if d.normalize_instance {
                    ConalConfig::labelme(n_features, n_worker, n_class)
                } else {
                    ConalConfig::music(n_features, n_worker, n_class)
                };
                conal.emb_dim = options.emb_dim.unwrap_or(d.emb_dim);
                conal.init = options.init;
                conal.confusion = options.confusion;
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

    /// The method.
    pub fn method(&self) -> Method {
        match self {
            ModelSpec::Conal { .. } => Method::Conal,
            ModelSpec::AnnotMix { .. } => Method::AnnotMix,
            ModelSpec::Madl { .. } => Method::Madl,
            ModelSpec::CrowdLayer { crowd_layer, .. } => match crowd_layer.kind {
                CrowdLayerKind::Mw => Method::CrowdlayerMw,
                CrowdLayerKind::Vw => Method::CrowdlayerVw,
                CrowdLayerKind::Vb => Method::CrowdlayerVb,
                CrowdLayerKind::Vwb => Method::CrowdlayerVwb,
            },
            ModelSpec::Classifier { labels, .. } => match labels {
                LabelSource::MajorityVote => Method::Mv,
                LabelSource::DawidSkene => Method::Ds,
                LabelSource::Glad => Method::Glad,
                LabelSource::Gold => Method::Gold,
            },
        }
    }

    /// The classifier head.
    pub fn classifier(&self) -> &MlpConfig {
        match self {
            ModelSpec::Conal { classifier, .. }
            | ModelSpec::AnnotMix { classifier, .. }
            | ModelSpec::Madl { classifier, .. }
            | ModelSpec::CrowdLayer { classifier, .. }
            | ModelSpec::Classifier { classifier, .. } => classifier,
        }
    }

    /// The classifier head, to change.
    pub fn classifier_mut(&mut self) -> &mut MlpConfig {
        match self {
            ModelSpec::Conal { classifier, .. }
            | ModelSpec::AnnotMix { classifier, .. }
            | ModelSpec::Madl { classifier, .. }
            | ModelSpec::CrowdLayer { classifier, .. }
            | ModelSpec::Classifier { classifier, .. } => classifier,
        }
    }

    /// The single-label source of a plain classifier.
    pub fn label_source(&self) -> Option<LabelSource> {
        match self {
            ModelSpec::Classifier { labels, .. } => Some(*labels),
            _ => None,
        }
    }

    /// Builds the module (weights from `rng`) on `device` and hands it to `task`.
    pub fn with_model<T: ModelTask>(
        &self,
        rng: &mut ChaCha8Rng,
        device: &Device,
        task: T,
    ) -> T::Output {
        // The deep head is its own module type, so every model is built for either.
        let classifier = self.classifier().clone();
        if classifier.is_deep() {
            self.with_backbone(DeepConfig(classifier), rng, device, task)
        } else {
            self.with_backbone(classifier, rng, device, task)
        }
    }

    /// [`ModelSpec::with_model`] with the classifier built from `backbone`.
    fn with_backbone<B, T>(
        &self,
        backbone: B,
        rng: &mut ChaCha8Rng,
        device: &Device,
        task: T,
    ) -> T::Output
    where
        B: BackboneConfig,
        B::Model: HiddenBackbone<Tensor<2>>,
        T: ModelTask,
    {
        match self {
            ModelSpec::Conal { conal, .. } => {
                task.run(number_params(conal.init(backbone, rng, device)))
            }
            ModelSpec::AnnotMix { annot_mix, .. } => {
                task.run(number_params(annot_mix.init(backbone, rng, device)))
            }
            ModelSpec::Madl { madl, .. } => {
                task.run(number_params(madl.init(backbone, rng, device)))
            }
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                task.run(number_params(crowd_layer.init(backbone, rng, device)))
            }
            ModelSpec::Classifier { .. } => task.run(number_params(Plain {
                classifier: backbone.init_backbone(rng, device),
            })),
        }
    }

    /// Checks the model against the data it is trained on.
    pub fn check(&self, data: &CrowdData) -> Result<()> {
        let expect = |what: &str, param: &'static str, got: usize, data_value: usize| {
            if got == data_value {
                Ok(())
            } else {
                Err(Error::param(
                    param,
                    got,
                    format!("contradicts the data, which has {data_value} {what}"),
                ))
            }
        };
        let classifier = self.classifier();
        expect(
            "features",
            "input_dim",
            classifier.n_input,
            data.n_features(),
        )?;
        expect("classes", "n_class", classifier.n_class, data.n_classes())?;
        if let Some(st) = &classifier.standardize
            && (st.mean.len() != classifier.n_input || st.std.len() != classifier.n_input)
        {
            return Err(Error::param(
                "standardize",
                st.mean.len(),
                format!(
                    "needs one mean and one std per feature ({})",
                    classifier.n_input
                ),
            ));
        }
        if classifier.n_units == 0 || classifier.layers.contains(&0) {
            return Err(Error::param("n_units", 0, "must be at least 1"));
        }
        if !(0.0..1.0).contains(&classifier.dropout) {
            return Err(Error::param(
                "dropout",
                classifier.dropout,
                "must lie in [0, 1)",
            ));
        }
        match self {
            ModelSpec::Conal { conal, .. } => {
                expect("features", "input_dim", conal.n_input, data.n_features())?;
                expect("classes", "n_class", conal.n_class, data.n_classes())?;
                expect("workers", "n_annotator", conal.n_worker, data.n_workers())?;
                if conal.emb_dim == 0 {
                    return Err(Error::param("emb_dim", 0, "must be at least 1"));
                }
            }
            ModelSpec::AnnotMix { annot_mix, .. } => {
                expect("classes", "n_class", annot_mix.n_class, data.n_classes())?;
                expect(
                    "workers",
                    "n_annotator",
                    annot_mix.n_worker,
                    data.n_workers(),
                )?;
                annot_mix.check()?;
            }
            ModelSpec::Madl { madl, .. } => {
                expect("classes", "n_class", madl.n_class, data.n_classes())?;
                expect("workers", "n_annotator", madl.n_worker, data.n_workers())?;
                madl.check()?;
            }
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                expect("classes", "n_class", crowd_layer.n_class, data.n_classes())?;
                expect(
                    "workers",
                    "n_annotator",
                    crowd_layer.n_worker,
                    data.n_workers(),
                )?;
                crowd_layer.check()?;
            }
            ModelSpec::Classifier { .. } => {}
        }
        Ok(())
    }
}
