//! MACE (Hovy et al. 2013), as crowd-kit 1.4 runs it. Each worker `w` spams with probability
//! `spamming[w][0]` (answering from its own strategy `thetas[w]`) or knows the answer with
//! probability `spamming[w][1]`; true labels are uniform. EM (`Method::Em`, counts smoothed by
//! 0.01/K) or variational Bayes (`Method::Vb`, the default: Beta(α, β) on spamming,
//! Dirichlet(10) on strategies), `n_iter` rounds from a start drawn as crowd-kit draws it
//! (numpy's legacy generator: uniform on [1, 1 + 1.5), rows normalised).
//!
//! Restarts: crowd-kit 1.4.2 draws every restart from the same `random_state`, so its
//! `n_restarts` repeats one run. Here restart `r` starts from `random_state + r` and the run
//! with the highest marginal likelihood is kept (the first of equals); restart 0 is
//! crowd-kit's run. Restarts run in parallel; the result does not depend on the threads.
//!
//! crowd-kit's M-step also reads its strategy counts in sorted worker and label order while
//! its parameters are in order of first appearance; on data where the two orders differ it
//! credits one worker's counts to another. This implementation keeps them aligned, so it
//! equals crowd-kit exactly where those orders agree.
//!
//! ```
//! use conal::aggregate::{Aggregator, Mace};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0-2 are right; worker 3 always says 2.
//! let truth = [0, 1, 2, 0, 1, 2, 1, 0];
//! let mut labels = Vec::new();
//! for (i, &y) in truth.iter().enumerate() {
//!     let i = i as u32;
//!     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, y), a(i, 3, 2)]);
//! }
//! let fitted = Mace::new().fit(&CrowdLabels::indexed(8, 4, 3, labels)?)?;
//! assert_eq!(fitted.aggregation.labels, truth.to_vec());
//! // The spammer is found: its chance of knowing is lowest.
//! assert!(fitted.competence[3] < fitted.competence[0]);
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;
use special::Gamma;

use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, FittedAggregator, Posteriors, Values, check_non_negative,
};
use crate::aggregate::dawid_skene::argmax;
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};
use crate::rng::NumpyRandomState;

/// MACE in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "mace",
    about: "MACE: each worker knows the answer or spams from its own label distribution",
    params: &[
        ("n_restarts", "restarts, the most likely kept (default 10)"),
        ("n_iter", "rounds per restart (default 50)"),
        ("method", "vb (variational Bayes, default) or em"),
        ("default_noise", "width of the starting draws (default 0.5)"),
        ("alpha", "Beta prior on spamming under VB (default 0.5)"),
        ("beta", "Beta prior on knowing under VB (default 0.5)"),
        (
            "random_state",
            "seed of the first restart's start (numpy's, default 0)",
        ),
    ],
    build: |p| {
        let mut m = Mace::new();
        if let Some(n) = p.usize("n_restarts")? {
            m = m.n_restarts(n);
        }
        if let Some(n) = p.usize("n_iter")? {
            m = m.n_iter(n);
        }
        match p.text("method")? {
            None | Some("vb") => {}
            Some("em") => m = m.method(MaceMethod::Em),
            Some(other) => return Err(Error::param("method", other, "expected vb or em")),
        }
        if let Some(v) = p.f64("default_noise")? {
            m = m.default_noise(v);
        }
        let (alpha, beta) = (p.f64("alpha")?, p.f64("beta")?);
        if alpha.is_some() || beta.is_some() {
            m = m.beta_prior(alpha.unwrap_or(0.5), beta.unwrap_or(0.5));
        }
        if let Some(seed) = p.u32("random_state")? {
            m = m.random_state(seed);
        }
        Ok(Box::new(m))
    },
};

/// How MACE fits its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaceMethod {
    /// Variational Bayes with Beta and Dirichlet priors (crowd-kit's default `"vb"`).
    #[default]
    Vb,
    /// Expectation-maximisation with smoothed counts (`"em"`).
    Em,
}

/// MACE's parameters (crowd-kit's names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Mace {
    n_restarts: usize,
    n_iter: usize,
    method: MaceMethod,
    default_noise: f64,
    alpha: f64,
    beta: f64,
    random_state: u32,
}

impl Default for Mace {
    fn default() -> Self {
        Self::new()
    }
}

/// What MACE infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedMace {
    /// Labels (first most probable class) and posteriors.
    pub aggregation: Aggregation,
    /// Per worker, crowd-kit's `spamming_`: [weight of spamming, weight of knowing]. Under
    /// VB these are the variational weights exp(ψ(·)), which need not sum to 1.
    pub spamming: Vec<[f64; 2]>,
    /// Per worker, crowd-kit's `thetas_`: the strategy a spamming worker answers from, one
    /// weight per class.
    pub thetas: Vec<Vec<f64>>,
    /// Each worker's share of knowing, `spamming[1] / (spamming[0] + spamming[1])`: the
    /// competence score of the MACE paper (low: a spammer).
    pub competence: Vec<f64>,
    /// Log marginal likelihood of the kept run's last E-step.
    pub log_marginal_likelihood: f64,
    /// Which restart was kept.
    pub restart: usize,
}

/// One E-step's results.
struct Expectation {
    log_marginal_likelihood: f64,
    /// n_items × K, crowd-kit's `gold_label_marginals` (not normalised).
    gold: Vec<f64>,
    /// n_workers × K: expected spamming answers per given label.
    strategy: Vec<f64>,
    /// n_workers × 2: [expected spamming, expected knowing] labels.
    knowing: Vec<f64>,
}

impl Mace {
    /// crowd-kit's defaults: 10 restarts, 50 rounds, VB, noise 0.5, α = β = 0.5, random
    /// state 0.
    pub fn new() -> Self {
        Mace {
            n_restarts: 10,
            n_iter: 50,
            method: MaceMethod::Vb,
            default_noise: 0.5,
            alpha: 0.5,
            beta: 0.5,
            random_state: 0,
        }
    }

    /// Number of restarts, at least 1 (`n_restarts`). Defaults to 10.
    pub fn n_restarts(mut self, n: usize) -> Self {
        self.n_restarts = n;
        self
    }

    /// Rounds per restart (`n_iter`). Defaults to 50.
    pub fn n_iter(mut self, n: usize) -> Self {
        self.n_iter = n;
        self
    }

    /// VB or EM (`method`). Defaults to VB.
    pub fn method(mut self, method: MaceMethod) -> Self {
        self.method = method;
        self
    }

    /// Width of the starting draws, uniform on [1, 1 + (1 + noise)) (`default_noise`).
    /// Defaults to 0.5.
    pub fn default_noise(mut self, noise: f64) -> Self {
        self.default_noise = noise;
        self
    }

    /// The Beta prior on spamming (α) and knowing (β) under VB. Defaults to 0.5 and 0.5.
    pub fn beta_prior(mut self, alpha: f64, beta: f64) -> Self {
        self.alpha = alpha;
        self.beta = beta;
        self
    }

    /// Seed of the first restart's start (`random_state`). Defaults to 0.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }
}

impl Aggregator for Mace {
    type Fitted = FittedMace;

    /// Each task's product runs over its labels in the order they were given
    /// ([`CrowdLabels::in_input_order`]), as crowd-kit's.
    fn fit(&self, data: &CrowdLabels) -> Result<FittedMace> {
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        let given = data.in_input_order();
        let annotations: &[Annotation] = &given;
        if self.n_restarts == 0 {
            return Err(Error::param("n_restarts", 0, "at least 1"));
        }
        check_non_negative(&[
            ("default_noise", self.default_noise),
            ("alpha", self.alpha),
            ("beta", self.beta),
        ])?;
        let k = n_class;
        let smoothing = 0.01 / k as f64;
        // The restarts in parallel (each one is sequential, so each gives the bits it gives
        // alone), the choice in restart order.
        let runs: Vec<(f64, Vec<f64>, Vec<f64>)> = (0..self.n_restarts)
            .into_par_iter()
            .map(|restart| {
                let seed = self.random_state.wrapping_add(restart as u32);
                let (mut spamming, mut thetas) = self.start(seed, n_workers, k);
                let mut e = e_step(n_items, k, annotations, &spamming, &thetas);
                for _ in 0..self.n_iter {
                    match self.method {
                        MaceMethod::Em => {
                            normalize(&mut spamming, &e.knowing, smoothing, 2);
                            normalize(&mut thetas, &e.strategy, smoothing, k);
                        }
                        MaceMethod::Vb => {
                            variational(&mut spamming, &e.knowing, &[self.alpha, self.beta]);
                            variational(&mut thetas, &e.strategy, &vec![10.0; k]);
                        }
                    }
                    e = e_step(n_items, k, annotations, &spamming, &thetas);
                }
                tracing::debug!(
                    "mace restart {restart}: log marginal likelihood {}",
                    e.log_marginal_likelihood
                );
                (e.log_marginal_likelihood, spamming, thetas)
            })
            .collect();
        // crowd-kit keeps the first of equally likely runs (a strict `>`).
        let mut restart = 0;
        for (r, run) in runs.iter().enumerate() {
            if run.0 > runs[restart].0 {
                restart = r;
            }
        }
        let Some((_, flat, thetas)) = runs.into_iter().nth(restart) else {
            unreachable!("n_restarts >= 1 was checked")
        };
        let spamming: Vec<[f64; 2]> = flat.chunks(2).map(|p| [p[0], p[1]]).collect();
        let e = e_step(n_items, k, annotations, &flat, &thetas);
        let mut has_labels = vec![false; n_items];
        for a in annotations {
            has_labels[a.item as usize] = true;
        }
        let posteriors: Vec<Vec<f64>> = e
            .gold
            .chunks(k)
            .zip(&has_labels)
            .map(|(row, &has)| {
                let total: f64 = row.iter().sum();
                if has && total > 0.0 {
                    row.iter().map(|v| v / total).collect()
                } else {
                    vec![1.0 / k as f64; k]
                }
            })
            .collect();
        Ok(FittedMace {
            aggregation: Aggregation {
                labels: posteriors.iter().map(|p| argmax(p) as u32).collect(),
                posteriors: Posteriors::from_rows(&posteriors),
                has_labels,
            },
            competence: spamming.iter().map(|s| s[1] / (s[0] + s[1])).collect(),
            spamming,
            thetas: thetas.chunks(k).map(<[f64]>::to_vec).collect(),
            log_marginal_likelihood: e.log_marginal_likelihood,
            restart,
        })
    }
}

impl Mace {
    /// crowd-kit's `_initialize`: spamming (n_workers × 2) and thetas (n_workers × K), each
    /// drawn from a fresh generator of `seed`, uniform on [1, 2.5) at the default noise, rows
    /// normalised. Flat, row-major.
    fn start(&self, seed: u32, n_workers: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
        let draw = |cols: usize| {
            let mut rng = NumpyRandomState::new(seed);
            let mut v: Vec<f64> = (0..n_workers * cols)
                .map(|_| 1.0 + (1.0 + self.default_noise) * rng.random_sample())
                .collect();
            for row in v.chunks_mut(cols) {
                let total: f64 = row.iter().sum();
                row.iter_mut().for_each(|x| *x /= total);
            }
            v
        };
        (draw(2), draw(k))
    }
}

/// crowd-kit's `_e_step`, one pass over the labels per quantity.
fn e_step(
    n_items: usize,
    k: usize,
    annotations: &[Annotation],
    spamming: &[f64],
    thetas: &[f64],
) -> Expectation {
    let n_workers = spamming.len() / 2;
    // The chance of the given label if spamming (times P(spam)) and of knowing.
    let parts = |a: &Annotation| {
        let w = a.worker as usize;
        (
            spamming[2 * w] * thetas[w * k + a.label as usize],
            spamming[2 * w + 1],
        )
    };
    let mut gold = vec![f64::NAN; n_items * k];
    for a in annotations {
        let (spam, know) = parts(a);
        let row = &mut gold[a.item as usize * k..(a.item as usize + 1) * k];
        for (l, g) in row.iter_mut().enumerate() {
            let m = spam + if l == a.label as usize { know } else { 0.0 };
            *g = if g.is_nan() { m } else { *g * m };
        }
    }
    let mut instance = vec![0.0; n_items];
    let mut log_marginal_likelihood = 0.0;
    for (i, row) in gold.chunks_mut(k).enumerate() {
        if row[0].is_nan() {
            row.fill(0.0);
            continue;
        }
        row.iter_mut().for_each(|g| *g /= k as f64);
        instance[i] = row.iter().sum();
        log_marginal_likelihood += (instance[i] + 1e-8).ln();
    }
    let mut strategy = vec![0.0; n_workers * k];
    let mut knowing = vec![0.0; n_workers * 2];
    for a in annotations {
        let (i, w, y) = (a.item as usize, a.worker as usize, a.label as usize);
        let (spam, know) = parts(a);
        let row = &gold[i * k..(i + 1) * k];
        let ratio: f64 = row
            .iter()
            .enumerate()
            .map(|(l, g)| g / (spam + if l == y { know } else { 0.0 }))
            .sum();
        // In crowd-kit's order of operations: (ratio · P(spam)) · θ, then / the marginal.
        let w2 = 2 * w;
        let s = ratio * spamming[w2] * thetas[w * k + y] / instance[i];
        strategy[w * k + y] += s;
        knowing[w2] += s;
        knowing[w2 + 1] += row[y] * know / (spam + know) / instance[i];
    }
    Expectation {
        log_marginal_likelihood,
        gold,
        strategy,
        knowing,
    }
}

/// crowd-kit's `normalize`: (x + smoothing) / Σ(x + smoothing) per row of `cols`, 0 where
/// that sum is (numpy-)close to 0.
fn normalize(out: &mut [f64], counts: &[f64], smoothing: f64, cols: usize) {
    for (o, x) in out.chunks_mut(cols).zip(counts.chunks(cols)) {
        let total: f64 = x.iter().map(|x| x + smoothing).sum();
        for (o, x) in o.iter_mut().zip(x) {
            *o = if is_close_to_zero(total) {
                0.0
            } else {
                (x + smoothing) / total
            };
        }
    }
}

/// crowd-kit's `variational_normalize`: exp ψ(x + prior) / exp ψ(Σ(x + prior)) per row of
/// `prior.len()`.
fn variational(out: &mut [f64], counts: &[f64], prior: &[f64]) {
    let cols = prior.len();
    for (o, x) in out.chunks_mut(cols).zip(counts.chunks(cols)) {
        let norm = x
            .iter()
            .zip(prior)
            .map(|(x, p)| x + p)
            .sum::<f64>()
            .digamma()
            .exp();
        for ((o, x), p) in o.iter_mut().zip(x).zip(prior) {
            *o = if is_close_to_zero(norm) {
                0.0
            } else {
                (x + p).digamma().exp() / norm
            };
        }
    }
}

/// numpy's `isclose(x, 0)`: |x| ≤ 1e-8 (atol; rtol is relative to 0).
fn is_close_to_zero(x: f64) -> bool {
    x.abs() <= 1e-8
}

impl FittedAggregator for FittedMace {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        let spamming: Vec<Vec<f64>> = self.spamming.iter().map(|s| s.to_vec()).collect();
        vec![
            ("spamming", Values::matrix(&spamming)),
            ("thetas", Values::matrix(&self.thetas)),
            ("competence", Values::Vector(self.competence.clone())),
            (
                "log_marginal_likelihood",
                Values::Scalar(self.log_marginal_likelihood),
            ),
            ("restart", Values::Scalar(self.restart as f64)),
        ]
    }

    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        vec![("skill", Values::Vector(self.competence.clone()))]
    }
}
