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

use crate::error::{DataError, Error, Result};

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
