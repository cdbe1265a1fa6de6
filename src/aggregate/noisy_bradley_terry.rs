//! Noisy Bradley-Terry, crowd-kit 1.4's model: worker `w` either compares by the items'
//! strengths (with probability `skill_w`) or picks a side by habit (the left item with
//! probability `bias_w`):
//!
//! `P(left wins) = skill_w · σ(s_i − s_j) + (1 − skill_w) · bias_w`
//!
//! with a weak pull of every item's strength `s_i` towards an anchor at 0
//! (`regularization_ratio · Σ_i [log σ(s_i) + log σ(−s_i)]`, one virtual win and one virtual
//! loss against an item of strength 0). Scores are `σ(s_i)`: the chance of beating the
//! anchor.
//!
//! Fitted by expectation-maximisation, written here rather than handed to a general
//! optimiser because each step is closed-form: the E-step gives each comparison's chance of
//! having been made by strength rather than habit, the M-step sets each worker's skill and
//! bias to their weighted shares and moves the strengths by one MM step of a weighted
//! Bradley-Terry (Hunter 2004) with the anchor as an extra item. Every iteration raises the
//! objective; it stops when the objective grows by less than `tol` relative to its size
//! (scipy's `ftol`, which crowd-kit passes `tol` to) or after `n_iter` iterations.
//!
//! How it differs from crowd-kit's fit, which hands the same likelihood to scipy's L-BFGS-B
//! with a hand-written gradient: that gradient writes (`=`) rather than adds each worker's
//! skill and bias terms, one index to the side of them, and has the regulariser's sign
//! reversed, and crowd-kit leaves the anchor free, so that adding one constant to every
//! strength changes no likelihood but every score. Its scores therefore depend on its random
//! start and on where the line search gives up. conal fixes the anchor at 0, starts from the
//! same `random_state` draws, and climbs the stated objective to its maximum. Ties count
//! for nothing or as half a win each ([`TieRule`]); crowd-kit counts a tie as a win of the
//! right item.
//!
//! ```
//! use conal::aggregate::{FittedRanking, NoisyBradleyTerry, Ranker};
//! use conal::data::Comparisons;
//!
//! // Worker w1 prefers a > b > c; w2 always answers "left" whatever is shown.
//! let mut workers = Vec::new();
//! let (mut left, mut right, mut label) = (Vec::new(), Vec::new(), Vec::new());
//! for (l, r, y) in [("a", "b", "a"), ("b", "c", "b"), ("c", "a", "a"), ("b", "a", "a")] {
//!     for _ in 0..5 {
//!         workers.push("w1");
//!         (left.push(l), right.push(r), label.push(y));
//!         workers.push("w2");
//!         (left.push(l), right.push(r), label.push(l));
//!     }
//! }
//! let fitted = NoisyBradleyTerry::new().fit(&Comparisons::from_strings(&workers, &left, &right, &label)?)?;
//! let s = fitted.scores();
//! assert!(s[0] > s[1] && s[1] > s[2]);
//! assert!(fitted.biases[1] > 0.9); // w2 picks the left item
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;

use crate::aggregate::bradley_terry::{TieRule, check_weights, outcome_weights, tie_rule};
use crate::aggregate::contract::{Entry, FittedRanking, Ranker, Values, check_non_negative};
use crate::data::Comparisons;
use crate::error::Result;
use crate::rng::NumpyRandomState;

/// Noisy Bradley-Terry in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynRanker> = Entry {
    name: "noisy-bt",
    about: "noisy Bradley-Terry: item scores with each worker's skill and left/right bias (EM)",
    params: &[
        ("n_iter", "most EM iterations (default 100)"),
        (
            "tol",
            "stop when the objective grows by less, relative to its size (default 1e-5)",
        ),
        (
            "regularization_ratio",
            "pull of the strengths towards the anchor (default 1e-5)",
        ),
        (
            "random_state",
            "seed of the start (numpy's generator, as crowd-kit draws it; default 0)",
        ),
        (
            "ties",
            "drop (default: a tie counts for nothing) or half (half a win each)",
        ),
    ],
    build: |p| {
        let mut m = NoisyBradleyTerry::new();
        if let Some(n) = p.usize("n_iter")? {
            m = m.max_iter(n);
        }
        if let Some(t) = p.f64("tol")? {
            m = m.tol(t)?;
        }
        if let Some(r) = p.f64("regularization_ratio")? {
            m = m.regularization_ratio(r)?;
        }
        if let Some(s) = p.u32("random_state")? {
            m = m.random_state(s);
        }
        if let Some(t) = tie_rule(p)? {
            m = m.ties(t);
        }
        Ok(Box::new(m))
    },
};

/// Noisy Bradley-Terry's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisyBradleyTerry {
    max_iter: usize,
    tol: f64,
    regularization_ratio: f64,
    random_state: u32,
    ties: TieRule,
}

impl Default for NoisyBradleyTerry {
    fn default() -> Self {
        Self::new()
    }
}

/// What noisy Bradley-Terry infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedNoisyBradleyTerry {
    /// Each item's score σ(s_i), the chance of beating the anchor (NaN for an item in no
    /// counted comparison).
    pub scores: Vec<f64>,
    /// Each worker's chance of comparing by strength rather than habit.
    pub skills: Vec<f64>,
    /// Each worker's chance of picking the left item when answering by habit.
    pub biases: Vec<f64>,
    /// The negative objective at the start of each iteration (falls).
    pub loss_history: Vec<f64>,
}

impl NoisyBradleyTerry {
    /// At most 100 iterations, tolerance 1e-5, regularisation 1e-5, random_state 0, ties
    /// dropped.
    pub fn new() -> Self {
        NoisyBradleyTerry {
            max_iter: 100,
            tol: 1e-5,
            regularization_ratio: 1e-5,
            random_state: 0,
            ties: TieRule::Drop,
        }
    }

    /// The most EM iterations (0: the start). Defaults to 100.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Stop when the objective grows by less than this, relative to its size. Defaults to
    /// 1e-5.
    pub fn tol(mut self, tol: f64) -> Result<Self> {
        check_non_negative(&[("tol", tol)])?;
        self.tol = tol;
        Ok(self)
    }

    /// Pull of the strengths towards the anchor at 0. Defaults to 1e-5.
    pub fn regularization_ratio(mut self, r: f64) -> Result<Self> {
        check_non_negative(&[("regularization_ratio", r)])?;
        self.regularization_ratio = r;
        Ok(self)
    }

    /// Seed of the start's draws (numpy's `np.random.seed`). Defaults to 0.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }

    /// What a tie counts for. Defaults to [`TieRule::Drop`].
    pub fn ties(mut self, ties: TieRule) -> Self {
        self.ties = ties;
        self
    }
}

/// One counted comparison: the left item, the right one, the worker, whether the left item
/// won, and its weight (a tie counted as halves is two of these).
#[derive(Clone, Copy)]
struct Row {
    left: u32,
    right: u32,
    worker: u32,
    left_won: bool,
    weight: f64,
}

/// Sums of one E-step over the comparisons.
struct Sums {
    /// Per item: expected wins by strength, and `Σ r / (p_i + p_j)` over its comparisons.
    wins: Vec<f64>,
    denom: Vec<f64>,
    /// Per worker: total weight, expected weight by strength, by habit, by habit on the left.
    total: Vec<f64>,
    by_strength: Vec<f64>,
    by_habit: Vec<f64>,
    habit_left: Vec<f64>,
    /// Log-likelihood of the comparisons.
    log_lik: f64,
}

impl Sums {
    fn zero(n_items: usize, n_workers: usize) -> Self {
        Sums {
            wins: vec![0.0; n_items],
            denom: vec![0.0; n_items],
            total: vec![0.0; n_workers],
            by_strength: vec![0.0; n_workers],
            by_habit: vec![0.0; n_workers],
            habit_left: vec![0.0; n_workers],
            log_lik: 0.0,
        }
    }

    fn add(mut self, o: Sums) -> Self {
        for (a, b) in [
            (&mut self.wins, o.wins),
            (&mut self.denom, o.denom),
            (&mut self.total, o.total),
            (&mut self.by_strength, o.by_strength),
            (&mut self.by_habit, o.by_habit),
            (&mut self.habit_left, o.habit_left),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.log_lik += o.log_lik;
        self
    }
}

/// Keeps a probability off 0 and 1, where a log would be infinite.
fn clamp(p: f64) -> f64 {
    p.clamp(1e-12, 1.0 - 1e-12)
}

/// The E-step's sums at strengths `p = exp(s)`, skills and biases.
fn e_step(rows: &[Row], p: &[f64], skill: &[f64], bias: &[f64]) -> Sums {
    let (n, m) = (p.len(), skill.len());
    rows.par_chunks(1 << 15)
        .fold(
            || Sums::zero(n, m),
            |mut acc, chunk| {
                for r in chunk {
                    let (i, j, w) = (r.left as usize, r.right as usize, r.worker as usize);
                    let pair = p[i] + p[j];
                    // Chance that the chosen item wins on strength, and by habit.
                    let (strength, habit) = if r.left_won {
                        (p[i] / pair, bias[w])
                    } else {
                        (p[j] / pair, 1.0 - bias[w])
                    };
                    let a = skill[w] * strength;
                    let total = a + (1.0 - skill[w]) * habit;
                    let resp = if total > 0.0 { a / total } else { 0.0 };
                    let rw = r.weight * resp;
                    acc.log_lik += r.weight * total.max(f64::MIN_POSITIVE).ln();
                    acc.wins[if r.left_won { i } else { j }] += rw;
                    acc.denom[i] += rw / pair;
                    acc.denom[j] += rw / pair;
                    acc.total[w] += r.weight;
                    acc.by_strength[w] += rw;
                    let hw = r.weight - rw;
                    acc.by_habit[w] += hw;
                    if r.left_won {
                        acc.habit_left[w] += hw;
                    }
                }
                acc
            },
        )
        .reduce(|| Sums::zero(n, m), Sums::add)
}

/// The regulariser `Σ_i [log σ(s_i) + log σ(−s_i)]` at `p = exp(s)`, over scored items.
fn anchor_term(p: &[f64], scored: &[bool]) -> f64 {
    p.iter()
        .zip(scored)
        .filter(|&(_, &s)| s)
        .map(|(&p, _)| p.ln() - 2.0 * (1.0 + p).ln())
        .sum()
}

impl Ranker for NoisyBradleyTerry {
    type Fitted = FittedNoisyBradleyTerry;

    fn fit_weighted(&self, data: &Comparisons, weights: Option<&[f64]>) -> Result<Self::Fitted> {
        check_weights(data, weights)?;
        let (n, m) = (data.n_items(), data.n_workers());
        let mut rows = Vec::with_capacity(data.len());
        for c in 0..data.len() {
            let w = weights.map_or(1.0, |w| w[c]);
            let Some((wl, wr)) = outcome_weights(data.outcome[c], self.ties, w) else {
                continue;
            };
            for (left_won, weight) in [(true, wl), (false, wr)] {
                if weight > 0.0 {
                    rows.push(Row {
                        left: data.left[c],
                        right: data.right[c],
                        worker: data.worker[c],
                        left_won,
                        weight,
                    });
                }
            }
        }
        let mut scored = vec![false; n];
        for r in &rows {
            scored[r.left as usize] = true;
            scored[r.right as usize] = true;
        }
        // crowd-kit's start: np.random.seed(random_state); np.random.rand(1 + items + 2 ×
        // workers) is (anchor, strengths, biases, skills) on the logit scale. The anchor's
        // draw is skipped: conal's anchor is 0.
        let mut draws = NumpyRandomState::new(self.random_state);
        let mut next = || draws.random_sample();
        let _anchor = next();
        let mut p: Vec<f64> = (0..n).map(|_| next().exp()).collect();
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut bias: Vec<f64> = (0..m).map(|_| sigmoid(next())).collect();
        let mut skill: Vec<f64> = (0..m).map(|_| sigmoid(next())).collect();
        let ratio = self.regularization_ratio;
        let objective = |sums: &Sums, p: &[f64]| {
            // Without the pull, a strength may reach 0, whose log would make 0 × ∞.
            let anchor = if ratio > 0.0 {
                ratio * anchor_term(p, &scored)
            } else {
                0.0
            };
            sums.log_lik + anchor
        };
        let mut loss_history = Vec::new();
        let mut previous: Option<f64> = None;
        for _ in 0..self.max_iter {
            let sums = e_step(&rows, &p, &skill, &bias);
            let current = objective(&sums, &p);
            loss_history.push(-current);
            if let Some(prev) = previous {
                // scipy's ftol test: the relative gain of the last step.
                if (current - prev) <= self.tol * current.abs().max(prev.abs()).max(1.0) {
                    break;
                }
            }
            previous = Some(current);
            for w in 0..m {
                if sums.total[w] > 0.0 {
                    skill[w] = clamp(sums.by_strength[w] / sums.total[w]);
                }
                if sums.by_habit[w] > 0.0 {
                    bias[w] = clamp(sums.habit_left[w] / sums.by_habit[w]);
                }
            }
            for i in 0..n {
                if scored[i] {
                    // The anchor (strength 1 = e⁰) adds `ratio` wins and `2 ratio` comparisons.
                    let denom = sums.denom[i] + 2.0 * ratio / (p[i] + 1.0);
                    p[i] = (sums.wins[i] + ratio) / denom;
                }
            }
        }
        let scores = p
            .iter()
            .zip(&scored)
            .map(|(&p, &s)| if s { p / (1.0 + p) } else { f64::NAN })
            .collect();
        Ok(FittedNoisyBradleyTerry {
            scores,
            skills: skill,
            biases: bias,
            loss_history,
        })
    }
}

impl FittedRanking for FittedNoisyBradleyTerry {
    fn scores(&self) -> &[f64] {
        &self.scores
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("skills", Values::Vector(self.skills.clone())),
            ("biases", Values::Vector(self.biases.clone())),
            ("loss_history", Values::Vector(self.loss_history.clone())),
        ]
    }

    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("skill", Values::Vector(self.skills.clone())),
            ("bias", Values::Vector(self.biases.clone())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng;
    use rand::RngExt;

    /// Each iteration raises the objective (EM's promise), and the fit recovers planted
    /// strengths' order, skills and biases on generated comparisons.
    #[test]
    fn em_climbs_and_recovers_the_truth() {
        let (n, m, per) = (8usize, 6usize, 400usize);
        let strength: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 2.0).collect();
        let skills = [0.95, 0.9, 0.8, 0.7, 0.2, 0.0];
        let biases = [0.5, 0.5, 0.3, 0.7, 0.9, 0.1];
        let mut g = rng(7, 0);
        let (mut w, mut l, mut r, mut y) = (vec![], vec![], vec![], vec![]);
        let names: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
        let workers: Vec<String> = (0..m).map(|k| format!("w{k}")).collect();
        for k in 0..m {
            for _ in 0..per {
                let i = g.random_range(0..n);
                let j = (i + g.random_range(1..n)) % n;
                let left_wins = if g.random::<f64>() < skills[k] {
                    g.random::<f64>() < 1.0 / (1.0 + (strength[j] - strength[i]).exp())
                } else {
                    g.random::<f64>() < biases[k]
                };
                w.push(workers[k].as_str());
                l.push(names[i].as_str());
                r.push(names[j].as_str());
                y.push(if left_wins {
                    names[i].as_str()
                } else {
                    names[j].as_str()
                });
            }
        }
        let data = Comparisons::from_strings(&w, &l, &r, &y).unwrap();
        let fitted = NoisyBradleyTerry::new()
            .max_iter(500)
            .tol(0.0)
            .unwrap()
            .fit(&data)
            .unwrap();
        let h = &fitted.loss_history;
        assert!(h.windows(2).all(|p| p[1] <= p[0] + 1e-9), "{h:?}");
        let s: Vec<f64> = (0..n)
            .map(|i| fitted.scores[data.items.iter().position(|x| *x == names[i]).unwrap()])
            .collect();
        let ordered = s.windows(2).filter(|p| p[1] > p[0]).count();
        assert!(ordered >= n - 2, "{s:?}");
        for k in 0..m {
            let c = data.workers.iter().position(|x| *x == workers[k]).unwrap();
            assert!(
                (fitted.skills[c] - skills[k]).abs() < 0.15,
                "{:?}",
                fitted.skills
            );
            if skills[k] < 0.5 {
                assert!(
                    (fitted.biases[c] - biases[k]).abs() < 0.1,
                    "{:?}",
                    fitted.biases
                );
            }
        }
    }

    /// A cycle of one worker's comparisons is balanced: every score 0.5.
    #[test]
    fn a_cycle_scores_the_anchor() {
        let data = Comparisons::from_strings(
            &["w"; 3],
            &["a", "b", "c"],
            &["b", "c", "a"],
            &["a", "b", "c"],
        )
        .unwrap();
        let s = NoisyBradleyTerry::new()
            .tol(0.0)
            .unwrap()
            .max_iter(2000)
            .fit(&data)
            .unwrap()
            .scores;
        assert!(s.iter().all(|v| (v - 0.5).abs() < 1e-3), "{s:?}");
    }
}
