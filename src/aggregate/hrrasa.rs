//! HRRASA (hybrid reliability and representation aware sequence aggregation, Li 2020), as
//! crowd-kit 1.4 defines it: RASA whose weights are each worker's global skill times a local
//! skill per answer — how close the answer is to the task's other answers, a mix of the
//! embeddings' closeness `exp(−|e − e'|² / (|e|² |e'|²))` (weight `lambda_emb`) and the
//! outputs' similarity (weight `lambda_out`, computed by the caller's similarity function and
//! handed in per answer) — alternated as RASA from equal global skills; each task's answer
//! is the one closest to its aggregate in cosine distance.
//!
//! Tasks with one answer take no part in the skills (crowd-kit sets them aside): their
//! aggregate is that answer's embedding.
//!
//! ```
//! use conal::aggregate::{Embedder, FittedEmbeddings, Hrrasa};
//! use conal::data::Embeddings;
//!
//! let data = Embeddings::new(
//!     vec!["t1".into(), "t2".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0, 1],
//!     vec![0, 1, 2, 0],
//!     2,
//!     vec![1.0, 0.0, 1.0, 0.1, -1.0, 3.0, 0.5, 0.5],
//! )?;
//! let fitted = Hrrasa::new().fit(&data)?;
//! assert_ne!(fitted.closest()[0], Some(2)); // a or b, not c
//! assert_eq!(fitted.aggregated()[1], [0.5, 0.5]); // one answer: itself
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::closest_to_average::{Distance, FittedClosest, closest, table};
use crate::aggregate::contract::{Embedder, Entry, FittedEmbeddings, Values};
use crate::aggregate::rasa::Rounds;
use crate::data::{Embeddings, numpy_sum_by};
use crate::error::{Error, Result};

/// HRRASA in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynEmbedder> = Entry {
    name: "hrrasa",
    about: "HRRASA: RASA weighted by global skills times local skills (closeness to the other answers)",
    params: &[
        ("n_iter", "most rounds (default 100)"),
        (
            "tol",
            "stop when the aggregates' relative squared change is below (default 1e-9)",
        ),
        (
            "lambda_emb",
            "weight of the embeddings' closeness in a local skill (default 0.5)",
        ),
        (
            "lambda_out",
            "weight of the outputs' similarity in a local skill (default 0.5)",
        ),
        (
            "alpha",
            "significance level of the chi-squared quantiles (default 0.05)",
        ),
        (
            "output_similarity",
            "per answer, its mean output similarity to the task's other workers' answers (default 0)",
        ),
        (
            "true_embeddings",
            "a tasks × dim table of known embeddings used in place of the aggregates (NaN rows: none)",
        ),
    ],
    build: |p| {
        let mut m = Hrrasa::new();
        if let Some(n) = p.usize("n_iter")? {
            m.n_iter = n;
        }
        for (name, field) in [
            ("tol", &mut m.tol),
            ("lambda_emb", &mut m.lambda_emb),
            ("lambda_out", &mut m.lambda_out),
        ] {
            if let Some(v) = p.f64(name)? {
                *field = v;
            }
        }
        if let Some(a) = p.f64("alpha")? {
            if !(a > 0.0 && a < 1.0) {
                return Err(Error::param("alpha", a, "between 0 and 1"));
            }
            m.alpha = a;
        }
        m.output_similarity = p.floats("output_similarity")?.map(<[f64]>::to_vec);
        m.true_embeddings = table(p, "true_embeddings")?;
        Ok(Box::new(m))
    },
};

/// HRRASA's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Hrrasa {
    /// The most rounds. Defaults to 100.
    pub n_iter: usize,
    /// Stop when the aggregates' relative squared change is below this. Defaults to 1e-9.
    pub tol: f64,
    /// Weight of the embeddings' closeness in a local skill. Defaults to 0.5.
    pub lambda_emb: f64,
    /// Weight of the outputs' similarity in a local skill. Defaults to 0.5.
    pub lambda_out: f64,
    /// Significance level of the chi-squared quantiles. Defaults to 0.05.
    pub alpha: f64,
    /// Per row, its mean output similarity to the task's other workers' answers (none: 0).
    pub output_similarity: Option<Vec<f64>>,
    /// Known embeddings by task (rows of NaN: unknown).
    pub true_embeddings: Option<Vec<Vec<f64>>>,
}

impl Default for Hrrasa {
    fn default() -> Self {
        Self::new()
    }
}

/// What HRRASA infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedHrrasa {
    /// Aggregates, cosine distances and closest answers.
    pub closest: FittedClosest,
    /// Each worker's global skill (NaN for a worker only in one-answer tasks).
    pub skills: Vec<f64>,
    /// Each worker's prior skill (NaN likewise).
    pub prior_skills: Vec<f64>,
    /// Each row's local skill (NaN in a one-answer task).
    pub local_skills: Vec<f64>,
    /// Each row's weight, global times local skill (NaN in a one-answer task).
    pub weights: Vec<f64>,
    /// The aggregates' relative squared change, round after round.
    pub loss_history: Vec<f64>,
}

impl Hrrasa {
    /// 100 rounds, tolerance 1e-9, λ_emb = λ_out = 0.5, α = 0.05.
    pub fn new() -> Self {
        Hrrasa {
            n_iter: 100,
            tol: 1e-9,
            lambda_emb: 0.5,
            lambda_out: 0.5,
            alpha: 0.05,
            output_similarity: None,
            true_embeddings: None,
        }
    }

    /// Each row's local skill (crowd-kit's `_local_skills_on_task`; a (task, worker) pair
    /// answered twice takes its first answer's).
    fn local_skills(&self, data: &Embeddings, kept: &[bool]) -> Result<Vec<f64>> {
        if let Some(s) = self
            .output_similarity
            .as_ref()
            .filter(|s| s.len() != data.len())
        {
            return Err(Error::Invalid {
                what: "output_similarity",
                message: format!("{} values for {} answers", s.len(), data.len()),
            });
        }
        let dim = data.dim;
        let sq = |u: &[f64], v: &[f64]| numpy_sum_by(dim, |j| (u[j] - v[j]) * (u[j] - v[j]));
        let norm = |u: &[f64]| numpy_sum_by(dim, |j| u[j] * u[j]);
        let mut local = vec![f64::NAN; data.len()];
        for (t, _) in kept.iter().enumerate().filter(|&(_, &k)| k) {
            let rows = data.rows_of(t);
            let overlap = rows.len() as f64;
            for (k, &r) in rows.iter().enumerate() {
                if let Some(&first) = rows[..k]
                    .iter()
                    .find(|&&q| data.worker[q] == data.worker[r])
                {
                    local[r] = local[first];
                    continue;
                }
                let e = data.embedding(r);
                let e_norm = norm(e);
                let mut emb_sum = 0.0;
                for &q in rows {
                    if data.worker[q] == data.worker[r] {
                        continue;
                    }
                    let o = data.embedding(q);
                    emb_sum += (-sq(e, o) / (e_norm * norm(o))).exp();
                }
                emb_sum /= overlap - 1.0;
                let out = self.output_similarity.as_ref().map_or(0.0, |s| s[r]);
                local[r] = self.lambda_emb * emb_sum + self.lambda_out * out;
            }
        }
        Ok(local)
    }
}

impl Embedder for Hrrasa {
    type Fitted = FittedHrrasa;

    fn fit(&self, data: &Embeddings) -> Result<Self::Fitted> {
        // Tasks with one answer are set aside, as crowd-kit sets them.
        let kept: Vec<bool> = (0..data.n_tasks())
            .map(|t| data.rows_of(t).len() > 1)
            .collect();
        let local = self.local_skills(data, &kept)?;
        let rounds = Rounds {
            kept,
            local: local.clone(),
            alpha: self.alpha,
            n_iter: self.n_iter,
            tol: self.tol,
            true_embeddings: self.true_embeddings.as_ref(),
        }
        .run(data)?;
        Ok(FittedHrrasa {
            closest: closest(data, &rounds.aggregated, Distance::Cosine),
            skills: rounds.skills,
            prior_skills: rounds.prior,
            local_skills: local,
            weights: rounds.weights,
            loss_history: rounds.history,
        })
    }
}

impl FittedEmbeddings for FittedHrrasa {
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
            ("local_skills", Values::Vector(self.local_skills.clone())),
            ("weights", Values::Vector(self.weights.clone())),
            ("loss_history", Values::Vector(self.loss_history.clone())),
        ]
    }
}
