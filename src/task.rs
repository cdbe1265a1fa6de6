//! The built-in tasks: where their data comes from and the settings the authors used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::synthetic::SyntheticConfig;
use crate::data::{CrowdData, LabeledSet, TaskData, labelme, music};
use crate::error::{DataError, Error, Result};
use crate::train::{AdamReset, Selection};

/// A built-in task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Music genre (Rodrigues et al.): 700 songs, 44 workers, 10 genres, 124 audio features.
    Music,
    /// LabelMe scenes (Rodrigues & Pereira): 1,000 images, 59 workers, 8 classes.
    Labelme,
    /// A generated crowd with known confusions (`conal demo`).
    Synthetic,
}

impl TaskKind {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Music => "music",
            TaskKind::Labelme => "labelme",
            TaskKind::Synthetic => "synthetic",
        }
    }

    /// The task's default settings.
    pub fn defaults(self) -> TaskDefaults {
        match self {
            // The authors' Music settings: full batch (700 songs < 1024), 200 epochs, Adam
            // re-created every epoch as their code does.
            TaskKind::Music => TaskDefaults {
                epochs: 200,
                batch_size: 1024,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 80,
                normalize_instance: false,
                batch_norm: true,
                select: Selection::CrowdHoldout,
                adam_reset: AdamReset::Epoch,
            },
            // The authors' LabelMe settings (batch 1024, lr 1e-2, Adam re-created every epoch),
            // with 500 epochs: their 100 epochs are ~1,000 steps on the 10,000 augmented images
            // but only 100 full-batch steps on the 1,000 published ones.
            TaskKind::Labelme => TaskDefaults {
                epochs: 500,
                batch_size: 1024,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 20,
                normalize_instance: true,
                batch_norm: false,
                select: Selection::Valid,
                adam_reset: AdamReset::Epoch,
            },
            TaskKind::Synthetic => TaskDefaults {
                epochs: 100,
                batch_size: 256,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 20,
                normalize_instance: true,
                batch_norm: false,
                select: Selection::CrowdHoldout,
                adam_reset: AdamReset::Never,
            },
        }
    }
}

/// Settings that differ between tasks (every one can be overridden on the command line).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefaults {
    /// `--epochs`.
    pub epochs: usize,
    /// `--batch-size`.
    pub batch_size: usize,
    /// `--lr`.
    pub lr: f64,
    /// `--scale` (λ).
    pub scale: f64,
    /// `--emb-dim` (E).
    pub emb_dim: usize,
    /// Whether the auxiliary network normalises the instance embedding.
    pub normalize_instance: bool,
    /// Whether the classifier head batch-normalises its input and hidden layer (Music head).
    pub batch_norm: bool,
    /// `--select`.
    pub select: Selection,
    /// `--adam-reset` for CoNAL (other methods use standard Adam, see
    /// [`Method::adam_reset`](crate::run::Method::adam_reset)).
    pub adam_reset: AdamReset,
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
}

impl DataSpec {
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
            TaskKind::Music | TaskKind::Labelme => {
                let train = self.load_train()?;
                let valid = match &self.valid_data {
                    Some(p) => Some(self.load_labeled(p, Split::Valid, &train)?),
                    None => None,
                };
                let test = match &self.test_data {
                    Some(p) => Some(self.load_labeled(p, Split::Test, &train)?),
                    None => None,
                };
                Ok(TaskData { train, valid, test })
            }
        }
    }

    /// Loads only the training crowd.
    pub fn load_train(&self) -> Result<CrowdData> {
        Ok(match self.task {
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

    /// Loads a labelled split from `path` for a model trained on `train`'s classes and
    /// feature width.
    pub fn load_labeled(&self, path: &Path, split: Split, train: &CrowdData) -> Result<LabeledSet> {
        self.load_labeled_for(path, split, &train.classes, train.n_features())
    }

    /// Loads a labelled split from `path` for a model with these classes and feature width.
    pub fn load_labeled_for(
        &self,
        path: &Path,
        split: Split,
        classes: &[String],
        n_features: usize,
    ) -> Result<LabeledSet> {
        let set = match self.task {
            TaskKind::Music => {
                music::load_labeled(&music::labeled_path(path), classes, n_features)?
            }
            TaskKind::Labelme => {
                let features = self.labelme_features();
                let bow_dim = (features == labelme::Features::Bow).then_some(n_features);
                let split = match split {
                    Split::Valid => labelme::Split::Valid,
                    Split::Test => labelme::Split::Test,
                };
                labelme::load_labeled(path, split, features, bow_dim)?
            }
            TaskKind::Synthetic => {
                return Err(Error::Config(
                    "the synthetic task generates its own test split; it reads no test file".into(),
                ));
            }
        };
        if set.features.cols() != n_features {
            return Err(DataError::Invalid(format!(
                "{}: items have {} features, the model was trained on {n_features}",
                path.display(),
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
