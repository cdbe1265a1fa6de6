//! Dawid-Skene (1979): every worker has a confusion matrix `P(label | true class)`; EM infers
//! the class of each item. Computed in f64, initialised from majority vote, as crowd-kit does.
//!
//! ```
//! use conal::aggregate::DawidSkene;
//! use conal::data::Annotation;
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0 and 1 agree on everything; worker 2 always says 1.
//! let mut labels = Vec::new();
//! for i in 0..6 {
//!     let y = i % 2;
//!     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, 1)]);
//! }
//! let fitted = DawidSkene::new().fit_annotations(6, 3, 2, &labels).unwrap();
//! assert_eq!(fitted.aggregation.labels, vec![0, 1, 0, 1, 0, 1]);
//! // Worker 2 answers 1 whatever the class.
//! let m = &fitted.worker_confusions[2];
//! assert!(m[0][1] > 0.99 && m[1][1] > 0.99);
//! ```

use crate::aggregate::{Aggregation, MajorityVote, check_annotations};
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};

/// Probabilities are clipped below at this value before taking logs (crowd-kit's `_EPS`).
const EPS: f64 = 1e-10;

/// What Dawid-Skene infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedDawidSkene {
    /// Labels (the most probable class) and posteriors of every item.
    pub aggregation: Aggregation,
    /// Per-worker confusion matrices `[worker][true class][given label]`, rows summing to 1
    /// (crowd-kit's `errors_`).
    pub worker_confusions: Vec<Vec<Vec<f64>>>,
    /// Class priors (crowd-kit's `priors_`).
    pub priors: Vec<f64>,
    /// The evidence lower bound per label after each EM iteration.
    pub elbo_history: Vec<f64>,
}

/// Dawid-Skene parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DawidSkene {
    max_iter: usize,
    tol: f64,
    gold: Vec<(usize, u32)>,
}

impl Default for DawidSkene {
    fn default() -> Self {
        Self::new()
    }
}

impl DawidSkene {
    /// Dawid-Skene with the defaults below.
    pub fn new() -> Self {
        DawidSkene {
            max_iter: 100,
            tol: 1e-5,
            gold: Vec::new(),
        }
    }

    /// Maximum EM iterations. Defaults to 100.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Stop when the evidence lower bound per label improves by less than this. Defaults
    /// to 1e-5.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Known true labels `(item, class)` of some items: their posteriors are fixed to them
    /// (semi-supervised Dawid-Skene). Defaults to none.
    pub fn gold(mut self, gold: Vec<(usize, u32)>) -> Self {
        self.gold = gold;
        self
    }

    fn check(&self) -> Result<()> {
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", 0, "Dawid-Skene needs at least 1"));
        }
        if self.tol.is_nan() || self.tol < 0.0 {
            return Err(Error::param("tol", self.tol, "must be non-negative"));
        }
        Ok(())
    }

    /// Aggregates the crowd labels of `data`.
    pub fn fit(&self, data: &CrowdLabels) -> Result<FittedDawidSkene> {
        self.fit_annotations(
            data.n_items(),
            data.n_workers(),
            data.n_classes(),
            &data.annotations,
        )
    }

    /// Aggregates `annotations` over `n_items` items, `n_workers` workers, `n_class` classes.
    pub fn fit_annotations(
        &self,
        n_items: usize,
        n_workers: usize,
        n_class: usize,
        annotations: &[Annotation],
    ) -> Result<FittedDawidSkene> {
        self.check()?;
        check_annotations(n_items, n_workers, n_class, annotations)?;
        for &(i, y) in &self.gold {
            if i >= n_items || y as usize >= n_class {
                return Err(Error::Config(format!("gold label ({i}, {y}) out of range")));
            }
        }
        let k = n_class;
        // Initialisation: majority-vote shares (no tie breaking needed for soft labels).
        let mv = MajorityVote::new()
            .fit_annotations(n_items, k, annotations)?
            .aggregation;
        let mut post: Vec<Vec<f64>> = mv.posteriors;
        let has_labels = mv.has_labels;
        self.apply_gold(&mut post);
        let labelled: Vec<usize> = (0..n_items).filter(|&i| has_labels[i]).collect();
        let mut prior = mean_rows(&post, &labelled, k);
        let mut errors = m_step(&post, annotations, n_workers, k);
        let mut last = f64::NEG_INFINITY;
        let mut elbo_history = Vec::new();
        for iter in 0..self.max_iter {
            post = e_step(&prior, &errors, annotations, n_items, k, &has_labels);
            self.apply_gold(&mut post);
            prior = mean_rows(&post, &labelled, k);
            errors = m_step(&post, annotations, n_workers, k);
            let elbo =
                elbo(&post, &prior, &errors, annotations, &labelled) / annotations.len() as f64;
            tracing::debug!(
                "Dawid-Skene iteration {}: ELBO per label {elbo:.6}",
                iter + 1
            );
            elbo_history.push(elbo);
            if elbo - last < self.tol {
                break;
            }
            last = elbo;
        }
        let labels = post.iter().map(|row| argmax(row) as u32).collect();
        Ok(FittedDawidSkene {
            aggregation: Aggregation {
                labels,
                posteriors: post,
                has_labels,
            },
            worker_confusions: errors,
            priors: prior,
            elbo_history,
        })
    }

    fn apply_gold(&self, post: &mut [Vec<f64>]) {
        for &(i, y) in &self.gold {
            for (c, v) in post[i].iter_mut().enumerate() {
                *v = if c == y as usize { 1.0 } else { 0.0 };
            }
        }
    }
}

/// First index of the largest value.
pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

fn mean_rows(post: &[Vec<f64>], items: &[usize], k: usize) -> Vec<f64> {
    let mut m = vec![0.0; k];
    for &i in items {
        for (acc, v) in m.iter_mut().zip(&post[i]) {
            *acc += v;
        }
    }
    m.iter_mut().for_each(|v| *v /= items.len().max(1) as f64);
    m
}

/// Worker confusions `[worker][true class][label]` from posteriors: expected counts, clipped
/// at EPS for the labels a worker used, normalised over those labels.
fn m_step(
    post: &[Vec<f64>],
    annotations: &[Annotation],
    n_workers: usize,
    k: usize,
) -> Vec<Vec<Vec<f64>>> {
    let mut counts = vec![vec![vec![0.0; k]; k]; n_workers];
    let mut used = vec![vec![false; k]; n_workers];
    for a in annotations {
        let (w, l) = (a.worker as usize, a.label as usize);
        used[w][l] = true;
        for (c, p) in post[a.item as usize].iter().enumerate() {
            counts[w][c][l] += p;
        }
    }
    for (w, m) in counts.iter_mut().enumerate() {
        for row in m.iter_mut() {
            for (l, v) in row.iter_mut().enumerate() {
                if used[w][l] {
                    *v = v.max(EPS);
                }
            }
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
    }
    counts
}

/// Posteriors of the labelled items given the prior and the worker confusions.
fn e_step(
    prior: &[f64],
    errors: &[Vec<Vec<f64>>],
    annotations: &[Annotation],
    n_items: usize,
    k: usize,
    has_labels: &[bool],
) -> Vec<Vec<f64>> {
    let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
    let log_errors = log_table(errors);
    let mut log_post = vec![log_prior.clone(); n_items];
    for a in annotations {
        let m = &log_errors[a.worker as usize];
        // The entry is positive: the M-step clips every (worker, label) pair that occurs
        // at EPS before normalising, and crowd-kit takes its log as it is (not re-clipped,
        // although normalising may have taken it below EPS).
        for (c, lp) in log_post[a.item as usize].iter_mut().enumerate() {
            *lp += m[c][a.label as usize];
        }
    }
    log_post
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            if !has_labels[i] {
                return prior.to_vec();
            }
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|v| v / s).take(k).collect()
        })
        .collect()
}

/// The natural log of every entry (taken once per iteration, not once per label).
fn log_table(errors: &[Vec<Vec<f64>>]) -> Vec<Vec<Vec<f64>>> {
    errors
        .iter()
        .map(|m| {
            m.iter()
                .map(|row| row.iter().map(|v| v.ln()).collect())
                .collect()
        })
        .collect()
}

/// Evidence lower bound as crowd-kit computes it: for every label, the expectation over the
/// item's posterior of log P(label | class) + log prior(class); plus the posteriors' entropy.
fn elbo(
    post: &[Vec<f64>],
    prior: &[f64],
    errors: &[Vec<Vec<f64>>],
    annotations: &[Annotation],
    labelled: &[usize],
) -> f64 {
    let mut total = 0.0;
    let log_errors = log_table(errors);
    let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
    for a in annotations {
        let m = &log_errors[a.worker as usize];
        for (c, p) in post[a.item as usize].iter().enumerate() {
            if *p > 0.0 {
                total += p * (m[c][a.label as usize] + log_prior[c]);
            }
        }
    }
    // crowd-kit clips the posteriors at EPS for the entropy term.
    for &i in labelled {
        for &p in &post[i] {
            let p = p.max(EPS);
            total -= p * p.ln();
        }
    }
    total
}
