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
        let (dim, m) = (data.dim, data.n_workers());
        let mut answers = vec![0usize; m];
        for &w in &data.worker {
            answers[w as usize] += 1;
        }
        let prior: Vec<f64> = answers
            .iter()
            .map(|&n| {
                if n > 0 {
                    chi2_isf(self.alpha / 2.0, n as f64)
                } else {
                    f64::NAN
                }
            })
            .collect();
        let mut skills = vec![1.0; m];
        let mut last: Option<Vec<Vec<f64>>> = None;
        let mut aggregated = vec![vec![0.0; dim]; data.n_tasks()];
        let mut history = Vec::new();
        // Each worker's rows, for its summed distance in crowd-kit's order (row order).
        let mut rows_of_worker = vec![Vec::new(); m];
        for r in 0..data.len() {
            rows_of_worker[data.worker[r] as usize].push(r);
        }
        for _ in 0..self.n_iter {
            aggregated = (0..data.n_tasks())
                .map(|t| {
                    let rows = data.rows_of(t);
                    let mut sum = vec![0.0; dim];
                    for &r in rows {
                        let s = skills[data.worker[r] as usize];
                        sum.iter_mut()
                            .zip(data.embedding(r))
                            .for_each(|(a, x)| *a += s * x);
                    }
                    let weight =
                        numpy_sum_by(rows.len(), |i| skills[data.worker[rows[i]] as usize]);
                    sum.iter().map(|a| a / weight).collect()
                })
                .collect();
            with_known(&mut aggregated, self.true_embeddings.as_ref(), dim)?;
            let distances: Vec<f64> = (0..data.len())
                .map(|r| {
                    Distance::SqEuclidean
                        .between(data.embedding(r), &aggregated[data.task[r] as usize])
                })
                .collect();
            for w in 0..m {
                let rows = &rows_of_worker[w];
                if rows.is_empty() {
                    continue;
                }
                let total = numpy_sum_by(rows.len(), |i| distances[rows[i]]).max(EPS);
                skills[w] = prior[w] / total;
            }
            if let Some(prev) = &last {
                // Σ over tasks (one after another) of the squared change, then over dims.
                let mut delta = vec![0.0; dim];
                let mut size = vec![0.0; dim];
                for (a, b) in aggregated.iter().zip(prev) {
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
            .zip(&answers)
            .map(|(&s, &n)| if n > 0 { s } else { f64::NAN })
            .collect();
        Ok(FittedRasa {
            closest: closest(data, &aggregated, Distance::Cosine),
            skills,
            prior_skills: prior,
            loss_history: history,
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
