//! Where a run's data comes from: the built-in tasks, a generated crowd, your own files, or
//! arrays given in memory. (The training settings each task implies live in
//! [`crate::train::defaults`].)

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::synthetic::SyntheticConfig;
use crate::data::table::TableSpec;
use crate::data::{CrowdData, LabeledSet, TaskData, labelme, music};
use crate::error::{DataError, Error, Result};

/// A built-in task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Music genre (Rodrigues et al.): 700 songs, 44 workers, 10 genres, 124 audio features.
    Music,
    /// LabelMe scenes (Rodrigues & Pereira): 1,000 images, 59 workers, 8 classes.
    Labelme,
    /// A generated crowd with known confusions (`conal demo`).
    Synthetic,
    /// Your own data from files: crowd labels (long CSV/TSV, matrix or peerannot JSON) and
    /// features (CSV or .npy); see `conal::data::table`.
    Table,
}

impl TaskKind {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Music => "music",
            TaskKind::Labelme => "labelme",
            TaskKind::Synthetic => "synthetic",
            TaskKind::Table => "table",
        }
    }
}

/// Where a run's data comes from. Saved in `args.json`, so that `conal test` can read test
/// data the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// The task.
    pub task: TaskKind,
    /// The data folder (Music or LabelMe layout); none for a synthetic crowd.
    pub train_data: Option<PathBuf>,
    /// Validation data with true labels: a LabelMe folder (its valid split) or a Music songs
    /// CSV.
    pub valid_data: Option<PathBuf>,
    /// Test data with true labels: a LabelMe folder (its test split), a Music songs CSV or a
    /// Music folder (its `music_genre_test.csv`).
    pub test_data: Option<PathBuf>,
    /// LabelMe features.
    pub features: Option<labelme::Features>,
    /// The generated crowd's parameters.
    pub synthetic: Option<SyntheticConfig>,
    /// Your own data's files (`--task table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableSpec>,
    /// A validation split of your own data (`--valid-features`, `--valid-gold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_valid: Option<TableSplit>,
    /// A test split of your own data (`--test-features`, `--test-gold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_test: Option<TableSplit>,
}

/// A labelled split of your own data: features (CSV or .npy with task ids) and `task,label`
/// true labels for some or all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSplit {
    /// Item features.
    pub features: PathBuf,
    /// Task ids of .npy feature rows.
    pub tasks: Option<PathBuf>,
    /// True labels, `task,label`.
    pub gold: PathBuf,
}

/// Where a labelled split comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LabeledSource {
    /// A built-in task's file or folder.
    Path(PathBuf),
    /// Your own data's features and true labels.
    Table(TableSplit),
}

impl LabeledSource {
    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            LabeledSource::Path(p) => p.display().to_string(),
            LabeledSource::Table(t) => format!("{} + {}", t.features.display(), t.gold.display()),
        }
    }
}

impl DataSpec {
    /// Data given in memory (the estimator API): nothing to reload. Saved as `--task table`
    /// without files, so that `conal test` scores such a model on test files with
    /// `--test-features` and `--test-gold`.
    pub fn memory() -> Self {
        DataSpec {
            task: TaskKind::Table,
            train_data: None,
            valid_data: None,
            test_data: None,
            features: None,
            synthetic: None,
            table: None,
            table_valid: None,
            table_test: None,
        }
    }

    /// A generated crowd.
    pub fn synthetic(config: SyntheticConfig) -> Self {
        DataSpec {
            task: TaskKind::Synthetic,
            train_data: None,
            valid_data: None,
            test_data: None,
            features: None,
            synthetic: Some(config),
            table: None,
            table_valid: None,
            table_test: None,
        }
    }

    fn train_dir(&self) -> Result<&Path> {
        self.train_data.as_deref().ok_or_else(|| {
            Error::Config(format!(
                "--task {} needs --train-data (the data folder)",
                self.task.name()
            ))
        })
    }

    /// Loads the training crowd and whichever of the validation and test splits were given.
    pub fn load(&self) -> Result<TaskData> {
        match self.task {
            // The generated test split is part of the generated task.
            TaskKind::Synthetic => Ok(self.synthetic.clone().unwrap_or_default().generate()?.data),
            TaskKind::Music | TaskKind::Labelme | TaskKind::Table => {
                let train = self.load_train()?;
                let valid = match self.source(Split::Valid) {
                    Some(src) => Some(self.load_labeled(&src, Split::Valid, &train)?),
                    None => None,
                };
                let test = match self.source(Split::Test) {
                    Some(src) => Some(self.load_labeled(&src, Split::Test, &train)?),
                    None => None,
                };
                Ok(TaskData { train, valid, test })
            }
        }
    }

    /// Where the validation or test split given at training comes from, if one was.
    pub fn source(&self, split: Split) -> Option<LabeledSource> {
        match (self.task, split) {
            (TaskKind::Table, Split::Valid) => self.table_valid.clone().map(LabeledSource::Table),
            (TaskKind::Table, Split::Test) => self.table_test.clone().map(LabeledSource::Table),
            (_, Split::Valid) => self.valid_data.clone().map(LabeledSource::Path),
            (_, Split::Test) => self.test_data.clone().map(LabeledSource::Path),
        }
    }

    fn table(&self) -> Result<&TableSpec> {
        self.table.as_ref().ok_or_else(|| {
            Error::Config(
                "the model was fitted on data given in memory: there are no files to reload \
                 its training data from"
                    .into(),
            )
        })
    }

    /// Loads only the training crowd's labels (and true labels), not the features: what
    /// aggregation needs. Your own data needs no features file for it.
    pub fn load_labels(&self) -> Result<crate::data::CrowdLabels> {
        match self.task {
            TaskKind::Table => Ok(self.table()?.load_labels()?),
            _ => Ok(self.load_train()?.labels),
        }
    }

    /// Loads only the training crowd.
    pub fn load_train(&self) -> Result<CrowdData> {
        Ok(match self.task {
            TaskKind::Table => self.table()?.load()?,
            TaskKind::Music => music::load(self.train_dir()?)?,
            TaskKind::Labelme => labelme::load(self.train_dir()?, self.labelme_features())?,
            TaskKind::Synthetic => {
                self.synthetic
                    .clone()
                    .unwrap_or_default()
                    .generate()?
                    .data
                    .train
            }
        })
    }

    fn labelme_features(&self) -> labelme::Features {
        self.features.unwrap_or(labelme::Features::Vgg)
    }

    /// Loads a labelled split for a model trained on `train`'s classes and feature width.
    pub fn load_labeled(
        &self,
        src: &LabeledSource,
        split: Split,
        train: &CrowdData,
    ) -> Result<LabeledSet> {
        self.load_labeled_for(src, split, &train.classes, train.n_features())
    }

    /// Loads a labelled split for a model with these classes and feature width.
    pub fn load_labeled_for(
        &self,
        src: &LabeledSource,
        split: Split,
        classes: &[String],
        n_features: usize,
    ) -> Result<LabeledSet> {
        let set = match (src, self.task) {
            (LabeledSource::Table(t), TaskKind::Table) => self
                .table
                .clone()
                // A model fitted in memory reads test files with the default columns.
                .unwrap_or_else(|| TableSpec::new(PathBuf::new(), None))
                .load_labeled(
                    &t.features,
                    t.tasks.as_deref(),
                    &t.gold,
                    classes,
                    n_features,
                )?,
            (LabeledSource::Path(path), TaskKind::Music) => {
                music::load_labeled(&music::labeled_path(path), classes, n_features)?
            }
            (LabeledSource::Path(path), TaskKind::Labelme) => {
                let features = self.labelme_features();
                let bow_dim = (features == labelme::Features::Bow).then_some(n_features);
                let split = match split {
                    Split::Valid => labelme::Split::Valid,
                    Split::Test => labelme::Split::Test,
                };
                labelme::load_labeled(path, split, features, bow_dim)?
            }
            (LabeledSource::Path(_), TaskKind::Table) => {
                return Err(Error::Config(
                    "--task table reads labelled data from --test-features and --test-gold".into(),
                ));
            }
            (LabeledSource::Table(_), task) => {
                return Err(Error::Config(format!(
                    "--test-features/--test-gold are for --task table; --task {} reads --test-data",
                    task.name()
                )));
            }
            (LabeledSource::Path(_), TaskKind::Synthetic) => {
                return Err(Error::Config(
                    "the synthetic task generates its own test split; it reads no test file".into(),
                ));
            }
        };
        if set.features.cols() != n_features {
            return Err(DataError::Invalid(format!(
                "{}: items have {} features, the model was trained on {n_features}",
                src.describe(),
                set.features.cols()
            ))
            .into());
        }
        Ok(set)
    }
}

/// A labelled split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Validation.
    Valid,
    /// Test.
    Test,
}
