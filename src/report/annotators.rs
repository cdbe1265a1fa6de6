//! What a trained crowd model learned about each annotator, for every crowd model: CoNAL
//! (either head), CrowdLayer, Annot-Mix and MaDL ([`AnnotatorReport`]).
//!
//! Each annotator's **confusion** is a K × K table of probabilities, row = true class, column
//! = label given. Where it comes from depends on the model ([`Basis`]):
//! - CoNAL and CrowdLayer have one matrix per annotator whatever the item: the report shows
//!   it, as the model applies it to an item whose class it is sure of. CoNAL computes a
//!   worker's label *logits* as `p W`, so its **raw** matrices W are not probability tables;
//!   the probabilities are the row-wise softmax of W. CoNAL also has the **common** matrix
//!   W_g, shared by all workers and mixed in by ω.
//! - Annot-Mix and MaDL give a matrix per (item, annotator) pair: the report shows the mean
//!   of the annotator's matrices over the items it labelled, computed when the model was
//!   trained and saved beside it (`workers.json`).
//!
//! An annotator's **reliability** is its expected accuracy under its confusion and the class
//! prior (the model's mean predicted class distribution on the training items):
//! `Σ_k prior_k · P_r(label k | true k)`.
//!
//! ```no_run
//! use conal::report::annotators::AnnotatorReport;
//!
//! let report = AnnotatorReport::load("runs/music".as_ref())?;
//! let reliability = report.reliability(); // one value per annotator
//! println!("{:?} {:?}", report.confusions[0], reliability);
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{ModelFiles, WorkerStats, member_dir, model_path};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::model::{AnyModel, device_from_name};

/// Where an annotator's confusion comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The model's own matrix for the annotator, the same for every item (CoNAL, CrowdLayer).
    Model,
    /// The mean of the annotator's per-item matrices over the items it labelled (Annot-Mix,
    /// MaDL).
    MeanOverItems,
}

impl Basis {
    /// A sentence for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Basis::Model => "each annotator's own matrix (the same for every item)",
            Basis::MeanOverItems => {
                "the mean of each annotator's per-item matrices over the items it labelled"
            }
        }
    }
}

/// The annotator matrices and statistics of a trained crowd model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotatorReport {
    /// The method (`conal`, `crowdlayer-mw`, `annot-mix`, …).
    pub method: String,
    /// Where the confusions come from.
    pub basis: Basis,
    /// Class names (row and column order).
    pub classes: Vec<String>,
    /// Annotator ids as in the input (order of `confusions`).
    pub workers: Vec<String>,
    /// Each annotator's confusion, R × K × K probabilities (row = true class).
    pub confusions: Vec<Vec<Vec<f64>>>,
    /// The raw matrices behind `confusions` where the model has free ones (CoNAL's W_r,
    /// CrowdLayer MW's): a worker's label logits are `p W`. R × K × K.
    pub raw: Option<Vec<Vec<Vec<f32>>>>,
    /// CoNAL's raw common matrix W_g, K × K.
    pub common: Option<Vec<Vec<f32>>>,
    /// Per-annotator label counts, ω statistics and the class prior (`workers.json`).
    pub stats: Option<WorkerStats>,
}

/// Row-wise softmax.
pub fn row_softmax(m: &[Vec<f32>]) -> Vec<Vec<f64>> {
    m.iter()
        .map(|row| {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|v| v / s).collect()
        })
        .collect()
}

impl AnnotatorReport {
    /// Reads the report of the checkpoint in `dir` (of an ensemble: its first member).
    pub fn load(dir: &Path) -> Result<Self> {
        let config = RunConfig::load(dir)?;
        let dir = if config.ensemble > 1 {
            member_dir(dir, 0)
        } else {
            dir.to_path_buf()
        };
        let files = ModelFiles::read(&dir)?;
        let device = device_from_name(&files.config.device)?;
        let model = AnyModel::decode(&files.config.model, files.model, &model_path(&dir), &device)?;
        Self::of(&model, &files.config, files.worker_stats)
    }

    /// The report of `model`, trained as `config` describes, with its statistics.
    pub fn of(model: &AnyModel, config: &RunConfig, stats: Option<WorkerStats>) -> Result<Self> {
        let mut report = Self::new(model, &config.classes, &config.workers, stats)?;
        report.method = config.model.method().name().into();
        Ok(report)
    }

    /// The report of `model` for these classes and annotators.
    pub fn new(
        model: &AnyModel,
        classes: &[String],
        workers: &[String],
        stats: Option<WorkerStats>,
    ) -> Result<Self> {
        let method = model.method_family().to_string();
        if !model.has_noise_model() {
            return Err(Error::Unsupported(format!(
                "a {method} model has no annotator model: it trains the classifier alone on one \
                 label per item (the crowd models conal, crowdlayer, annot-mix and madl have one)"
            )));
        }
        let (common, raw) = match model.conal_matrices() {
            Some((common, individual)) => (Some(common), Some(individual)),
            None => (None, model.crowd_layer_matrices()),
        };
        // Free matrices' probabilities in f64 from the raw values (as the report always
        // computed CoNAL's); the model's own otherwise.
        let fixed = match &raw {
            Some(raw) => Some(raw.iter().map(|m| row_softmax(m)).collect()),
            None => model.annotator_matrices(),
        };
        let (basis, confusions) = match fixed {
            Some(m) => (Basis::Model, m),
            None => {
                let mean = stats.as_ref().and_then(|s| s.mean_confusions.clone());
                let mean = mean.ok_or_else(|| {
                    Error::Unsupported(format!(
                        "the annotator matrices of this {method} model were not saved with it \
                         (its workers.json predates them): train it again"
                    ))
                })?;
                (Basis::MeanOverItems, mean)
            }
        };
        let report = AnnotatorReport {
            method,
            basis,
            classes: classes.to_vec(),
            workers: workers.to_vec(),
            confusions,
            raw,
            common,
            stats,
        };
        let (k, r) = (report.classes.len(), report.workers.len());
        if report.confusions.len() != r || report.confusions.iter().any(|m| m.len() != k) {
            return Err(Error::Invalid {
                what: "annotator report",
                message: format!(
                    "{} matrices for {r} annotators and {k} classes",
                    report.confusions.len()
                ),
            });
        }
        Ok(report)
    }

    /// Row-softmax of the common matrix (CoNAL only).
    pub fn common_probabilities(&self) -> Option<Vec<Vec<f64>>> {
        self.common.as_deref().map(row_softmax)
    }

    /// The class prior used for reliabilities (uniform without statistics).
    pub fn class_prior(&self) -> Vec<f64> {
        match &self.stats {
            Some(s) if s.class_prior.len() == self.classes.len() => s.class_prior.clone(),
            _ => vec![1.0 / self.classes.len() as f64; self.classes.len()],
        }
    }

    /// Each annotator's expected accuracy under its confusion and the class prior.
    pub fn reliability(&self) -> Vec<f64> {
        let prior = self.class_prior();
        self.confusions
            .iter()
            .map(|p| (0..prior.len()).map(|k| prior[k] * p[k][k]).sum())
            .collect()
    }

    /// Labels each annotator gave (zeros without statistics).
    pub fn label_counts(&self) -> Vec<usize> {
        match &self.stats {
            Some(s) => s.workers.iter().map(|w| w.labels).collect(),
            None => vec![0; self.workers.len()],
        }
    }

    /// One summary row per annotator, in worker-index order.
    pub fn worker_summaries(&self) -> Vec<WorkerSummary> {
        let reliability = self.reliability();
        let counts = self.label_counts();
        self.workers
            .iter()
            .enumerate()
            .map(|(r, id)| {
                let stat = self.stats.as_ref().and_then(|s| s.workers.get(r));
                WorkerSummary {
                    id: id.clone(),
                    labels: counts[r],
                    reliability: reliability[r],
                    omega_mean: stat.and_then(|s| s.omega_mean),
                    omega_min: stat.and_then(|s| s.omega_min),
                    omega_max: stat.and_then(|s| s.omega_max),
                }
            })
            .collect()
    }

    /// Annotator indices, most labels first (ties by index).
    pub fn by_labels(&self) -> Vec<usize> {
        let counts = self.label_counts();
        let mut order: Vec<usize> = (0..self.workers.len()).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        order
    }

    /// Everything as one JSON value: method, basis, classes, prior, CoNAL's common matrix
    /// and every annotator's summary and matrix (raw where the model has one).
    pub fn to_json(&self) -> serde_json::Value {
        let workers: Vec<serde_json::Value> = self
            .worker_summaries()
            .into_iter()
            .enumerate()
            .map(|(r, s)| {
                serde_json::json!({
                    "id": s.id,
                    "labels": s.labels,
                    "reliability": s.reliability,
                    "omega_mean": s.omega_mean,
                    "omega_min": s.omega_min,
                    "omega_max": s.omega_max,
                    "raw": self.raw.as_ref().map(|raw| &raw[r]),
                    "probabilities": self.confusions[r],
                })
            })
            .collect();
        serde_json::json!({
            "method": self.method,
            "basis": self.basis,
            "classes": self.classes,
            "class_prior": self.class_prior(),
            "common": self.common.as_ref().map(|c| serde_json::json!({
                "raw": c,
                "probabilities": row_softmax(c),
            })),
            "workers": workers,
        })
    }

    /// Every matrix entry as CSV: `matrix,worker,true_class,label,raw,probability`, where
    /// `matrix` is `common` (CoNAL's; worker empty) or `individual` (an annotator's), and
    /// `raw` is empty where the model has no raw matrix.
    pub fn long_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Codec {
            what: "the report's CSV",
            message: e.to_string(),
        };
        w.write_record([
            "matrix",
            "worker",
            "true_class",
            "label",
            "raw",
            "probability",
        ])
        .map_err(err)?;
        let mut rows =
            |name: &str, worker: &str, raw: Option<&[Vec<f32>]>, prob: &[Vec<f64>]| -> Result<()> {
                for (t, prob_row) in prob.iter().enumerate() {
                    for (l, p) in prob_row.iter().enumerate() {
                        let raw = raw.map(|m| m[t][l].to_string()).unwrap_or_default();
                        w.write_record([
                            name,
                            worker,
                            &self.classes[t],
                            &self.classes[l],
                            &raw,
                            &format!("{p:.6}"),
                        ])
                        .map_err(err)?;
                    }
                }
                Ok(())
            };
        if let Some(common) = &self.common {
            rows("common", "", Some(common), &row_softmax(common))?;
        }
        for (r, id) in self.workers.iter().enumerate() {
            let raw = self.raw.as_ref().map(|m| m[r].as_slice());
            rows("individual", id, raw, &self.confusions[r])?;
        }
        let bytes = w.into_inner().map_err(|e| Error::Codec {
            what: "the report's CSV",
            message: e.to_string(),
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The per-annotator summary as CSV:
    /// `worker,labels,reliability,omega_mean,omega_min,omega_max`.
    pub fn workers_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Codec {
            what: "the report's CSV",
            message: e.to_string(),
        };
        w.write_record([
            "worker",
            "labels",
            "reliability",
            "omega_mean",
            "omega_min",
            "omega_max",
        ])
        .map_err(err)?;
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        for s in self.worker_summaries() {
            w.write_record([
                s.id.clone(),
                s.labels.to_string(),
                format!("{:.6}", s.reliability),
                opt(s.omega_mean),
                opt(s.omega_min),
                opt(s.omega_max),
            ])
            .map_err(err)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::Codec {
            what: "the report's CSV",
            message: e.to_string(),
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// One annotator's row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// Annotator id.
    pub id: String,
    /// Labels given.
    pub labels: usize,
    /// Expected accuracy under its confusion and the class prior.
    pub reliability: f64,
    /// Mean ω over its labels (CoNAL).
    pub omega_mean: Option<f64>,
    /// Smallest ω.
    pub omega_min: Option<f64>,
    /// Largest ω.
    pub omega_max: Option<f64>,
}
