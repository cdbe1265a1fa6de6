//! Pairwise comparisons: worker `w` was shown items `left` and `right` and chose one of them
//! (or called it a tie). What Bradley-Terry and noisy Bradley-Terry rank items from.
//!
//! [`Comparisons::new`] is the one place that checks them (codes in range, no item compared
//! with itself, a known outcome), naming the row; the long CSV reader and the bindings build
//! through it.
//!
//! ```
//! use conal::data::{Comparisons, Outcome};
//!
//! let c = Comparisons::from_strings(
//!     &["w1", "w1", "w2"],
//!     &["a", "b", "c"],
//!     &["b", "c", "a"],
//!     &["a", "tie", "a"],
//! )?;
//! assert_eq!(c.items, ["a", "b", "c"]);
//! assert_eq!(c.outcome, [Outcome::Left, Outcome::Tie, Outcome::Right]);
//! assert_eq!((c.len(), c.n_items(), c.n_workers()), (3, 3, 2));
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::data::music::{csv_error, header_column, open_csv};
use crate::error::{DataError, Error, Result};

/// The labels that mean "neither item won" when they name neither compared item.
pub const TIE_LABELS: [&str; 2] = ["tie", "equal"];

/// The result of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The left item won.
    Left,
    /// The right item won.
    Right,
    /// Neither won.
    Tie,
}

/// Pairwise comparisons with their item and worker ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparisons {
    /// Item ids, by index.
    pub items: Vec<String>,
    /// Worker ids, by index.
    pub workers: Vec<String>,
    /// The left item of each comparison.
    pub left: Vec<u32>,
    /// The right item of each comparison.
    pub right: Vec<u32>,
    /// Who compared them.
    pub worker: Vec<u32>,
    /// What they chose.
    pub outcome: Vec<Outcome>,
}

/// Column names of a comparison table.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonColumns {
    /// The worker column; `None`: the table has none (one anonymous worker).
    pub worker: Option<String>,
    /// The left item.
    pub left: String,
    /// The right item.
    pub right: String,
    /// The chosen item (or a tie label).
    pub label: String,
}

impl Default for ComparisonColumns {
    /// crowd-kit's names: worker, left, right, label.
    fn default() -> Self {
        ComparisonColumns {
            worker: Some("worker".into()),
            left: "left".into(),
            right: "right".into(),
            label: "label".into(),
        }
    }
}

impl Comparisons {
    /// Comparisons from codes; an item compared with itself or a code out of range is an
    /// error naming the (0-based) row. `outcome` of `None` at a row: its label named neither
    /// item nor a tie.
    pub fn new(
        items: Vec<String>,
        workers: Vec<String>,
        left: Vec<u32>,
        right: Vec<u32>,
        worker: Vec<u32>,
        outcome: Vec<Option<Outcome>>,
    ) -> Result<Self> {
        let n = left.len();
        if right.len() != n || worker.len() != n || outcome.len() != n {
            return Err(Error::Invalid {
                what: "comparisons",
                message: format!(
                    "columns of different lengths: left {n}, right {}, worker {}, label {}",
                    right.len(),
                    worker.len(),
                    outcome.len()
                ),
            });
        }
        let (n_items, n_workers) = (items.len() as u32, workers.len() as u32);
        let mut outcomes = Vec::with_capacity(n);
        for r in 0..n {
            let (l, rt, w) = (left[r], right[r], worker[r]);
            let invalid = |message: String| {
                Err(Error::Data(DataError::Invalid(format!(
                    "row {r}: {message}"
                ))))
            };
            if l >= n_items || rt >= n_items {
                return invalid(format!(
                    "item code {} is not one of the {n_items} items",
                    l.max(rt)
                ));
            }
            if w >= n_workers {
                return invalid(format!(
                    "worker code {w} is not one of the {n_workers} workers"
                ));
            }
            if l == rt {
                return invalid(format!(
                    "item {:?} is compared with itself (left and right must differ)",
                    items[l as usize]
                ));
            }
            match outcome[r] {
                Some(o) => outcomes.push(o),
                None => {
                    return invalid(format!(
                        "the label is neither the left item {:?}, the right item {:?} nor a \
                         tie ({})",
                        items[l as usize],
                        items[rt as usize],
                        TIE_LABELS.join(", ")
                    ));
                }
            }
        }
        Ok(Comparisons {
            items,
            workers,
            left,
            right,
            worker,
            outcome: outcomes,
        })
    }

    /// Comparisons from id strings, items and workers numbered in order of first appearance
    /// (left before right). A label equal to the left or right id is that item's win; one of
    /// [`TIE_LABELS`] naming neither item is a tie.
    pub fn from_strings(
        workers: &[&str],
        left: &[&str],
        right: &[&str],
        labels: &[&str],
    ) -> Result<Self> {
        if [right.len(), labels.len(), workers.len()]
            .iter()
            .any(|&l| l != left.len())
        {
            return Err(Error::Invalid {
                what: "comparisons",
                message: format!(
                    "columns of different lengths: worker {}, left {}, right {}, label {}",
                    workers.len(),
                    left.len(),
                    right.len(),
                    labels.len()
                ),
            });
        }
        let mut b = Builder::default();
        for r in 0..left.len() {
            b.push(workers[r], left[r], right[r], labels[r]);
        }
        b.finish()
    }

    /// Comparisons from a CSV file with a header naming `columns` (other columns are
    /// ignored); errors name the file and the line.
    pub fn read_csv(path: &Path, columns: &ComparisonColumns) -> Result<Self> {
        let parse = |line: u64, message: String| Error::Data(DataError::parse(path, line, message));
        let (mut reader, header) = open_csv(path).map_err(Error::Data)?;
        let find = |name: &str| {
            header_column(
                path,
                &header,
                name,
                "comparisons need columns for the left item, the right item and the label (the \
                 chosen item)",
            )
            .map_err(Error::Data)
        };
        let (l, r, y) = (
            find(&columns.left)?,
            find(&columns.right)?,
            find(&columns.label)?,
        );
        let w = columns.worker.as_deref().map(find).transpose()?;
        let mut b = Builder::default();
        let mut record = csv::StringRecord::new();
        let mut line = 1;
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(Error::Data(csv_error(path, e))),
            }
            line += 1;
            let field = |i: usize, name: &str| match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(parse(line, format!("column {name:?} is empty"))),
            };
            let worker = match w {
                Some(i) => field(i, columns.worker.as_deref().unwrap_or("worker"))?,
                None => "",
            };
            let (left, right, label) = (
                field(l, &columns.left)?,
                field(r, &columns.right)?,
                field(y, &columns.label)?,
            );
            if left == right {
                return Err(parse(
                    line,
                    format!("item {left:?} is compared with itself (left and right must differ)"),
                ));
            }
            if !b.push(worker, left, right, label) {
                return Err(parse(
                    line,
                    format!(
                        "label {label:?} is neither the left item {left:?}, the right item \
                         {right:?} nor a tie ({})",
                        TIE_LABELS.join(", ")
                    ),
                ));
            }
        }
        if b.left.is_empty() {
            return Err(Error::Data(DataError::file(
                path,
                "no comparisons (0 rows)",
            )));
        }
        b.finish()
    }

    /// The number of comparisons.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// The number of items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// The number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Each comparison as (winner, loser), ties left out.
    pub fn decisive(&self) -> impl Iterator<Item = (usize, u32, u32)> + '_ {
        (0..self.len()).filter_map(|c| match self.outcome[c] {
            Outcome::Left => Some((c, self.left[c], self.right[c])),
            Outcome::Right => Some((c, self.right[c], self.left[c])),
            Outcome::Tie => None,
        })
    }
}

/// Interns ids as rows come.
#[derive(Default)]
struct Builder {
    items: Vec<String>,
    item_index: FxHashMap<String, u32>,
    workers: Vec<String>,
    worker_index: FxHashMap<String, u32>,
    left: Vec<u32>,
    right: Vec<u32>,
    worker: Vec<u32>,
    outcome: Vec<Option<Outcome>>,
}

fn intern(ids: &mut Vec<String>, index: &mut FxHashMap<String, u32>, id: &str) -> u32 {
    if let Some(&i) = index.get(id) {
        return i;
    }
    let i = ids.len() as u32;
    ids.push(id.to_string());
    index.insert(id.to_string(), i);
    i
}

impl Builder {
    /// Adds a row; false when its label names neither item nor a tie.
    fn push(&mut self, worker: &str, left: &str, right: &str, label: &str) -> bool {
        let outcome = if label == left {
            Some(Outcome::Left)
        } else if label == right {
            Some(Outcome::Right)
        } else if TIE_LABELS.contains(&label) {
            Some(Outcome::Tie)
        } else {
            None
        };
        let w = intern(&mut self.workers, &mut self.worker_index, worker);
        let l = intern(&mut self.items, &mut self.item_index, left);
        let r = intern(&mut self.items, &mut self.item_index, right);
        self.worker.push(w);
        self.left.push(l);
        self.right.push(r);
        self.outcome.push(outcome);
        outcome.is_some()
    }

    fn finish(self) -> Result<Comparisons> {
        Comparisons::new(
            self.items,
            self.workers,
            self.left,
            self.right,
            self.worker,
            self.outcome,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_named() {
        let e = Comparisons::from_strings(&["w", "w"], &["a", "b"], &["b", "b"], &["a", "b"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1") && e.contains("compared with itself"),
            "{e}"
        );
        let e = Comparisons::from_strings(&["w"], &["a"], &["b"], &["c"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 0") && e.contains("neither the left item"),
            "{e}"
        );
    }

    #[test]
    fn the_csv_reader_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "worker,left,right,label\nw1,a,b,a\nw2,a,b,c\n").unwrap();
        let e = Comparisons::read_csv(&path, &ComparisonColumns::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.csv:3") && e.contains("\"c\""), "{e}");
        std::fs::write(&path, "worker,left,label\nw1,a,a\n").unwrap();
        let e = Comparisons::read_csv(&path, &ComparisonColumns::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"right\""), "{e}");
        std::fs::write(&path, "left,right,label\na,b,b\nb,c,equal\n").unwrap();
        let columns = ComparisonColumns {
            worker: None,
            ..ComparisonColumns::default()
        };
        let c = Comparisons::read_csv(&path, &columns).unwrap();
        assert_eq!(c.outcome, [Outcome::Right, Outcome::Tie]);
        assert_eq!(c.n_workers(), 1);
    }
}
