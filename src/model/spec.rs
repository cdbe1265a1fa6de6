//! What a run trains: the method, and the model configuration saved in `args.json` — enough
//! to rebuild the module ([`ModelSpec::init`], [`crate::model::built`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{
    AnnotMixConfig, ConalConfig, CrowdLayerConfig, CrowdLayerKind, MadlConfig, MlpConfig,
};

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

    /// The method named `name` as written on the command line (`conal`, `annot-mix`, …).
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
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

/// The classifier heads: the two of the authors' code, the Annot-Mix benchmark's deep one, and
/// a linear one.
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
    /// Multinomial logistic regression: Linear(D→K) on the features standardised with the
    /// training items' statistics (no hidden layer, no dropout).
    Linear,
}

impl Head {
    /// The head a classifier configuration describes.
    pub fn of(classifier: &MlpConfig) -> Head {
        if classifier.linear {
            Head::Linear
        } else if classifier.is_deep() {
            Head::Deep
        } else if classifier.input_norm {
            Head::Music
        } else {
            Head::Labelme
        }
    }

    /// Its name, as `--head` and Python's `head=` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Head::Music => "music",
            Head::Labelme => "labelme",
            Head::Deep => "deep",
            Head::Linear => "linear",
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
    /// Name as written on the command line (the method that trains on these labels).
    pub fn name(self) -> &'static str {
        match self {
            LabelSource::MajorityVote => "mv",
            LabelSource::DawidSkene => "ds",
            LabelSource::Glad => "glad",
            LabelSource::Gold => "gold",
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

impl ModelSpec {
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

    /// The number of parameters of the module (to refuse, before building, a model too large
    /// for memory: a damaged or hand-edited args.json fails here, not in an allocation).
    pub fn n_params(&self) -> u128 {
        let c = self.classifier();
        let k = c.n_class as u128;
        let mut params: u128 = if c.linear {
            (c.n_input as u128 + 1) * k
        } else {
            (c.n_input as u128 + 1) * c.n_units as u128 + (c.n_units as u128 + 1) * k
        };
        for w in c.layers.windows(2) {
            params += (w[0] as u128 + 1) * w[1] as u128;
        }
        let hidden = if c.linear {
            c.n_input
        } else {
            c.layers.last().copied().unwrap_or(c.n_units)
        } as u128;
        params
            + match self {
                ModelSpec::Conal { conal, .. } => {
                    let (d, r, e) = (
                        conal.n_input as u128,
                        conal.n_worker as u128,
                        conal.emb_dim as u128,
                    );
                    let h = conal.aux_hidden as u128;
                    (d + 1) * h + (h + 1) * e + (r + 1) * e + (r + 1) * k * k
                }
                ModelSpec::CrowdLayer { crowd_layer, .. } => {
                    crowd_layer.n_worker as u128 * (k * k + 2 * k)
                }
                ModelSpec::AnnotMix { annot_mix, .. } => {
                    let (r, e) = (annot_mix.n_worker as u128, annot_mix.emb_dim as u128);
                    (hidden + 1) * e + (r + 1) * e + (2 * e + 1) * e + (e + 1) * k * k
                }
                ModelSpec::Madl { madl, .. } => madl.n_params(hidden as usize),
                ModelSpec::Classifier { .. } => 0,
            }
    }

    /// Checks the model's settings, and its shape against data of `n_features` features,
    /// `n_classes` classes and `n_workers` workers.
    pub fn check(&self, n_features: usize, n_classes: usize, n_workers: usize) -> Result<()> {
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
        expect("features", "input_dim", classifier.n_input, n_features)?;
        expect("classes", "n_class", classifier.n_class, n_classes)?;
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
                expect("features", "input_dim", conal.n_input, n_features)?;
                expect("classes", "n_class", conal.n_class, n_classes)?;
                expect("workers", "n_annotator", conal.n_worker, n_workers)?;
                if conal.emb_dim == 0 {
                    return Err(Error::param("emb_dim", 0, "must be at least 1"));
                }
            }
            ModelSpec::AnnotMix { annot_mix, .. } => {
                expect("classes", "n_class", annot_mix.n_class, n_classes)?;
                expect("workers", "n_annotator", annot_mix.n_worker, n_workers)?;
                annot_mix.check()?;
            }
            ModelSpec::Madl { madl, .. } => {
                expect("classes", "n_class", madl.n_class, n_classes)?;
                expect("workers", "n_annotator", madl.n_worker, n_workers)?;
                madl.check()?;
            }
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                expect("classes", "n_class", crowd_layer.n_class, n_classes)?;
                expect("workers", "n_annotator", crowd_layer.n_worker, n_workers)?;
                crowd_layer.check()?;
            }
            ModelSpec::Classifier { .. } => {}
        }
        Ok(())
    }
}
