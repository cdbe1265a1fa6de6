//! Bradley-Terry: item `i` beats item `j` with probability `p_i / (p_i + p_j)`; the scores
//! `p` (summing to 1) maximise the likelihood of the observed wins, found by Hunter's
//! MM algorithm (2004) as crowd-kit 1.4 runs it: from uniform scores, each iteration sets
//! `p_i ← W_i / Σ_j n_ij / (p_i + p_j)` (`W_i`: wins of `i`, `n_ij`: comparisons of `i` and
//! `j`) and normalises.
//!
//! Stopping: after an iteration whose scores moved by less than `tol` in L1 norm. crowd-kit
//! means the same, but its check compares the new scores with themselves (the previous
//! vector aliases the new one), so with `tol > 0` it always stops after the second
//! iteration; with `tol = 0` both run exactly `n_iter` iterations and agree to rounding.
//!
//! Ties: the model has no tie outcome. [`TieRule::Drop`] (the default) leaves a tie out, as
//! crowd-kit's Bradley-Terry does (crowd-kit also lists the tie label itself as an item,
//! whose score is NaN and turns every score NaN; conal does not); [`TieRule::Half`] counts
//! it as half a win for each item (as arena leaderboards do).
//!
//! An item without a decisive comparison has no score (NaN) and is left out of the
//! normalisation.
//!
//! ```
//! use conal::aggregate::{BradleyTerry, FittedRanking, Ranker};
//! use conal::data::Comparisons;
//!
//! // a beats b twice and loses once; b beats c twice and loses once: a > b > c.
//! let data = Comparisons::from_strings(
//!     &["w"; 6],
//!     &["a", "a", "b", "b", "b", "c"],
//!     &["b", "b", "a", "c", "c", "b"],
//!     &["a", "a", "b", "b", "b", "c"],
//! )?;
//! let fitted = BradleyTerry::new().fit(&data)?;
//! let s = fitted.scores();
//! assert!(s[0] > s[1] && s[1] > s[2]);
//! assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;

use crate::aggregate::contract::{Entry, FittedRanking, Ranker, Values, check_non_negative};
use crate::aggregate::params::Params;
use crate::data::{Comparisons, Outcome};
use crate::error::{Error, Result};

/// Bradley-Terry in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynRanker> = Entry {
    name: "bt",
    about: "Bradley-Terry: one score per item from pairwise comparisons (MM algorithm)",
    params: &[
        ("n_iter", "most MM iterations (default 100)"),
        (
            "tol",
            "stop when the scores move by less in L1 norm (default 1e-5; 0: run n_iter)",
        ),
        (
            "ties",
            "drop (default: a tie counts for neither item, as crowd-kit) or half (half a win each)",
        ),
    ],
    build: |p| {
        let mut bt = BradleyTerry::new();
        if let Some(n) = p.usize("n_iter")? {
            bt = bt.max_iter(n);
        }
        if let Some(t) = p.f64("tol")? {
            bt = bt.tol(t)?;
        }
        if let Some(t) = tie_rule(p)? {
            bt = bt.ties(t);
        }
        Ok(Box::new(bt))
    },
};

/// What a tie counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TieRule {
    /// Nothing: the comparison is left out (crowd-kit's Bradley-Terry).
    #[default]
    Drop,
    /// Half a win for each item.
    Half,
}

/// The `ties` parameter, where given.
pub(crate) fn tie_rule(p: &Params) -> Result<Option<TieRule>> {
    p.text("ties")?
        .map(|t| match t {
            "drop" => Ok(TieRule::Drop),
            "half" => Ok(TieRule::Half),
            other => Err(Error::param("ties", other, "drop or half")),
        })
        .transpose()
}

/// The weight of each comparison's outcome for the left and the right item: (left wins,
/// right wins), `None` for a comparison that counts for nothing.
pub(crate) fn outcome_weights(outcome: Outcome, ties: TieRule, weight: f64) -> Option<(f64, f64)> {
    match (outcome, ties) {
        (_, _) if weight == 0.0 => None,
        (Outcome::Left, _) => Some((weight, 0.0)),
        (Outcome::Right, _) => Some((0.0, weight)),
        (Outcome::Tie, TieRule::Half) => Some((weight / 2.0, weight / 2.0)),
        (Outcome::Tie, TieRule::Drop) => None,
    }
}

/// Bradley-Terry's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BradleyTerry {
    max_iter: usize,
    tol: f64,
    ties: TieRule,
}

impl Default for BradleyTerry {
    fn default() -> Self {
        Self::new()
    }
}

/// What Bradley-Terry infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedBradleyTerry {
    /// Each item's score (they sum to 1 over the items that have one; NaN for an item
    /// without a decisive comparison).
    pub scores: Vec<f64>,
    /// How far the scores moved (L1 norm) at each iteration.
    pub loss_history: Vec<f64>,
}

impl BradleyTerry {
    /// At most 100 iterations, tolerance 1e-5, ties dropped.
    pub fn new() -> Self {
        BradleyTerry {
            max_iter: 100,
            tol: 1e-5,
            ties: TieRule::Drop,
        }
    }

    /// The most MM iterations (0: the uniform start). Defaults to 100.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Stop once the scores move by less than this in L1 norm (0: run every iteration).
    /// Defaults to 1e-5.
    pub fn tol(mut self, tol: f64) -> Result<Self> {
        check_non_negative(&[("tol", tol)])?;
        self.tol = tol;
        Ok(self)
    }

    /// What a tie counts for. Defaults to [`TieRule::Drop`].
    pub fn ties(mut self, ties: TieRule) -> Self {
        self.ties = ties;
        self
    }
}

/// The comparisons summed per unordered pair of items: `(lo, hi, n)` with `n` the
/// comparisons' total weight, and each item's (weighted) wins.
struct Pairs {
    pairs: Vec<(u32, u32, f64)>,
    wins: Vec<f64>,
}

fn pairs(data: &Comparisons, weights: Option<&[f64]>, ties: TieRule) -> Pairs {
    let mut wins = vec![0.0; data.n_items()];
    // One (pair key, weight) per counted comparison, sorted so that a pair's comparisons
    // are adjacent (rayon's parallel sort: a hash map of ten million pairs was slower).
    let mut keyed: Vec<(u64, f64)> = Vec::with_capacity(data.len());
    for c in 0..data.len() {
        let w = weights.map_or(1.0, |w| w[c]);
        let (l, r) = (data.left[c], data.right[c]);
        let Some((wl, wr)) = outcome_weights(data.outcome[c], ties, w) else {
            continue;
        };
        wins[l as usize] += wl;
        wins[r as usize] += wr;
        let (lo, hi) = (l.min(r) as u64, l.max(r) as u64);
        keyed.push(((lo << 32) | hi, w));
    }
    keyed.par_sort_unstable_by_key(|&(k, _)| k);
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    for (key, w) in keyed {
        let (lo, hi) = ((key >> 32) as u32, key as u32);
        match pairs.last_mut() {
            Some(last) if (last.0, last.1) == (lo, hi) => last.2 += w,
            _ => pairs.push((lo, hi, w)),
        }
    }
    Pairs { pairs, wins }
}

/// `Σ_j n_ij / (p_i + p_j)` for every item `i`.
fn denominators(pairs: &[(u32, u32, f64)], p: &[f64]) -> Vec<f64> {
    let n = p.len();
    pairs
        .par_chunks(1 << 16)
        .fold(
            || vec![0.0; n],
            |mut acc, chunk| {
                for &(i, j, c) in chunk {
                    let (i, j) = (i as usize, j as usize);
                    let t = c / (p[i] + p[j]);
                    acc[i] += t;
                    acc[j] += t;
                }
                acc
            },
        )
        .reduce(
            || vec![0.0; n],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

impl Ranker for BradleyTerry {
    type Fitted = FittedBradleyTerry;

    fn fit_weighted(&self, data: &Comparisons, weights: Option<&[f64]>) -> Result<Self::Fitted> {
        check_weights(data, weights)?;
        let Pairs { pairs, wins } = pairs(data, weights, self.ties);
        let n = data.n_items();
        // Items in at least one counted comparison; the others get no score.
        let mut compared = vec![false; n];
        for &(i, j, _) in &pairs {
            compared[i as usize] = true;
            compared[j as usize] = true;
        }
        let n_scored = compared.iter().filter(|&&c| c).count();
        let start = 1.0 / n_scored.max(1) as f64;
        let mut p: Vec<f64> = compared
            .iter()
            .map(|&c| if c { start } else { f64::NAN })
            .collect();
        let mut loss_history = Vec::new();
        for _ in 0..self.max_iter {
            let denom = denominators(&pairs, &p);
            let mut next: Vec<f64> = (0..n)
                .map(|i| {
                    if compared[i] {
                        wins[i] / denom[i]
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let total: f64 = next.iter().filter(|v| !v.is_nan()).sum();
            next.iter_mut().for_each(|v| *v /= total);
            let moved: f64 = next
                .iter()
                .zip(&p)
                .filter(|(a, _)| !a.is_nan())
                .map(|(a, b)| (a - b).abs())
                .sum();
            p = next;
            loss_history.push(moved);
            if moved < self.tol {
                break;
            }
        }
        Ok(FittedBradleyTerry {
            scores: p,
            loss_history,
        })
    }
}

/// Weights, where given, are one finite non-negative number per comparison.
pub(crate) fn check_weights(data: &Comparisons, weights: Option<&[f64]>) -> Result<()> {
    let Some(w) = weights else { return Ok(()) };
    if w.len() != data.len() {
        return Err(Error::Invalid {
            what: "weights",
            message: format!("{} weights for {} comparisons", w.len(), data.len()),
        });
    }
    match w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(c) => Err(Error::param(
            "weights",
            w[c],
            format!("finite and non-negative (comparison {c})"),
        )),
        None => Ok(()),
    }
}

impl FittedRanking for FittedBradleyTerry {
    fn scores(&self) -> &[f64] {
        &self.scores
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![("loss_history", Values::Vector(self.loss_history.clone()))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abc(labels: [&str; 3]) -> Comparisons {
        Comparisons::from_strings(&["w1"; 3], &["a", "b", "c"], &["b", "c", "a"], &labels).unwrap()
    }

    /// Two items, `k` wins of 10: the maximum-likelihood scores are (k/10, 1 − k/10).
    #[test]
    fn two_items_score_their_win_shares() {
        let left = ["x"; 10];
        let right = ["y"; 10];
        let labels: Vec<&str> = (0..10).map(|i| if i < 7 { "x" } else { "y" }).collect();
        let data = Comparisons::from_strings(&["w"; 10], &left, &right, &labels).unwrap();
        let s = BradleyTerry::new().fit(&data).unwrap().scores;
        assert!(
            (s[0] - 0.7).abs() < 1e-12 && (s[1] - 0.3).abs() < 1e-12,
            "{s:?}"
        );
    }

    /// crowd-kit's own examples: a cycle gives equal scores; a > b > c run for 10
    /// iterations (tol 0) gives its figures; 0 iterations the uniform start.
    #[test]
    fn crowd_kits_examples() {
        let s = BradleyTerry::new()
            .fit(&abc(["a", "b", "c"]))
            .unwrap()
            .scores;
        assert!(s.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-12), "{s:?}");
        let bt = BradleyTerry::new().max_iter(10).tol(0.0).unwrap();
        let fitted = bt.fit(&abc(["a", "b", "a"])).unwrap();
        assert_eq!(fitted.loss_history.len(), 10);
        let want = [0.934, 0.065, 0.0];
        for (got, want) in fitted.scores.iter().zip(want) {
            assert!((got - want).abs() < 0.005, "{:?}", fitted.scores);
        }
        let s = BradleyTerry::new()
            .max_iter(0)
            .fit(&abc(["a", "b", "a"]))
            .unwrap()
            .scores;
        assert_eq!(s, [1.0 / 3.0; 3]);
    }

    /// Ties: dropped, an item compared only in ties has no score; halved, a tie is half a
    /// win each (two items, one win and one tie each way: 0.5 each).
    #[test]
    fn ties_are_dropped_or_halved() {
        let data = Comparisons::from_strings(
            &["w"; 3],
            &["a", "b", "c"],
            &["b", "c", "a"],
            &["a", "tie", "tie"],
        )
        .unwrap();
        let s = BradleyTerry::new().fit(&data).unwrap().scores;
        assert!(
            s[2].is_nan() && (s[0] - 1.0).abs() < 1e-12 && s[1] == 0.0,
            "{s:?}"
        );
        let data = Comparisons::from_strings(
            &["w"; 3],
            &["a", "a", "b"],
            &["b", "b", "a"],
            &["a", "b", "tie"],
        )
        .unwrap();
        let s = BradleyTerry::new()
            .ties(TieRule::Half)
            .fit(&data)
            .unwrap()
            .scores;
        assert!((s[0] - 0.5).abs() < 1e-12, "{s:?}");
    }

    /// Weights are repeated comparisons: weight 2 on a row equals the row given twice.
    #[test]
    fn a_weight_is_a_repeat() {
        let data = Comparisons::from_strings(
            &["w"; 4],
            &["a", "b", "c", "a"],
            &["b", "c", "a", "c"],
            &["a", "b", "c", "a"],
        )
        .unwrap();
        let bt = BradleyTerry::new().tol(0.0).unwrap();
        let weighted = bt.fit_weighted(&data, Some(&[2.0, 1.0, 1.0, 0.0])).unwrap();
        let repeated = Comparisons::from_strings(
            &["w"; 4],
            &["a", "a", "b", "c"],
            &["b", "b", "c", "a"],
            &["a", "a", "b", "c"],
        )
        .unwrap();
        let plain = bt.fit(&repeated).unwrap();
        for (x, y) in weighted.scores.iter().zip(&plain.scores) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!(
            bt.fit_weighted(&data, Some(&[1.0, -1.0, 1.0, 1.0]))
                .is_err()
        );
    }
}
