//! ROVER (recognizer output voting error reduction, Fiscus 1997), as crowd-kit 1.4 runs it:
//! a task's answers are aligned one after another into a word transition network — a
//! sequence of columns, each the words the answers put at that place with how many answers
//! did (the empty word where an answer has none) — by an edit-distance alignment of each new
//! answer to the columns so far; the text is each column's most frequent word (ties: the
//! longer, then the greater word), empty words left out.
//!
//! The alignment makes crowd-kit's choices: among equal costs, a match or substitution
//! before a deletion before an insertion; a deletion against a column that already holds the
//! empty word costs nothing.
//!
//! ```
//! use conal::aggregate::{FittedTexts, Rover, TextAggregator};
//! use conal::data::Texts;
//!
//! let answers = Texts::from_strings(
//!     &["t"; 3],
//!     &[vec!["the", "cat", "sat"], vec!["a", "cat", "sat"], vec!["the", "cat", "sad"]],
//! )?;
//! let fitted = Rover::new().fit(&answers)?;
//! let words: Vec<&str> = fitted.texts()[0].iter().map(|&w| answers.words[w as usize].as_str()).collect();
//! assert_eq!(words, ["the", "cat", "sat"]);
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;

use crate::aggregate::contract::{Entry, FittedTexts, TextAggregator};
use crate::data::Texts;
use crate::error::Result;

/// ROVER in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynTextAggregator> = Entry {
    name: "rover",
    about: "ROVER: answers aligned word by word into a transition network, the most frequent word kept",
    params: &[],
    build: |_| Ok(Box::new(Rover::new())),
};

/// ROVER (no parameters: the tokenizer is the caller's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rover;

/// What ROVER infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedRover {
    /// Each task's words (ids into the vocabulary), empty words left out.
    pub texts: Vec<Vec<u32>>,
}

/// A column of the network: the words at one place and how many answers put them there.
type Column = Vec<(u32, u64)>;

/// The empty word's id.
const EMPTY: u32 = 0;

fn add(column: &mut Column, word: u32) {
    match column.iter_mut().find(|(w, _)| *w == word) {
        Some((_, count)) => *count += 1,
        None => column.push((word, 1)),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Action {
    Match,
    Delete,
    Insert,
}

/// Aligns answer `hyp` (the `sources`-th) to the columns, as crowd-kit's `_align`.
fn align(columns: &[Column], hyp: &[u32], sources: u64) -> Vec<Column> {
    let (h, r) = (hyp.len(), columns.len());
    let width = r + 1;
    let mut cost = vec![0u64; (h + 1) * width];
    let mut action = vec![Action::Match; (h + 1) * width];
    for i in 1..=h {
        cost[i * width] = i as u64;
        action[i * width] = Action::Insert;
    }
    for j in 1..=r {
        cost[j] = j as u64;
        action[j] = Action::Delete;
    }
    for i in 1..=h {
        let word = hyp[i - 1];
        for j in 1..=r {
            let column = &columns[j - 1];
            let diagonal =
                cost[(i - 1) * width + j - 1] + u64::from(!column.iter().any(|&(w, _)| w == word));
            let delete =
                cost[i * width + j - 1] + u64::from(!column.iter().any(|&(w, _)| w == EMPTY));
            let insert = cost[(i - 1) * width + j] + 1;
            // The first of the cheapest, in crowd-kit's order.
            let (mut best, mut act) = (diagonal, Action::Match);
            if delete < best {
                (best, act) = (delete, Action::Delete);
            }
            if insert < best {
                (best, act) = (insert, Action::Insert);
            }
            cost[i * width + j] = best;
            action[i * width + j] = act;
        }
    }
    let (mut i, mut j) = (h, r);
    let mut aligned = Vec::with_capacity(h.max(r));
    while i != 0 || j != 0 {
        match action[i * width + j] {
            Action::Match => {
                let mut column = columns[j - 1].clone();
                add(&mut column, hyp[i - 1]);
                aligned.push(column);
                i -= 1;
                j -= 1;
            }
            Action::Insert => {
                let mut column = vec![(EMPTY, sources)];
                add(&mut column, hyp[i - 1]);
                aligned.push(column);
                i -= 1;
            }
            Action::Delete => {
                let mut column = columns[j - 1].clone();
                add(&mut column, EMPTY);
                aligned.push(column);
                j -= 1;
            }
        }
    }
    aligned.reverse();
    aligned
}

impl Rover {
    /// ROVER.
    pub fn new() -> Self {
        Rover
    }

    fn one(&self, data: &Texts, rows: &[usize]) -> Vec<u32> {
        let Some((&first, rest)) = rows.split_first() else {
            return Vec::new();
        };
        let mut columns: Vec<Column> = data.tokens(first).iter().map(|&w| vec![(w, 1)]).collect();
        for (k, &r) in rest.iter().enumerate() {
            columns = align(&columns, data.tokens(r), k as u64 + 1);
        }
        columns
            .iter()
            .filter_map(|column| {
                column
                    .iter()
                    .max_by(|a, b| {
                        let (wa, wb) = (&data.words[a.0 as usize], &data.words[b.0 as usize]);
                        (a.1, wa.chars().count(), wa.as_str()).cmp(&(
                            b.1,
                            wb.chars().count(),
                            wb.as_str(),
                        ))
                    })
                    .map(|&(w, _)| w)
            })
            .filter(|&w| w != EMPTY)
            .collect()
    }
}

impl TextAggregator for Rover {
    type Fitted = FittedRover;

    fn fit(&self, data: &Texts) -> Result<Self::Fitted> {
        let texts = (0..data.n_tasks())
            .into_par_iter()
            .map(|t| self.one(data, data.rows_of(t)))
            .collect();
        Ok(FittedRover { texts })
    }
}

impl FittedTexts for FittedRover {
    fn texts(&self) -> &[Vec<u32>] {
        &self.texts
    }
}
