//! Tokenised texts: each (task, worker) answer as a sequence of words (tokens of a
//! tokenizer the caller chose). What ROVER aligns into one text per task.
//!
//! ```
//! use conal::data::Texts;
//!
//! let t = Texts::from_strings(&["t1", "t1"], &[vec!["a", "cat"], vec!["the", "cat"]])?;
//! assert_eq!(t.words, ["", "a", "cat", "the"]);
//! assert_eq!(t.tokens(1), [3, 2]);
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::data::music::{csv_error, header_column};
use crate::error::{DataError, Error, Result};

/// Answers as word sequences, one row per (task, worker).
#[derive(Debug, Clone, PartialEq)]
pub struct Texts {
    /// Task ids, by index.
    pub tasks: Vec<String>,
    /// The vocabulary: word ids index it; word 0 is the empty word.
    pub words: Vec<String>,
    /// The task of each row.
    pub task: Vec<u32>,
    offsets: Vec<usize>,
    tokens: Vec<u32>,
    by_task: Vec<Vec<usize>>,
}

impl Texts {
    /// Rows from codes: row `r` answers task `task[r]` with the words
    /// `tokens[offsets[r]..offsets[r + 1]]` (ids into `words`, whose first entry must be the
    /// empty word). A code out of range is an error naming the row.
    pub fn new(
        tasks: Vec<String>,
        words: Vec<String>,
        task: Vec<u32>,
        offsets: Vec<usize>,
        tokens: Vec<u32>,
    ) -> Result<Self> {
        if words.first().is_none_or(|w| !w.is_empty()) {
            return Err(Error::Invalid {
                what: "texts",
                message: "the vocabulary must start with the empty word".into(),
            });
        }
        let n = task.len();
        if offsets.len() != n + 1
            || offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last() != Some(&tokens.len())
        {
            return Err(Error::Invalid {
                what: "texts",
                message: format!(
                    "{} offsets for {n} rows of {} tokens",
                    offsets.len(),
                    tokens.len()
                ),
            });
        }
        let mut by_task = vec![Vec::new(); tasks.len()];
        for r in 0..n {
            let invalid = |m: String| Error::Data(DataError::Invalid(format!("row {r}: {m}")));
            let t = task[r] as usize;
            if t >= tasks.len() {
                return Err(invalid(format!(
                    "task code {t} is not one of the {} tasks",
                    tasks.len()
                )));
            }
            if let Some(&w) = tokens[offsets[r]..offsets[r + 1]]
                .iter()
                .find(|&&w| w as usize >= words.len())
            {
                return Err(invalid(format!(
                    "word code {w} is not one of the {} words",
                    words.len()
                )));
            }
            by_task[t].push(r);
        }
        Ok(Texts {
            tasks,
            words,
            task,
            offsets,
            tokens,
            by_task,
        })
    }

    /// Rows from task ids and their words; tasks and words numbered in order of first
    /// appearance (word 0 the empty word).
    pub fn from_strings(tasks: &[&str], rows: &[Vec<&str>]) -> Result<Self> {
        let mut task_index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut word_index: FxHashMap<&str, u32> = FxHashMap::default();
        word_index.insert("", 0);
        let (mut task_ids, mut words) = (Vec::new(), vec![String::new()]);
        let mut task = Vec::new();
        let (mut offsets, mut tokens) = (vec![0], Vec::new());
        for (t, row) in tasks.iter().zip(rows) {
            let next = task_ids.len() as u32;
            let code = *task_index.entry(t).or_insert_with(|| {
                task_ids.push(t.to_string());
                next
            });
            task.push(code);
            for w in row {
                let next = words.len() as u32;
                tokens.push(*word_index.entry(w).or_insert_with(|| {
                    words.push(w.to_string());
                    next
                }));
            }
            offsets.push(tokens.len());
        }
        Texts::new(task_ids, words, task, offsets, tokens)
    }

    /// Texts from a CSV file with a header naming `task_column` and `text_column` (other
    /// columns are ignored), split into words at whitespace; errors name the file and line.
    pub fn read_csv(path: &Path, task_column: &str, text_column: &str) -> Result<Self> {
        let fail = |e: csv::Error| Error::Data(csv_error(path, e));
        let mut reader = csv::ReaderBuilder::new().from_path(path).map_err(fail)?;
        let header = reader.headers().map_err(fail)?.clone();
        let find = |name: &str| {
            header_column(
                path,
                &header,
                name,
                "texts need a task column and a text column",
            )
            .map_err(Error::Data)
        };
        let (t, x) = (find(task_column)?, find(text_column)?);
        let (mut tasks, mut texts) = (Vec::new(), Vec::new());
        let mut record = csv::StringRecord::new();
        let mut line = 1u64;
        while reader.read_record(&mut record).map_err(fail)? {
            line += 1;
            let task = record.get(t).unwrap_or("").trim();
            if task.is_empty() {
                return Err(Error::Data(DataError::parse(
                    path,
                    line,
                    format!("column {task_column:?} is empty"),
                )));
            }
            tasks.push(task.to_string());
            texts.push(record.get(x).unwrap_or("").to_string());
        }
        if tasks.is_empty() {
            return Err(Error::Data(DataError::file(path, "no texts (0 rows)")));
        }
        let task_refs: Vec<&str> = tasks.iter().map(String::as_str).collect();
        let words: Vec<Vec<&str>> = texts
            .iter()
            .map(|t| t.split_whitespace().collect())
            .collect();
        Texts::from_strings(&task_refs, &words)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.task.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.task.is_empty()
    }

    /// The number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Row `r`'s words.
    pub fn tokens(&self, r: usize) -> &[u32] {
        &self.tokens[self.offsets[r]..self.offsets[r + 1]]
    }

    /// The rows of task `t`, in input order.
    pub fn rows_of(&self, t: usize) -> &[usize] {
        &self.by_task[t]
    }
}
