//! Embedded answers: each (task, worker) answer as a vector of numbers (a sentence's or an
//! image's embedding from any encoder), all of one length. What the embedding aggregators
//! (closest to average, RASA) combine into one answer per task.
//!
//! ```
//! use conal::data::Embeddings;
//!
//! let e = Embeddings::new(
//!     vec!["t1".into()],
//!     vec!["a".into(), "b".into()],
//!     vec![0, 0],
//!     vec![0, 1],
//!     2,
//!     vec![1.0, 0.0, 0.0, 1.0],
//! )?;
//! assert_eq!(e.embedding(1), [0.0, 1.0]);
//! assert_eq!(e.rows_of(0), [0, 1]);
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::Path;

use crate::data::ids::Ids;
use crate::data::music::{csv_error, header_column, open_csv};
use crate::error::{DataError, Error, Result};

/// The columns of an embedding CSV ([`Embeddings::read_csv`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingColumns {
    /// The task id.
    pub task: String,
    /// The worker id.
    pub worker: String,
    /// The embedding: one column of numbers, or numbered columns `<name>_0`, `<name>_1`, ….
    pub embedding: String,
    /// The answer itself (optional: read when the header has it).
    pub output: String,
}

impl Default for EmbeddingColumns {
    /// crowd-kit's names: task, worker, embedding, output.
    fn default() -> Self {
        EmbeddingColumns {
            task: "task".into(),
            worker: "worker".into(),
            embedding: "embedding".into(),
            output: "output".into(),
        }
    }
}

/// What [`Embeddings::read_csv`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsCsv {
    /// The embedded answers.
    pub data: Embeddings,
    /// Each row's answer, when the file has an output column.
    pub outputs: Option<Vec<String>>,
    /// Whether the embedding came as numbered columns (else as one column of numbers).
    pub wide: bool,
}

/// Answers as vectors, one row per (task, worker).
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Task ids, by index.
    pub tasks: Vec<String>,
    /// Worker ids, by index.
    pub workers: Vec<String>,
    /// The task of each row.
    pub task: Vec<u32>,
    /// The worker of each row.
    pub worker: Vec<u32>,
    /// The length of every embedding.
    pub dim: usize,
    values: Vec<f64>,
    by_task: Vec<Vec<usize>>,
}

impl Embeddings {
    /// Rows from codes and `dim` numbers per row, row-major in `values`; a code out of range
    /// or a number that is not finite is an error naming the row.
    pub fn new(
        tasks: Vec<String>,
        workers: Vec<String>,
        task: Vec<u32>,
        worker: Vec<u32>,
        dim: usize,
        values: Vec<f64>,
    ) -> Result<Self> {
        let n = task.len();
        if worker.len() != n || values.len() != n * dim {
            return Err(Error::Invalid {
                what: "embeddings",
                message: format!(
                    "{n} tasks, {} workers and {} numbers (expected {} for {n} rows of {dim})",
                    worker.len(),
                    values.len(),
                    n * dim
                ),
            });
        }
        let mut by_task = vec![Vec::new(); tasks.len()];
        for r in 0..n {
            let invalid = |m: String| Error::Data(DataError::Invalid(format!("row {r}: {m}")));
            let (t, w) = (task[r] as usize, worker[r] as usize);
            if t >= tasks.len() {
                return Err(invalid(format!(
                    "task code {t} is not one of the {} tasks",
                    tasks.len()
                )));
            }
            if w >= workers.len() {
                return Err(invalid(format!(
                    "worker code {w} is not one of the {} workers",
                    workers.len()
                )));
            }
            if let Some(j) = values[r * dim..(r + 1) * dim]
                .iter()
                .position(|v| !v.is_finite())
            {
                return Err(invalid(format!(
                    "the embedding's number {j} is {} (embeddings must be finite)",
                    values[r * dim + j]
                )));
            }
            by_task[t].push(r);
        }
        Ok(Embeddings {
            tasks,
            workers,
            task,
            worker,
            dim,
            values,
            by_task,
        })
    }

    /// Embedded answers from a CSV file with a header naming `columns.task`,
    /// `columns.worker` and the embedding, either one column `columns.embedding` holding the
    /// numbers (separated by commas or spaces, brackets allowed: `[0.1, 0.2]`, `0.1 0.2`) or
    /// numbered columns `<embedding>_0`, `<embedding>_1`, …; `columns.output` is read when
    /// present. Tasks and workers are numbered in order of first appearance; errors name the
    /// file and line.
    pub fn read_csv(path: &Path, columns: &EmbeddingColumns) -> Result<EmbeddingsCsv> {
        let fail = |e: csv::Error| Error::Data(csv_error(path, e));
        let (mut reader, header) = open_csv(path).map_err(Error::Data)?;
        let position = |name: &str| header.iter().position(|h| h == name);
        let needs = format!(
            "embeddings need columns for the task, the worker and the embedding (one column of \
             numbers, or numbered columns {e}_0, {e}_1, …)",
            e = columns.embedding
        );
        let find = |name: &str| header_column(path, &header, name, &needs).map_err(Error::Data);
        let (t, w) = (find(&columns.task)?, find(&columns.worker)?);
        let out = position(&columns.output);
        let single = position(&columns.embedding);
        let numbered: Vec<usize> = (0..)
            .map_while(|j| position(&format!("{}_{j}", columns.embedding)))
            .collect();
        if single.is_none() && numbered.is_empty() {
            // Absent in both forms: the error that names it.
            find(&columns.embedding)?;
        }
        let (mut tasks, mut workers) = (Ids::default(), Ids::default());
        let (mut task, mut worker, mut values, mut outputs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut dim = None;
        let mut record = csv::StringRecord::new();
        let mut line = 1u64;
        while reader.read_record(&mut record).map_err(fail)? {
            line += 1;
            let parse = |m: String| Error::Data(DataError::parse(path, line, m));
            let field = |i: usize, name: &str| match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(parse(format!("column {name:?} is empty"))),
            };
            task.push(tasks.code(field(t, &columns.task)?));
            worker.push(workers.code(field(w, &columns.worker)?));
            let number = |s: &str| match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(parse(format!(
                    "{s:?} in the embedding is not a finite number (embeddings are numbers \
                     separated by commas or spaces)"
                ))),
            };
            let before = values.len();
            match single {
                Some(i) => {
                    let text = record.get(i).unwrap_or("");
                    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
                    for s in inner
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                    {
                        values.push(number(s)?);
                    }
                }
                None => {
                    for &i in &numbered {
                        values.push(number(record.get(i).unwrap_or(""))?);
                    }
                }
            }
            let n = values.len() - before;
            match dim {
                None if n == 0 => return Err(parse("the embedding is empty".into())),
                None => dim = Some(n),
                Some(d) if d != n => {
                    return Err(parse(format!(
                        "the embedding has {n} numbers, the first row's has {d} (every \
                         embedding must have one length)"
                    )));
                }
                Some(_) => {}
            }
            if let Some(i) = out {
                outputs.push(record.get(i).unwrap_or("").to_string());
            }
        }
        let Some(dim) = dim else {
            return Err(Error::Data(DataError::file(path, "no answers (0 rows)")));
        };
        Ok(EmbeddingsCsv {
            data: Embeddings::new(tasks.names, workers.names, task, worker, dim, values)?,
            outputs: out.map(|_| outputs),
            wide: single.is_none(),
        })
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

    /// The number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Row `r`'s embedding.
    pub fn embedding(&self, r: usize) -> &[f64] {
        &self.values[r * self.dim..(r + 1) * self.dim]
    }

    /// The rows of task `t`, in input order.
    pub fn rows_of(&self, t: usize) -> &[usize] {
        &self.by_task[t]
    }
}
