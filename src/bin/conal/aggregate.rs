//! `conal aggregate`: one label per item from the crowd's labels, without features.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conal::aggregate::{
    AggregationMethod, DawidSkene, Glad, GoldMajorityVote, Kos, Mace, MajorityVote, Mmsr,
    OneCoinDawidSkene, Wawa, ZeroBasedSkill,
};
use conal::io::{push_csv_field, push_fixed, write_atomic, write_atomic_with};

use crate::train::DataArgs;

/// Flags of `conal aggregate`.
#[derive(Args, Debug, Clone)]
pub struct AggregateArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Aggregation method: mv (majority vote, random ties), ds (Dawid-Skene), glad, wawa
    /// (majority vote weighted by agreement with the majority vote), gold-mv (weighted by
    /// accuracy on the items whose true label the data gives, e.g. by --gold), one-coin-ds
    /// (Dawid-Skene with one skill per worker), zbs (zero-based skill), kos (two classes
    /// only), mace (spammers vs knowing workers), mmsr (M-MSR; dense in workers²: about 6 s
    /// for 2,000 workers on 100,000 labels, minutes on 1,000,000). Each as crowd-kit 1.4
    /// defines it.
    #[arg(long, value_enum, default_value = "ds")]
    pub method: AggregationMethod,

    /// Seed for majority-vote tie breaking (mv, wawa, gold-mv, zbs, mmsr), and of the start
    /// of kos, mace and mmsr (numpy's generator, as crowd-kit's random_state).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Maximum iterations: EM rounds of ds, one-coin-ds and glad (default 100), rounds of zbs
    /// and kos (100) and mace (50), iterations of mmsr (10,000).
    #[arg(long = "max-iter")]
    pub max_iter: Option<usize>,

    /// Convergence tolerance: on the objective per label for ds, one-coin-ds and glad
    /// (default 1e-5); on the change of the rank-one estimate for mmsr (1e-10).
    #[arg(long)]
    pub tol: Option<f64>,

    /// Output CSV: task,label,p_<class>… (the item id, its inferred class, the posterior).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Write only task,label to --out, without the posterior columns (what crowd-kit's
    /// `fit_predict` gives; a fifth of the bytes).
    #[arg(long = "labels-only", requires = "out")]
    pub labels_only: bool,

    /// Also write what the method learned about each worker as JSON: Dawid-Skene's confusion
    /// matrices ([true class][label given]), GLAD's abilities, the skills of wawa, gold-mv,
    /// one-coin-ds, zbs and mmsr (mmsr: the vote's log-odds weight), or MACE's competence
    /// (chance of knowing the answer rather than spamming) as skill.
    #[arg(long = "workers-out", value_name = "FILE")]
    pub workers_out: Option<PathBuf>,

    /// Print one JSON object on stdout (accuracy when the data has true labels).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &AggregateArgs) -> anyhow::Result<()> {
    let spec = args.data.spec(args.seed, false)?;
    let crowd = spec.load_labels().context("loading the data")?;
    let iterations = |default: usize| args.max_iter.unwrap_or(default);
    // numpy's seeds are 32-bit.
    let random_state = u32::try_from(args.seed)
        .map_err(|_| anyhow::anyhow!("--seed {} does not fit numpy's 32-bit seed", args.seed));
    // What each method learned about the workers, for --workers-out.
    let (result, confusions, abilities, skills) = match args.method {
        AggregationMethod::Mv => (
            MajorityVote::new().seed(args.seed).fit(&crowd)?.aggregation,
            None,
            None,
            None,
        ),
        AggregationMethod::Wawa => {
            let fitted = Wawa::new().seed(args.seed).fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.skills))
        }
        AggregationMethod::OneCoinDs => {
            let fitted = OneCoinDawidSkene::new()
                .max_iter(iterations(100))
                .tol(args.tol.unwrap_or(1e-5))
                .fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.skills))
        }
        AggregationMethod::GoldMv => {
            let fitted = GoldMajorityVote::from_truth(&crowd)
                .seed(args.seed)
                .fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.skills))
        }
        AggregationMethod::Ds => {
            let fitted = DawidSkene::new()
                .max_iter(iterations(100))
                .tol(args.tol.unwrap_or(1e-5))
                .fit(&crowd)?;
            (
                fitted.aggregation,
                Some(fitted.worker_confusions),
                None,
                None,
            )
        }
        AggregationMethod::Glad => {
            let fitted = Glad::new()
                .max_iter(iterations(100))
                .tol(args.tol.unwrap_or(1e-5))
                .fit(&crowd)?;
            (fitted.aggregation, None, Some(fitted.abilities), None)
        }
        AggregationMethod::Zbs => {
            let fitted = ZeroBasedSkill::new()
                .n_iter(iterations(100))
                .seed(args.seed)
                .fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.skills))
        }
        AggregationMethod::Kos => {
            let fitted = Kos::new()
                .n_iter(iterations(100))
                .random_state(random_state?)
                .fit(&crowd)?;
            (fitted.aggregation, None, None, None)
        }
        AggregationMethod::Mace => {
            let fitted = Mace::new()
                .n_iter(iterations(50))
                .random_state(random_state?)
                .fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.competence))
        }
        AggregationMethod::Mmsr => {
            let fitted = Mmsr::new()
                .n_iter(iterations(10_000))
                .tol(args.tol.unwrap_or(1e-10))
                .random_state(random_state?)
                .seed(args.seed)
                .fit(&crowd)?;
            (fitted.aggregation, None, None, Some(fitted.skills))
        }
    };
    // Counted, not collected: a vector of their indices was a tenth of a majority vote's time
    // (fresh pages, on a million labels).
    let labelled = || (0..crowd.n_items()).filter(|&i| result.has_labels[i]);
    let n_labelled = result.has_labels.iter().filter(|&&l| l).count();
    let scored = crowd.truth_accuracy(&result.labels);
    let accuracy = scored.map(|(a, _)| a);
    if let Some(path) = &args.out {
        // Lines built in one buffer, written in large pieces (csv's writer, field by field
        // through `dyn Write`, was a tenth of a majority vote's time).
        write_atomic_with(path, |out| {
            let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
            push_csv_field(&mut buf, "task");
            buf.push(b',');
            push_csv_field(&mut buf, "label");
            if !args.labels_only {
                for c in &crowd.classes {
                    buf.push(b',');
                    push_csv_field(&mut buf, &format!("p_{c}"));
                }
            }
            buf.push(b'\n');
            for i in labelled() {
                push_csv_field(&mut buf, &crowd.items[i]);
                buf.push(b',');
                push_csv_field(&mut buf, &crowd.classes[result.labels[i] as usize]);
                if !args.labels_only {
                    for &p in &result.posteriors[i] {
                        buf.push(b',');
                        // As `{p:.6}` writes it, faster (a tenth of a majority vote's time).
                        push_fixed(&mut buf, p, 6);
                    }
                }
                buf.push(b'\n');
                if buf.len() >= 1 << 16 {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
            out.write_all(&buf)
        })?;
    }
    if let Some(path) = &args.workers_out {
        let workers: Vec<serde_json::Value> = crowd
            .workers
            .iter()
            .enumerate()
            .map(|(r, id)| {
                serde_json::json!({
                    "worker": id,
                    "confusion": confusions.as_ref().map(|c| &c[r]),
                    "ability": abilities.as_ref().map(|a| a[r]),
                    "skill": skills.as_ref().map(|s| s[r]),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "method": args.method.name(),
            "classes": crowd.classes,
            "workers": workers,
        }))?;
        write_atomic(path, text.as_bytes())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": args.method.name(),
                "accuracy": accuracy,
                "n": n_labelled,
                "n_scored": scored.map(|s| s.1),
                "out": args.out,
            })
        );
    } else {
        match accuracy {
            Some(a) => println!(
                "{}: accuracy {a:.4} against the true labels of {} items",
                args.method.name(),
                scored.map_or(0, |s| s.1)
            ),
            None => println!(
                "{}: {} items labelled (no true labels to score)",
                args.method.name(),
                n_labelled
            ),
        }
        if let Some(p) = &args.out {
            println!("written to {}", p.display());
        }
    }
    Ok(())
}
