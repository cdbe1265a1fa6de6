//! Any crowd data set, from files: crowd labels in one of three common layouts, item features
//! as CSV or `.npy`, optional true labels.
//!
//! Crowd labels (`--answers`, layout from `--answers-format` or the extension):
//! - **long** (`.csv`, `.tsv`; crowd-kit's format): a header, then one row per label with
//!   columns `task,worker,label` (names overridable); labels may be any strings;
//! - **matrix** (`.txt`, `.npy`; Rodrigues' format): one row per task, one column per worker,
//!   integer labels, `-1` = no label; task ids are the row numbers (or `--tasks`), worker ids
//!   the column numbers; empty columns are dropped with a warning;
//! - **peerannot** (`.json`): `{"task": {"worker": label, …}, …}`.
//!
//! Item features (`--features`): CSV whose first column is the task id and the others numbers
//! (a header row is recognised and skipped), or `.npy` (N × D float32/float64) whose row order
//! is given by `--tasks` (one id per line; default: row numbers). Items define the task set:
//! items without labels are kept (and not trained on); a label for an item without features is
//! an error. Classes are the sorted set of labels (numerically when all are integers) unless
//! `--classes` fixes them.
//!
//! ```
//! use conal::data::table::TableSpec;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("answers.csv"), "task,worker,label\na,w1,cat\na,w2,dog\nb,w1,dog\n").unwrap();
//! std::fs::write(dir.path().join("features.csv"), "a,0.5,1.0\nb,1.5,-2.0\nc,0.0,0.0\n").unwrap();
//! let spec = TableSpec::new(dir.path().join("answers.csv"), Some(dir.path().join("features.csv")));
//! let data = spec.load().unwrap();
//! assert_eq!((data.n_items(), data.n_workers(), data.n_features()), (3, 2, 2));
//! assert_eq!(data.classes, ["cat", "dog"]);
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::ids::Ids;
use crate::data::labels::{Built, Items, LabelRow, Place, build_labels};
pub use crate::data::labels::{Duplicates, sort_labels};
use crate::data::long_csv;
use crate::data::music::csv_error;
use crate::data::text::{read_int_matrix, read_string_column, read_text};
use crate::data::{CrowdData, CrowdLabels, LabeledSet, Matrix, npy};
use crate::error::DataError;

/// Layout of the crowd-labels file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AnswersFormat {
    /// One row per label: task, worker, label (CSV or TSV with a header).
    Long,
    /// Tasks × workers integer matrix, -1 = no label (whitespace/comma text, or .npy).
    Matrix,
    /// peerannot's answers.json: {task: {worker: label}}.
    Peerannot,
}

impl AnswersFormat {
    /// The layout a file name suggests.
    pub fn guess(path: &Path) -> Option<Self> {
        match extension(path).as_str() {
            "csv" | "tsv" => Some(AnswersFormat::Long),
            "txt" | "npy" => Some(AnswersFormat::Matrix),
            "json" => Some(AnswersFormat::Peerannot),
            _ => None,
        }
    }
}

/// Where a tabular crowd data set comes from (saved in `args.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    /// Crowd labels.
    pub answers: PathBuf,
    /// Their layout; guessed from the extension when `None`.
    pub answers_format: Option<AnswersFormat>,
    /// Column holding the task id (long format). Defaults to `task`.
    pub task_column: String,
    /// Column holding the worker id (long format). Defaults to `worker`.
    pub worker_column: String,
    /// Column holding the label (long format, and the gold file). Defaults to `label`.
    pub label_column: String,
    /// Field delimiter of CSV files; from the extension when `None` (`.tsv`: tab, else comma).
    pub delimiter: Option<char>,
    /// Item features; none for aggregation, which needs only the labels.
    pub features: Option<PathBuf>,
    /// Task ids of the `.npy` feature rows (and of matrix answer rows), one per line.
    pub tasks: Option<PathBuf>,
    /// The class list; the sorted set of labels when `None`.
    pub classes: Option<Vec<String>>,
    /// Duplicate (task, worker) labels.
    #[serde(default)]
    pub duplicates: Duplicates,
    /// True labels `task,label` (evaluation only).
    pub gold: Option<PathBuf>,
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Crowd labels as read: per label its task id, worker id and label string (spans of one
/// text buffer, so that a file of millions of labels costs no allocation per label) and its
/// 1-based line (0 if none).
#[derive(Default)]
struct RawLabels {
    text: String,
    /// Per label, the ends of its task, worker and label spans in `text` (each span starts
    /// where the previous one ends).
    ends: Vec<[u32; 3]>,
    lines: Vec<u64>,
}

impl RawLabels {
    fn push(&mut self, task: &str, worker: &str, label: &str, line: u64) -> Result<(), String> {
        let mut ends = [0u32; 3];
        for (end, field) in ends.iter_mut().zip([task, worker, label]) {
            self.text.push_str(field);
            *end = u32::try_from(self.text.len())
                .map_err(|_| "more than 4 GB of ids and labels in one file".to_string())?;
        }
        self.ends.push(ends);
        self.lines.push(line);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The labels as (task, worker, label, line).
    fn iter(&self) -> impl Iterator<Item = (&str, &str, &str, u64)> + Clone {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|e| e[2]));
        starts
            .zip(&self.ends)
            .zip(&self.lines)
            .map(|((start, e), &line)| {
                let span = |a: u32, b: u32| &self.text[a as usize..b as usize];
                (span(start, e[0]), span(e[0], e[1]), span(e[1], e[2]), line)
            })
    }
}

impl TableSpec {
    /// A spec with the default column names and no options.
    pub fn new(answers: PathBuf, features: Option<PathBuf>) -> Self {
        TableSpec {
            answers,
            answers_format: None,
            task_column: "task".into(),
            worker_column: "worker".into(),
            label_column: "label".into(),
            delimiter: None,
            features,
            tasks: None,
            classes: None,
            duplicates: Duplicates::Error,
            gold: None,
        }
    }

    fn delimiter_for(&self, path: &Path) -> u8 {
        match self.delimiter {
            Some(c) => c as u8,
            None if extension(path) == "tsv" => b'\t',
            None => b',',
        }
    }

    /// Loads features, crowd labels and gold into checked crowd data.
    pub fn load(&self) -> Result<CrowdData, DataError> {
        let Some(features_path) = &self.features else {
            return Err(DataError::Invalid(
                "training on your own data needs the item features (a features file)".into(),
            ));
        };
        let (items, features) = self.load_features(features_path, self.tasks.as_deref())?;
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for id in &items {
            if !seen.insert(id.as_str()) {
                return Err(DataError::file(
                    features_path,
                    format!("task id {id:?} appears twice"),
                ));
            }
        }
        let labels = self.read_labels(Items::Fixed {
            ids: &items,
            features: features_path,
        })?;
        CrowdData::join(labels, features)
    }

    /// Loads the crowd labels (and gold) alone, without features: what aggregation needs.
    /// The items are the tasks the answers name, in order of first appearance (rows of a
    /// matrix file: every row, named by `tasks` or numbered).
    pub fn load_labels(&self) -> Result<CrowdLabels, DataError> {
        self.read_labels(Items::Grow)
    }

    fn read_labels(&self, items: Items<'_>) -> Result<CrowdLabels, DataError> {
        let format = match self
            .answers_format
            .or_else(|| AnswersFormat::guess(&self.answers))
        {
            Some(f) => f,
            None => {
                return Err(DataError::file(
                    &self.answers,
                    "cannot tell the layout from the extension; give the answers format: long, matrix or peerannot",
                ));
            }
        };
        let grow = matches!(items, Items::Grow);
        let built = match format {
            AnswersFormat::Long => {
                let path = &self.answers;
                let bytes = crate::io::FileBytes::read(path).map_err(|e| DataError::io(path, e))?;
                if let Some(mut soft) = self.read_soft_long(&bytes)? {
                    if !grow {
                        return Err(DataError::file(
                            path,
                            "soft answers (p_<class> columns) are aggregated, not trained on: \
                             give one label per answer in a label column to train",
                        ));
                    }
                    soft.truth = self.gold_of(&soft.items, &soft.classes, true)?;
                    return Ok(soft);
                }
                match self.read_long_fast(&bytes, &items) {
                    Some(built) => built,
                    None => self.build(self.read_long(&bytes)?, items)?,
                }
            }
            AnswersFormat::Matrix => self.build(self.read_matrix()?, items)?,
            AnswersFormat::Peerannot => self.build(self.read_peerannot()?, items)?,
        };
        tracing::debug!(
            "{}: {} labels read",
            self.answers.display(),
            built.annotations.len()
        );
        let truth = self.gold_of(&built.items, &built.classes, grow)?;
        let make = if grow {
            CrowdLabels::from_interned
        } else {
            CrowdLabels::new
        };
        make(
            built.annotations,
            built.classes,
            built.workers,
            built.items,
            truth,
        )
    }

    /// Reads a features file: (task ids, matrix).
    pub fn load_features(
        &self,
        path: &Path,
        tasks: Option<&Path>,
    ) -> Result<(Vec<String>, Matrix), DataError> {
        if extension(path) == "npy" {
            let m = npy::read_f32_matrix(path)?;
            if let Some((r, c)) = m.first_non_finite() {
                return Err(DataError::file(
                    path,
                    format!(
                        "row {r}, column {c}: feature is not finite ({})",
                        m.row(r)[c]
                    ),
                ));
            }
            let ids = match tasks {
                Some(t) => {
                    let ids = read_string_column(t)?;
                    if ids.len() != m.rows() {
                        return Err(DataError::file(
                            t,
                            format!(
                                "{} task ids for the {} feature rows of {}",
                                ids.len(),
                                m.rows(),
                                path.display()
                            ),
                        ));
                    }
                    ids
                }
                None => (0..m.rows()).map(|i| i.to_string()).collect(),
            };
            return Ok((ids, m));
        }
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .delimiter(self.delimiter_for(path))
            .from_reader(std::io::BufReader::new(file));
        let mut ids = Vec::new();
        let mut data = Vec::new();
        let mut cols = 0;
        for (n, record) in reader.records().enumerate() {
            let record = record.map_err(|e| csv_error(path, e))?;
            let line = record.position().map_or(n as u64 + 1, |p| p.line());
            if record.len() < 2 {
                return Err(DataError::parse(
                    path,
                    line,
                    format!(
                        "expected a task id and at least one feature, found {} field(s); is the delimiter right?",
                        record.len()
                    ),
                ));
            }
            let values: Result<Vec<f32>, usize> = record
                .iter()
                .skip(1)
                .enumerate()
                .map(|(j, f)| f.trim().parse::<f32>().map_err(|_| j))
                .collect();
            match values {
                Ok(v) => {
                    if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                        return Err(DataError::parse(
                            path,
                            line,
                            format!("feature {} is not finite ({})", j + 1, &record[j + 1]),
                        ));
                    }
                    cols = v.len();
                    ids.push(record[0].trim().to_string());
                    data.extend(v);
                }
                // A first row of names is a header.
                Err(_) if n == 0 => continue,
                Err(j) => {
                    return Err(DataError::parse(
                        path,
                        line,
                        format!(
                            "feature {}: expected a number, found {:?}",
                            j + 1,
                            &record[j + 1]
                        ),
                    ));
                }
            }
        }
        if ids.is_empty() {
            return Err(DataError::file(path, "no feature rows"));
        }
        let m = Matrix::new(ids.len(), cols, data)?;
        Ok((ids, m))
    }

    /// Indexes labels read by the csv crate (or from the other layouts).
    fn build(&self, raw: RawLabels, items: Items<'_>) -> Result<Built, DataError> {
        if raw.is_empty() {
            return Err(DataError::file(
                &self.answers,
                "no crowd labels in the file",
            ));
        }
        let rows = raw.iter().map(|(task, worker, label, line)| LabelRow {
            task,
            worker,
            label,
            place: Place::Line(&self.answers, line),
        });
        build_labels(rows, items, self.classes.clone(), self.duplicates)
    }

    /// The long CSV `bytes` through [`long_csv::read`]: `None` where the csv crate must read
    /// them (quotes, anything the file gets wrong, `--duplicates keep-last`).
    fn read_long_fast(&self, bytes: &[u8], items: &Items<'_>) -> Option<Built> {
        if self.duplicates != Duplicates::Error {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let columns = long_csv::Columns {
            task: &self.task_column,
            worker: &self.worker_column,
            label: &self.label_column,
        };
        let delimiter = self.delimiter_for(&self.answers);
        long_csv::read(text, delimiter, &columns, items, self.classes.as_deref())
    }

    /// The long CSV `bytes` (the contents of `self.answers`) read by the csv crate.
    /// Soft answers from a long file whose header has no label column but `p_<class>`
    /// columns, one probability per class (the layout `conal aggregate` writes posteriors
    /// in); `None` for any other file. Classes in column order (or `classes`, where given: a
    /// class without a column gets 0). A field that is not a finite number ≥ 0, or a row that
    /// does not sum to 1 within 1e-6, is an error naming the line and the column.
    fn read_soft_long(&self, bytes: &[u8]) -> Result<Option<CrowdLabels>, DataError> {
        let path = &self.answers;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .delimiter(self.delimiter_for(path))
            .from_reader(bytes);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.contains(&self.label_column) {
            return Ok(None);
        }
        let columns: Vec<(usize, &str)> = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                h.strip_prefix("p_")
                    .filter(|c| !c.is_empty())
                    .map(|c| (i, c))
            })
            .collect();
        if columns.is_empty() {
            return Ok(None);
        }
        let find = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                DataError::parse(
                    path,
                    1,
                    format!("expected a column {name:?} in the header, found {headers:?}"),
                )
            })
        };
        let (t, w) = (find(&self.task_column)?, find(&self.worker_column)?);
        let classes: Vec<String> = match &self.classes {
            None => columns.iter().map(|(_, c)| c.to_string()).collect(),
            Some(given) => {
                if let Some((_, c)) = columns.iter().find(|(_, c)| !given.iter().any(|g| g == c)) {
                    return Err(DataError::parse(
                        path,
                        1,
                        format!("column \"p_{c}\": {c:?} is not one of the classes {given:?}"),
                    ));
                }
                given.clone()
            }
        };
        let place: Vec<usize> = columns
            .iter()
            .map(|(_, c)| classes.iter().position(|k| k == c).unwrap_or(0))
            .collect();
        let k = classes.len();
        let (mut tasks, mut workers) = (Ids::default(), Ids::default());
        let (mut task_codes, mut worker_codes, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        let mut rows: Vec<f64> = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut line = 1u64;
        while reader
            .read_record(&mut record)
            .map_err(|e| csv_error(path, e))?
        {
            line += 1;
            let field = |i: usize, name: &str| match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(DataError::parse(
                    path,
                    line,
                    format!("column {name:?} is empty"),
                )),
            };
            task_codes.push(i64::from(tasks.code(field(t, &self.task_column)?)));
            worker_codes.push(i64::from(workers.code(field(w, &self.worker_column)?)));
            let mut row = vec![0.0; k];
            for ((i, c), &at) in columns.iter().zip(&place) {
                row[at] = match record.get(*i).unwrap_or("").parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => v,
                    _ => {
                        return Err(DataError::parse(
                            path,
                            line,
                            format!(
                                "column \"p_{c}\": {:?} is not a probability (a number ≥ 0)",
                                record.get(*i).unwrap_or("")
                            ),
                        ));
                    }
                };
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(DataError::parse(
                    path,
                    line,
                    format!(
                        "the p_<class> columns sum to {sum}, not 1 (a soft answer is a probability per class)"
                    ),
                ));
            }
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = c;
                }
            }
            labels.push(best as i64);
            rows.extend(row);
        }
        if rows.is_empty() {
            return Err(DataError::file(path, "no answers (0 rows)"));
        }
        let labels = CrowdLabels::from_codes(
            tasks.names.len(),
            workers.names.len(),
            classes,
            &task_codes,
            &worker_codes,
            &labels,
        )
        .map_err(|e| match e {
            DataError::RepeatedPair { first, second, .. } => DataError::parse(
                path,
                second as u64 + 2,
                format!("the same (task, worker) pair as line {}", first + 2),
            ),
            e => e,
        })?;
        Ok(Some(
            labels
                .with_soft(rows)?
                .with_ids(workers.names, tasks.names)?,
        ))
    }

    fn read_long(&self, bytes: &[u8]) -> Result<RawLabels, DataError> {
        let path = &self.answers;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .delimiter(self.delimiter_for(path))
            .from_reader(bytes);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.len() <= 1 && headers.first().is_none_or(|h| h.is_empty()) {
            return Err(DataError::file(path, "file is empty"));
        }
        let find = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                let hint = if headers.len() == 1 {
                    " — the header is a single field; is the delimiter right?"
                } else {
                    ""
                };
                DataError::parse(
                    path,
                    1,
                    format!("expected a column {name:?} in the header, found {headers:?}{hint}"),
                )
            })
        };
        let (t, w, l) = (
            find(&self.task_column)?,
            find(&self.worker_column)?,
            find(&self.label_column)?,
        );
        // Byte records, reused: the three fields go straight into the shared text buffer
        // (a StringRecord and three Strings per row took most of the time of a large file).
        // Sized from the file (about 15 bytes a label) so that the buffers grow rarely.
        let size = bytes.len();
        let mut out = RawLabels {
            text: String::with_capacity(size),
            ends: Vec::with_capacity(size / 12),
            lines: Vec::with_capacity(size / 12),
        };
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(path, e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let field = |c: usize, what: &str| -> Result<&str, DataError> {
                // The message csv's StringRecord gave (and the other loaders give).
                let v = std::str::from_utf8(&record[c])
                    .map_err(|_| DataError::parse(path, line, "not valid UTF-8 text"))?;
                let v = v.trim();
                if v.is_empty() {
                    Err(DataError::parse(path, line, format!("empty {what}")))
                } else {
                    Ok(v)
                }
            };
            let (task, worker, label) = (
                field(t, "task id")?,
                field(w, "worker id")?,
                field(l, "label")?,
            );
            out.push(task, worker, label, line)
                .map_err(|m| DataError::parse(path, line, m))?;
        }
        Ok(out)
    }

    fn read_matrix(&self) -> Result<RawLabels, DataError> {
        let path = &self.answers;
        let (rows, cols, values) = if extension(path) == "npy" {
            npy::read_i64_matrix(path)?
        } else {
            let (cols, values) = read_int_matrix(path)?;
            (values.len() / cols.max(1), cols, values)
        };
        // Task ids of the rows: --tasks when given, else the row numbers (which match the
        // feature rows of an .npy without --tasks).
        let row_ids: Vec<String> = match &self.tasks {
            Some(t) => read_string_column(t)?,
            None => (0..rows).map(|i| i.to_string()).collect(),
        };
        if row_ids.len() != rows {
            return Err(DataError::file(
                path,
                format!("{rows} rows of answers for {} task ids", row_ids.len()),
            ));
        }
        let mut used = vec![false; cols];
        let mut out = RawLabels::default();
        for (idx, &v) in values.iter().enumerate() {
            let (r, c) = (idx / cols, idx % cols);
            if v == -1 {
                continue;
            }
            if v < 0 {
                return Err(DataError::parse(
                    path,
                    r as u64 + 1,
                    format!("column {c}: expected -1 (no label) or a class ≥ 0, found {v}"),
                ));
            }
            used[c] = true;
            let line = if extension(path) == "npy" {
                0
            } else {
                r as u64 + 1
            };
            out.push(&row_ids[r], &c.to_string(), &v.to_string(), line)
                .map_err(|m| DataError::parse(path, line, m))?;
        }
        let dropped = used.iter().filter(|u| !**u).count();
        if dropped > 0 {
            tracing::warn!(
                "{}: dropped {dropped} worker columns with no label",
                path.display()
            );
        }
        Ok(out)
    }

    fn read_peerannot(&self) -> Result<RawLabels, DataError> {
        let path = &self.answers;
        let text = read_text(path)?;
        if text.trim().is_empty() {
            return Err(DataError::file(path, "file is empty"));
        }
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| DataError::parse(path, e.line() as u64, format!("not valid JSON: {e}")))?;
        let tasks = value.as_object().ok_or_else(|| {
            DataError::file(
                path,
                "expected a JSON object {\"task\": {\"worker\": label}}",
            )
        })?;
        let mut out = RawLabels::default();
        for (task, answers) in tasks {
            let answers = answers.as_object().ok_or_else(|| {
                DataError::file(
                    path,
                    format!("task {task:?}: expected an object {{\"worker\": label}}"),
                )
            })?;
            for (worker, label) in answers {
                let label = match label {
                    serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                    serde_json::Value::String(s) if !s.is_empty() => s.clone(),
                    other => {
                        return Err(DataError::file(
                            path,
                            format!(
                                "task {task:?}, worker {worker:?}: expected an integer or string label, found {other}"
                            ),
                        ));
                    }
                };
                out.push(task, worker, &label, 0)
                    .map_err(|m| DataError::file(path, m))?;
            }
        }
        Ok(out)
    }

    /// Reads `task,label` rows into per-item true labels.
    /// The true labels of `items` from the gold file, when one is given.
    fn gold_of(
        &self,
        items: &[String],
        classes: &[String],
        labels_only: bool,
    ) -> Result<Option<Vec<Option<u32>>>, DataError> {
        let Some(path) = &self.gold else {
            return Ok(None);
        };
        let index: HashMap<&str, u32> = items
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect();
        let class_index: HashMap<&str, u32> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        Ok(Some(self.read_gold(
            path,
            &index,
            &class_index,
            items.len(),
            labels_only,
        )?))
    }

    fn read_gold(
        &self,
        path: &Path,
        index: &HashMap<&str, u32>,
        class_index: &HashMap<&str, u32>,
        n_items: usize,
        labels_only: bool,
    ) -> Result<Vec<Option<u32>>, DataError> {
        let mut truth = vec![None; n_items];
        let mut unlabelled = 0usize;
        for (task, label, line) in self.read_pairs(path)? {
            let i = match index.get(task.as_str()) {
                Some(&i) => i,
                // Without features the items are the labelled tasks: gold for another task
                // scores nothing (aggregation scores labelled items only).
                None if labels_only => {
                    unlabelled += 1;
                    continue;
                }
                None => {
                    return Err(DataError::parse(
                        path,
                        line,
                        format!("task {task:?} has no features"),
                    ));
                }
            };
            let y = *class_index.get(label.as_str()).ok_or_else(|| {
                DataError::parse(
                    path,
                    line,
                    format!("label {label:?} is not one of the classes"),
                )
            })?;
            truth[i as usize] = Some(y);
        }
        if unlabelled > 0 {
            tracing::warn!(
                "{}: {unlabelled} true labels are for tasks without crowd labels; not scored",
                path.display()
            );
        }
        Ok(truth)
    }

    /// Reads a two-column `task,label` CSV with a header: (task, label, line).
    fn read_pairs(&self, path: &Path) -> Result<Vec<(String, String, u64)>, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .delimiter(self.delimiter_for(path))
            .from_reader(std::io::BufReader::new(file));
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let find = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                DataError::parse(
                    path,
                    1,
                    format!("expected a column {name:?} in the header, found {headers:?}"),
                )
            })
        };
        let (t, l) = (find(&self.task_column)?, find(&self.label_column)?);
        let mut out = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(path, e))?;
            let line = record.position().map_or(0, |p| p.line());
            out.push((
                record[t].trim().to_string(),
                record[l].trim().to_string(),
                line,
            ));
        }
        if out.is_empty() {
            return Err(DataError::file(path, "no rows after the header"));
        }
        Ok(out)
    }

    /// A labelled split for a model with `classes` and `n_features` features: the items of
    /// `features` that `gold` labels.
    pub fn load_labeled(
        &self,
        features: &Path,
        tasks: Option<&Path>,
        gold: &Path,
        classes: &[String],
        n_features: usize,
    ) -> Result<LabeledSet, DataError> {
        let (ids, x) = self.load_features(features, tasks)?;
        if x.cols() != n_features {
            return Err(DataError::file(
                features,
                format!(
                    "{} features per item, the model was trained on {n_features}",
                    x.cols()
                ),
            ));
        }
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let mut rows = Vec::new();
        let mut truth = Vec::new();
        let mut items = Vec::new();
        for (task, label, line) in self.read_pairs(gold)? {
            let i = *index.get(task.as_str()).ok_or_else(|| {
                DataError::parse(
                    gold,
                    line,
                    format!("task {task:?} is not in {}", features.display()),
                )
            })?;
            let y = classes.iter().position(|c| *c == label).ok_or_else(|| {
                DataError::parse(
                    gold,
                    line,
                    format!("label {label:?} is not one of the classes {classes:?}"),
                )
            })?;
            rows.push(i);
            truth.push(y as u32);
            items.push(task);
        }
        LabeledSet::new(x.select_rows(&rows), truth, items, classes.len())
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    fn spec(name: &str) -> TableSpec {
        TableSpec::new(PathBuf::from(name), None)
    }

    /// The fast reader's labels, checked equal to the csv crate's where it gives any.
    fn fast(spec: &TableSpec, text: &str, items: Items<'_>) -> Option<Built> {
        let fast = spec.read_long_fast(text.as_bytes(), &items);
        if let Some(f) = &fast {
            let slow = spec
                .read_long(text.as_bytes())
                .and_then(|raw| spec.build(raw, items))
                .expect("the csv path reads what the fast path reads");
            // The fast path hands each task's labels over sorted (as CrowdLabels keeps them).
            let sorted = |a: &[crate::data::Annotation]| {
                let mut a = a.to_vec();
                a.sort_unstable();
                a
            };
            assert_eq!(
                sorted(&f.annotations),
                sorted(&slow.annotations),
                "{text:?}"
            );
            assert_eq!(f.classes, slow.classes, "{text:?}");
            assert_eq!(f.workers, slow.workers, "{text:?}");
            assert_eq!(f.items, slow.items, "{text:?}");
        }
        fast
    }

    #[test]
    fn the_fast_reader_builds_what_the_csv_reader_builds() {
        let s = spec("a.csv");
        let cases = [
            "task,worker,label\nt1,w1,b\nt1,w2,a\nt2,w1,a\nt3,w3,c\n",
            // Columns in another order, an extra column, no final newline.
            "label,extra,worker,task\n1,x,w1,t1\n10,y,w2,t1\n2,z,w1,t2",
            // CRLF, blank lines, spaces around fields, tasks not grouped.
            "task , worker,label\r\n t1 ,w1, x \r\n\r\nt2,w1,y\r\n\nt1,w2,y\r\n",
            // Integer labels sort numerically; non-ASCII ids.
            "task,worker,label\nété,wé,10\nété,w2,9\nb,wé,-1\n",
            // Unicode spaces and tabs trimmed as `str::trim` does; a last line ended by `\r`.
            "task,worker,label\n\u{a0}t1,w1\u{3000},\ta\nt2,w2,b\r",
        ];
        for text in cases {
            assert!(fast(&s, text, Items::Grow).is_some(), "{text:?}");
        }
        // Many distinct labels (past the linear scan).
        let many: String = std::iter::once("task,worker,label\n".to_string())
            .chain((0..40).map(|i| format!("t{i},w{},l{}\n", i % 3, (i * 7) % 40)))
            .collect();
        assert_eq!(
            fast(&s, &many, Items::Grow).map(|b| b.classes.len()),
            Some(40)
        );
        // Tab-separated by extension, a fixed class list.
        let mut tsv = spec("a.tsv");
        tsv.classes = Some(vec!["z".into(), "a".into()]);
        let built = fast(
            &tsv,
            "task\tworker\tlabel\nt1\tw1\ta\nt1\tw2\tz\n",
            Items::Grow,
        );
        assert_eq!(
            built.map(|b| b.annotations.iter().map(|a| a.label).collect::<Vec<_>>()),
            Some(vec![1, 0])
        );
        // Spaces around tab-separated fields are trimmed (the delimiter is not one of them).
        let built = fast(
            &tsv,
            "task\tworker\tlabel\n t1\tw1 \t a\nt1\t w2\tz\n",
            Items::Grow,
        )
        .unwrap();
        assert_eq!(
            (built.items, built.workers),
            (
                vec!["t1".to_string()],
                vec!["w1".to_string(), "w2".to_string()]
            )
        );
        // Fixed items: rows refer to them, items without labels kept.
        let ids: Vec<String> = ["t2", "t1", "t9"].iter().map(|s| s.to_string()).collect();
        let fixed = Items::Fixed {
            ids: &ids,
            features: Path::new("f.csv"),
        };
        let built = fast(&s, "task,worker,label\nt1,w1,a\nt2,w1,b\n", fixed).unwrap();
        assert_eq!(built.items, ids);
        assert_eq!(built.annotations[0].item, 1);
    }

    #[test]
    fn the_fast_reader_leaves_to_the_csv_reader_what_it_does_not_read_exactly() {
        let s = spec("a.csv");
        let declined = [
            "task,worker,label\n\"t,1\",w1,a\nt2,w1,b\n", // quotes
            "\u{feff}task,worker,label\nt1,w1,a\n",       // byte-order mark
            "task,worker,label\nt1,w1\ra\n",              // a lone carriage return
            "task,worker,label\nt1,w1,a,b\n",             // too many fields
            "task,worker,label\nt1,w1\n",                 // too few
            "task,worker,label\nt1, ,a\n",                // an empty field
            "task,worker,label\nt1,w1,a\nt1,w1,b\n",      // a repeated pair
            "task,worker,label\n",                        // no labels
            "task,annotator,label\nt1,w1,a\n",            // a missing column
            "\ntask,worker,label\nt1,w1,a\n",             // a blank first line
        ];
        for text in declined {
            assert!(fast(&s, text, Items::Grow).is_none(), "{text:?}");
        }
        let mut fixed_classes = spec("a.csv");
        fixed_classes.classes = Some(vec!["a".into(), "b".into()]);
        assert!(fast(&fixed_classes, "task,worker,label\nt1,w1,c\n", Items::Grow).is_none());
        let ids = vec!["t1".to_string()];
        let fixed = Items::Fixed {
            ids: &ids,
            features: Path::new("f.csv"),
        };
        assert!(fast(&s, "task,worker,label\nt2,w1,a\n", fixed).is_none());
        let mut keep_last = spec("a.csv");
        keep_last.duplicates = Duplicates::KeepLast;
        assert!(fast(&keep_last, "task,worker,label\nt1,w1,a\n", Items::Grow).is_none());
        // Not UTF-8: the csv path names the line.
        assert!(
            s.read_long_fast(b"task,worker,label\nt1,w\xff,a\n", &Items::Grow)
                .is_none()
        );
    }

    #[test]
    fn the_fast_reader_agrees_with_the_csv_reader_on_random_files() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let s = spec("a.csv");
        // Ids around the 15-byte packing limit, and short ones.
        let id = |prefix: &str, i: u32, rng: &mut rand_chacha::ChaCha8Rng| {
            let pad = rng.random_range(0..18);
            format!("{prefix}{}{i}", "x".repeat(pad))
        };
        for case in 0..400 {
            let n_tasks = rng.random_range(1..12u32);
            let task_ids: Vec<String> = (0..n_tasks).map(|t| id("t", t, &mut rng)).collect();
            let worker_ids: Vec<String> = (0..6).map(|w| id("w", w, &mut rng)).collect();
            let label_ids: Vec<String> = (0..rng.random_range(2..5))
                .map(|l| id("c", l, &mut rng))
                .collect();
            let mut rows: Vec<(usize, usize, usize)> = Vec::new();
            for t in 0..n_tasks as usize {
                for w in 0..6 {
                    if rng.random_bool(0.5) {
                        rows.push((t, w, rng.random_range(0..label_ids.len())));
                    }
                }
            }
            if rows.is_empty() {
                continue;
            }
            let repeat = case % 5 == 0;
            if repeat {
                let r = rows[rng.random_range(0..rows.len())];
                rows.push((r.0, r.1, 0));
            }
            match case % 3 {
                // Grouped by task (the usual file), in task order or not.
                0 => rows.sort_by_key(|r| r.0),
                1 => rows.sort_by_key(|r| (n_tasks as usize - r.0, r.1)),
                // Shuffled: tasks come back after others.
                _ => {
                    for i in (1..rows.len()).rev() {
                        rows.swap(i, rng.random_range(0..=i));
                    }
                }
            }
            let newline = if case % 4 == 0 { "\r\n" } else { "\n" };
            let mut text = format!("task,worker,label{newline}");
            for (j, &(t, w, l)) in rows.iter().enumerate() {
                text.push_str(&format!(
                    "{},{},{}",
                    task_ids[t], worker_ids[w], label_ids[l]
                ));
                // The last line without its newline now and then.
                if j + 1 < rows.len() || case % 7 != 0 {
                    text.push_str(newline);
                }
            }
            let built = fast(&s, &text, Items::Grow);
            assert_eq!(built.is_some(), !repeat, "{text:?}");
        }
    }
}
