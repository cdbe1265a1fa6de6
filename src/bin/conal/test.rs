//! `conal test`: score a checkpoint on labelled data.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conal::config::RunConfig;
use conal::data::source::{LabeledSource, Split, TableSplit};
use conal::run::evaluate;

/// Flags of `conal test`.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// A checkpoint directory written by `conal train --save-dir`.
    #[arg(long = "ckpt-dir", alias = "ckpt_dir", value_name = "DIR")]
    pub ckpt_dir: PathBuf,

    /// Labelled test data, read the way the training task reads it: a LabelMe folder (its test
    /// split), a Music folder or songs CSV. Defaults to the test data given at training.
    #[arg(long = "test-data", alias = "test_data", value_name = "PATH")]
    pub test_data: Option<PathBuf>,

    /// For --task table checkpoints: features of the test items (CSV or .npy).
    #[arg(long = "test-features", value_name = "FILE", requires = "test_gold")]
    pub test_features: Option<PathBuf>,

    /// For --task table checkpoints: task ids of the rows of an .npy --test-features.
    #[arg(long = "test-tasks", value_name = "FILE")]
    pub test_tasks: Option<PathBuf>,

    /// For --task table checkpoints: true labels of the test items, task,label.
    #[arg(long = "test-gold", value_name = "FILE", requires = "test_features")]
    pub test_gold: Option<PathBuf>,

    /// Items per prediction batch.
    #[arg(long = "batch-size", alias = "batch_size", default_value_t = 1024)]
    pub batch_size: usize,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &TestArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.batch_size >= 1, "--batch-size must be at least 1");
    let test_data = match (&args.test_data, &args.test_features, &args.test_gold) {
        (Some(p), None, None) => LabeledSource::Path(p.clone()),
        (None, Some(f), Some(g)) => LabeledSource::Table(TableSplit {
            features: f.clone(),
            tasks: args.test_tasks.clone(),
            gold: g.clone(),
        }),
        (None, None, None) => RunConfig::load(&args.ckpt_dir)?
            .data
            .source(Split::Test)
            .context("no --test-data given, and the checkpoint was trained without test data")?,
        _ => anyhow::bail!("give either --test-data, or --test-features with --test-gold"),
    };
    let eval = evaluate(&args.ckpt_dir, &test_data, args.batch_size)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "accuracy": eval.accuracy,
                "macro_f1": eval.macro_f1,
                "n": eval.n,
                "test_data": eval.test_data,
                "ckpt_dir": args.ckpt_dir,
            })
        );
    } else {
        println!(
            "accuracy {:.4}  macro-F1 {:.4}  on {} items of {}",
            eval.accuracy, eval.macro_f1, eval.n, eval.test_data
        );
    }
    Ok(())
}
