//! `conal demo`: the out-of-the-box run on a generated crowd.

use std::path::PathBuf;

use clap::Args;
use conal::aggregate::{Aggregator, MajorityVote};
use conal::config::{Defaults, Recipe, RunParams};
use conal::data::source::{DataSpec, TaskKind};
use conal::data::synthetic::SyntheticConfig;
use conal::model::Method;

use crate::progress::{self, ProgressKind};

/// Flags of `conal demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Seed of the generated crowd and of training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Training epochs.
    #[arg(long, default_value_t = Defaults::of(TaskKind::Synthetic, Recipe::Paper, Method::Conal).epochs)]
    pub epochs: usize,

    /// Also save the CoNAL checkpoint here (inspect it with `conal test`).
    #[arg(long = "save-dir", value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
}

pub fn run(args: &DemoArgs, progress_kind: ProgressKind) -> anyhow::Result<()> {
    let synthetic = SyntheticConfig::default().with_seed(args.seed);
    let data_spec = DataSpec::synthetic(synthetic.clone());
    let data = data_spec.load()?;
    let crowd = &data.train;
    let mv = MajorityVote::new().seed(args.seed).fit(crowd)?.aggregation;
    println!(
        "demo crowd (seed {}): {} training items, {} workers, {} labels, {} classes.\n\
         {:.0}% of the workers are lazy and always answer {:?}; on the {:.0}% ambiguous items \
         most workers make the same mistake (the common confusion).",
        args.seed,
        crowd.n_items(),
        crowd.n_workers(),
        crowd.annotations.len(),
        crowd.n_classes(),
        100.0 * synthetic.spammers,
        crowd.classes[0],
        100.0 * synthetic.ambiguous_fraction,
    );
    println!(
        "majority vote on the training items: accuracy {:.3}",
        crowd.truth_accuracy(&mv.labels).map_or(f64::NAN, |a| a.0)
    );
    let mut results = Vec::new();
    for (name, method, save) in [
        ("CoNAL", Method::Conal, args.save_dir.as_deref()),
        ("MLP on majority-vote labels", Method::Mv, None),
    ] {
        let params = RunParams {
            task: TaskKind::Synthetic,
            recipe: Some(Recipe::Paper),
            seed: args.seed,
            epochs: Some(args.epochs),
            ..RunParams::new(method)
        };
        let mut reporter = progress::reporter(progress_kind, 0);
        let outputs = conal::run::Outputs::new(save, None);
        let fitted = conal::estimator::fit(
            &params,
            data_spec.clone(),
            &data,
            outputs,
            reporter.as_mut(),
        )?;
        let result = fitted
            .result()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("training returned no result"))?;
        results.push((name, result));
    }
    println!(
        "test accuracy on {} held-out items (crowd-holdout selection):",
        data.test.as_ref().map_or(0, |t| t.len())
    );
    for (name, r) in &results {
        println!(
            "  {name:<28} {:.3}   (epoch {}, {:.1} s)",
            r.test_accuracy.unwrap_or(f64::NAN),
            r.best_epoch,
            r.train_seconds
        );
    }
    if let Some(dir) = &args.save_dir {
        println!("CoNAL checkpoint saved to {}", dir.display());
    }
    Ok(())
}
