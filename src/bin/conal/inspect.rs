//! `conal inspect`: what a crowd model's checkpoint learned about each annotator (CoNAL,
//! CrowdLayer, Annot-Mix, MaDL).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use conal::io::write_atomic;
use conal::report::annotators::AnnotatorReport;
use conal::report::plot::{Panel, heatmaps};

/// Output format of `conal inspect` on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The common matrix and a per-worker summary, for reading.
    Table,
    /// Every matrix entry: matrix,worker,true_class,label,raw,probability.
    Csv,
    /// Everything as one JSON object.
    Json,
}

/// Flags of `conal inspect`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Each annotator's confusion: the distribution of the label it gives for an \
    item of a known true class (row = true class, column = label given). CoNAL and CrowdLayer \
    have one matrix per annotator; Annot-Mix and MaDL one per (item, annotator) pair, shown as \
    the mean over the items the annotator labelled. \"raw\" (CoNAL, CrowdLayer MW) is the \
    learned matrix W itself: a worker's label logits are p·W (p = class probabilities), so W \
    is not a probability table; its probabilities are the row-wise softmax of W. Reliability \
    = Σ_k prior_k · P(label k | true k), with the model's mean predicted class distribution as \
    the prior."
)]
pub struct InspectArgs {
    /// A checkpoint directory of a crowd model written by `conal train --save-dir` (or a
    /// fitted model's save).
    #[arg(long = "ckpt-dir", alias = "ckpt_dir", value_name = "DIR")]
    pub ckpt_dir: PathBuf,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,

    /// Also write confusions.csv, workers.csv and inspect.json (and the pictures) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Draw PNG heatmaps: workers.png (the most-labelling workers) and, for CoNAL,
    /// common.png, into --out (or the checkpoint directory).
    #[arg(long)]
    pub plot: bool,

    /// Workers in the workers.png grid.
    #[arg(long, default_value_t = 9)]
    pub top: usize,
}

fn matrix_table(out: &mut String, classes: &[String], m: &[Vec<f64>]) {
    let w = classes.iter().map(|c| c.len()).max().unwrap_or(4).max(5);
    let _ = write!(out, "{:>w$}", "");
    for c in classes {
        let _ = write!(out, " {c:>w$}");
    }
    out.push('\n');
    for (c, row) in classes.iter().zip(m) {
        let _ = write!(out, "{c:>w$}");
        for v in row {
            let _ = write!(out, " {v:>w$.3}");
        }
        out.push('\n');
    }
}

fn table(c: &AnnotatorReport) -> String {
    let mut s = format!(
        "{} model; annotator confusions: {}.\n",
        c.method,
        c.basis.describe()
    );
    if let (Some(common), Some(p)) = (&c.common, c.common_probabilities()) {
        s.push_str(
            "\nCommon confusion W_g as probabilities (row-softmax; row = true class, column = label given):\n",
        );
        matrix_table(&mut s, &c.classes, &p);
        s.push_str("\nCommon confusion W_g, raw:\n");
        let raw: Vec<Vec<f64>> = common
            .iter()
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect();
        matrix_table(&mut s, &c.classes, &raw);
    }
    let summaries = c.worker_summaries();
    let id_w = summaries
        .iter()
        .map(|w| w.id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "\nWorkers, most labels first (reliability = expected accuracy under the worker's own matrix):\n{:<id_w$} {:>7} {:>11} {:>10}",
        "worker", "labels", "reliability", "mean ω"
    );
    for r in c.by_labels() {
        let w = &summaries[r];
        let omega = w
            .omega_mean
            .map(|o| format!("{o:.3}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<id_w$} {:>7} {:>11.3} {:>10}",
            w.id, w.labels, w.reliability, omega
        );
    }
    s.push_str("\nEvery worker's matrix: --format csv or --format json (or --out DIR).\n");
    s
}

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let c = AnnotatorReport::load(&args.ckpt_dir)?;
    match args.format {
        Format::Table => print!("{}", table(&c)),
        Format::Csv => print!("{}", c.long_csv()?),
        Format::Json => println!("{}", serde_json::to_string(&c.to_json())?),
    }
    if let Some(dir) = &args.out {
        write_atomic(&dir.join("confusions.csv"), c.long_csv()?.as_bytes())?;
        write_atomic(&dir.join("workers.csv"), c.workers_csv()?.as_bytes())?;
        write_atomic(
            &dir.join("inspect.json"),
            serde_json::to_string_pretty(&c.to_json())?.as_bytes(),
        )?;
    }
    if args.plot {
        let dir = args.out.as_ref().unwrap_or(&args.ckpt_dir);
        let mut written = Vec::new();
        if let Some(matrix) = c.common_probabilities() {
            let common = Panel {
                title: "common confusion (row-softmax of W_g)".into(),
                matrix,
            };
            heatmaps(&dir.join("common.png"), &c.classes, &[common], 1)?;
            written.push(dir.join("common.png"));
        }
        let summaries = c.worker_summaries();
        let panels: Vec<Panel> = c
            .by_labels()
            .into_iter()
            .take(args.top.max(1))
            .map(|r| Panel {
                title: format!(
                    "worker {} ({} labels, reliability {:.2})",
                    c.workers[r], summaries[r].labels, summaries[r].reliability
                ),
                matrix: c.confusions[r].clone(),
            })
            .collect();
        let cols = (panels.len() as f64).sqrt().ceil() as usize;
        heatmaps(&dir.join("workers.png"), &c.classes, &panels, cols)?;
        written.push(dir.join("workers.png"));
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("wrote {}", names.join(" and "));
    }
    Ok(())
}
