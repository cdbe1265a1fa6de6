//! Method × seed × protocol comparisons: every run trains on the same loaded data, and the
//! results are summarised as mean ± standard deviation of test accuracy.
//!
//! Protocols:
//! - `honest`: model selection without test labels — the validation split when the data has
//!   one (LabelMe), otherwise held-out crowd labels (Music);
//! - `test-peek`: the epoch with the best **test** accuracy, the authors' Music protocol; it
//!   is optimistic and always labelled "test-peeked (paper protocol)";
//! - `last`: the last epoch.
//!
//! ```
//! use conal::config::{Recipe, RunParams};
//! use conal::data::source::DataSpec;
//! use conal::experiment::{ExperimentSpec, Protocol, run};
//! use conal::model::Method;
//!
//! let source = DataSpec::synthetic(Default::default());
//! let data = source.load()?;
//! let spec = ExperimentSpec {
//!     data: source,
//!     methods: vec![Method::Mv],
//!     seeds: vec![0, 1],
//!     protocols: vec![Protocol::Honest],
//!     params: RunParams { recipe: Some(Recipe::Paper), epochs: Some(3), ..RunParams::new(Method::Mv) },
//! };
//! let results = run(&spec, &data, &mut conal::progress::Silent)?;
//! assert_eq!((results.runs.len(), results.summaries.len()), (2, 1));
//! assert!(results.markdown().contains("MLP on majority-vote labels"));
//! # Ok::<(), conal::Error>(())
//! ```

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::RunParams;
use crate::data::TaskData;
use crate::data::source::{DataSpec, TaskKind};
use crate::error::{Error, Result};
use crate::model::Method;
use crate::progress::Progress;
use crate::train::Selection;

/// How the kept epoch is chosen in an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Validation split if the data has one, else crowd holdout: no test label involved.
    Honest,
    /// Best test accuracy: the paper's Music protocol (optimistic).
    TestPeek,
    /// The last epoch.
    Last,
}

impl Protocol {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Honest => "honest",
            Protocol::TestPeek => "test-peek",
            Protocol::Last => "last",
        }
    }

    /// The selection this protocol uses on `data`.
    pub fn selection(self, data: &TaskData) -> Selection {
        match self {
            Protocol::Honest if data.valid.is_some() => Selection::Valid,
            Protocol::Honest => Selection::CrowdHoldout,
            Protocol::TestPeek => Selection::TestPeek,
            Protocol::Last => Selection::Last,
        }
    }

    /// How the protocol is shown in tables.
    pub fn label(self, data: &TaskData) -> String {
        match self {
            Protocol::TestPeek => "test-peeked (paper protocol)".into(),
            _ => format!("{} ({})", self.name(), self.selection(data).name()),
        }
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// The data.
    pub data: DataSpec,
    /// Methods to compare.
    pub methods: Vec<Method>,
    /// Seeds (one run per method, protocol and seed).
    pub seeds: Vec<u64>,
    /// Protocols.
    pub protocols: Vec<Protocol>,
    /// The settings of every run; `method`, `seed` and `select` are set per run.
    pub params: RunParams,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Method.
    pub method: Method,
    /// Protocol.
    pub protocol: Protocol,
    /// Seed.
    pub seed: u64,
    /// Test accuracy of the kept model.
    pub test_accuracy: f64,
    /// Test macro-F1 of the kept model.
    pub test_macro_f1: f64,
    /// Kept epoch.
    pub best_epoch: usize,
    /// Held-out crowd NLL of the kept model (crowd-holdout selection only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_nll: Option<f64>,
    /// Validation accuracy of the kept model (when there is a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_accuracy: Option<f64>,
    /// Wall time of the run (training and evaluation), seconds.
    pub seconds: f64,
}

/// Mean and spread of one method under one protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Method.
    pub method: Method,
    /// Protocol.
    pub protocol: Protocol,
    /// How the protocol selects, for the table.
    pub protocol_label: String,
    /// Number of seeds.
    pub n: usize,
    /// Mean test accuracy.
    pub mean: f64,
    /// Standard deviation of test accuracy over seeds (population, ddof = 0, as numpy's).
    pub std: f64,
    /// Mean wall time per run, seconds.
    pub seconds_per_run: f64,
    /// Mean held-out crowd NLL of the kept models (crowd-holdout selection only): the honest
    /// score for comparing recipes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_nll: Option<f64>,
    /// Mean validation accuracy of the kept models (when there is a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_accuracy: Option<f64>,
}

/// All runs and their summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResults {
    /// Task.
    pub task: TaskKind,
    /// What was run.
    pub spec: ExperimentSpec,
    /// Every run.
    pub runs: Vec<RunRecord>,
    /// Per method and protocol.
    pub summaries: Vec<Summary>,
    /// Total wall time, seconds.
    pub total_seconds: f64,
}

/// Mean and population standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Runs every method × protocol × seed on `data`, reporting one unit of progress per run.
pub fn run(
    spec: &ExperimentSpec,
    data: &TaskData,
    progress: &mut dyn Progress,
) -> Result<ExperimentResults> {
    if spec.methods.is_empty() || spec.seeds.is_empty() || spec.protocols.is_empty() {
        return Err(Error::Invalid {
            what: "experiment",
            message: "needs at least one method, seed and protocol".into(),
        });
    }
    if spec.protocols.contains(&Protocol::TestPeek) && data.test.is_none() {
        return Err(Error::param(
            "protocols",
            "test-peek",
            "needs test data with true labels (test_data)",
        ));
    }
    let start = Instant::now();
    let crowd = &data.train;
    let total = spec.methods.len() * spec.protocols.len() * spec.seeds.len();
    progress.start("runs", total as u64);
    let mut runs = Vec::with_capacity(total);
    for &method in &spec.methods {
        for &protocol in &spec.protocols {
            for &seed in &spec.seeds {
                let mut params = spec.params.clone();
                params.method = method;
                params.seed = seed;
                params.select = Some(protocol.selection(data));
                let config = params.resolve(spec.data.clone(), crowd, data.valid.is_some())?;
                let t = Instant::now();
                let outcome = crate::run::train(
                    &config,
                    data,
                    Default::default(),
                    &mut crate::progress::Silent,
                )?;
                let result = outcome
                    .config
                    .result
                    .ok_or_else(|| Error::Internal("training returned no result".into()))?;
                let record = RunRecord {
                    method,
                    protocol,
                    seed,
                    test_accuracy: result.test_accuracy.unwrap_or(f64::NAN),
                    test_macro_f1: result.test_macro_f1.unwrap_or(f64::NAN),
                    best_epoch: result.best_epoch,
                    holdout_nll: result.holdout_nll,
                    valid_accuracy: result.valid_accuracy,
                    seconds: t.elapsed().as_secs_f64(),
                };
                progress.advance(&format!(
                    "{} {} seed {}: {:.4}",
                    method.name(),
                    protocol.name(),
                    seed,
                    record.test_accuracy
                ));
                runs.push(record);
            }
        }
    }
    progress.finish("");
    let mut summaries = Vec::new();
    for &method in &spec.methods {
        for &protocol in &spec.protocols {
            let group: Vec<&RunRecord> = runs
                .iter()
                .filter(|r| r.method == method && r.protocol == protocol)
                .collect();
            let accs: Vec<f64> = group.iter().map(|r| r.test_accuracy).collect();
            let (mean, std) = mean_std(&accs);
            let nlls: Option<Vec<f64>> = group.iter().map(|r| r.holdout_nll).collect();
            let holdout_nll = nlls.filter(|v| !v.is_empty()).map(|v| mean_std(&v).0);
            let valids: Option<Vec<f64>> = group.iter().map(|r| r.valid_accuracy).collect();
            let valid_accuracy = valids.filter(|v| !v.is_empty()).map(|v| mean_std(&v).0);
            summaries.push(Summary {
                method,
                protocol,
                protocol_label: protocol.label(data),
                n: group.len(),
                mean,
                std,
                seconds_per_run: group.iter().map(|r| r.seconds).sum::<f64>() / group.len() as f64,
                holdout_nll,
                valid_accuracy,
            });
        }
    }
    Ok(ExperimentResults {
        task: spec.data.task(),
        spec: spec.clone(),
        runs,
        summaries,
        total_seconds: start.elapsed().as_secs_f64(),
    })
}

impl ExperimentResults {
    /// The summary table as Markdown (accuracy in %).
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "Task `{}`, {} seed(s) ({}), test accuracy in %, mean ± std over seeds.\n\n\
             | method | protocol | test accuracy | held-out crowd NLL | valid accuracy | runs | s / run |\n\
             |---|---|--:|--:|--:|--:|--:|\n",
            self.task.name(),
            self.spec.seeds.len(),
            self.spec
                .seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Settings that change what a method is, named beside it.
        let p = &self.spec.params;
        let mut extra = String::new();
        if p.model.confusion == crate::model::Confusion::Stochastic {
            extra.push_str(", stochastic confusions");
        }
        if let Some(kind) = p.regularizer {
            extra.push_str(&format!(
                ", {} λ = {}",
                kind.name(),
                p.reg_lambda.unwrap_or(crate::config::defaults::REG_LAMBDA)
            ));
        }
        for m in &self.summaries {
            s.push_str(&format!(
                "| {}{} | {} | {} | {} | {} | {} | {:.2} |\n",
                m.method.label(),
                extra,
                m.protocol_label,
                if m.mean.is_nan() {
                    "– (no test data)".to_string()
                } else {
                    format!("{:.1} ± {:.1}", 100.0 * m.mean, 100.0 * m.std)
                },
                m.holdout_nll.map_or("–".to_string(), |v| format!("{v:.4}")),
                m.valid_accuracy
                    .map_or("–".to_string(), |v| format!("{:.1}", 100.0 * v)),
                m.n,
                m.seconds_per_run
            ));
        }
        s.push_str(&format!("\nTotal wall time {:.1} s.\n", self.total_seconds));
        s
    }
}
