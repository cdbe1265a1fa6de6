//! `conal train` and `conal experiment` flags, per-task defaults, and their resolution.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use conal::config::{Defaults, ModelOptions, Recipe, RunParams};
use conal::data::labelme;
use conal::data::source::{DataSpec, TableSplit, TaskKind};
use conal::data::synthetic::SyntheticConfig;
use conal::data::table::{AnswersFormat, Duplicates, TableSpec};
use conal::model::{Confusion, Head, Init, Method};
use conal::train::{AdamReset, LrSchedule, MixupOver, OptimizerKind, RegularizerKind, Selection};

/// Where the data comes from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// The task (required, except with --resume): a built-in data set (with the authors'
    /// settings for it), a generated crowd, or `table` for your own files.
    #[arg(long, value_enum)]
    pub task: Option<TaskKind>,

    /// The data folder: a Music folder (music_genre_gold.csv, music_genre_mturk.csv) or a
    /// LabelMe folder (answers.txt, labels_*.txt and features).
    #[arg(
        long = "train-data",
        visible_alias = "data",
        alias = "train_data",
        value_name = "DIR"
    )]
    pub train_data: Option<PathBuf>,

    /// Validation data with true labels, for --select valid: a LabelMe folder (its valid
    /// split) or a Music songs CSV.
    #[arg(long = "valid-data", alias = "valid_data", value_name = "PATH")]
    pub valid_data: Option<PathBuf>,

    /// Test data with true labels: its accuracy is reported per epoch and for the kept model,
    /// and --select test-peek selects on it. A LabelMe folder, a Music folder or songs CSV.
    #[arg(long = "test-data", alias = "test_data", value_name = "PATH")]
    pub test_data: Option<PathBuf>,

    /// LabelMe: vgg (the paper's 4x4x512 maps when prepared/ has them, else the 512-d pooled
    /// ones) or bow (bag of visual words). Table: the item features file, CSV (task id, then
    /// numbers) or .npy (rows in --tasks order).
    #[arg(long, value_name = "FEATURES")]
    pub features: Option<String>,

    /// Table: the crowd labels — long CSV/TSV (task,worker,label; for aggregation also soft
    /// answers task,worker,p_<class>…), matrix (.txt/.npy, tasks × workers, -1 = none) or
    /// peerannot answers.json.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub answers: Option<PathBuf>,

    /// Table: layout of --answers [default: from the extension: .csv/.tsv long, .txt/.npy
    /// matrix, .json peerannot].
    #[arg(
        long = "answers-format",
        value_enum,
        help_heading = "Your own data (--task table)"
    )]
    pub answers_format: Option<AnswersFormat>,

    /// Table: task ids of the rows of an .npy features file (and of matrix answers), one per
    /// line [default: row numbers].
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub tasks: Option<PathBuf>,

    /// Table: name of the task-id column of long answers and gold files.
    #[arg(
        long = "task-column",
        default_value = "task",
        help_heading = "Your own data (--task table)"
    )]
    pub task_column: String,

    /// Table: name of the worker-id column of long answers.
    #[arg(
        long = "worker-column",
        default_value = "worker",
        help_heading = "Your own data (--task table)"
    )]
    pub worker_column: String,

    /// Table: name of the label column of long answers and gold files.
    #[arg(
        long = "label-column",
        default_value = "label",
        help_heading = "Your own data (--task table)"
    )]
    pub label_column: String,

    /// Table: CSV field delimiter [default: tab for .tsv, else comma].
    #[arg(long, help_heading = "Your own data (--task table)")]
    pub delimiter: Option<char>,

    /// Table: the classes, in label order [default: the sorted set of labels, numerically
    /// when all are integers].
    #[arg(
        long,
        value_delimiter = ',',
        help_heading = "Your own data (--task table)"
    )]
    pub classes: Option<Vec<String>>,

    /// Table: a second label by the same worker for the same task is an error, or replaces
    /// the first.
    #[arg(
        long,
        value_enum,
        default_value = "error",
        help_heading = "Your own data (--task table)"
    )]
    pub duplicates: Duplicates,

    /// Table: true labels of training items, task,label (for evaluation only).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub gold: Option<PathBuf>,

    /// Table: features of validation items (with --valid-gold), for --select valid.
    #[arg(
        long = "valid-features",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub valid_features: Option<PathBuf>,

    /// Table: task ids of the rows of an .npy --valid-features.
    #[arg(
        long = "valid-tasks",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub valid_tasks: Option<PathBuf>,

    /// Table: true labels of validation items, task,label.
    #[arg(
        long = "valid-gold",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub valid_gold: Option<PathBuf>,

    /// Table: features of test items (with --test-gold).
    #[arg(
        long = "test-features",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub test_features: Option<PathBuf>,

    /// Table: task ids of the rows of an .npy --test-features.
    #[arg(
        long = "test-tasks",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub test_tasks: Option<PathBuf>,

    /// Table: true labels of test items, task,label.
    #[arg(
        long = "test-gold",
        value_name = "FILE",
        help_heading = "Your own data (--task table)"
    )]
    pub test_gold: Option<PathBuf>,

    /// The table-only flags given on the command line (filled from the parsed matches by
    /// [`DataArgs::note_table_flags`]), for refusing them on other tasks.
    #[arg(skip)]
    pub table_flags_given: Vec<String>,
}

/// The ids of the table-only flags: hidden from other tasks' help, and refused on them
/// ([`DataArgs::note_table_flags`]).
pub const TABLE_FLAGS: [&str; 16] = [
    "answers",
    "answers_format",
    "tasks",
    "task_column",
    "worker_column",
    "label_column",
    "delimiter",
    "classes",
    "duplicates",
    "gold",
    "valid_features",
    "valid_tasks",
    "valid_gold",
    "test_features",
    "test_tasks",
    "test_gold",
];

/// A labelled split of your own data from its three flags.
fn table_split(
    features: &Option<PathBuf>,
    tasks: &Option<PathBuf>,
    gold: &Option<PathBuf>,
    which: &str,
) -> anyhow::Result<Option<TableSplit>> {
    match (features, gold) {
        (Some(f), Some(g)) => Ok(Some(TableSplit {
            features: f.clone(),
            tasks: tasks.clone(),
            gold: g.clone(),
        })),
        (None, None) if tasks.is_none() => Ok(None),
        _ => bail!("--{which}-features and --{which}-gold go together"),
    }
}

impl DataArgs {
    /// Records which of [`TABLE_FLAGS`] the command line gave (`matches`: the
    /// subcommand's), so that [`DataArgs::spec`] refuses them on other tasks.
    pub fn note_table_flags(&mut self, matches: &clap::ArgMatches) {
        self.table_flags_given = TABLE_FLAGS
            .iter()
            .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
            .map(|id| format!("--{}", id.replace('_', "-")))
            .collect();
    }

    /// The task.
    pub fn task(&self) -> anyhow::Result<TaskKind> {
        self.task
            .context("--task is required (music, labelme, synthetic or table)")
    }

    /// Checks the combination and builds the data spec (`seed` seeds a synthetic crowd).
    /// `needs_features`: whether the command reads item features (training does;
    /// aggregation reads the crowd labels alone).
    pub fn spec(&self, seed: u64, needs_features: bool) -> anyhow::Result<DataSpec> {
        let task = self.task()?;
        let table = task == TaskKind::Table;
        if !table && let Some(flag) = self.table_flags_given.first() {
            bail!(
                "{flag} is for your own data (--task table); --task {} reads its own files",
                task.name()
            );
        }
        if table
            && (self.train_data.is_some() || self.valid_data.is_some() || self.test_data.is_some())
        {
            bail!(
                "--task table reads --answers and --features (and --test-features/--test-gold), not --train-data/--test-data"
            );
        }
        if task == TaskKind::Synthetic
            && (self.train_data.is_some() || self.valid_data.is_some() || self.test_data.is_some())
        {
            bail!(
                "--task synthetic generates its data; drop --train-data/--valid-data/--test-data"
            );
        }
        if matches!(task, TaskKind::Music | TaskKind::Labelme) && self.train_data.is_none() {
            bail!(
                "--task {} needs --train-data DIR (the data folder)",
                task.name()
            );
        }
        let features = match (task, &self.features) {
            (TaskKind::Labelme, Some(f)) => Some(
                <labelme::Features as clap::ValueEnum>::from_str(f, true).map_err(|_| {
                    anyhow::anyhow!("--features {f}: expected vgg or bow for --task labelme")
                })?,
            ),
            (TaskKind::Labelme, None) => Some(labelme::Features::Vgg),
            (TaskKind::Table, _) => None,
            (_, Some(_)) => bail!("--features applies to --task labelme and --task table only"),
            (_, None) => None,
        };
        let table_spec = if table {
            let answers = self
                .answers
                .clone()
                .context("--task table needs --answers FILE (the crowd labels)")?;
            let features = match &self.features {
                Some(f) => Some(PathBuf::from(f)),
                None if needs_features => {
                    bail!("--task table needs --features FILE (the item features)")
                }
                None => None,
            };
            Some(TableSpec {
                answers_format: self.answers_format,
                task_column: self.task_column.clone(),
                worker_column: self.worker_column.clone(),
                label_column: self.label_column.clone(),
                delimiter: self.delimiter,
                tasks: self.tasks.clone(),
                classes: self.classes.clone(),
                duplicates: self.duplicates,
                gold: self.gold.clone(),
                ..TableSpec::new(answers, features)
            })
        } else {
            None
        };
        let folder = || {
            self.train_data
                .clone()
                .with_context(|| format!("--task {} needs --train-data DIR", task.name()))
        };
        Ok(match task {
            TaskKind::Music => DataSpec::Music {
                train_data: folder()?,
                valid_data: self.valid_data.clone(),
                test_data: self.test_data.clone(),
            },
            TaskKind::Labelme => DataSpec::Labelme {
                train_data: folder()?,
                valid_data: self.valid_data.clone(),
                test_data: self.test_data.clone(),
                features: features.unwrap_or(labelme::Features::Vgg),
            },
            TaskKind::Synthetic => DataSpec::Synthetic(SyntheticConfig::default().with_seed(seed)),
            TaskKind::Table => DataSpec::Table {
                table: table_spec.context("--task table needs --answers FILE")?,
                valid: table_split(
                    &self.valid_features,
                    &self.valid_tasks,
                    &self.valid_gold,
                    "valid",
                )?,
                test: table_split(
                    &self.test_features,
                    &self.test_tasks,
                    &self.test_gold,
                    "test",
                )?,
            },
        })
    }
}

/// Model and optimisation settings. Defaults marked [per task] come from `--task`.
#[derive(Args, Debug, Clone)]
pub struct HyperArgs {
    /// Passes over the training items [per task].
    #[arg(long)]
    pub epochs: Option<usize>,

    /// Items per optimisation step [per task].
    #[arg(long = "batch-size", alias = "batch_size")]
    pub batch_size: Option<usize>,

    /// Adam learning rate [per task].
    #[arg(long)]
    pub lr: Option<f64>,

    /// Learning-rate schedule over the epochs: constant (the authors'), cosine (decay to 1 %)
    /// or cosine-annealing (PyTorch's CosineAnnealingLR over the epochs, to 0) [default: the
    /// recipe's: cosine-annealing for benchmark, constant otherwise].
    #[arg(long = "lr-schedule", value_enum)]
    pub lr_schedule: Option<LrSchedule>,

    /// Optimiser: adam, or radam (rectified Adam, as torch.optim.RAdam) [default: the
    /// recipe's: radam for benchmark, adam otherwise].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,

    /// λ of the regulariser −λ Σ_r ‖W_r − W_g‖_F [per task].
    #[arg(long)]
    pub scale: Option<f64>,

    /// Embedding size of the auxiliary network [per task].
    #[arg(long = "emb-dim", alias = "emb_dim")]
    pub emb_dim: Option<usize>,

    /// Dropout after the classifier's hidden layer.
    #[arg(long, default_value_t = conal::config::defaults::DROPOUT)]
    pub dropout: f64,

    /// Hidden units of the classifier.
    #[arg(long = "n-units", alias = "n_units", default_value_t = conal::config::defaults::N_UNITS)]
    pub n_units: usize,

    /// Weight initialisation of the networks.
    #[arg(long, value_enum, default_value = "torch")]
    pub init: Init,

    /// Confusion matrices of conal and crowdlayer-mw: free (the authors' unconstrained logit
    /// maps) or stochastic (row-stochastic probability matrices: `conal inspect` shows exact
    /// probabilities; crowdlayer-mw so is GeoCrowdNet's annotator model).
    #[arg(long, value_enum, default_value = "free")]
    pub confusion: Confusion,

    /// GeoCrowdNet's volume regulariser, λ·R added to every batch's loss: geo-f (R = −log
    /// det FᵀF, F the batch's class probabilities; any method) or geo-w (R = −log det WᵀW,
    /// W every annotator's confusion stacked; needs --confusion stochastic with conal or
    /// crowdlayer-mw). A batch whose R is singular, not finite or above 100 adds nothing
    /// [default: none].
    #[arg(long, value_enum)]
    pub regularizer: Option<RegularizerKind>,

    /// λ of --regularizer [default: 1e-3, the Annot-Mix benchmark's].
    #[arg(long = "reg-lambda", requires = "regularizer")]
    pub reg_lambda: Option<f64>,

    /// Classifier head: music (batch norm on input and hidden layer), labelme (none), deep
    /// (the Annot-Mix benchmark's 256 → 128 MLP with batch norm) or linear (multinomial
    /// logistic regression on the standardised features: small or easy crowds) [per task:
    /// music for music and table, labelme for labelme and synthetic; deep with the benchmark
    /// recipe].
    #[arg(long, value_enum)]
    pub head: Option<Head>,

    /// Fraction of crowd-labelled items held out for crowd-holdout selection.
    #[arg(long, default_value_t = conal::config::defaults::HOLDOUT)]
    pub holdout: f64,

    /// When Adam's moments restart: never, or every epoch as the authors' code does
    /// [default: epoch for conal on music and labelme, as the authors' code; never otherwise].
    #[arg(long = "adam-reset", value_enum)]
    pub adam_reset: Option<AdamReset>,

    /// Evaluate and keep a moving average of the weights with this decay per step (e.g. 0.9)
    /// instead of the raw weights [default: none].
    #[arg(long)]
    pub ema: Option<f64>,

    /// Training recipe: tuned (the paper's settings in a cross-fitted ensemble of 10 models),
    /// paper (the CoNAL authors' settings exactly, one model) or benchmark (the Annot-Mix
    /// benchmark's: deep head, RAdam, cosine annealing, 50 epochs of batches of 64, last
    /// epoch, one model). Other flags override it [default: benchmark for annot-mix and
    /// madl, tuned otherwise].
    #[arg(long, value_enum)]
    pub recipe: Option<Recipe>,

    /// Train N models (seeds derived from --seed; model j holds out fold j of the
    /// crowd-labelled items for selection) and predict with their averaged class
    /// probabilities [default: from --recipe: tuned 10, paper 1].
    #[arg(long)]
    pub ensemble: Option<usize>,

    /// Mixup with weights drawn from Beta(α, α) (e.g. 0.4) [default: 1 for annot-mix with
    /// the benchmark recipe, none otherwise].
    #[arg(long)]
    pub mixup: Option<f64>,

    /// What mixup blends: items (each batch with a shuffled copy, one weight per batch) or
    /// labels (every (features, annotator, label) triple with a random partner, one weight
    /// per triple, as Annot-Mix; annot-mix and conal) [default: labels for annot-mix, items
    /// otherwise].
    #[arg(long = "mixup-over", value_enum)]
    pub mixup_over: Option<MixupOver>,

    /// Adam's ε.
    #[arg(long = "adam-eps", default_value_t = conal::config::defaults::ADAM_EPS)]
    pub adam_eps: f32,

    /// L2 weight decay.
    #[arg(long = "weight-decay", default_value_t = conal::config::defaults::WEIGHT_DECAY)]
    pub weight_decay: f32,

    /// Device: cpu, or cuda / cuda:N / wgpu when built with that feature.
    #[arg(long, default_value = conal::config::defaults::DEVICE)]
    pub device: String,

    /// Data-parallel training: split every batch into N shares, compute each share's
    /// gradients in parallel on its own instance of --device, and take one step with their
    /// sum (the gradient of the whole batch's mean loss). Without batch norm and dropout
    /// this gives one device's step up to rounding.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub devices: usize,
}

impl HyperArgs {
    /// The estimator parameters of `method` on `task` with `seed` and `select` (`None`: the
    /// task's).
    pub fn run_params(
        &self,
        task: TaskKind,
        method: Method,
        seed: u64,
        select: Option<Selection>,
    ) -> RunParams {
        RunParams {
            task,
            recipe: self.recipe,
            seed,
            select,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            lr_schedule: self.lr_schedule,
            optimizer: self.optimizer,
            mixup_over: self.mixup_over,
            scale: self.scale,
            regularizer: self.regularizer,
            reg_lambda: self.reg_lambda,
            holdout: self.holdout,
            adam_reset: self.adam_reset,
            ema: self.ema,
            ensemble: self.ensemble,
            mixup: self.mixup,
            adam_eps: self.adam_eps,
            weight_decay: self.weight_decay,
            model: self.model_options(),
            device: self.device.clone(),
            devices: self.devices,
            ..RunParams::new(method)
        }
    }

    /// Architecture settings.
    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            n_units: self.n_units,
            dropout: self.dropout,
            emb_dim: self.emb_dim,
            init: self.init,
            head: self.head,
            confusion: self.confusion,
        }
    }
}

/// Flags of `conal train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// What to train.
    #[arg(long, value_enum, default_value = "conal")]
    pub method: Method,

    /// Seed of every random choice: initial weights, holdout split, batch order, dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Model selection: valid (best accuracy on --valid-data), crowd-holdout (lowest NLL of
    /// held-out items' crowd labels; honest, no true label), last, or test-peek (best test
    /// accuracy: the paper's Music protocol, reported as such) [per task].
    #[arg(long, value_enum)]
    pub select: Option<Selection>,

    #[command(flatten)]
    pub hyper: HyperArgs,

    /// Checkpoint directory: model.bpk, args.json, metrics.jsonl.
    #[arg(long = "save-dir", alias = "save_dir", value_name = "DIR")]
    pub save_dir: Option<PathBuf>,

    /// TensorBoard log directory: event files with the loss, selection metric, accuracies,
    /// learning rate and mean ω per epoch, and a copy of metrics.jsonl.
    #[arg(long = "log-dir", alias = "log_dir", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// Continue the interrupted run in --save-dir from its last saved epoch, with the settings
    /// in its args.json (the other training flags are not used).
    #[arg(long, requires = "save_dir")]
    pub resume: bool,

    /// Replace the run --save-dir already holds (without it, such a directory is refused).
    /// The old run is kept until the new one has saved its first training state.
    #[arg(long, requires = "save_dir", conflicts_with = "resume")]
    pub overwrite: bool,

    /// Save the training state (to resume from) every N epochs (0: never) [default: after
    /// every 10 s of training, and at the end].
    #[arg(long = "checkpoint-every", value_name = "N")]
    pub checkpoint_every: Option<usize>,

    /// Print a summary line every N epochs (0: never).
    #[arg(long = "log-interval", alias = "log_interval", default_value_t = 10)]
    pub log_interval: usize,

    /// Input width; read from the data, an error if given and different (seed compatibility).
    #[arg(long = "input-dim", alias = "input_dim")]
    pub input_dim: Option<usize>,

    /// Number of classes; read from the data, an error if given and different.
    #[arg(long = "n-class", alias = "n_class")]
    pub n_class: Option<usize>,

    /// Number of workers; read from the data, an error if given and different.
    #[arg(long = "n-annotator", alias = "n_annotator")]
    pub n_annotator: Option<usize>,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The command-line spelling of an enum value.
fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Shows the per-task defaults in `--help` of a command that flattens [`DataArgs`] and
/// [`HyperArgs`]. They are shown, not set: an untyped flag stays unset, so that the library
/// fills it from the recipe (the Annot-Mix benchmark's, say) and then the task, the one place
/// that resolves settings.
pub fn with_task_defaults(cmd: clap::Command, task: TaskKind) -> clap::Command {
    fn show(a: clap::Arg, value: String) -> clap::Arg {
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        a.help(format!("{help} [default: {value}]"))
    }
    let d = Defaults::of(task, Recipe::Tuned, Method::Conal);
    let mut cmd = cmd
        .mut_arg("epochs", |a| show(a, d.epochs.to_string()))
        .mut_arg("batch_size", |a| show(a, d.batch_size.to_string()))
        .mut_arg("lr", |a| show(a, d.lr.to_string()))
        .mut_arg("scale", |a| show(a, d.scale.to_string()))
        .mut_arg("emb_dim", |a| show(a, d.emb_dim.to_string()));
    if cmd.get_arguments().any(|a| a.get_id() == "select") {
        let select = value_name(&d.select);
        cmd = cmd.mut_arg("select", |a| show(a, select));
    }
    hide_features_unless_labelme(cmd, task)
}

/// Shows each task's own data flags only: `--features` (with its meaning) for LabelMe and
/// table, the folder flags for the built-in data sets, the file flags for table.
pub fn hide_features_unless_labelme(mut cmd: clap::Command, task: TaskKind) -> clap::Command {
    cmd = match task {
        TaskKind::Labelme => cmd.mut_arg("features", |a| {
            a.default_value("vgg")
                .help("vgg (the paper's 4x4x512 maps when prepared/ has them, else the 512-d pooled ones) or bow (bag of visual words)")
        }),
        TaskKind::Table => cmd.mut_arg("features", |a| {
            a.value_name("FILE")
                .help("Item features: CSV (task id, then numbers; a header row is skipped) or .npy (rows in --tasks order)")
        }),
        TaskKind::Music | TaskKind::Synthetic => cmd.mut_arg("features", |a| a.hide(true)),
    };
    if matches!(task, TaskKind::Synthetic | TaskKind::Table) {
        for id in ["train_data", "valid_data", "test_data"] {
            cmd = cmd.mut_arg(id, |a| a.hide(true));
        }
    }
    if task != TaskKind::Table {
        for id in TABLE_FLAGS {
            cmd = cmd.mut_arg(id, |a| a.hide(true));
        }
    }
    cmd
}

impl TrainArgs {
    /// Resolves the flags into the data spec and the estimator parameters.
    pub fn resolve(&self) -> anyhow::Result<(DataSpec, RunParams)> {
        let data = self.data.spec(self.seed, true)?;
        let task = self.data.task()?;
        // Settings of one model family given to another: refused, not silently ignored.
        let m = self.method;
        for (flag, given, applies, to) in [
            (
                "--emb-dim",
                self.hyper.emb_dim.is_some(),
                m == Method::Conal,
                "conal",
            ),
            (
                "--scale",
                self.hyper.scale.is_some(),
                m == Method::Conal,
                "conal",
            ),
            (
                "--confusion stochastic",
                self.hyper.confusion == Confusion::Stochastic,
                matches!(m, Method::Conal | Method::CrowdlayerMw),
                "conal and crowdlayer-mw",
            ),
        ] {
            if given && !applies {
                bail!("{flag} applies to {to} only, not to --method {}", m.name());
            }
        }
        let params = self
            .hyper
            .run_params(task, self.method, self.seed, self.select);
        Ok((data, params))
    }

    /// Checks the seed's explicit shape flags (`--input-dim`, `--n-class`, `--n-annotator`)
    /// against the data.
    pub fn check_shape(&self, crowd: &conal::data::CrowdData) -> anyhow::Result<()> {
        for (flag, given, actual, what) in [
            (
                "--input-dim",
                self.input_dim,
                crowd.n_features(),
                "features",
            ),
            ("--n-class", self.n_class, crowd.n_classes(), "classes"),
            (
                "--n-annotator",
                self.n_annotator,
                crowd.n_workers(),
                "workers",
            ),
        ] {
            if let Some(g) = given
                && g != actual
            {
                bail!("{flag} {g} contradicts the data, which has {actual} {what}");
            }
        }
        Ok(())
    }
}
