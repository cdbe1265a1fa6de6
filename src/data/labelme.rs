//! The LabelMe 8-scene crowd data set in the Rodrigues & Pereira (2018) folder layout.
//!
//! - `answers.txt`: N × R integers, one column per worker, `-1` = no label. Columns that are
//!   entirely empty are dropped (the public file has 77 columns, 18 empty → 59 workers); a
//!   worker keeps its 0-based column number as its id.
//! - `labels_{train,valid,test}.txt`: the true class per image (0–7).
//! - `filenames_{split}.txt` (optional): image names, used as item ids.
//! - features, chosen with [`Features`]:
//!   - [`Features::Vgg`]: `prepared/data_{split}_vgg16.npy` (N × 4 × 4 × 512, the paper's
//!     features, flattened; training answers then come from `prepared/answers.npy`) when
//!     present, else `pylearningcrowds/LabelMe_VGG_avg_{split}.npy` (N × 512, pooled);
//!   - [`Features::Bow`]: `data_{split}.txt`, 200-word SIFT bag-of-visual-words counts in
//!     LDA-C format, scaled to proportions × 200 (so a feature averages 1).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::text::{read_int_column, read_int_matrix, read_ldac, read_string_column};
use crate::data::{Annotation, CrowdData, LabeledSet, Matrix, npy};
use crate::error::DataError;

/// The eight scene classes, in label order.
pub const CLASSES: [&str; 8] = [
    "highway",
    "insidecity",
    "tallbuilding",
    "street",
    "forest",
    "coast",
    "mountain",
    "opencountry",
];

/// Which instance features to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Features {
    /// VGG16 ImageNet features: the paper's 4×4×512 maps when present, else 512-d pooled.
    Vgg,
    /// 200-word SIFT bag of visual words (LDA-C counts).
    Bow,
}

/// A data split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Crowd-labelled training images.
    Train,
    /// Validation images with true labels.
    Valid,
    /// Test images with true labels.
    Test,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

fn prepared(dir: &Path, split: Split) -> PathBuf {
    dir.join("prepared")
        .join(format!("data_{}_vgg16.npy", split.name()))
}

fn pooled(dir: &Path, split: Split) -> PathBuf {
    dir.join("pylearningcrowds")
        .join(format!("LabelMe_VGG_avg_{}.npy", split.name()))
}

/// Whether this folder uses the paper's prepared (augmented) VGG features.
fn uses_prepared(dir: &Path, features: Features) -> bool {
    features == Features::Vgg && prepared(dir, Split::Train).is_file()
}

/// Reads the features of one split. `bow_dim` is the vocabulary size (from training).
pub fn read_features(
    dir: &Path,
    split: Split,
    features: Features,
    bow_dim: Option<usize>,
) -> Result<Matrix, DataError> {
    match features {
        Features::Vgg => {
            let path = if uses_prepared(dir, features) {
                prepared(dir, split)
            } else {
                pooled(dir, split)
            };
            if !path.is_file() {
                return Err(DataError::file(
                    &path,
                    format!(
                        "not found; the VGG features need {} or {}",
                        pooled(dir, split).display(),
                        prepared(dir, split).display()
                    ),
                ));
            }
            npy::read_f32_matrix(&path)
        }
        Features::Bow => {
            let path = dir.join(format!("data_{}.txt", split.name()));
            let (dim, rows) = read_ldac(&path, bow_dim)?;
            let cells = rows
                .len()
                .checked_mul(dim)
                .filter(|&c| c <= 1 << 31)
                .ok_or_else(|| {
                    DataError::file(
                        &path,
                        format!(
                            "{} rows of {dim} words are too many to hold densely",
                            rows.len()
                        ),
                    )
                })?;
            let mut data = vec![0f32; cells];
            for (i, row) in rows.iter().enumerate() {
                let total: f32 = row.iter().map(|&(_, c)| c).sum();
                let scale = if total > 0.0 { dim as f32 / total } else { 0.0 };
                for &(j, c) in row {
                    data[i * dim + j] += c * scale;
                }
            }
            Matrix::new(rows.len(), dim, data)
        }
    }
}

fn read_labels(path: &Path) -> Result<Vec<u32>, DataError> {
    read_int_column(path)?
        .into_iter()
        .enumerate()
        .map(|(i, y)| {
            u32::try_from(y)
                .ok()
                .filter(|&y| (y as usize) < CLASSES.len())
                .ok_or_else(|| {
                    DataError::parse(
                        path,
                        i as u64 + 1,
                        format!("expected a class 0..{}, found {y}", CLASSES.len() - 1),
                    )
                })
        })
        .collect()
}

fn read_item_ids(dir: &Path, split: Split, n: usize) -> Result<Vec<String>, DataError> {
    let path = dir.join(format!("filenames_{}.txt", split.name()));
    if path.is_file() && !uses_prepared(dir, Features::Vgg) {
        let names = read_string_column(&path)?;
        if names.len() != n {
            return Err(DataError::file(
                &path,
                format!("{} names for {n} images", names.len()),
            ));
        }
        Ok(names)
    } else {
        Ok((0..n).map(|i| format!("{}-{i}", split.name())).collect())
    }
}

/// Loads a labelled split (valid or test) with true labels.
pub fn load_labeled(
    dir: &Path,
    split: Split,
    features: Features,
    bow_dim: Option<usize>,
) -> Result<LabeledSet, DataError> {
    let x = read_features(dir, split, features, bow_dim)?;
    let labels_path = dir.join(format!("labels_{}.txt", split.name()));
    let truth = read_labels(&labels_path)?;
    if truth.len() != x.rows() {
        return Err(DataError::file(
            &labels_path,
            format!("{} labels for {} feature rows", truth.len(), x.rows()),
        ));
    }
    let items = read_item_ids(dir, split, truth.len())?;
    LabeledSet::new(x, truth, items, CLASSES.len())
}

/// Loads the crowd-labelled training images (with their true labels when the folder has them,
/// for evaluation only).
pub fn load(dir: &Path, features: Features) -> Result<CrowdData, DataError> {
    if !dir.is_dir() {
        return Err(DataError::file(
            dir,
            "not a directory (expected the LabelMe data folder)",
        ));
    }
    let x = read_features(dir, Split::Train, features, None)?;
    let (answers_path, (n, r, answers)) = if uses_prepared(dir, features) {
        let path = dir.join("prepared").join("answers.npy");
        let m = npy::read_i64_matrix(&path)?;
        (path, m)
    } else {
        let path = dir.join("answers.txt");
        let (cols, values) = read_int_matrix(&path)?;
        (path, (values.len() / cols.max(1), cols, values))
    };
    if n != x.rows() {
        return Err(DataError::file(
            &answers_path,
            format!(
                "{n} rows of answers for {} rows of training features",
                x.rows()
            ),
        ));
    }
    let mut column_used = vec![false; r];
    for (idx, &v) in answers.iter().enumerate() {
        if v == -1 {
            continue;
        }
        if v < 0 || v as usize >= CLASSES.len() {
            return Err(DataError::parse(
                &answers_path,
                (idx / r) as u64 + 1,
                format!(
                    "column {}: expected -1 (no label) or a class 0..{}, found {v}",
                    idx % r,
                    CLASSES.len() - 1
                ),
            ));
        }
        column_used[idx % r] = true;
    }
    let kept: Vec<usize> = (0..r).filter(|&c| column_used[c]).collect();
    let dropped = r - kept.len();
    if dropped > 0 {
        tracing::info!(
            "{}: dropped {dropped} worker columns with no label, {} workers left",
            answers_path.display(),
            kept.len()
        );
    }
    let mut worker_of_column = vec![u32::MAX; r];
    for (w, &c) in kept.iter().enumerate() {
        worker_of_column[c] = w as u32;
    }
    let annotations: Vec<Annotation> = answers
        .iter()
        .enumerate()
        .filter(|&(_, &v)| v >= 0)
        .map(|(idx, &v)| Annotation {
            item: (idx / r) as u32,
            worker: worker_of_column[idx % r],
            label: v as u32,
        })
        .collect();
    let labels_path = dir.join("labels_train.txt");
    let truth = if labels_path.is_file() && !uses_prepared(dir, features) {
        let t = read_labels(&labels_path)?;
        if t.len() != n {
            return Err(DataError::file(
                &labels_path,
                format!("{} labels for {n} training images", t.len()),
            ));
        }
        Some(t.into_iter().map(Some).collect())
    } else {
        None
    };
    let items = read_item_ids(dir, Split::Train, n)?;
    CrowdData::new(
        x,
        annotations,
        CLASSES.iter().map(|c| c.to_string()).collect(),
        kept.iter().map(|c| c.to_string()).collect(),
        items,
        truth,
    )
}
