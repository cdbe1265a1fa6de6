//! The confusion matrices a CoNAL checkpoint learned, as plain arrays.
//!
//! Two views of each matrix:
//! - **raw**: the learned linear map W itself. CoNAL computes a worker's label *logits* as
//!   `p W` (p = the classifier's class probabilities), so W is not a probability table and its
//!   rows need not sum to anything;
//! - **probabilities**: `softmax` of each row of W — the distribution of the label a worker
//!   gives to an item whose true class the classifier is certain of (`p` one-hot), through that
//!   matrix alone (the common one for ω = 1, the worker's own for ω = 0). Rows sum to 1; this is
//!   the usual "confusion matrix", row = true class, column = label given.
//!
//! A worker's **reliability** is its expected accuracy under its own probability matrix and
//! the class prior (the model's mean predicted class distribution on the training items):
//! `Σ_k prior_k · P_r(label k | true k)`.
//!
//! ```no_run
//! use conal::report::confusion::Confusions;
//!
//! let c = Confusions::load("runs/music".as_ref())?;
//! let common = c.common_probabilities(); // K × K, rows sum to 1
//! let reliability = c.reliability(); // one value per worker
//! println!("{:?} {:?}", common[0], reliability);
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{WorkerStats, files, member_dir, read_model};
use crate::error::{Error, Result};
use crate::model::Conal;
use crate::rng::{rng, stream};
use crate::spec::{ModelSpec, RunConfig};
use crate::train::snapshot::model_from_bytes;

/// The common and individual confusion matrices of a CoNAL checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusions {
    /// Class names (row and column order).
    pub classes: Vec<String>,
    /// Worker ids as in the input (order of `individual`).
    pub workers: Vec<String>,
    /// Raw common matrix W_g, K × K.
    pub common: Vec<Vec<f32>>,
    /// Raw individual matrices W_r, R × K × K.
    pub individual: Vec<Vec<Vec<f32>>>,
    /// Per-worker label counts and ω statistics, when the checkpoint has `workers.json`.
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

fn to_rows(values: Vec<f32>, k: usize) -> Vec<Vec<f32>> {
    values.chunks(k).map(<[f32]>::to_vec).collect()
}

impl Confusions {
    /// Reads the matrices of the CoNAL checkpoint in `dir` (of an ensemble: its first member).
    pub fn load(dir: &Path) -> Result<Self> {
        let config = RunConfig::load(dir)?;
        if config.train.ensemble > 1 {
            return Self::load(&member_dir(dir, 0));
        }
        let model = read_model(&dir.join(files::MODEL))?;
        Self::from_bytes(&config, model, WorkerStats::load(dir)?).map_err(|e| match e {
            Error::Config(message) => Error::checkpoint(&dir.join(files::ARGS), message),
            e => e,
        })
    }

    /// Reads the matrices of the CoNAL model `config` describes from its burnpack bytes.
    pub fn from_bytes(
        config: &RunConfig,
        model: Vec<u8>,
        stats: Option<WorkerStats>,
    ) -> Result<Self> {
        let ModelSpec::Conal { classifier, conal } = &config.model else {
            return Err(Error::Config(format!(
                "method {} has no confusion matrices (only conal checkpoints do)",
                config.model.method().name()
            )));
        };
        let device = burn::tensor::Device::flex();
        let skeleton = conal.init(classifier.clone(), &mut rng(0, stream::INIT), &device);
        let model: Conal<_> = model_from_bytes(Path::new(files::MODEL), model, skeleton)?;
        Ok(Self::from_model(
            &model,
            &config.classes,
            &config.workers,
            stats,
        ))
    }

    /// Reads the matrices of a CoNAL model.
    pub fn from_model<C>(
        model: &Conal<C>,
        classes: &[String],
        workers: &[String],
        stats: Option<WorkerStats>,
    ) -> Self {
        let k = model.n_class();
        let read = |t: burn::tensor::Tensor<2>| -> Vec<f32> {
            t.into_data().try_into_vec::<f32>().unwrap_or_default()
        };
        let common = to_rows(read(model.common.val()), k);
        let individual = read(model.individual.val().reshape([model.n_worker() * k, k]))
            .chunks(k * k)
            .map(|m| to_rows(m.to_vec(), k))
            .collect();
        Confusions {
            classes: classes.to_vec(),
            workers: workers.to_vec(),
            common,
            individual,
            stats,
        }
    }

    /// Row-softmax of the common matrix.
    pub fn common_probabilities(&self) -> Vec<Vec<f64>> {
        row_softmax(&self.common)
    }

    /// Row-softmax of worker `r`'s matrix.
    pub fn individual_probabilities(&self, r: usize) -> Vec<Vec<f64>> {
        row_softmax(&self.individual[r])
    }

    /// The class prior used for reliabilities (uniform without `workers.json`).
    pub fn class_prior(&self) -> Vec<f64> {
        match &self.stats {
            Some(s) if s.class_prior.len() == self.classes.len() => s.class_prior.clone(),
            _ => vec![1.0 / self.classes.len() as f64; self.classes.len()],
        }
    }

    /// Each worker's expected accuracy under its own matrix and the class prior.
    pub fn reliability(&self) -> Vec<f64> {
        let prior = self.class_prior();
        (0..self.individual.len())
            .map(|r| {
                let p = self.individual_probabilities(r);
                (0..prior.len()).map(|k| prior[k] * p[k][k]).sum()
            })
            .collect()
    }

    /// Labels each worker gave (zeros without `workers.json`).
    pub fn label_counts(&self) -> Vec<usize> {
        match &self.stats {
            Some(s) => s.workers.iter().map(|w| w.labels).collect(),
            None => vec![0; self.workers.len()],
        }
    }
}

/// One worker's row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// Worker id.
    pub id: String,
    /// Labels given.
    pub labels: usize,
    /// Expected accuracy under its matrix and the class prior.
    pub reliability: f64,
    /// Mean ω over its labels.
    pub omega_mean: Option<f64>,
    /// Smallest ω.
    pub omega_min: Option<f64>,
    /// Largest ω.
    pub omega_max: Option<f64>,
}

impl Confusions {
    /// One summary row per worker, in worker-index order.
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

    /// Worker indices, most labels first (ties by index).
    pub fn by_labels(&self) -> Vec<usize> {
        let counts = self.label_counts();
        let mut order: Vec<usize> = (0..self.workers.len()).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        order
    }

    /// Everything as one JSON value: classes, prior, the common matrix and every worker's
    /// summary and matrices, each raw and as probabilities.
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
                    "raw": self.individual[r],
                    "probabilities": self.individual_probabilities(r),
                })
            })
            .collect();
        serde_json::json!({
            "classes": self.classes,
            "class_prior": self.class_prior(),
            "common": { "raw": self.common, "probabilities": self.common_probabilities() },
            "workers": workers,
        })
    }

    /// Every matrix entry as CSV: `matrix,worker,true_class,label,raw,probability`, where
    /// `matrix` is `common` (worker empty) or `individual`.
    pub fn long_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Config(format!("writing CSV: {e}"));
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
            |name: &str, worker: &str, raw: &[Vec<f32>], prob: &[Vec<f64>]| -> Result<()> {
                for (t, (raw_row, prob_row)) in raw.iter().zip(prob).enumerate() {
                    for (l, (r, p)) in raw_row.iter().zip(prob_row).enumerate() {
                        w.write_record([
                            name,
                            worker,
                            &self.classes[t],
                            &self.classes[l],
                            &r.to_string(),
                            &format!("{p:.6}"),
                        ])
                        .map_err(err)?;
                    }
                }
                Ok(())
            };
        rows("common", "", &self.common, &self.common_probabilities())?;
        for (r, id) in self.workers.iter().enumerate() {
            rows(
                "individual",
                id,
                &self.individual[r],
                &self.individual_probabilities(r),
            )?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::Config(format!("writing CSV: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The per-worker summary as CSV: `worker,labels,reliability,omega_mean,omega_min,omega_max`.
    pub fn workers_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Config(format!("writing CSV: {e}"));
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
        let bytes = w
            .into_inner()
            .map_err(|e| Error::Config(format!("writing CSV: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
