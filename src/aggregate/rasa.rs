//! RASA (reliability-aware sequence aggregation, Li & Fukumoto 2019) on embeddings, as
//! crowd-kit 1.4 defines it: each task's embedding is the skill-weighted mean of its
//! answers' embeddings; each worker's skill is `χ²_{α/2}(n_w) / Σ d²` — the upper `α/2`
//! quantile of the chi-squared distribution with the worker's number of answers as degrees
//! of freedom, over the worker's summed squared distances to the aggregates (at least
//! 10⁻⁵) — alternated from equal skills until the aggregates' relative squared change is
//! below `tol` or `n_iter` rounds; the task's answer is the one closest to its aggregate in
//! cosine distance.
//!
//! Sums run in crowd-kit's order, so skills and aggregates equal its to rounding.
//!
//! ```
//! use conal::aggregate::{Embedder, FittedEmbeddings, Rasa};
//! use conal::data::Embeddings;
//!
//! // Workers a and b agree on both tasks; c is far off.
//! let data = Embeddings::new(
//!     vec!["t1".into(), "t2".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0, 1, 1, 1],
//!     vec![0, 1, 2, 0, 1, 2],
//!     2,
//!     vec![1.0, 0.0, 1.0, 0.1, -1.0, 3.0, 0.0, 1.0, 0.1, 1.0, 2.0, -1.0],
//! )?;
//! let fitted = Rasa::new().fit(&data)?;
//! assert!(fitted.skills[0] > 10.0 * fitted.skills[2]);
//! assert_ne!(fitted.closest()[0], Some(2)); // a or b, not c
//! # Ok::<(), conal::Error>(())
//! ```

use special::Gamma;

use crate::aggregate::closest_to_average::{Distance, FittedClosest, closest, table, with_known};
use crate::aggregate::contract::{Embedder, Entry, FittedEmbeddings, Values};
use crate::data::{Embeddings, numpy_sum, numpy_sum_by};
use crate::error::{Error, Result};

const EPS: f64 = 1e-5;

/// RASA in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynEmbedder> = Entry {
    name: "rasa",
    about: "RASA: skill-weighted mean embeddings, skills from chi-squared quantiles over distances",
    params: &[
        ("n_iter", "most rounds (default 100)"),
        (
            "tol",
            "stop when the aggregates' relative squared change is below (default 1e-9)",
        ),
        (
            "alpha",
            "significance level of the chi-squared quantiles (default 0.05)",
        ),
        (
            "true_embeddings",
            "a tasks × dim table of known embeddings used in place of the aggregates (NaN rows: none)",
        ),
    ],
    build: |p| {
        let mut m = Rasa::new();
        if let Some(n) = p.usize("n_iter")? {
            m.n_iter = n;
        }
        if let Some(t) = p.f64("tol")? {
            m.tol = t;
        }
        if let Some(a) = p.f64("alpha")? {
            if !(a > 0.0 && a < 1.0) {
                return Err(Error::param("alpha", a, "between 0 and 1"));
            }
            m.alpha = a;
        }
        m.true_embeddings = table(p, "true_embeddings")?;
        Ok(Box::new(m))
    },
};

/// RASA's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Rasa {
    /// The most rounds. Defaults to 100.
    pub n_iter: usize,
    /// Stop when the aggregates' relative squared change is below this. Defaults to 1e-9.
    pub tol: f64,
    /// Significance level of the chi-squared quantiles. Defaults to 0.05.
    pub alpha: f64,
    /// Known embeddings by task (rows of NaN: unknown).
    pub true_embeddings: Option<Vec<Vec<f64>>>,
}

impl Default for Rasa {
    fn default() -> Self {
        Self::new()
    }
}

/// What RASA infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedRasa {
    /// Aggregates, cosine distances and closest answers.
    pub closest: FittedClosest,
    /// Each worker's skill (NaN for a worker without answers).
    pub skills: Vec<f64>,
    /// Each worker's prior skill, the chi-squared quantile of its number of answers.
    pub prior_skills: Vec<f64>,
    /// The aggregates' relative squared change, round after round.
    pub loss_history: Vec<f64>,
}

/// The upper `q` quantile of the chi-squared distribution with `k` degrees of freedom
/// (scipy's `chi2.isf(q, k)`): the `x` where `P(k/2, x/2) = 1 − q`, found by bisection on the
/// regularised incomplete gamma function. Written here because the crates that have it
/// (statrs) bring a linear-algebra library for one function.
pub fn chi2_isf(q: f64, k: f64) -> f64 {
    let below = |x: f64| (x / 2.0).inc_gamma(k / 2.0) < 1.0 - q;
    let (mut lo, mut hi) = (0.0, k.max(1.0));
    while below(hi) {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

impl Rasa {
    /// 100 rounds, tolerance 1e-9, α = 0.05.
    pub fn new() -> Self {
        Rasa {
            n_iter: 100,
            tol: 1e-9,
            alpha: 0.05,
            true_embeddings: None,
        }
    }
}

impl Embedder for Rasa {
    type Fitted = FittedRasa;

    fn fit(&self, data: &Embeddings) -> Result<Self::Fitted> {
        let rounds = Rounds {
            kept: vec![true; data.n_tasks()],
            local: vec![1.0; data.len()],
            alpha: self.alpha,
            n_iter: self.n_iter,
            tol: self.tol,
            true_embeddings: self.true_embeddings.as_ref(),
        }
        .run(data)?;
        Ok(FittedRasa {
            closest: closest(data, &rounds.aggregated, Distance::Cosine),
            skills: rounds.skills,
            prior_skills: rounds.prior,
            loss_history: rounds.history,
        })
    }
}

/// RASA's alternation, shared with HRRASA: aggregates as weighted means (a row weighs its
/// worker's skill × its local skill), skills as prior over summed distances (a row's
/// squared distance over its local skill), over the kept tasks; a task set aside keeps its
/// one answer as aggregate. RASA keeps every task with local skills of 1 (which change no
/// number: `x · 1` and `x / 1` are `x`).
pub(crate) struct Rounds<'a> {
    /// Whether each task takes part.
    pub kept: Vec<bool>,
    /// Each row's local skill.
    pub local: Vec<f64>,
    pub alpha: f64,
    pub n_iter: usize,
    pub tol: f64,
    pub true_embeddings: Option<&'a Vec<Vec<f64>>>,
}

/// What the alternation ends with.
pub(crate) struct RoundsOutcome {
    pub aggregated: Vec<Vec<f64>>,
    /// Skills (NaN for a worker without a kept answer) and priors.
    pub skills: Vec<f64>,
    pub prior: Vec<f64>,
    /// Each row's final weight (NaN outside the kept tasks).
    pub weights: Vec<f64>,
    pub history: Vec<f64>,
}

impl Rounds<'_> {
    pub(crate) fn run(&self, data: &Embeddings) -> Result<RoundsOutcome> {
        let (dim, m) = (data.dim, data.n_workers());
        let in_kept = |r: usize| self.kept[data.task[r] as usize];
        // Each worker's kept rows, for its summed distance in crowd-kit's order (row order).
        let mut rows_of_worker = vec![Vec::new(); m];
        for r in (0..data.len()).filter(|&r| in_kept(r)) {
            rows_of_worker[data.worker[r] as usize].push(r);
        }
        let prior: Vec<f64> = rows_of_worker
            .iter()
            .map(|rows| match rows.len() {
                0 => f64::NAN,
                n => chi2_isf(self.alpha / 2.0, n as f64),
            })
            .collect();
        let weights_of = |skills: &[f64]| -> Vec<f64> {
            (0..data.len())
                .map(|r| {
                    if in_kept(r) {
                        skills[data.worker[r] as usize] * self.local[r]
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        };
        let aggregate = |weights: &[f64]| -> Result<Vec<Vec<f64>>> {
            let mut aggregated: Vec<Vec<f64>> = (0..data.n_tasks())
                .map(|t| {
                    let rows = data.rows_of(t);
                    if !self.kept[t] {
                        return data.embedding(rows[0]).to_vec();
                    }
                    let mut sum = vec![0.0; dim];
                    for &r in rows {
                        sum.iter_mut()
                            .zip(data.embedding(r))
                            .for_each(|(a, x)| *a += weights[r] * x);
                    }
                    let total = numpy_sum_by(rows.len(), |i| weights[rows[i]]);
                    sum.iter().map(|a| a / total).collect()
                })
                .collect();
            with_known(&mut aggregated, self.true_embeddings, dim)?;
            Ok(aggregated)
        };
        let mut skills = vec![1.0; m];
        let mut weights = weights_of(&skills);
        let mut aggregated = aggregate(&weights)?;
        let mut last: Option<Vec<Vec<f64>>> = None;
        let mut history = Vec::new();
        let rounds = if self.kept.iter().any(|&k| k) {
            self.n_iter
        } else {
            0
        };
        for _ in 0..rounds {
            aggregated = aggregate(&weights)?;
            let distances: Vec<f64> = (0..data.len())
                .map(|r| {
                    if !in_kept(r) {
                        return f64::NAN;
                    }
                    let centre = &aggregated[data.task[r] as usize];
                    Distance::SqEuclidean.between(data.embedding(r), centre) / self.local[r]
                })
                .collect();
            for (w, rows) in rows_of_worker.iter().enumerate() {
                if !rows.is_empty() {
                    let total = numpy_sum_by(rows.len(), |i| distances[rows[i]]).max(EPS);
                    skills[w] = prior[w] / total;
                }
            }
            weights = weights_of(&skills);
            if let Some(prev) = &last {
                // Σ over tasks (one after another) of the squared change, then over dims.
                let (mut delta, mut size) = (vec![0.0; dim], vec![0.0; dim]);
                for (_, (a, b)) in aggregated
                    .iter()
                    .zip(prev)
                    .enumerate()
                    .filter(|&(t, _)| self.kept[t])
                {
                    for j in 0..dim {
                        delta[j] += (a[j] - b[j]) * (a[j] - b[j]);
                        size[j] += a[j] * a[j];
                    }
                }
                let loss = numpy_sum(&delta) / numpy_sum(&size);
                history.push(loss);
                if loss < self.tol {
                    break;
                }
            }
            last = Some(aggregated.clone());
        }
        let skills = skills
            .iter()
            .zip(&rows_of_worker)
            .map(|(&s, rows)| if rows.is_empty() { f64::NAN } else { s })
            .collect();
        Ok(RoundsOutcome {
            aggregated,
            skills,
            prior,
            weights,
            history,
        })
    }
}

impl FittedEmbeddings for FittedRasa {
    fn aggregated(&self) -> &[Vec<f64>] {
        &self.closest.aggregated
    }

    fn scores(&self) -> &[f64] {
        &self.closest.scores
    }

    fn closest(&self) -> &[Option<usize>] {
        &self.closest.closest
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("skills", Values::Vector(self.skills.clone())),
            ("prior_skills", Values::Vector(self.prior_skills.clone())),
            ("loss_history", Values::Vector(self.loss_history.clone())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's `chi2.isf(0.025, k)` for a few k (printed by scipy 1.x).
    #[test]
    fn chi_squared_quantiles_as_scipy() {
        for (k, want) in [
            (1.0, 5.023886187314888),
            (3.0, 9.348403604496148),
            (10.0, 20.483177350807388),
        ] {
            let got = chi2_isf(0.025, k);
            assert!((got - want).abs() < 1e-9 * want, "{k}: {got} vs {want}");
        }
    }
}
