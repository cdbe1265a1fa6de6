//! `conal bench`: training speed on generated data of a given shape, label aggregation on a
//! generated crowd, or `.npy` loading.

use std::path::PathBuf;

use clap::Args;
use conal::bench::Shape;

use crate::progress::{self, ProgressKind};

/// What to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchShape {
    /// Music-size training epochs.
    Music,
    /// LabelMe-size training epochs (10,000 × 8,192 features, batch 128).
    Labelme,
    /// 1,000,000 items × 2,000 workers × 3 labels per item (64 features).
    Million,
    /// Loading a 10,000 × 8,192 float32 .npy against reading its bytes.
    NpyLoad,
    /// This machine's GEMM throughput through the same kernels (a 2048³ float32 product).
    Gemm,
    /// Label aggregation (--method) on a generated crowd of --labels labels: 5 per task,
    /// 5 classes, max(2000, labels/1000) workers of Zipf-like activity.
    Aggregate,
}

/// Flags of `conal bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(long, value_enum)]
    pub shape: BenchShape,

    /// Training epochs to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,

    /// Seed of the generated data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// npy-load: rows and columns of the generated file.
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,

    /// npy-load: columns.
    #[arg(long, default_value_t = 8_192)]
    pub cols: usize,

    /// npy-load: folder for the generated file (removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// aggregate: crowd labels to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub labels: usize,

    /// aggregate: the method (as `conal aggregate --method`).
    #[arg(long, default_value = "ds", value_parser = crate::aggregate::method_parser())]
    pub method: String,

    /// aggregate: also write the crowd as DIR/answers.csv (task,worker,label) and
    /// DIR/gold.csv (task,label), for `conal aggregate --task table` and other tools.
    #[arg(long = "write-csv", value_name = "DIR")]
    pub write_csv: Option<PathBuf>,

    /// music, labelme, million: the device to train on (cpu, or wgpu in a build with
    /// `--features wgpu`).
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BenchArgs, progress_kind: ProgressKind) -> anyhow::Result<()> {
    let shape = match args.shape {
        BenchShape::Music => Shape::Music,
        BenchShape::Labelme => Shape::Labelme,
        BenchShape::Million => Shape::Million,
        BenchShape::Gemm => {
            let r = conal::bench::gemm();
            if args.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "GEMM peak: {:.1} GFLOP/s on {} threads",
                    r.gflops, r.threads
                );
            }
            return Ok(());
        }
        BenchShape::Aggregate => {
            let r = conal::bench::aggregate(
                args.labels,
                &args.method,
                args.seed,
                args.write_csv.as_deref(),
            )?;
            if args.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "{} on {} labels ({} tasks, {} workers): {:.3} s on {} threads, accuracy \
                     {:.4}; generated in {:.1} s; peak RSS {:.0} MB",
                    r.method,
                    r.labels,
                    r.tasks,
                    r.workers,
                    r.fit_seconds,
                    r.threads,
                    r.accuracy,
                    r.generate_seconds,
                    r.peak_rss_bytes as f64 / 1e6
                );
            }
            return Ok(());
        }
        BenchShape::NpyLoad => {
            let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
            let r = conal::bench::npy_load(&dir, args.rows, args.cols, args.seed)?;
            if args.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "npy {}x{} float32 ({:.0} MB): read {:.3} s, load {:.3} s, load/read {:.2}; \
                     peak RSS {:.0} MB = {:.2}x the file",
                    r.rows,
                    r.cols,
                    r.file_bytes as f64 / 1e6,
                    r.read_seconds,
                    r.load_seconds,
                    r.load_over_read,
                    r.peak_rss_bytes as f64 / 1e6,
                    r.peak_over_file
                );
            }
            return Ok(());
        }
    };
    let mut reporter = progress::reporter(progress_kind, 0);
    let r = conal::bench::train(
        shape,
        args.epochs,
        args.seed,
        &args.device,
        reporter.as_mut(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{:?} on {}: median epoch {:.1} ms over {} epochs ({} threads); FLOP floor {:.1} \
             GFLOP, achieved {:.2} GFLOP/s; peak RSS {:.0} MB = {:.2}x the features",
            r.shape,
            r.device,
            r.median_epoch_ms,
            r.epoch_ms.len(),
            r.threads,
            r.flop_floor / 1e9,
            r.gflops,
            r.peak_rss_bytes as f64 / 1e6,
            r.peak_over_features
        );
    }
    Ok(())
}
