//! The public Music genre data set (Rodrigues et al. 2013), as its CSV files are published.
//!
//! A folder with `music_genre_gold.csv` (the 700 training songs: `id, feature0..feature123,
//! class`, the class being the true genre), `music_genre_mturk.csv` (one row per crowd answer:
//! `id, annotator, feature…, class`, the class being the worker's answer) and optionally
//! `music_genre_test.csv` (same layout as gold). The `id` column names the genre and is never
//! used as a feature. Classes are sorted alphabetically; workers are numbered in order of first
//! appearance in the answers file.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::data::{Annotation, CrowdData, LabeledSet, Matrix};
use crate::error::DataError;

/// Training songs with true labels.
pub const GOLD: &str = "music_genre_gold.csv";
/// Crowd answers.
pub const ANSWERS: &str = "music_genre_mturk.csv";
/// Test songs with true labels.
pub const TEST: &str = "music_genre_test.csv";

/// One row of a songs file: id, features, class name; `line` is the 1-based file line.
struct SongRow {
    id: String,
    features: Vec<f32>,
    class: String,
    line: u64,
}

/// A songs file: feature column names, and rows with the annotator when the column exists.
type Songs = (Vec<String>, Vec<(SongRow, Option<String>)>);

/// Reads a songs CSV (`id, <features…>, class` with optional `annotator` column) with a header.
fn read_songs(path: &Path) -> Result<Songs, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect::<Vec<_>>();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let id_col = find("id").ok_or_else(|| {
        DataError::parse(
            path,
            1,
            format!("expected an 'id' column in the header, found {headers:?}"),
        )
    })?;
    let class_col = find("class")
        .ok_or_else(|| DataError::parse(path, 1, "expected a 'class' column in the header"))?;
    let annotator_col = find("annotator");
    let feature_cols: Vec<usize> = (0..headers.len())
        .filter(|&c| c != id_col && c != class_col && Some(c) != annotator_col)
        .collect();
    if feature_cols.is_empty() {
        return Err(DataError::parse(
            path,
            1,
            "no feature columns besides id and class",
        ));
    }
    let names = feature_cols.iter().map(|&c| headers[c].clone()).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut features = Vec::with_capacity(feature_cols.len());
        for &c in &feature_cols {
            let field = record[c].trim();
            let v: f32 = field.parse().map_err(|_| {
                DataError::parse(
                    path,
                    line,
                    format!(
                        "column {:?}: expected a number, found {field:?}",
                        headers[c]
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(DataError::parse(
                    path,
                    line,
                    format!("column {:?}: feature is not finite ({field})", headers[c]),
                ));
            }
            features.push(v);
        }
        let id = record[id_col].trim().to_string();
        let class = record[class_col].trim().to_string();
        if id.is_empty() || class.is_empty() {
            return Err(DataError::parse(path, line, "empty id or class"));
        }
        let annotator = annotator_col.map(|c| record[c].trim().to_string());
        rows.push((
            SongRow {
                id,
                features,
                class,
                line,
            },
            annotator,
        ));
    }
    if rows.is_empty() {
        return Err(DataError::file(path, "no data rows after the header"));
    }
    Ok((names, rows))
}

/// Turns a `csv` error into one that names the file and line.
/// Opens a headed CSV with its fields trimmed: the reader and the header (errors name the
/// file, as [`csv_error`] does).
pub(crate) fn open_csv(
    path: &Path,
) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord), DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    Ok((reader, header))
}

/// Where column `name` stands in `header` (fields compared trimmed); otherwise an error
/// naming the file, the columns found and what the reader `needs`.
pub(crate) fn header_column(
    path: &Path,
    header: &csv::StringRecord,
    name: &str,
    needs: &str,
) -> Result<usize, DataError> {
    header.iter().position(|h| h.trim() == name).ok_or_else(|| {
        DataError::file(
            path,
            format!(
                "no column {name:?} in the header (found {}); {needs}",
                header.iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

pub(crate) fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => DataError::io(path, io),
        csv::ErrorKind::Utf8 { .. } => DataError::parse(path, line, "not valid UTF-8 text"),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::parse(
            path,
            line,
            format!("expected {expected_len} fields, as in the first row, found {len}"),
        ),
        other => DataError::parse(path, line, format!("{other:?}")),
    }
}

/// Looks for `name` in `dir`, with a message that says what the folder should hold.
fn in_dir(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(DataError::file(
            &path,
            format!("not found; a Music folder holds {GOLD}, {ANSWERS} and optionally {TEST}"),
        ))
    }
}

/// Loads the training songs (with their true labels, for evaluation only) and the crowd answers
/// from a Music folder.
pub fn load(dir: &Path) -> Result<CrowdData, DataError> {
    if !dir.is_dir() {
        return Err(DataError::file(
            dir,
            "not a directory (expected the Music data folder)",
        ));
    }
    let gold_path = in_dir(dir, GOLD)?;
    let answers_path = in_dir(dir, ANSWERS)?;
    let (names, gold) = read_songs(&gold_path)?;
    let (answer_names, answers) = read_songs(&answers_path)?;
    if answers.iter().any(|(_, a)| a.is_none()) {
        return Err(DataError::parse(
            &answers_path,
            1,
            "expected an 'annotator' column",
        ));
    }
    if answer_names.len() != names.len() {
        return Err(DataError::parse(
            &answers_path,
            1,
            format!(
                "{} feature columns, but {} has {}",
                answer_names.len(),
                gold_path.display(),
                names.len()
            ),
        ));
    }
    // Classes: every genre named by the truth or the crowd, alphabetically.
    let classes: Vec<String> = gold
        .iter()
        .chain(answers.iter())
        .map(|(r, _)| r.class.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let class_index: HashMap<&str, u32> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();

    let mut items = Vec::with_capacity(gold.len());
    let mut item_index: HashMap<String, u32> = HashMap::with_capacity(gold.len());
    let mut features = Vec::with_capacity(gold.len() * names.len());
    let mut truth = Vec::with_capacity(gold.len());
    for (row, _) in &gold {
        if item_index
            .insert(row.id.clone(), items.len() as u32)
            .is_some()
        {
            return Err(DataError::parse(
                &gold_path,
                row.line,
                format!("song {:?} appears twice", row.id),
            ));
        }
        items.push(row.id.clone());
        features.extend_from_slice(&row.features);
        truth.push(Some(class_index[row.class.as_str()]));
    }

    let mut workers: Vec<String> = Vec::new();
    let mut worker_index: HashMap<String, u32> = HashMap::new();
    let mut seen = HashMap::new();
    let mut annotations = Vec::with_capacity(answers.len());
    for (row, annotator) in &answers {
        let annotator = annotator.clone().unwrap_or_default();
        let item = *item_index.get(&row.id).ok_or_else(|| {
            DataError::parse(
                &answers_path,
                row.line,
                format!("song {:?} is not in {GOLD}", row.id),
            )
        })?;
        let next = workers.len() as u32;
        let worker = *worker_index.entry(annotator.clone()).or_insert_with(|| {
            workers.push(annotator.clone());
            next
        });
        if let Some(first) = seen.insert((item, worker), row.line) {
            return Err(DataError::parse(
                &answers_path,
                row.line,
                format!(
                    "worker {annotator:?} already labelled song {:?} on line {first}",
                    row.id
                ),
            ));
        }
        annotations.push(Annotation {
            item,
            worker,
            label: class_index[row.class.as_str()],
        });
    }

    let features = Matrix::new(items.len(), names.len(), features)?;
    CrowdData::new(features, annotations, classes, workers, items, Some(truth))
}

/// Loads a songs file with true labels (the test split's layout) against a known class list.
pub fn load_labeled(
    path: &Path,
    classes: &[String],
    n_features: usize,
) -> Result<LabeledSet, DataError> {
    let (names, rows) = read_songs(path)?;
    if names.len() != n_features {
        return Err(DataError::parse(
            path,
            1,
            format!(
                "expected {n_features} feature columns like the training data, found {}",
                names.len()
            ),
        ));
    }
    let mut features = Vec::with_capacity(rows.len() * n_features);
    let mut truth = Vec::with_capacity(rows.len());
    let mut items = Vec::with_capacity(rows.len());
    for (row, _) in rows {
        let label = classes
            .iter()
            .position(|c| *c == row.class)
            .ok_or_else(|| {
                DataError::parse(
                    path,
                    row.line,
                    format!("class {:?} is not one of {classes:?}", row.class),
                )
            })?;
        truth.push(label as u32);
        features.extend_from_slice(&row.features);
        items.push(row.id);
    }
    let features = Matrix::new(items.len(), n_features, features)?;
    LabeledSet::new(features, truth, items, classes.len())
}

/// Resolves a `--test-data`/`--valid-data` path: a songs CSV, or a Music folder (its test file).
pub fn labeled_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(TEST)
    } else {
        path.to_path_buf()
    }
}
