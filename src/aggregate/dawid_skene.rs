//! Dawid-Skene (1979): every worker has a confusion matrix `P(label | true class)`; EM infers
//! the class of each item. Computed in f64, initialised from majority vote, as crowd-kit does.
//!
//! ```
//! use conal::aggregate::{Aggregator, DawidSkene};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0 and 1 agree on everything; worker 2 always says 1.
//! let mut labels = Vec::new();
//! for i in 0..6 {
//!     let y = i % 2;
//!     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, 1)]);
//! }
//! let fitted = DawidSkene::new().fit(&CrowdLabels::indexed(6, 3, 2, labels)?)?;
//! assert_eq!(fitted.aggregation.labels, vec![0, 1, 0, 1, 0, 1]);
//! // Worker 2 answers 1 whatever the class.
//! let m = &fitted.worker_confusions[2];
//! assert!(m[0][1] > 0.99 && m[1][1] > 0.99);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, FittedAggregator, Posteriors, Values,
};
use crate::aggregate::gold_majority_vote::gold_pairs;
use crate::aggregate::majority_vote::into_shares;
use crate::aggregate::params::Params;
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Dawid-Skene in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "ds",
    about: "Dawid-Skene: one confusion matrix per worker, EM from majority vote",
    params: &[
        ("n_iter", "most EM iterations (default 100)"),
        (
            "tol",
            "stop when the ELBO per label grows by less (default 1e-5)",
        ),
        (
            "gold_tasks",
            "items whose true label is known: their posteriors are fixed to it",
        ),
        (
            "gold_labels",
            "their true classes, one per item of gold_tasks",
        ),
        (
            "initial_error_strategy",
            "assign or addition: how initial errors enter the first M-step",
        ),
        ("initial_workers", "the worker of each initial error row"),
        (
            "initial_labels",
            "the label given of each initial error row",
        ),
        (
            "initial_errors",
            "initial error rows × true classes (counts or probabilities)",
        ),
        PRIOR_PARAMS[0],
        PRIOR_PARAMS[1],
        PRIOR_PARAMS[2],
        PRIOR_PARAMS[3],
    ],
    build: |p| {
        let mut ds = DawidSkene::new().priors(priors(p)?);
        if let Some(n) = p.usize("n_iter")? {
            ds = ds.max_iter(n);
        }
        if let Some(tol) = p.f64("tol")? {
            ds = ds.tol(tol);
        }
        if let (Some(items), Some(labels)) = (p.ints("gold_tasks")?, p.ints("gold_labels")?) {
            ds = ds.gold(gold_pairs(items, labels)?);
        }
        if let Some(initial) = initial_errors(p)? {
            ds = ds.initial_errors(initial);
        }
        Ok(Box::new(ds))
    },
};

/// One-coin Dawid-Skene in the registry.
pub(crate) static ONE_COIN_ENTRY: Entry = Entry {
    name: "one-coin-ds",
    about: "one-coin Dawid-Skene: one skill per worker, wrong answers uniform",
    params: &[
        ("n_iter", "most EM iterations (default 100)"),
        (
            "tol",
            "stop when the ELBO per label grows by less (default 1e-5)",
        ),
        PRIOR_PARAMS[0],
        PRIOR_PARAMS[1],
        PRIOR_PARAMS[2],
        PRIOR_PARAMS[3],
    ],
    build: |p| {
        let mut ds = OneCoinDawidSkene::new().priors(priors(p)?);
        if let Some(n) = p.usize("n_iter")? {
            ds = ds.max_iter(n);
        }
        if let Some(tol) = p.f64("tol")? {
            ds = ds.tol(tol);
        }
        Ok(Box::new(ds))
    },
};

/// The parameters of [`DawidSkenePriors`] (Dawid-Skene and one-coin DS).
const PRIOR_PARAMS: [(&str, &str); 4] = [
    (
        "class_prior",
        "pseudo-counts per class added to the class counts (one value: the same for all; default none)",
    ),
    (
        "confusion_prior",
        "pseudo-counts added to every worker's counts: one value (right answers), two (right, each wrong), or k × k (default none)",
    ),
    (
        "known_workers",
        "workers whose confusion matrix is known and fixed",
    ),
    (
        "known_confusions",
        "their matrices, one k × k row-major [true class][label] row per known worker",
    ),
];

/// [`DawidSkenePriors`] from the parameters.
fn priors(p: &Params) -> Result<DawidSkenePriors> {
    // A number, numbers (also as the command line's text "a,b"), or a table.
    let as_list = |name: &'static str| -> Result<Option<Vec<f64>>> {
        if let Ok(v) = p.f64(name) {
            return Ok(v.map(|v| vec![v]));
        }
        if let Ok(Some(text)) = p.text(name) {
            return text
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|_| Error::param(name, text, "numbers separated by commas"));
        }
        match p.floats(name) {
            Ok(v) => Ok(v.map(<[f64]>::to_vec)),
            Err(_) => Ok(p.matrix(name)?.map(|(_, _, v)| v.to_vec())),
        }
    };
    let workers = p.ints("known_workers")?.unwrap_or_default();
    let known_workers = match p.matrix("known_confusions")? {
        None if workers.is_empty() => Vec::new(),
        Some((rows, cols, values)) if rows == workers.len() => workers
            .iter()
            .zip(values.chunks(cols.max(1)))
            .map(|(&w, m)| {
                u32::try_from(w)
                    .map(|w| (w, m.to_vec()))
                    .map_err(|_| Error::param("known_workers", w, "a worker index"))
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::param(
                "known_confusions",
                format!("for {} known workers", workers.len()),
                "one matrix row per known worker",
            ));
        }
    };
    Ok(DawidSkenePriors {
        class: as_list("class_prior")?,
        confusion: as_list("confusion_prior")?,
        known_workers,
    })
}

/// crowd-kit's `initial_error` from its four parameters, if given.
fn initial_errors(p: &Params) -> Result<Option<InitialErrors>> {
    let Some(strategy) = p.text("initial_error_strategy")? else {
        return Ok(None);
    };
    let strategy = match strategy {
        "assign" => InitialErrorStrategy::Assign,
        "addition" => InitialErrorStrategy::Addition,
        other => {
            return Err(Error::param(
                "initial_error_strategy",
                other,
                "expected assign or addition",
            ));
        }
    };
    let workers = p.ints("initial_workers")?.unwrap_or_default();
    let labels = p.ints("initial_labels")?.unwrap_or_default();
    let (rows, cols, values) = p.matrix("initial_errors")?.unwrap_or((0, 0, &[]));
    if workers.len() != rows || labels.len() != rows {
        return Err(Error::param(
            "initial_errors",
            format!("{rows} rows"),
            format!(
                "one row per (initial_workers, initial_labels) pair ({} and {})",
                workers.len(),
                labels.len()
            ),
        ));
    }
    let rows = (0..rows)
        .map(|j| {
            Ok((
                u32::try_from(workers[j])
                    .map_err(|_| Error::param("initial_workers", workers[j], "non-negative"))?,
                u32::try_from(labels[j])
                    .map_err(|_| Error::param("initial_labels", labels[j], "non-negative"))?,
                values[j * cols..(j + 1) * cols].to_vec(),
            ))
        })
        .collect::<Result<_>>()?;
    Ok(Some(InitialErrors { strategy, rows }))
}

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
    initial: Option<InitialErrors>,
    priors: DawidSkenePriors,
}

/// What is known before the labels (none by default: crowd-kit's maximum-likelihood EM,
/// bit for bit). Pseudo-counts make each M-step a MAP step under Dirichlet priors: they are
/// added to the expected counts before normalising, as if every worker had also given those
/// labels; the monitored objective then includes the priors' log densities.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DawidSkenePriors {
    /// Per class, pseudo-counts added to the classes' expected counts (the class priors,
    /// crowd-kit's `priors_`); one value: the same for every class.
    pub class: Option<Vec<f64>>,
    /// `k × k` pseudo-counts, row-major `[true class][label given]`, added to every worker's
    /// expected counts (one-coin: the diagonal's sum counts as right answers, the rest as
    /// wrong ones); one value: that many on the diagonal only (right answers); two values:
    /// the diagonal's and every other cell's.
    pub confusion: Option<Vec<f64>>,
    /// Workers whose confusion is known and stays fixed: `(worker, k × k row-major
    /// [true class][label given], each row summing to 1)` — a trusted expert, a model
    /// labeller calibrated elsewhere.
    pub known_workers: Vec<(u32, Vec<f64>)>,
}

impl DawidSkenePriors {
    /// The priors for `k` classes (short forms expanded), checked against `k` and
    /// `n_workers`.
    fn resolved(&self, k: usize, n_workers: usize) -> Result<DawidSkenePriors> {
        let mut p = self.clone();
        if let Some(a) = &mut p.class
            && a.len() == 1
        {
            *a = vec![a[0]; k];
        }
        if let Some(b) = &mut p.confusion
            && b.len() != k * k
            && b.len() <= 2
        {
            let (right, wrong) = (b[0], b.get(1).copied().unwrap_or(0.0));
            *b = (0..k * k)
                .map(|j| if j / k == j % k { right } else { wrong })
                .collect();
        }
        p.check(k, n_workers)?;
        // Pseudo-counts of 0 are no prior: the maximum-likelihood numbers, bit for bit.
        for table in [&mut p.class, &mut p.confusion] {
            if table.as_ref().is_some_and(|v| v.iter().all(|&x| x == 0.0)) {
                *table = None;
            }
        }
        Ok(p)
    }

    /// Checks the sizes against `k` classes and `n_workers`, and the values.
    fn check(&self, k: usize, n_workers: usize) -> Result<()> {
        let non_negative =
            |name: &'static str, v: &[f64]| match v.iter().find(|x| !(x.is_finite() && **x >= 0.0))
            {
                Some(x) => Err(Error::param(
                    name,
                    x,
                    "pseudo-counts must be finite and non-negative",
                )),
                None => Ok(()),
            };
        if let Some(a) = &self.class {
            if a.len() != k {
                return Err(Error::param(
                    "class_prior",
                    format!("{} values", a.len()),
                    format!("one pseudo-count per class ({k})"),
                ));
            }
            non_negative("class_prior", a)?;
        }
        if let Some(b) = &self.confusion {
            if b.len() != k * k {
                return Err(Error::param(
                    "confusion_prior",
                    format!("{} values", b.len()),
                    format!("a {k} × {k} table of pseudo-counts"),
                ));
            }
            non_negative("confusion_prior", b)?;
        }
        let mut seen = vec![false; n_workers];
        for (w, m) in &self.known_workers {
            let w = *w as usize;
            if w >= n_workers || seen[w] {
                return Err(Error::param(
                    "known_workers",
                    format!("worker {w}"),
                    format!("each of the {n_workers} workers at most once"),
                ));
            }
            seen[w] = true;
            if m.len() != k * k {
                return Err(Error::param(
                    "known_workers",
                    format!("{} values for worker {w}", m.len()),
                    format!("a {k} × {k} confusion matrix"),
                ));
            }
            for (c, row) in m.chunks(k).enumerate() {
                let sum: f64 = row.iter().sum();
                if row.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || (sum - 1.0).abs() > 1e-6 {
                    return Err(Error::param(
                        "known_workers",
                        format!("worker {w}, true class {c}"),
                        format!(
                            "probabilities of the labels given that sum to 1 (they sum to {sum})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether any is given (none: every number as crowd-kit's).
    fn any(&self) -> bool {
        self.class.is_some() || self.confusion.is_some() || !self.known_workers.is_empty()
    }

    /// The known workers' matrices over `errors` (`[worker][true class][label]`, clipped at
    /// EPS as crowd-kit clips every estimated entry, so that no label is impossible).
    fn fix_known(&self, errors: &mut [f64], k: usize) {
        for (w, m) in &self.known_workers {
            let at = *w as usize * k * k;
            for (e, &x) in errors[at..at + k * k].iter_mut().zip(m) {
                *e = x.max(EPS);
            }
        }
    }

    /// The priors' log density terms of the MAP objective (up to constants).
    fn log_density(&self, prior: &[f64], errors: &[f64], n_workers: usize, k: usize) -> f64 {
        let mut total = 0.0;
        if let Some(a) = &self.class {
            total += a
                .iter()
                .zip(prior)
                .map(|(a, p)| a * p.max(EPS).ln())
                .sum::<f64>();
        }
        if let Some(b) = &self.confusion {
            for w in 0..n_workers {
                let m = &errors[w * k * k..(w + 1) * k * k];
                total += b
                    .iter()
                    .zip(m)
                    .filter(|(b, _)| **b > 0.0)
                    .map(|(b, e)| b * e.max(EPS).ln())
                    .sum::<f64>();
            }
        }
        total
    }
}

/// How known error counts enter the first M-step (crowd-kit's `initial_error_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialErrorStrategy {
    /// The known rows replace the counts from the majority vote; every (worker, label) pair
    /// of the data must have one.
    Assign,
    /// The known rows are added to the counts from the majority vote.
    Addition,
}

/// Error matrices known in advance, from a worker's history (crowd-kit's `initial_error`):
/// row `(worker, given)` holds, per true class, how often the worker gave `given` (counts,
/// or probabilities with [`InitialErrorStrategy::Assign`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InitialErrors {
    /// How the rows are used.
    pub strategy: InitialErrorStrategy,
    /// `(worker, given label, value per true class)`.
    pub rows: Vec<(u32, u32, Vec<f64>)>,
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
            initial: None,
            priors: DawidSkenePriors::default(),
        }
    }

    /// Maximum EM iterations. Defaults to 100. 0 gives the initial estimate, as crowd-kit's
    /// `n_iter=0`: the majority vote's posteriors (with the known labels applied) and the
    /// errors of one M-step from them.
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

    /// Known error counts for the first M-step (crowd-kit's `initial_error` with its
    /// `initial_error_strategy`). Defaults to none.
    pub fn initial_errors(mut self, initial: InitialErrors) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Pseudo-counts and known workers ([`DawidSkenePriors`]). Defaults to none.
    pub fn priors(mut self, priors: DawidSkenePriors) -> Self {
        self.priors = priors;
        self
    }

    /// The known rows as dense tables `[worker][label][true class]` and `[worker][label]`
    /// (present), checked against the data.
    fn initial_tables(
        &self,
        n_workers: usize,
        k: usize,
        annotations: &[Annotation],
    ) -> Result<Option<Initial>> {
        let Some(init) = &self.initial else {
            return Ok(None);
        };
        let mut counts = vec![0.0; n_workers * k * k];
        let mut present = vec![false; n_workers * k];
        for (w, l, values) in &init.rows {
            let (w, l) = (*w as usize, *l as usize);
            if w >= n_workers || l >= k || values.len() != k {
                return Err(Error::param(
                    "initial_error",
                    format!("row (worker {w}, label {l}) of {} values", values.len()),
                    format!("must fit {n_workers} workers and {k} classes"),
                ));
            }
            if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(Error::param(
                    "initial_error",
                    v,
                    "finite and non-negative counts or probabilities",
                ));
            }
            if present[w * k + l] {
                return Err(Error::param(
                    "initial_error",
                    format!("(worker {w}, label {l})"),
                    "is given twice",
                ));
            }
            present[w * k + l] = true;
            counts[(w * k + l) * k..(w * k + l + 1) * k].copy_from_slice(values);
        }
        if init.strategy == InitialErrorStrategy::Assign {
            if let Some(a) = annotations
                .iter()
                .find(|a| !present[a.worker as usize * k + a.label as usize])
            {
                return Err(Error::param(
                    "initial_error",
                    format!("(worker {}, label {})", a.worker, a.label),
                    "has no row; with the assign strategy every (worker, label) pair of the \
                     data needs one",
                ));
            }
            // Probabilities (crowd-kit's test: no value above 1) must sum to 1 per worker
            // and true class over the labels given.
            if init
                .rows
                .iter()
                .all(|(_, _, v)| v.iter().all(|&x| x <= 1.0))
            {
                for w in 0..n_workers {
                    let rows = &present[w * k..(w + 1) * k];
                    if !rows.iter().any(|&p| p) {
                        continue;
                    }
                    for c in 0..k {
                        let sum: f64 = (0..k).map(|l| counts[(w * k + l) * k + c]).sum();
                        if (sum - 1.0).abs() > 1e-5 + 1e-8 {
                            return Err(Error::param(
                                "initial_error",
                                format!("worker {w}, true class {c}"),
                                format!("probabilities sum to {sum}, not 1"),
                            ));
                        }
                    }
                }
            }
        }
        Ok(Some(Initial {
            strategy: init.strategy,
            counts,
            present,
        }))
    }

    fn check(&self) -> Result<()> {
        if self.tol.is_nan() || self.tol < 0.0 {
            return Err(Error::param("tol", self.tol, "must be non-negative"));
        }
        Ok(())
    }

    /// EM from the majority vote with the given M-step.
    fn em(&self, data: &CrowdLabels, kind: MStep) -> Result<FittedDawidSkene> {
        self.check()?;
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        let annotations = &data.annotations;
        for &(i, y) in &self.gold {
            if i >= n_items || y as usize >= n_class {
                return Err(Error::param(
                    "gold",
                    format!("({i}, {y})"),
                    format!("a known label must name one of {n_items} items and {n_class} classes"),
                ));
            }
        }
        let k = n_class;
        let resolved = self.priors.resolved(k, n_workers)?;
        let priors = resolved.any().then_some(&resolved);
        // Initialisation: majority-vote shares (no tie breaking needed for soft labels).
        let soft = data.soft();
        let (mut post, has_labels) = vote_shares(n_items, k, annotations, soft);
        self.apply_gold(&mut post, k);
        let initial = self.initial_tables(n_workers, k, annotations)?;
        let triples = Triples::new(data);
        let labelled: Vec<usize> = (0..n_items).filter(|&i| has_labels[i]).collect();
        let class_prior = resolved.class.as_deref();
        let mut prior = class_shares(&post, &labelled, k, class_prior);
        let mut errors = vec![0.0; n_workers * k * k];
        let pseudo = resolved.confusion.as_deref();
        let m_step =
            |post: &[f64], initial: Option<&Initial>, prior: Option<&[f64]>, errors: &mut [f64]| {
                // Soft answers are read through the confusions of the step before, with the
                // class priors `prior` (none at the first step: soft counts start EM).
                let previous = prior
                    .filter(|_| soft.is_some())
                    .map(|p| (errors.to_vec(), p));
                let calibration = previous.as_ref().map(|(e, p)| Calibration::new(e, p, k));
                let soft = soft.map(|rows| (rows, calibration.as_ref()));
                match kind {
                    MStep::Full => m_step(
                        post,
                        annotations,
                        soft,
                        &triples,
                        k,
                        initial,
                        pseudo,
                        errors,
                    ),
                    MStep::OneCoin => {
                        one_coin_m_step(post, annotations, soft, n_workers, k, pseudo, errors)
                    }
                }
                resolved.fix_known(errors, k);
            };
        m_step(&post, initial.as_ref(), None, &mut errors);
        let mut last = f64::NEG_INFINITY;
        let mut elbo_history = Vec::new();
        for iter in 0..self.max_iter {
            e_step(&prior, &errors, &triples, soft, k, &has_labels, &mut post);
            self.apply_gold(&mut post, k);
            prior = class_shares(&post, &labelled, k, class_prior);
            m_step(&post, None, Some(&prior), &mut errors);
            let mut elbo = elbo(&post, &prior, &errors, annotations, soft, &labelled, k);
            if let Some(p) = priors {
                elbo += p.log_density(&prior, &errors, n_workers, k);
            }
            let elbo = elbo / annotations.len() as f64;
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
        let labels = post.chunks(k).map(|row| argmax(row) as u32).collect();
        let posteriors = Posteriors::from_flat(n_items, k, post);
        let worker_confusions = errors
            .chunks(k * k)
            .map(|m| m.chunks(k).map(<[f64]>::to_vec).collect())
            .collect();
        Ok(FittedDawidSkene {
            aggregation: Aggregation {
                labels,
                posteriors,
                has_labels,
            },
            worker_confusions,
            priors: prior,
            elbo_history,
        })
    }

    fn apply_gold(&self, post: &mut [f64], k: usize) {
        for &(i, y) in &self.gold {
            for (c, v) in post[i * k..(i + 1) * k].iter_mut().enumerate() {
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

fn mean_rows(post: &[f64], items: &[usize], k: usize) -> Vec<f64> {
    let mut m = vec![0.0; k];
    for &i in items {
        for (acc, v) in m.iter_mut().zip(&post[i * k..(i + 1) * k]) {
            *acc += v;
        }
    }
    m.iter_mut().for_each(|v| *v /= items.len().max(1) as f64);
    m
}

/// The class priors from the posteriors: their mean over `items`, or with pseudo-counts
/// `alpha` (expected counts + alpha, normalised).
fn class_shares(post: &[f64], items: &[usize], k: usize, alpha: Option<&[f64]>) -> Vec<f64> {
    let Some(alpha) = alpha else {
        return mean_rows(post, items, k);
    };
    let mut m: Vec<f64> = alpha.to_vec();
    for &i in items {
        for (acc, v) in m.iter_mut().zip(&post[i * k..(i + 1) * k]) {
            *acc += v;
        }
    }
    let total: f64 = m.iter().sum();
    if total > 0.0 {
        m.iter_mut().for_each(|v| *v /= total);
    }
    m
}

/// Items per parallel task in the E-step (small enough to balance, large enough that
/// scheduling costs nothing).
const ITEMS_PER_TASK: usize = 2048;

/// The labels grouped by item, each group keeping the input order, for the E-step: each
/// item's sums then run over its labels in the order one pass over the input would add them,
/// so that spreading items over threads gives the same bits as one thread. And the number
/// of labels per worker, to balance the M-step.
struct Triples {
    /// `by_item[item_start[i]..item_start[i + 1]]`: item i's (worker, label).
    item_start: Vec<usize>,
    by_item: Vec<(u32, u32)>,
    /// Worker w has `worker_start[w + 1] - worker_start[w]` labels.
    worker_start: Vec<usize>,
}

impl Triples {
    /// From crowd labels, whose annotations are grouped by item already.
    fn new(data: &CrowdLabels) -> Self {
        let (n_workers, annotations) = (data.n_workers(), &data.annotations);
        let item_start = data.item_starts().to_vec();
        let by_item = annotations.iter().map(|a| (a.worker, a.label)).collect();
        let mut worker_start = vec![0usize; n_workers + 1];
        for a in annotations {
            worker_start[a.worker as usize + 1] += 1;
        }
        for w in 0..n_workers {
            worker_start[w + 1] += worker_start[w];
        }
        Triples {
            item_start,
            by_item,
            worker_start,
        }
    }
}

/// How soft answers are read once confusions are estimated: a soft answer is the worker's
/// calibrated belief about the label it would give. Worker w gives label l with chance
/// `z[w][l] = Σ_c e_w[c][l] π_c`; its answer `q` then has, per true class c, the likelihood
/// `Σ_l q_l e_w[c][l] / z[w][l]` (up to a factor that does not depend on c), and attributes to
/// label l the share `q_l e_w[c][l] / z[w][l]` of it (the M-step's responsibilities). A
/// one-hot answer reduces to its label (computed as a label, to the bit). Counting `q_l` as a
/// fraction of label l instead ("soft counts") gives a confident answer less evidence than
/// its label alone (`(2q − 1)·ln(a/(1 − a))` against `ln(a/(1 − a))` for two classes), so it
/// only starts EM, before any confusion is known.
struct Calibration<'a> {
    errors: &'a [f64],
    chances: Vec<f64>,
}

impl<'a> Calibration<'a> {
    fn new(errors: &'a [f64], prior: &[f64], k: usize) -> Self {
        let chances = errors
            .chunks(k * k)
            .flat_map(|e| {
                (0..k).map(move |l| {
                    (0..k)
                        .map(|c| e[c * k + l] * prior[c])
                        .sum::<f64>()
                        .max(EPS)
                })
            })
            .collect();
        Calibration { errors, chances }
    }

    /// `q_l e_w[c][l] / z[w][l]` for label l of worker w's answer `q`, true class c.
    fn share(&self, w: usize, q: &[f64], c: usize, l: usize) -> f64 {
        let k = q.len();
        q[l] * self.errors[(w * k + c) * k + l] / self.chances[w * k + l]
    }

    /// The answer's likelihood under true class c.
    fn likelihood(&self, w: usize, q: &[f64], c: usize) -> f64 {
        (0..q.len())
            .filter(|&l| q[l] > 0.0)
            .map(|l| self.share(w, q, c, l))
            .sum::<f64>()
            .max(f64::MIN_POSITIVE)
    }
}

/// The label of a one-hot row (one entry exactly 1, the others 0).
fn one_hot(q: &[f64]) -> Option<usize> {
    let mut at = None;
    for (l, &x) in q.iter().enumerate() {
        if x != 0.0 {
            if x != 1.0 || at.is_some() {
                return None;
            }
            at = Some(l);
        }
    }
    at
}

/// Each item's vote shares, flat `[n_items × k]` (uniform for an item without labels), and
/// whether it has labels: [`MajorityVote`](crate::aggregate::MajorityVote)'s posteriors, to
/// the bit (the same counts and [`into_shares`]), without its per-item rows and tie draws.
fn vote_shares(
    n_items: usize,
    k: usize,
    annotations: &[Annotation],
    soft: Option<&[f64]>,
) -> (Vec<f64>, Vec<bool>) {
    let mut post = vec![0.0f64; n_items * k];
    match soft {
        None => {
            for a in annotations {
                post[a.item as usize * k + a.label as usize] += 1.0;
            }
        }
        // Soft answers: their probabilities summed (a one-hot row adds exactly 1).
        Some(soft) => {
            for (a, q) in annotations.iter().zip(soft.chunks_exact(k)) {
                let at = a.item as usize * k;
                for (acc, &q) in post[at..at + k].iter_mut().zip(q) {
                    if q > 0.0 {
                        *acc += q;
                    }
                }
            }
        }
    }
    let mut has_labels = Vec::with_capacity(n_items);
    for row in post.chunks_mut(k) {
        has_labels.push(row.iter().sum::<f64>() > 0.0);
        into_shares(row);
    }
    (post, has_labels)
}

/// Worker confusions `[worker][true class][label]` (flat, `k × k` per worker) from
/// posteriors: expected counts, clipped at EPS for the labels a worker used, normalised over
/// those labels.
///
/// In parallel over ranges of workers, each range passing over all the labels in input
/// order and counting its own workers' (a pass by worker instead would read the posteriors
/// in random order, a cache miss per label). Every count sums the same terms in the same
/// order however many ranges there are.
#[allow(clippy::too_many_arguments)]
fn m_step(
    post: &[f64],
    annotations: &[Annotation],
    soft: Option<(&[f64], Option<&Calibration>)>,
    triples: &Triples,
    k: usize,
    initial: Option<&Initial>,
    pseudo: Option<&[f64]>,
    errors: &mut [f64],
) {
    let parts = worker_ranges(&triples.worker_start, rayon::current_num_threads());
    let mut pieces: Vec<&mut [f64]> = Vec::with_capacity(parts.len());
    let mut rest = errors;
    let mut at = 0;
    for r in &parts {
        let (piece, tail) = rest.split_at_mut((r.end - at) * k * k);
        pieces.push(piece);
        rest = tail;
        at = r.end;
    }
    pieces
        .into_par_iter()
        .zip(parts.into_par_iter())
        .for_each(|(out, range)| {
            // Counts laid out [worker][label][class], so that one label adds a whole
            // posterior row to contiguous memory.
            let n = range.len();
            let mut counts = vec![0.0; n * k * k];
            let mut used = vec![false; n * k];
            let (lo, hi) = (range.start as u32, range.end as u32);
            for (j, a) in annotations.iter().enumerate() {
                if a.worker < lo || a.worker >= hi {
                    continue;
                }
                let w = (a.worker - lo) as usize;
                let p = &post[a.item as usize * k..(a.item as usize + 1) * k];
                let q = soft.map(|(rows, _)| &rows[j * k..(j + 1) * k]);
                let label = match q {
                    None => Some(a.label as usize),
                    Some(q) => one_hot(q),
                };
                if let Some(l) = label {
                    used[w * k + l] = true;
                    let at = (w * k + l) * k;
                    for (acc, p) in counts[at..at + k].iter_mut().zip(p) {
                        *acc += p;
                    }
                    continue;
                }
                let (Some(q), Some((_, calibration))) = (q, soft) else {
                    continue;
                };
                let gw = a.worker as usize;
                // Each class's likelihood of the answer, once (the shares below divide by it).
                let likelihood: Vec<f64> = match calibration {
                    Some(cal) => (0..k).map(|c| cal.likelihood(gw, q, c)).collect(),
                    None => Vec::new(),
                };
                for l in (0..k).filter(|&l| q[l] > 0.0) {
                    used[w * k + l] = true;
                    let at = (w * k + l) * k;
                    for (c, acc) in counts[at..at + k].iter_mut().enumerate() {
                        *acc += p[c]
                            * match calibration {
                                // Soft counts, before any confusion is known.
                                None => q[l],
                                Some(cal) => cal.share(gw, q, c, l) / likelihood[c],
                            };
                    }
                }
            }
            if let Some(init) = initial {
                let at = range.start * k;
                let present = &init.present[at..at + n * k];
                let known = &init.counts[at * k..(at + n * k) * k];
                for (j, &p) in present.iter().enumerate() {
                    let (row, known) =
                        (&mut counts[j * k..(j + 1) * k], &known[j * k..(j + 1) * k]);
                    match init.strategy {
                        InitialErrorStrategy::Assign => row.copy_from_slice(known),
                        InitialErrorStrategy::Addition => {
                            row.iter_mut().zip(known).for_each(|(v, x)| *v += x)
                        }
                    }
                    used[j] = match init.strategy {
                        InitialErrorStrategy::Assign => p,
                        InitialErrorStrategy::Addition => used[j] || p,
                    };
                }
            }
            if let Some(b) = pseudo {
                // The same pseudo-counts for every worker: a label with a positive one
                // counts as used.
                for w in 0..n {
                    for l in 0..k {
                        for c in 0..k {
                            let x = b[c * k + l];
                            counts[(w * k + l) * k + c] += x;
                            used[w * k + l] |= x > 0.0;
                        }
                    }
                }
            }
            for (w, m) in out.chunks_mut(k * k).enumerate() {
                for (c, row) in m.chunks_mut(k).enumerate() {
                    for (l, v) in row.iter_mut().enumerate() {
                        let n = counts[(w * k + l) * k + c];
                        *v = if used[w * k + l] { n.max(EPS) } else { n };
                    }
                    let s: f64 = row.iter().sum();
                    if s > 0.0 {
                        row.iter_mut().for_each(|v| *v /= s);
                    }
                }
            }
        });
}

/// Which M-step EM runs.
#[derive(Debug, Clone, Copy)]
enum MStep {
    /// A full confusion matrix per worker (Dawid-Skene).
    Full,
    /// One skill per worker (one-coin Dawid-Skene).
    OneCoin,
}

/// One-coin Dawid-Skene's M-step, as crowd-kit 1.4's `OneCoinDawidSkene`: each worker's skill
/// is the mean posterior of the labels it gave; the confusion entry of a (worker, label) pair
/// it used is the skill on the diagonal and (1 − skill)/(K − 1) off it, clipped to
/// [EPS, 1 − EPS] and not renormalised (entries of unused labels are never read).
fn one_coin_m_step(
    post: &[f64],
    annotations: &[Annotation],
    soft: Option<(&[f64], Option<&Calibration>)>,
    n_workers: usize,
    k: usize,
    pseudo: Option<&[f64]>,
    errors: &mut [f64],
) {
    let skills = one_coin_skills(post, annotations, soft, n_workers, k, pseudo);
    errors.iter_mut().for_each(|v| *v = 0.0);
    let off = |s: f64| (1.0 - s) / (k - 1) as f64;
    for (j, a) in annotations.iter().enumerate() {
        let w = a.worker as usize;
        let s = skills[w];
        let mut fill = |l: usize| {
            for c in 0..k {
                let v = if c == l { s } else { off(s) };
                errors[(w * k + c) * k + l] = v.clamp(EPS, 1.0 - EPS);
            }
        };
        match soft {
            None => fill(a.label as usize),
            Some((rows, _)) => (0..k).filter(|&l| rows[j * k + l] > 0.0).for_each(fill),
        }
    }
}

/// Each worker's mean posterior of the labels it gave (0 for a worker without labels).
fn one_coin_skills(
    post: &[f64],
    annotations: &[Annotation],
    soft: Option<(&[f64], Option<&Calibration>)>,
    n_workers: usize,
    k: usize,
    pseudo: Option<&[f64]>,
) -> Vec<f64> {
    let mut sum = vec![0.0; n_workers];
    let mut count = vec![0usize; n_workers];
    for (j, a) in annotations.iter().enumerate() {
        let p = &post[a.item as usize * k..(a.item as usize + 1) * k];
        let w = a.worker as usize;
        match soft {
            None => sum[w] += p[a.label as usize],
            Some((rows, calibration)) => {
                let q = &rows[j * k..(j + 1) * k];
                match (one_hot(q), calibration) {
                    (Some(l), _) => sum[w] += p[l],
                    // Right with the expected probability Σ_c post_c · (share of label c).
                    (None, Some(cal)) => {
                        for (c, &p) in p.iter().enumerate() {
                            if q[c] > 0.0 {
                                sum[w] += p * cal.share(w, q, c, c) / cal.likelihood(w, q, c);
                            }
                        }
                    }
                    (None, None) => {
                        for (&q, &p) in q.iter().zip(p) {
                            if q > 0.0 {
                                sum[w] += q * p;
                            }
                        }
                    }
                }
            }
        }
        count[a.worker as usize] += 1;
    }
    // Pseudo-counts: the diagonal's as right answers, all of them as answers.
    let (right, all) = pseudo.map_or((0.0, 0.0), |b| {
        ((0..k).map(|c| b[c * k + c]).sum(), b.iter().sum())
    });
    sum.iter()
        .zip(&count)
        .map(|(s, &n)| {
            let total = n as f64 + all;
            if total > 0.0 {
                (s + right) / total
            } else {
                0.0
            }
        })
        .collect()
}

/// One-coin Dawid-Skene (crowd-kit's `OneCoinDawidSkene`; Zhang et al. 2016's EM): every
/// worker answers right with one probability, its skill, and wrong uniformly otherwise.
///
/// ```
/// use conal::aggregate::{Aggregator, OneCoinDawidSkene};
/// use conal::data::{Annotation, CrowdLabels};
///
/// let a = |item, worker, label| Annotation { item, worker, label };
/// let mut labels = Vec::new();
/// for i in 0..30 {
///     let y = i % 3;
///     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, (y + i / 10) % 3)]);
/// }
/// let fitted = OneCoinDawidSkene::new().fit(&CrowdLabels::indexed(30, 3, 3, labels)?)?;
/// assert!(fitted.skills[0] > 0.9 && fitted.skills[2] < fitted.skills[0]);
/// # Ok::<(), conal::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OneCoinDawidSkene {
    max_iter: usize,
    tol: f64,
    priors: DawidSkenePriors,
}

/// What one-coin Dawid-Skene infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedOneCoinDawidSkene {
    /// Labels and posteriors of every item.
    pub aggregation: Aggregation,
    /// Each worker's skill (crowd-kit's `skills_`).
    pub skills: Vec<f64>,
    /// The confusion entries the skills give `[worker][true class][given label]`, for the
    /// labels each worker used (0 elsewhere); crowd-kit's `errors_`.
    pub worker_confusions: Vec<Vec<Vec<f64>>>,
    /// Class priors.
    pub priors: Vec<f64>,
    /// The evidence lower bound per label after each EM iteration.
    pub elbo_history: Vec<f64>,
}

impl Default for OneCoinDawidSkene {
    fn default() -> Self {
        Self::new()
    }
}

impl OneCoinDawidSkene {
    /// With crowd-kit's defaults: 100 iterations, tolerance 1e-5.
    pub fn new() -> Self {
        OneCoinDawidSkene {
            max_iter: 100,
            tol: 1e-5,
            priors: DawidSkenePriors::default(),
        }
    }

    /// Pseudo-counts and known workers ([`DawidSkenePriors`]; a known worker's skill is its matrix's
    /// mean diagonal). Defaults to none.
    pub fn priors(mut self, priors: DawidSkenePriors) -> Self {
        self.priors = priors;
        self
    }

    /// Maximum EM iterations. Defaults to 100; 0 gives the initial estimate (as
    /// [`DawidSkene::max_iter`]).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Stop when the evidence lower bound per label improves by less. Defaults to 1e-5.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
}

impl Aggregator for DawidSkene {
    type Fitted = FittedDawidSkene;
    const SOFT: bool = true;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedDawidSkene> {
        self.em(data, MStep::Full)
    }
}

impl FittedAggregator for FittedDawidSkene {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("errors", Values::cube(&self.worker_confusions)),
            ("priors", Values::Vector(self.priors.clone())),
            ("loss_history", Values::Vector(self.elbo_history.clone())),
        ]
    }

    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        vec![("confusion", Values::cube(&self.worker_confusions))]
    }
}

impl Aggregator for OneCoinDawidSkene {
    type Fitted = FittedOneCoinDawidSkene;
    const SOFT: bool = true;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedOneCoinDawidSkene> {
        let (n_workers, n_class) = (data.n_workers(), data.n_classes());
        let fitted = DawidSkene::new()
            .max_iter(self.max_iter)
            .tol(self.tol)
            .priors(self.priors.clone())
            .em(data, MStep::OneCoin)?;
        let post = fitted.aggregation.posteriors.as_flat().to_vec();
        let priors = self.priors.resolved(n_class, n_workers)?;
        let pseudo = priors.confusion.as_deref();
        let errors: Vec<f64> = fitted
            .worker_confusions
            .iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        let calibration = Calibration::new(&errors, &fitted.priors, n_class);
        let mut skills = one_coin_skills(
            &post,
            &data.annotations,
            data.soft().map(|rows| (rows, Some(&calibration))),
            n_workers,
            n_class,
            pseudo,
        );
        for (w, m) in &priors.known_workers {
            skills[*w as usize] =
                (0..n_class).map(|c| m[c * n_class + c]).sum::<f64>() / n_class as f64;
        }
        Ok(FittedOneCoinDawidSkene {
            aggregation: fitted.aggregation,
            skills,
            worker_confusions: fitted.worker_confusions,
            priors: fitted.priors,
            elbo_history: fitted.elbo_history,
        })
    }
}

impl FittedAggregator for FittedOneCoinDawidSkene {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("errors", Values::cube(&self.worker_confusions)),
            ("priors", Values::Vector(self.priors.clone())),
            ("skills", Values::Vector(self.skills.clone())),
            ("loss_history", Values::Vector(self.elbo_history.clone())),
        ]
    }

    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        vec![("skill", Values::Vector(self.skills.clone()))]
    }
}

/// [`InitialErrors`] as dense tables: `counts[(worker * k + label) * k + class]`,
/// `present[worker * k + label]`.
struct Initial {
    strategy: InitialErrorStrategy,
    counts: Vec<f64>,
    present: Vec<bool>,
}

/// Up to `parts` contiguous ranges of workers with about equal numbers of labels.
fn worker_ranges(worker_start: &[usize], parts: usize) -> Vec<std::ops::Range<usize>> {
    let n_workers = worker_start.len() - 1;
    let total = worker_start[n_workers];
    let parts = parts.clamp(1, n_workers.max(1));
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 1..=parts {
        let end = if p == parts {
            n_workers
        } else {
            let goal = total * p / parts;
            // The first worker boundary at or past the goal.
            worker_start
                .partition_point(|&s| s < goal)
                .clamp(start, n_workers)
        };
        if end > start {
            ranges.push(start..end);
            start = end;
        }
    }
    ranges
}

/// Posteriors of the labelled items given the prior and the worker confusions (unlabelled
/// items get the prior), written into `post`. Items in parallel.
fn e_step(
    prior: &[f64],
    errors: &[f64],
    triples: &Triples,
    soft: Option<&[f64]>,
    k: usize,
    has_labels: &[bool],
    post: &mut [f64],
) {
    let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
    // The entries are positive: the M-step clips every (worker, label) pair that occurs at
    // EPS before normalising, and crowd-kit takes their log as they are (not re-clipped,
    // although normalising may have taken one below EPS).
    let log_errors = log_table_by_label(errors, k);
    let calibration = soft.map(|_| Calibration::new(errors, prior, k));
    post.par_chunks_mut(ITEMS_PER_TASK * k)
        .enumerate()
        .for_each(|(chunk, rows)| {
            for (j, row) in rows.chunks_mut(k).enumerate() {
                let i = chunk * ITEMS_PER_TASK + j;
                if !has_labels[i] {
                    row.copy_from_slice(prior);
                    continue;
                }
                row.copy_from_slice(&log_prior);
                let labels = triples.item_start[i]..triples.item_start[i + 1];
                match soft {
                    None => {
                        for &(w, l) in &triples.by_item[labels] {
                            let at = (w as usize * k + l as usize) * k;
                            for (lp, m) in row.iter_mut().zip(&log_errors[at..at + k]) {
                                *lp += m;
                            }
                        }
                    }
                    // A soft answer adds each label's log-likelihood weighted by its
                    // probability (the annotations are in item order: row j is label j's).
                    Some(soft) => {
                        for j in labels {
                            let w = triples.by_item[j].0 as usize;
                            let q = &soft[j * k..(j + 1) * k];
                            if let Some(l) = one_hot(q) {
                                let at = (w * k + l) * k;
                                for (lp, m) in row.iter_mut().zip(&log_errors[at..at + k]) {
                                    *lp += m;
                                }
                            } else if let Some(cal) = &calibration {
                                for (c, lp) in row.iter_mut().enumerate() {
                                    *lp += cal.likelihood(w, q, c).ln();
                                }
                            }
                        }
                    }
                }
                let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                row.iter_mut().for_each(|v| *v = (*v - max).exp());
                let s: f64 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= s);
            }
        });
}

/// The natural log of every entry (taken once per iteration, not once per label), laid out
/// `[worker][label][true class]`: the `k` entries one label adds are contiguous.
fn log_table_by_label(errors: &[f64], k: usize) -> Vec<f64> {
    let mut out = vec![0.0; errors.len()];
    out.par_chunks_mut(k * k)
        .zip(errors.par_chunks(k * k))
        .for_each(|(out, m)| {
            for c in 0..k {
                for l in 0..k {
                    out[l * k + c] = m[c * k + l].ln();
                }
            }
        });
    out
}

/// Evidence lower bound as crowd-kit computes it: for every label, the expectation over the
/// item's posterior of log P(label | class) + log prior(class); plus the posteriors' entropy.
/// One running sum in input order, as before the E- and M-steps ran in parallel, so that the
/// stopping iteration and `elbo_history` keep their bits (the sum is a few ms per million
/// labels).
fn elbo(
    post: &[f64],
    prior: &[f64],
    errors: &[f64],
    annotations: &[Annotation],
    soft: Option<&[f64]>,
    labelled: &[usize],
    k: usize,
) -> f64 {
    let mut total = 0.0;
    let log_errors = log_table_by_label(errors, k);
    let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
    let calibration = soft.map(|_| Calibration::new(errors, prior, k));
    for (j, a) in annotations.iter().enumerate() {
        let p = &post[a.item as usize * k..(a.item as usize + 1) * k];
        let mut add = |l: usize, q: f64| {
            let at = (a.worker as usize * k + l) * k;
            let m = &log_errors[at..at + k];
            for ((p, m), lp) in p.iter().zip(m).zip(&log_prior) {
                if *p > 0.0 {
                    total += q * (p * (m + lp));
                }
            }
        };
        let q = soft.map(|rows| &rows[j * k..(j + 1) * k]);
        match (q, q.and_then(one_hot)) {
            (None, _) => add(a.label as usize, 1.0),
            (Some(_), Some(l)) => add(l, 1.0),
            (Some(q), None) => {
                if let Some(cal) = &calibration {
                    for (c, (&p, lp)) in p.iter().zip(&log_prior).enumerate() {
                        if p > 0.0 {
                            total += p * (cal.likelihood(a.worker as usize, q, c).ln() + lp);
                        }
                    }
                }
            }
        }
    }
    // crowd-kit clips the posteriors at EPS for the entropy term.
    for &i in labelled {
        for &p in &post[i * k..(i + 1) * k] {
            let p = p.max(EPS);
            total -= p * p.ln();
        }
    }
    total
}
