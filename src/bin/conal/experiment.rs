//! `conal experiment`: methods × seeds × protocols, summarised.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conal::experiment::{ExperimentSpec, Protocol};
use conal::io::write_atomic;
use conal::model::Method;

use crate::progress::{self, ProgressKind};
use crate::train::{DataArgs, HyperArgs};

/// Flags of `conal experiment`.
#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Methods to compare, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "conal,mv,gold"
    )]
    pub methods: Vec<Method>,

    /// Number of seeds: runs use seeds 0..N.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,

    /// Selection protocols, comma-separated: honest (validation split, else crowd holdout),
    /// test-peek (the paper's Music protocol; optimistic), last.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "honest")]
    pub protocols: Vec<Protocol>,

    #[command(flatten)]
    pub hyper: HyperArgs,

    /// Output folder for results.json and results.md.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &ExperimentArgs, progress_kind: ProgressKind) -> anyhow::Result<()> {
    anyhow::ensure!(args.seeds >= 1, "--seeds must be at least 1");
    let data_spec = args.data.spec(0, true)?;
    let data = data_spec.load().context("loading the data")?;
    let spec = ExperimentSpec {
        data: data_spec,
        methods: args.methods.clone(),
        seeds: (0..args.seeds).collect(),
        protocols: args.protocols.clone(),
        params: args
            .hyper
            .run_params(args.data.task()?, Method::Conal, 0, None),
    };
    spec.params.check()?;
    let mut reporter = progress::reporter(progress_kind, 0);
    let results = conal::experiment::run(&spec, &data, reporter.as_mut())?;
    let md = results.markdown();
    if let Some(dir) = &args.out {
        let json = serde_json::to_string_pretty(&results)?;
        write_atomic(&dir.join("results.json"), json.as_bytes())?;
        write_atomic(&dir.join("results.md"), md.as_bytes())?;
    }
    print!("{md}");
    if let Some(dir) = &args.out {
        println!("written to {}", dir.join("results.md").display());
    }
    Ok(())
}
