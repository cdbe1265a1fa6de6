//! `conal aggregate`: one label per item from the crowd's labels, without features.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use conal::aggregate::intervals::{Bootstrap, score_intervals};
use conal::aggregate::registry::{
    self, DynEmbedder, DynRanker, DynSegmenter, DynTextAggregator, Entry, Method,
};
use conal::aggregate::{Params, Value};
use conal::data::{
    ComparisonColumns, Comparisons, EmbeddingColumns, Embeddings, MaskColumns, Segmentations,
    Texts, mask_file_name, write_mask_png,
};
use conal::io::{push_csv_field, push_fixed, write_atomic, write_atomic_with};

use crate::train::DataArgs;

/// Flags of `conal aggregate`.
#[derive(Args, Debug, Clone)]
#[command(after_help = method_help())]
pub struct AggregateArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Aggregation method (each as crowd-kit 1.4 defines it; the list below says what each
    /// is and takes).
    #[arg(long, default_value = "ds", value_parser = method_parser())]
    pub method: String,

    /// Seed: majority-vote tie breaking (mv, wawa, gold-mv, zbs, mmsr) and the start of kos,
    /// mace and mmsr (numpy's generator, as crowd-kit's random_state; 32 bits).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Maximum iterations (the method's n_iter: EM rounds of ds, one-coin-ds and glad,
    /// rounds of zbs, kos and mace, iterations of mmsr; 0: the starting estimate, as
    /// crowd-kit's n_iter=0) [default: the method's].
    #[arg(long = "max-iter")]
    pub max_iter: Option<usize>,

    /// Convergence tolerance (the method's tol: ds, one-coin-ds, glad, mmsr) [default: the
    /// method's].
    #[arg(long)]
    pub tol: Option<f64>,

    /// Any other parameter of the method by its crowd-kit name, NAME=VALUE (repeatable), e.g.
    /// --param n_restarts=5 for mace or --param lr_init=0.5 for zbs.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,

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

    /// Comparisons (bt, noisy-bt): name of the left item's column of --answers.
    #[arg(
        long = "left-column",
        default_value = "left",
        help_heading = "Pairwise comparisons (--method bt, noisy-bt)"
    )]
    pub left_column: String,

    /// Comparisons: name of the right item's column.
    #[arg(
        long = "right-column",
        default_value = "right",
        help_heading = "Pairwise comparisons (--method bt, noisy-bt)"
    )]
    pub right_column: String,

    /// Comparisons: also write each item's confidence interval at this level (lower, upper
    /// columns of --out), by the bootstrap over comparisons (see --resamples).
    #[arg(
        long,
        value_name = "LEVEL",
        help_heading = "Pairwise comparisons (--method bt, noisy-bt)"
    )]
    pub confidence: Option<f64>,

    /// Texts (rover): name of the text column of --answers (words are split at whitespace
    /// and joined by single spaces).
    #[arg(
        long = "text-column",
        default_value = "text",
        help_heading = "Texts (--method rover)"
    )]
    pub text_column: String,

    /// Masks (seg-mv, seg-rasa, seg-em): name of the column of --answers that holds each
    /// mask's file (PNG, or .npy of booleans/0-1), relative to the CSV's folder.
    #[arg(
        long = "mask-column",
        default_value = "segmentation",
        help_heading = "Masks (--method seg-mv, seg-rasa, seg-em)"
    )]
    pub mask_column: String,

    /// Embeddings (closest-to-average, rasa, hrrasa): name of the embedding column of
    /// --answers (numbers separated by commas or spaces, brackets allowed), or the prefix of
    /// numbered columns NAME_0, NAME_1, ….
    #[arg(
        long = "embedding-column",
        default_value = "embedding",
        help_heading = "Embeddings (--method closest-to-average, rasa, hrrasa)"
    )]
    pub embedding_column: String,

    /// Embeddings: name of the answer's column (optional in the file; the chosen answer's
    /// is written to --out).
    #[arg(
        long = "output-column",
        default_value = "output",
        help_heading = "Embeddings (--method closest-to-average, rasa, hrrasa)"
    )]
    pub output_column: String,

    /// Comparisons: bootstrap resamples for --confidence (each refits the method).
    #[arg(
        long,
        default_value_t = 200,
        requires = "confidence",
        help_heading = "Pairwise comparisons (--method bt, noisy-bt)"
    )]
    pub resamples: usize,
}

/// `--method`'s values: the registry's names.
pub fn method_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(registry::names())
}

/// The methods and their parameters, for `--help`.
fn method_help() -> String {
    let mut s =
        String::from("Methods (crowd labels: --answers with columns task, worker, label):\n");
    let mut list = |name: &str, about: &str, params: &[(&str, &str)]| {
        s.push_str(&format!("  {name:<18} {about}\n"));
        for (name, about) in params {
            s.push_str(&format!("  {:<18}   {name}: {about}\n", ""));
        }
    };
    for e in registry::METHODS {
        list(e.name, e.about, e.params);
    }
    for e in registry::RANKERS {
        list(e.name, e.about, e.params);
    }
    for e in registry::SEGMENTERS {
        list(e.name, e.about, e.params);
    }
    for e in registry::EMBEDDERS {
        list(e.name, e.about, e.params);
    }
    for e in registry::TEXTS {
        list(e.name, e.about, e.params);
    }
    s.push_str(
        "bt and noisy-bt read pairwise comparisons: --answers FILE.csv with columns worker, left, \
         right, label (the chosen item, or tie/equal); --out gets item,score[,lower,upper] \
         from the highest score down. rover reads texts: --answers FILE.csv with columns task \
         and text; --out gets task,text. seg-mv, seg-rasa and seg-em read masks: --answers \
         FILE.csv with columns task, worker, segmentation (a PNG or .npy file per mask, \
         relative to the CSV); --out FILE.csv gets task,segmentation with one PNG per task in \
         the folder FILE-masks beside it. closest-to-average, rasa and hrrasa read \
         embeddings: --answers FILE.csv with columns task, worker, embedding (numbers) or \
         embedding_0, embedding_1, …, and optionally output; --out gets \
         task,worker,output,embedding of each task's aggregate and chosen answer.\n",
    );
    s
}

/// The seed as `method` takes it: `seed` (a 64-bit draw seed) and `random_state` (numpy's
/// 32-bit seed), where it takes them.
pub fn seed_params<M: ?Sized>(method: &Entry<M>, seed: u64) -> anyhow::Result<Params> {
    let mut p = Params::new();
    if method.takes("seed") {
        p.set("seed", Value::Int(seed as i64));
    }
    if method.takes("random_state") {
        let state = u32::try_from(seed)
            .map_err(|_| anyhow::anyhow!("--seed {seed} does not fit numpy's 32-bit seed"))?;
        p.set("random_state", Value::Int(state.into()));
    }
    Ok(p)
}

/// The method's parameters from the flags; a flag the method does not take is an error.
fn params<M: ?Sized>(args: &AggregateArgs, method: &Entry<M>) -> anyhow::Result<Params> {
    let mut p = seed_params(method, args.seed)?;
    for (flag, name, value) in [
        (
            "--max-iter",
            "n_iter",
            args.max_iter.map(|v| Value::Int(v as i64)),
        ),
        ("--tol", "tol", args.tol.map(Value::Float)),
    ] {
        if let Some(v) = value {
            anyhow::ensure!(
                method.takes(name),
                "{flag} does not apply to --method {} (it takes {})",
                method.name,
                method
                    .params
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            p.set(name, v);
        }
    }
    for given in &args.params {
        let (name, value) = given
            .split_once('=')
            .with_context(|| format!("--param {given}: expected NAME=VALUE"))?;
        p.set(name.trim(), Value::parse(value.trim()));
    }
    Ok(p)
}

pub fn run(args: &AggregateArgs) -> anyhow::Result<()> {
    let method = match registry::method(&args.method)? {
        Method::Classes(e) => e,
        Method::Comparisons(e) => return rank(args, e),
        Method::Segmentations(e) => return segment(args, e),
        Method::Texts(e) => return aggregate_texts(args, e),
        Method::Embeddings(e) => return embed(args, e),
    };
    if args.confidence.is_some() {
        anyhow::bail!(
            "--confidence applies to the ranking methods (bt, noisy-bt), not --method {}",
            args.method
        );
    }
    let params = params(args, method)?;
    // The parameters first: a typo costs no data loading.
    let aggregator = method.build(&params)?;
    let spec = args.data.spec(args.seed, false)?;
    let crowd = spec.load_labels().context("loading the data")?;
    let fitted = aggregator.fit(&crowd)?;
    let result = fitted.aggregation();
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
        let learned = fitted.worker_params();
        let workers: Vec<serde_json::Value> = crowd
            .workers
            .iter()
            .enumerate()
            .map(|(r, id)| {
                let mut row = serde_json::json!({
                    "worker": id,
                    "confusion": null,
                    "ability": null,
                    "skill": null,
                });
                for (name, values) in &learned {
                    row[*name] = values.entry_json(r);
                }
                row
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "method": args.method,
            "classes": crowd.classes,
            "workers": workers,
        }))?;
        write_atomic(path, text.as_bytes())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": args.method,
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
                args.method,
                scored.map_or(0, |s| s.1)
            ),
            None => println!(
                "{}: {} items labelled (no true labels to score)",
                args.method, n_labelled
            ),
        }
        if let Some(p) = &args.out {
            println!("written to {}", p.display());
        }
    }
    Ok(())
}

/// `conal aggregate --method bt|noisy-bt`: scores from pairwise comparisons.
fn rank(args: &AggregateArgs, method: &Entry<dyn DynRanker>) -> anyhow::Result<()> {
    let params = params(args, method)?;
    let ranker = method.build(&params)?;
    let path = args.data.answers.as_ref().with_context(|| {
        format!(
            "--method {} needs --answers FILE: a CSV of comparisons with columns worker, left, \
             right, label",
            method.name
        )
    })?;
    // Bradley-Terry does not look at who compared: its file needs no worker column.
    let columns = ComparisonColumns {
        worker: (method.name != "bt").then(|| args.data.worker_column.clone()),
        left: args.left_column.clone(),
        right: args.right_column.clone(),
        label: args.data.label_column.clone(),
    };
    let data = Comparisons::read_csv(path, &columns).context("loading the comparisons")?;
    let fitted = ranker.fit(&data, None)?;
    let scores = fitted.scores();
    let intervals = match args.confidence {
        Some(level) => Some(score_intervals(
            ranker.as_ref(),
            &data,
            scores,
            &Bootstrap {
                level,
                resamples: args.resamples,
                seed: args.seed,
            },
        )?),
        None => None,
    };
    // The highest score first; items without a score last.
    let mut order: Vec<usize> = (0..data.n_items()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores[a], scores[b]);
        y.is_nan().cmp(&x.is_nan()).reverse().then(y.total_cmp(&x))
    });
    if let Some(out) = &args.out {
        write_atomic_with(out, |w| {
            let mut buf = Vec::with_capacity(1 << 16);
            buf.extend_from_slice(if intervals.is_some() {
                b"item,score,lower,upper\n".as_slice()
            } else {
                b"item,score\n".as_slice()
            });
            for &i in &order {
                push_csv_field(&mut buf, &data.items[i]);
                let mut values = vec![scores[i]];
                if let Some(ci) = &intervals {
                    values.extend([ci.lower[i], ci.upper[i]]);
                }
                for v in values {
                    buf.push(b',');
                    // A score may be tiny (an item that rarely wins): every significant digit.
                    buf.extend_from_slice(format!("{v:e}").as_bytes());
                }
                buf.push(b'\n');
            }
            w.write_all(&buf)
        })?;
    }
    if let Some(out) = &args.workers_out {
        write_workers(out, method.name, &data.workers, &fitted.worker_params())?;
    }
    let top = order.first().map(|&i| data.items[i].as_str());
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": method.name,
                "items": data.n_items(),
                "comparisons": data.len(),
                "workers": data.n_workers(),
                "top": top,
                "out": args.out,
            })
        );
    } else {
        println!(
            "{}: {} items ranked from {} comparisons; highest score: {}",
            method.name,
            data.n_items(),
            data.len(),
            top.unwrap_or("-")
        );
        if let Some(p) = &args.out {
            println!("written to {}", p.display());
        }
    }
    Ok(())
}

/// `conal aggregate --method rover`: one text per task from the workers' texts.
fn aggregate_texts(
    args: &AggregateArgs,
    method: &Entry<dyn DynTextAggregator>,
) -> anyhow::Result<()> {
    let params = params(args, method)?;
    let aggregator = method.build(&params)?;
    let path = args.data.answers.as_ref().with_context(|| {
        format!(
            "--method {} needs --answers FILE: a CSV of texts with columns task and text",
            method.name
        )
    })?;
    let data = Texts::read_csv(path, &args.data.task_column, &args.text_column)
        .context("loading the texts")?;
    let fitted = aggregator.fit(&data)?;
    let text = |t: usize| -> String {
        fitted.texts()[t]
            .iter()
            .map(|&w| data.words[w as usize].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(out) = &args.out {
        write_atomic_with(out, |w| {
            let mut buf = Vec::with_capacity(1 << 16);
            buf.extend_from_slice(b"task,text\n");
            for t in 0..data.n_tasks() {
                push_csv_field(&mut buf, &data.tasks[t]);
                buf.push(b',');
                push_csv_field(&mut buf, &text(t));
                buf.push(b'\n');
            }
            w.write_all(&buf)
        })?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": method.name,
                "tasks": data.n_tasks(),
                "texts": data.len(),
                "out": args.out,
            })
        );
    } else {
        println!(
            "{}: {} tasks from {} texts",
            method.name,
            data.n_tasks(),
            data.len()
        );
        if let Some(p) = &args.out {
            println!("written to {}", p.display());
        }
    }
    Ok(())
}

/// `conal aggregate --method seg-*`: one mask per task from the workers' mask files.
fn segment(args: &AggregateArgs, method: &Entry<dyn DynSegmenter>) -> anyhow::Result<()> {
    let params = params(args, method)?;
    let segmenter = method.build(&params)?;
    let path = args.data.answers.as_ref().with_context(|| {
        format!(
            "--method {} needs --answers FILE: a CSV with columns task, worker and segmentation \
             (each mask's PNG or .npy file)",
            method.name
        )
    })?;
    let columns = MaskColumns {
        task: args.data.task_column.clone(),
        worker: args.data.worker_column.clone(),
        segmentation: args.mask_column.clone(),
    };
    let data = Segmentations::read_csv(path, &columns).context("loading the masks")?;
    let fitted = segmenter.fit(&data)?;
    if let Some(out) = &args.out {
        // The masks first, into a folder beside the listing; the listing last (atomically),
        // so a listing on disk always names masks that are all there.
        let stem = out
            .file_stem()
            .map_or_else(|| "masks".into(), |s| s.to_string_lossy().into_owned());
        let folder_name = format!("{stem}-masks");
        let folder = out.with_file_name(&folder_name);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating the mask folder {}", folder.display()))?;
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(b"task,segmentation\n");
        for (t, mask) in fitted.masks().iter().enumerate() {
            let name = mask_file_name(t, &data.tasks[t]);
            write_mask_png(&folder.join(&name), data.shape(t), mask)?;
            push_csv_field(&mut buf, &data.tasks[t]);
            buf.push(b',');
            push_csv_field(&mut buf, &format!("{folder_name}/{}", name.display()));
            buf.push(b'\n');
        }
        write_atomic(out, &buf)?;
    }
    let marked: usize = fitted
        .masks()
        .iter()
        .map(|m| m.iter().filter(|&&p| p).count())
        .sum();
    let pixels: usize = fitted.masks().iter().map(Vec::len).sum();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": method.name,
                "tasks": data.n_tasks(),
                "masks": data.len(),
                "workers": data.n_workers(),
                "pixels_in": marked,
                "pixels": pixels,
                "out": args.out,
            })
        );
    } else {
        println!(
            "{}: {} tasks from {} masks by {} workers; {marked} of {pixels} pixels in the masks",
            method.name,
            data.n_tasks(),
            data.len(),
            data.n_workers()
        );
        if let Some(p) = &args.out {
            println!(
                "written to {} (masks in {}-masks)",
                p.display(),
                p.with_extension("").display()
            );
        }
    }
    Ok(())
}

/// `conal aggregate --method closest-to-average|rasa|hrrasa`: one embedding per task and the
/// answer closest to it.
fn embed(args: &AggregateArgs, method: &Entry<dyn DynEmbedder>) -> anyhow::Result<()> {
    let params = params(args, method)?;
    let embedder = method.build(&params)?;
    let path = args.data.answers.as_ref().with_context(|| {
        format!(
            "--method {} needs --answers FILE: a CSV with columns task, worker, embedding \
             (and optionally output)",
            method.name
        )
    })?;
    let columns = EmbeddingColumns {
        task: args.data.task_column.clone(),
        worker: args.data.worker_column.clone(),
        embedding: args.embedding_column.clone(),
        output: args.output_column.clone(),
    };
    let file = Embeddings::read_csv(path, &columns).context("loading the embeddings")?;
    let data = &file.data;
    let fitted = embedder.fit(data)?;
    if let Some(out) = &args.out {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(b"task,worker");
        if file.outputs.is_some() {
            buf.push(b',');
            push_csv_field(&mut buf, &columns.output);
        }
        if file.wide {
            for j in 0..data.dim {
                buf.push(b',');
                push_csv_field(&mut buf, &format!("{}_{j}", columns.embedding));
            }
        } else {
            buf.push(b',');
            push_csv_field(&mut buf, &columns.embedding);
        }
        buf.push(b'\n');
        for t in 0..data.n_tasks() {
            let closest = fitted.closest()[t];
            push_csv_field(&mut buf, &data.tasks[t]);
            buf.push(b',');
            if let Some(r) = closest {
                push_csv_field(&mut buf, &data.workers[data.worker[r] as usize]);
            }
            if let Some(outputs) = &file.outputs {
                buf.push(b',');
                if let Some(r) = closest {
                    push_csv_field(&mut buf, &outputs[r]);
                }
            }
            let numbers = fitted.aggregated()[t].iter().map(|v| format!("{v}"));
            if file.wide {
                for v in numbers {
                    buf.push(b',');
                    buf.extend_from_slice(v.as_bytes());
                }
            } else {
                buf.push(b',');
                let list = format!("[{}]", numbers.collect::<Vec<_>>().join(", "));
                push_csv_field(&mut buf, &list);
            }
            buf.push(b'\n');
        }
        write_atomic(out, &buf)?;
    }
    if let Some(out) = &args.workers_out {
        let learned: Vec<_> = fitted
            .learned()
            .into_iter()
            .filter(|(name, _)| matches!(*name, "skills" | "prior_skills"))
            .collect();
        write_workers(out, method.name, &data.workers, &learned)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": method.name,
                "tasks": data.n_tasks(),
                "answers": data.len(),
                "workers": data.n_workers(),
                "dim": data.dim,
                "out": args.out,
            })
        );
    } else {
        println!(
            "{}: {} tasks from {} answers by {} workers ({} numbers each)",
            method.name,
            data.n_tasks(),
            data.len(),
            data.n_workers(),
            data.dim
        );
        if let Some(p) = &args.out {
            println!("written to {}", p.display());
        }
    }
    Ok(())
}

/// `--workers-out`: `{"method", "workers": [{"worker": id, <name>: value, …}]}`, one entry per
/// worker with each per-worker quantity the method learned.
fn write_workers(
    out: &std::path::Path,
    method: &str,
    workers: &[String],
    learned: &[(&str, conal::aggregate::Values)],
) -> anyhow::Result<()> {
    let rows: Vec<serde_json::Value> = workers
        .iter()
        .enumerate()
        .map(|(r, id)| {
            let mut row = serde_json::json!({ "worker": id });
            for (name, values) in learned {
                row[*name] = values.entry_json(r);
            }
            row
        })
        .collect();
    let text =
        serde_json::to_string_pretty(&serde_json::json!({ "method": method, "workers": rows }))?;
    write_atomic(out, text.as_bytes())?;
    Ok(())
}
