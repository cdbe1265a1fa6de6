//! Where a run's data comes from: the built-in tasks, a generated crowd, your own files, or
//! arrays given in memory. (The training settings each task implies live in
//! [`crate::train::defaults`].)

use std::path::PathBuf;

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

/// Where a run's data comes from. Saved in `args.json` (in the flat layout of
/// [`DataSpecFile`], so that files written before this type was an enum still load), so that
/// `conal test` and `conal train --resume` can read the data the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "DataSpecFile", try_from = "DataSpecFile")]
// One per run, never in a collection: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum DataSpec {
    /// Music genre (Rodrigues et al.).
    Music {
        /// The data folder (`music_genre_gold.csv`, `music_genre_mturk.csv`).
        train_data: PathBuf,
        /// Validation songs with true labels (a songs CSV).
        valid_data: Option<PathBuf>,
        /// Test songs with true labels (a songs CSV, or a folder holding
        /// `music_genre_test.csv`).
        test_data: Option<PathBuf>,
    },
    /// LabelMe scenes (Rodrigues & Pereira).
    Labelme {
        /// The data folder (answers, labels and features).
        train_data: PathBuf,
        /// A LabelMe folder whose validation split is used.
        valid_data: Option<PathBuf>,
        /// A LabelMe folder whose test split is used.
        test_data: Option<PathBuf>,
        /// Which features.
        features: labelme::Features,
    },
    /// A generated crowd with known confusions (its test split is generated with it).
    Synthetic(SyntheticConfig),
    /// Your own data's files.
    Table {
        /// Crowd labels, features and options.
        table: TableSpec,
        /// A labelled validation split.
        valid: Option<TableSplit>,
        /// A labelled test split.
        test: Option<TableSplit>,
    },
    /// Arrays given in memory (the estimator API): nothing to reload. Test files are read as
    /// your own data's (`conal test --test-features … --test-gold …`).
    Memory,
}

/// `args.json`'s layout of a [`DataSpec`]: one object with every field, those a task does not
/// use `null` (or absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpecFile {
    /// The task.
    pub task: TaskKind,
    /// The data folder (Music or LabelMe layout); none for a synthetic crowd.
    pub train_data: Option<PathBuf>,
    /// Validation data with true labels.
    pub valid_data: Option<PathBuf>,
    /// Test data with true labels.
    pub test_data: Option<PathBuf>,
    /// LabelMe features.
    pub features: Option<labelme::Features>,
    /// The generated crowd's parameters.
    pub synthetic: Option<SyntheticConfig>,
    /// Your own data's files (`--task table`); absent for data given in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableSpec>,
    /// A validation split of your own data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_valid: Option<TableSplit>,
    /// A test split of your own data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_test: Option<TableSplit>,
}

impl From<DataSpec> for DataSpecFile {
    fn from(spec: DataSpec) -> Self {
        let mut file = DataSpecFile {
            task: spec.task(),
            train_data: None,
            valid_data: None,
            test_data: None,
            features: None,
            synthetic: None,
            table: None,
            table_valid: None,
            table_test: None,
        };
        match spec {
            DataSpec::Music {
                train_data,
                valid_data,
                test_data,
            } => {
                file.train_data = Some(train_data);
                file.valid_data = valid_data;
                file.test_data = test_data;
            }
            DataSpec::Labelme {
                train_data,
                valid_data,
                test_data,
                features,
            } => {
                file.train_data = Some(train_data);
                file.valid_data = valid_data;
                file.test_data = test_data;
                file.features = Some(features);
            }
            DataSpec::Synthetic(config) => file.synthetic = Some(config),
            DataSpec::Table { table, valid, test } => {
                file.table = Some(table);
                file.table_valid = valid;
                file.table_test = test;
            }
            DataSpec::Memory => {}
        }
        file
    }
}

impl TryFrom<DataSpecFile> for DataSpec {
    type Error = String;
    fn try_from(f: DataSpecFile) -> std::result::Result<Self, String> {
        let folder = |train: Option<PathBuf>| {
            train
                .ok_or_else(|| format!("task {} needs train_data (the data folder)", f.task.name()))
        };
        Ok(match f.task {
            TaskKind::Music => DataSpec::Music {
                train_data: folder(f.train_data.clone())?,
                valid_data: f.valid_data,
                test_data: f.test_data,
            },
            TaskKind::Labelme => DataSpec::Labelme {
                train_data: folder(f.train_data.clone())?,
                valid_data: f.valid_data,
                test_data: f.test_data,
                features: f.features.unwrap_or(labelme::Features::Vgg),
            },
            TaskKind::Synthetic => DataSpec::Synthetic(f.synthetic.unwrap_or_default()),
            TaskKind::Table => match f.table {
                Some(table) => DataSpec::Table {
                    table,
                    valid: f.table_valid,
                    test: f.table_test,
                },
                None => DataSpec::Memory,
            },
        })
    }
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
    /// Data given in memory.
    pub fn memory() -> Self {
        DataSpec::Memory
    }

    /// A generated crowd.
    pub fn synthetic(config: SyntheticConfig) -> Self {
        DataSpec::Synthetic(config)
    }

    /// The task (data given in memory counts as your own data, `Table`).
    pub fn task(&self) -> TaskKind {
        match self {
            DataSpec::Music { .. } => TaskKind::Music,
            DataSpec::Labelme { .. } => TaskKind::Labelme,
            DataSpec::Synthetic(_) => TaskKind::Synthetic,
            DataSpec::Table { .. } | DataSpec::Memory => TaskKind::Table,
        }
    }

    /// Loads the training crowd and whichever of the validation and test splits were given.
    pub fn load(&self) -> Result<TaskData> {
        if let DataSpec::Synthetic(config) = self {
            // The generated test split is part of the generated task.
            return Ok(config.generate()?.data);
        }
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

    /// Where the validation or test split given at training comes from, if one was.
    pub fn source(&self, split: Split) -> Option<LabeledSource> {
        let pick = |valid: &Option<PathBuf>, test: &Option<PathBuf>| match split {
            Split::Valid => valid.clone().map(LabeledSource::Path),
            Split::Test => test.clone().map(LabeledSource::Path),
        };
        match self {
            DataSpec::Music {
                valid_data,
                test_data,
                ..
            }
            | DataSpec::Labelme {
                valid_data,
                test_data,
                ..
            } => pick(valid_data, test_data),
            DataSpec::Table { valid, test, .. } => match split {
                Split::Valid => valid.clone().map(LabeledSource::Table),
                Split::Test => test.clone().map(LabeledSource::Table),
            },
            DataSpec::Synthetic(_) | DataSpec::Memory => None,
        }
    }

    /// Loads only the training crowd.
    pub fn load_train(&self) -> Result<CrowdData> {
        Ok(match self {
            DataSpec::Table { table, .. } => table.load()?,
            DataSpec::Music { train_data, .. } => music::load(train_data)?,
            DataSpec::Labelme {
                train_data,
                features,
                ..
            } => labelme::load(train_data, *features)?,
            DataSpec::Synthetic(config) => config.generate()?.data.train,
            DataSpec::Memory => return Err(memory_has_no_files()),
        })
    }

    /// Loads only the training crowd's labels (and true labels), not the features: what
    /// aggregation needs. Your own data needs no features file for it.
    pub fn load_labels(&self) -> Result<crate::data::CrowdLabels> {
        match self {
            DataSpec::Table { table, .. } => Ok(table.load_labels()?),
            _ => Ok(self.load_train()?.labels),
        }
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
        let set = match (src, self) {
            (LabeledSource::Table(t), DataSpec::Table { table, .. }) => table.load_labeled(
                &t.features,
                t.tasks.as_deref(),
                &t.gold,
                classes,
                n_features,
            )?,
            // A model fitted in memory reads test files with the default columns.
            (LabeledSource::Table(t), DataSpec::Memory) => TableSpec::new(PathBuf::new(), None)
                .load_labeled(
                    &t.features,
                    t.tasks.as_deref(),
                    &t.gold,
                    classes,
                    n_features,
                )?,
            (LabeledSource::Path(path), DataSpec::Music { .. }) => {
                music::load_labeled(&music::labeled_path(path), classes, n_features)?
            }
            (LabeledSource::Path(path), DataSpec::Labelme { features, .. }) => {
                let bow_dim = (*features == labelme::Features::Bow).then_some(n_features);
                let split = match split {
                    Split::Valid => labelme::Split::Valid,
                    Split::Test => labelme::Split::Test,
                };
                labelme::load_labeled(path, split, *features, bow_dim)?
            }
            (LabeledSource::Path(_), DataSpec::Table { .. } | DataSpec::Memory) => {
                return Err(Error::Unsupported(
                    "your own data's labelled splits are read from a features and a gold file, \
                     not a data folder"
                        .into(),
                ));
            }
            (LabeledSource::Table(_), spec) => {
                return Err(Error::Unsupported(format!(
                    "features and gold files are for your own data; task {} reads its own test \
                     data folder",
                    spec.task().name()
                )));
            }
            (LabeledSource::Path(_), DataSpec::Synthetic(_)) => {
                return Err(Error::Unsupported(
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

fn memory_has_no_files() -> Error {
    Error::Unsupported(
        "the model was fitted on data given in memory: there are no files to reload its \
         training data from"
            .into(),
    )
}

/// A labelled split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Validation.
    Valid,
    /// Test.
    Test,
}
