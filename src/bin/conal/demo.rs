//! `conal demo`: the out-of-the-box run on a generated crowd.

use std::path::PathBuf;

use clap::Args;
use conal::aggregate::MajorityVote;
use conal::data::synthetic::SyntheticConfig;
use conal::model::{ConalConfig, MlpConfig};
use conal::run::{LabelSource, ModelSpec, RunConfig};
use conal::task::{DataSpec, TaskKind};
use conal::train::{AdamSettings, Recipe, TrainConfig};

use crate::progress::{self, ProgressKind};

/// Flags of `conal demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Seed of the generated crowd and of training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Training epochs.
    #[arg(long, default_value_t = TaskKind::Synthetic.defaults().epochs)]
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
    let mv = MajorityVote::new().seed(args.seed).fit(crowd)?;
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
    let d = TaskKind::Synthetic.defaults();
    let train = TrainConfig {
        seed: args.seed,
        epochs: args.epochs,
        batch_size: d.batch_size,
        lr: d.lr,
        lr_schedule: Default::default(),
        scale: d.scale,
        select: d.select,
        holdout: 0.15,
        holdout_seed: None,
        holdout_fold: None,
        adam: AdamSettings::default(),
        ema: None,
        ensemble: 1,
        recipe: Recipe::Paper,
        mixup: None,
    };
    let (k, r, f) = (crowd.n_classes(), crowd.n_workers(), crowd.n_features());
    let classifier = MlpConfig::labelme(f, k);
    let mut conal = ConalConfig::labelme(f, r, k);
    conal.emb_dim = d.emb_dim;
    let mut results = Vec::new();
    for (name, model, save) in [
        (
            "CoNAL",
            ModelSpec::Conal {
                classifier: classifier.clone(),
                conal,
            },
            args.save_dir.as_deref(),
        ),
        (
            "MLP on majority-vote labels",
            ModelSpec::Classifier {
                classifier,
                labels: LabelSource::MajorityVote,
            },
            None,
        ),
    ] {
        let config = RunConfig {
            conal_version: env!("CARGO_PKG_VERSION").into(),
            data: data_spec.clone(),
            model,
            train: train.clone(),
            device: "cpu".into(),
            classes: crowd.classes.clone(),
            workers: crowd.workers.clone(),
            n_features: f,
            log_dir: None,
            result: None,
        };
        let mut reporter = progress::reporter(progress_kind, 0);
        let outputs = conal::run::Outputs::new(save, None);
        let outcome = conal::run::train(&config, &data, outputs, reporter.as_mut())?;
        let result = outcome
            .config
            .result
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
