//! `conal agreement`: how much the crowd agrees, without features: Krippendorff's α, label
//! uncertainty per task and per worker, consistency with the aggregate, each worker's
//! accuracy on aggregated labels and its spammer score.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conal::aggregate::agreement::{
    By, accuracy_on_aggregates, consistency, krippendorff_alpha, spammer_scores, uncertainty,
};
use conal::aggregate::{Aggregator, DawidSkene, registry};
use conal::io::write_atomic;

use crate::train::DataArgs;

/// Flags of `conal agreement`.
#[derive(Args, Debug, Clone)]
pub struct AgreementArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The aggregation whose labels the workers' accuracy and the consistency are measured
    /// against (consistency weighs each worker by that accuracy, crowd-kit's default with
    /// majority vote).
    #[arg(long, default_value = "mv", value_parser = crate::aggregate::method_parser())]
    pub method: String,

    /// Seed for majority-vote tie breaking.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Also write per-worker figures as JSON: labels, uncertainty, accuracy on the aggregate,
    /// and spammer score (Raykar & Yu 2011, from the worker's Dawid-Skene confusion matrix:
    /// 0 answers alike whatever the truth, 1 tells every class apart).
    #[arg(long = "workers-out", value_name = "FILE")]
    pub workers_out: Option<PathBuf>,

    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n.max(1) as f64
}

pub fn run(args: &AgreementArgs) -> anyhow::Result<()> {
    let spec = args.data.spec(args.seed, false)?;
    let crowd = spec.load_labels().context("loading the data")?;
    let (n, r, k, a) = (
        crowd.n_items(),
        crowd.n_workers(),
        crowd.n_classes(),
        &crowd.annotations,
    );
    let _ = k;
    let alpha = krippendorff_alpha(&crowd)?;
    let by_task = uncertainty(&crowd, None, By::Task)?;
    let by_worker = uncertainty(&crowd, None, By::Worker)?;
    let method = registry::entry(&args.method)?;
    let fitted = method.fit(&crate::aggregate::seed_params(method, args.seed)?, &crowd)?;
    let aggregate = fitted.aggregation();
    let accuracy = accuracy_on_aggregates(r, a, &aggregate.labels);
    let skills: Vec<f64> = accuracy.iter().map(|s| s.unwrap_or(0.0)).collect();
    let consistent = consistency(&crowd, &skills, &aggregate.labels)?;
    let consistency_mean = mean(consistent.iter().flatten().copied());
    let right = a
        .iter()
        .filter(|x| aggregate.labels[x.item as usize] == x.label)
        .count();
    let label_accuracy = right as f64 / a.len() as f64;
    let task_uncertainty = mean(by_task.iter().copied());
    let worker_uncertainty = mean(by_worker.iter().copied());
    if let Some(path) = &args.workers_out {
        let spam = spammer_scores(&DawidSkene::new().fit(&crowd)?.worker_confusions);
        let mut count = vec![0usize; r];
        a.iter().for_each(|x| count[x.worker as usize] += 1);
        let workers: Vec<serde_json::Value> = (0..r)
            .map(|w| {
                serde_json::json!({
                    "worker": crowd.workers[w],
                    "labels": count[w],
                    "uncertainty": by_worker[w],
                    "accuracy_on_aggregate": accuracy[w],
                    "spam_score": spam[w],
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "aggregate": args.method,
            "workers": workers,
        }))?;
        write_atomic(path, text.as_bytes())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "labels": a.len(),
                "items": n,
                "workers": r,
                "alpha": alpha,
                "task_uncertainty": task_uncertainty,
                "worker_uncertainty": worker_uncertainty,
                "aggregate": args.method,
                "accuracy_on_aggregate": label_accuracy,
                "consistency": consistency_mean,
            })
        );
    } else {
        println!(
            "{} labels, {n} items, {r} workers: Krippendorff's alpha {alpha:.4}; mean label \
             uncertainty {task_uncertainty:.4} per item, {worker_uncertainty:.4} per worker; \
             {:.1} % of the labels equal the {} aggregate (consistency {consistency_mean:.4})",
            a.len(),
            100.0 * label_accuracy,
            args.method
        );
    }
    Ok(())
}
