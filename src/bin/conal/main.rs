//! The `conal` command line: parse → call the library → print.

mod aggregate;
mod agreement;
mod bench;
mod demo;
mod experiment;
mod inspect;
mod progress;
mod signals;
mod test;
mod train;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use conal::data::source::TaskKind;
use tracing_subscriber::EnvFilter;

use crate::progress::{LogWriter, ProgressKind};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Learning from crowds: train a classifier from the noisy labels of many annotators with
/// CoNAL (common + individual confusions), and compare it with the usual baselines.
#[derive(Parser, Debug)]
#[command(name = "conal", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Threads for tensor math (default: all cores).
    #[arg(long, global = true, value_name = "N", help_heading = "Global options")]
    threads: Option<usize>,

    /// Progress output on stderr: bars (hidden when stderr is not a terminal), json (one
    /// object per epoch) or none.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "bars",
        help_heading = "Global options"
    )]
    progress: ProgressKind,

    /// More log output (-v: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    verbose: u8,

    /// Only warnings and errors.
    #[arg(short, long, global = true, help_heading = "Global options")]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on crowd labels and save a checkpoint directory.
    #[command(after_help = "Defaults marked [per task] depend on --task: \
        `conal train --task music --help` shows them.\n\n\
        Example:\n  conal train --task music --train-data ../shared/data/music_genre \
        --test-data ../shared/data/music_genre --save-dir runs/music")]
    Train(train::TrainArgs),
    /// Infer one label per item from the crowd's labels (majority vote, Wawa, gold MV, ZBS,
    /// Dawid-Skene, one-coin DS, GLAD, KOS, MACE, M-MSR).
    Aggregate(aggregate::AggregateArgs),
    /// How much the crowd agrees: Krippendorff's alpha, label uncertainty per item and per
    /// worker, each worker's accuracy on aggregated labels.
    Agreement(agreement::AgreementArgs),
    /// Score a saved checkpoint on labelled test data (accuracy and macro-F1).
    Test(test::TestArgs),
    /// Show what a crowd model learned about each annotator: its confusion matrix,
    /// reliability and labels given (CoNAL, CrowdLayer, Annot-Mix, MaDL).
    Inspect(inspect::InspectArgs),
    /// Compare methods over seeds and selection protocols; writes results.json and results.md.
    #[command(after_help = "Example:\n  conal experiment --task music \
        --train-data ../shared/data/music_genre --test-data ../shared/data/music_genre \
        --methods conal,mv,gold --seeds 5 --protocols honest,test-peek --out runs/music-exp")]
    Experiment(experiment::ExperimentArgs),
    /// Time training epochs on generated data of a given shape, or .npy loading.
    Bench(bench::BenchArgs),
    /// Generate a demo crowd with known confusions, train CoNAL on it and compare it with a
    /// classifier trained on majority-vote labels (about a second in a release build).
    Demo(demo::DemoArgs),
}

/// The value of `--task` in raw arguments, if any, so that per-task defaults can be set on the
/// command before parsing.
fn task_in(args: &[OsString]) -> Option<TaskKind> {
    let mut it = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        let value = if a == "--task" {
            it.next().map(|v| v.into_owned())
        } else {
            a.strip_prefix("--task=").map(str::to_string)
        };
        if let Some(v) = value {
            return clap::ValueEnum::from_str(&v, true).ok();
        }
    }
    None
}

fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut cmd = Cli::command();
    if let Some(task) = task_in(&args) {
        cmd = cmd
            .mut_subcommand("train", |sc| train::with_task_defaults(sc, task))
            .mut_subcommand("experiment", |sc| train::with_task_defaults(sc, task))
            .mut_subcommand("aggregate", |sc| {
                train::hide_features_unless_labelme(sc, task)
            });
    }
    let matches = cmd.get_matches_from(&args);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((_, sub)) = matches.subcommand() {
        match &mut cli.command {
            Command::Train(a) => a.data.note_table_flags(sub),
            Command::Aggregate(a) => a.data.note_table_flags(sub),
            Command::Experiment(a) => a.data.note_table_flags(sub),
            _ => {}
        }
    }
    cli
}

fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        "warn"
    } else {
        match cli.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("CONAL_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,conal={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    match &cli.command {
        Command::Train(args) => train_command(args, cli.progress),
        Command::Test(args) => test::run(args),
        Command::Aggregate(args) => aggregate::run(args),
        Command::Agreement(args) => agreement::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Experiment(args) => experiment::run(args, cli.progress),
        Command::Demo(args) => demo::run(args, cli.progress),
        Command::Bench(args) => bench::run(args, cli.progress),
    }
}

fn train_command(args: &train::TrainArgs, progress: ProgressKind) -> anyhow::Result<()> {
    signals::install().context("installing the Ctrl-C handler")?;
    let mut reporter = progress::reporter(progress, args.log_interval);
    let outputs = conal::run::Outputs {
        save_dir: args.save_dir.as_deref(),
        log_dir: args.log_dir.as_deref(),
        checkpoint_every: args.checkpoint_every,
        resume: args.resume,
        overwrite: args.overwrite,
    };
    // A resumed run takes everything from the args.json its first session wrote.
    let fitted = if args.resume {
        conal::estimator::resume(outputs, reporter.as_mut())?
    } else {
        let (data_spec, params) = args.resolve()?;
        // The settings first: a typo costs no data loading.
        params.check()?;
        let data = data_spec.load().context("loading the data")?;
        args.check_shape(&data.train)?;
        conal::estimator::fit(&params, data_spec, &data, outputs, reporter.as_mut())?
    };
    let config = fitted.config();
    let task = config.data.task();
    let result = fitted.result().context("training returned no result")?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "method": config.model.method().name(),
                "task": task.name(),
                "seed": config.train.seed,
                "select": config.train.select.name(),
                "best_epoch": result.best_epoch,
                "epochs": result.epochs_run,
                "test_accuracy": result.test_accuracy,
                "test_macro_f1": result.test_macro_f1,
                "train_seconds": result.train_seconds,
                "save_dir": args.save_dir,
            })
        );
        return Ok(());
    }
    println!(
        "{} on {}: kept epoch {} of {} ({} selection), trained in {:.1} s",
        config.model.method().name(),
        task.name(),
        result.best_epoch,
        result.epochs_run,
        config.train.select.name(),
        result.train_seconds
    );
    if let (Some(acc), Some(f1)) = (result.test_accuracy, result.test_macro_f1) {
        let label = if config.train.select == conal::train::Selection::TestPeek {
            "  [test-peeked (paper protocol)]"
        } else {
            ""
        };
        println!("test accuracy {acc:.4}, macro-F1 {f1:.4}{label}");
    }
    if let Some(dir) = &args.save_dir {
        println!("saved to {}", dir.display());
    }
    if let Some(dir) = &args.log_dir {
        println!(
            "TensorBoard logs in {} (tensorboard --logdir {})",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The library's error in the command line's words: parameter names (`batch_size`) spelled
/// as the flags that set them (`--batch-size`), and the flags that resume or replace a run.
fn render(e: &conal::Error) -> String {
    let resume = |dir: &std::path::Path| {
        format!(
            "resume with `conal train --resume --save-dir {}`",
            dir.display()
        )
    };
    match e {
        conal::Error::Param {
            param,
            value,
            expected,
        } => format!("--{} {value}: {expected}", param.replace('_', "-")),
        conal::Error::RunExists { dir } => format!(
            "{} already holds a run: continue it with --resume, or replace it with --overwrite \
             (the old run is kept until the new one has saved its first state)",
            dir.display()
        ),
        conal::Error::Interrupted {
            epoch,
            saved: Some(dir),
        } => format!(
            "interrupted after epoch {epoch}; its state is saved: {}",
            resume(dir)
        ),
        conal::Error::WriteFailed { cause, dir, epoch } if *epoch > 0 => format!(
            "{}; the last complete state (epoch {epoch}) is kept in {}: {}",
            render(cause),
            dir.display(),
            resume(dir)
        ),
        conal::Error::Diverged {
            message,
            kept: Some((epoch, dir)),
        } => format!(
            "training diverged: {message}; the last good state (epoch {epoch}) stays in {}: {} \
             after lowering the learning rate in its args.json",
            dir.display(),
            resume(dir)
        ),
        _ => e.to_string(),
    }
}

/// The error chain as one line, in the command line's words ([`render`]).
fn message(e: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in e.chain() {
        let text = match cause.downcast_ref::<conal::Error>() {
            Some(e) => render(e),
            _ => cause.to_string(),
        };
        // anyhow's `{:#}` joins the chain; a cause already quoted by its parent is skipped.
        if parts.last().is_none_or(|p: &String| !p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn main() -> ExitCode {
    let cli = parse();
    init_logging(&cli);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(conal::Error::Interrupted { .. }) = e.downcast_ref::<conal::Error>() {
                eprintln!("{}", message(&e));
                return ExitCode::from(signals::exit_code());
            }
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}
