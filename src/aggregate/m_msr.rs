//! M-MSR (Ma & Olshevsky, NeurIPS 2020), as crowd-kit 1.4 runs it. The workers' agreement
//! matrix `C[i][j] = (M·agree(i, j) − 1)/(M − 1)` (M the number of labels given; pairs that
//! share no task and the diagonal give −1/(M − 1)) is, in expectation, `s sᵀ` for the
//! workers' skills `s`. Robust rank-one completion of `|C|` (alternating trimmed means that
//! drop the F largest and smallest ratios, F from the sparsest worker's number of
//! neighbours) gives `|s|`; the signs come from the eigenvector of the smallest eigenvalue
//! of a graph built from C's signs. Each worker's vote then weighs
//! `log((M − 1) p / (1 − p))`, `p = s (M − 1)/M + 1/M` clipped to (1/M, 1 − 1/√n).
//!
//! The vote is crowd-kit's skill-weighted majority vote: per item the weight sums of each
//! class divided by their total (crowd-kit's `scores_`), the label the largest share, the
//! posterior those shares with negative ones counted as 0. Where the total is negative
//! (the item's voters weighted mostly below chance) the largest share is the class of
//! least weight. That is what crowd-kit computes, and on Music it is what M-MSR's accuracy
//! rests on: its sign step weighs 16 of the 44 workers below chance, and the plain
//! largest weight sum would score 46.6 % where this scores 74.3 % (crowd-kit's figure).
//! [`FittedMmsr::scores`] are the raw weight sums.
//!
//! The start is crowd-kit's (numpy's legacy generator, uniform), so a run follows crowd-kit's
//! iterations. crowd-kit finds the eigenvector with ARPACK; here it is power iteration on
//! the (symmetrised) graph matrix, which gives the same vector up to sign, and the sign is
//! fixed as crowd-kit fixes it. The matrices are dense, workers × workers, as crowd-kit's.
//!
//! ```
//! use conal::aggregate::{Aggregator, Mmsr};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Four good workers and one that answers at random-ish; 12 items, 3 classes.
//! let mut labels = Vec::new();
//! for i in 0..12u32 {
//!     let y = i % 3;
//!     for w in 0..4 {
//!         let wrong = (i + w) % 5 == 0;
//!         labels.push(a(i, w, if wrong { (y + 1) % 3 } else { y }));
//!     }
//!     labels.push(a(i, 4, (i * 7 / 3) % 3));
//! }
//! let fitted = Mmsr::new().fit(&CrowdLabels::indexed(12, 5, 3, labels)?)?;
//! assert!(fitted.skills[0] > fitted.skills[4]);
//! let right = (0..12).filter(|&i| fitted.aggregation.labels[i] == i as u32 % 3).count();
//! assert!(right >= 11);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, FittedAggregator, Posteriors, Values, check_non_negative,
};
use crate::aggregate::majority_vote::{Ties, pick, ties_param};
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};
use crate::rng::{NumpyRandomState, rng, stream};

/// M-MSR in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "mmsr",
    about: "M-MSR: skills from robust rank-one completion of the workers' agreement matrix, \
            then a log-odds weighted vote (dense in workers × workers)",
    params: &[
        ("n_iter", "most iterations (default 10,000)"),
        ("tol", "stop once u vᵀ moves less (default 1e-10)"),
        (
            "random_state",
            "seed of numpy's generator for the start (default 0)",
        ),
        ("seed", "seed of the vote's tie breaks (default 0)"),
        (
            "ties",
            "random (default) or lowest (the first class in label order)",
        ),
    ],
    build: |p| {
        let mut m = Mmsr::new();
        if let Some(n) = p.usize("n_iter")? {
            m = m.n_iter(n);
        }
        if let Some(v) = p.f64("tol")? {
            m = m.tol(v);
        }
        if let Some(seed) = p.u32("random_state")? {
            m = m.random_state(seed);
        }
        m = m.seed(p.u64("seed")?.unwrap_or(0));
        if let Some(ties) = ties_param(p)? {
            m = m.ties(ties);
        }
        Ok(Box::new(m))
    },
};

/// The most memory M-MSR's dense worker × worker matrices may take.
const MAX_MATRIX_BYTES: usize = 8 << 30;

/// M-MSR's parameters (crowd-kit's names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Mmsr {
    n_iter: usize,
    tol: f64,
    random_state: u32,
    seed: u64,
    ties: Ties,
}

impl Default for Mmsr {
    fn default() -> Self {
        Self::new()
    }
}

/// What M-MSR infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedMmsr {
    /// Labels and posteriors of crowd-kit's skill-weighted vote (see the module docs).
    pub aggregation: Aggregation,
    /// Each worker's vote weight, `log((M − 1) p / (1 − p))` (crowd-kit's `skills_`).
    pub skills: Vec<f64>,
    /// Per item, the sum of the weights of the workers who gave each class.
    pub scores: Vec<Vec<f64>>,
    /// Frobenius change of `u vᵀ` per iteration (crowd-kit's `loss_history_`).
    pub loss_history: Vec<f64>,
}

impl Mmsr {
    /// crowd-kit's defaults: up to 10,000 iterations, tolerance 1e-10, random state 0; vote
    /// ties at random from seed 0.
    pub fn new() -> Self {
        Mmsr {
            n_iter: 10_000,
            tol: 1e-10,
            random_state: 0,
            seed: 0,
            ties: Ties::Random,
        }
    }

    /// Maximum number of iterations (`n_iter`). Defaults to 10,000.
    pub fn n_iter(mut self, n: usize) -> Self {
        self.n_iter = n;
        self
    }

    /// Stop once `u vᵀ` moves less than this in Frobenius norm (`tol`). Defaults to 1e-10.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Seed of numpy's legacy generator for the start (`random_state`). Defaults to 0.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }

    /// Seed of the vote's tie breaks. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How the vote breaks ties. Defaults to [`Ties::Random`].
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }

    /// Aggregates the crowd labels of `data`.
    fn run(&self, data: &CrowdLabels) -> Result<FittedMmsr> {
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        let annotations: &[Annotation] = &data.annotations;
        check_non_negative(&[("tol", self.tol)])?;
        let r = n_workers;
        let bytes = r.saturating_mul(r).saturating_mul(3 * 8);
        if bytes > MAX_MATRIX_BYTES {
            return Err(Error::Unsupported(format!(
                "M-MSR keeps dense workers × workers matrices: {r} workers would need {:.1} GB \
                 (at most {} GB); use ds, glad or wawa for crowds this large",
                bytes as f64 / 1e9,
                MAX_MATRIX_BYTES >> 30
            )));
        }
        let (c, observed, m, tasks) = covariation(data)?;
        let (u, loss_history) = self.complete(&c, &observed, r, tasks);
        let skills = skills_from(&c, &u, r, m, tasks);
        let (aggregation, scores) = self.vote(n_items, n_class, annotations, &skills);
        tracing::debug!("m-msr: {} iterations", loss_history.len());
        Ok(FittedMmsr {
            aggregation,
            skills,
            scores,
            loss_history,
        })
    }

    /// crowd-kit's `_m_msr` loop: alternating trimmed means for u and v; returns u and the
    /// losses.
    fn complete(
        &self,
        c: &[f64],
        observed: &[bool],
        r: usize,
        tasks: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        // Sparsity: the fewest workers any worker shares a task with.
        let sparsity = (0..r)
            .map(|j| (0..r).filter(|&i| observed[i * r + j]).count())
            .min()
            .unwrap_or(0) as i64;
        let f = sparsity / 2 - 1;
        let draw = || {
            let mut rng = NumpyRandomState::new(self.random_state);
            (0..r).map(|_| rng.random_sample()).collect::<Vec<f64>>()
        };
        let (mut u, mut v) = (draw(), draw());
        let x: Vec<f64> = c.iter().map(|v| v.abs()).collect();
        let mut losses = Vec::new();
        let mut target = Vec::with_capacity(r);
        for _ in 0..self.n_iter {
            let (u_prev, v_prev) = (u.clone(), v.clone());
            for j in 0..r {
                target.clear();
                target.extend(
                    (0..r)
                        .filter(|&i| observed[i * r + j])
                        .map(|i| x[i * r + j] / u[i]),
                );
                if let Some(mean) = trimmed_mean(&mut target, f, v[j], tasks) {
                    v[j] = mean;
                }
            }
            for i in 0..r {
                target.clear();
                target.extend(
                    (0..r)
                        .filter(|&j| observed[i * r + j])
                        .map(|j| x[i * r + j] / v[j]),
                );
                if let Some(mean) = trimmed_mean(&mut target, f, u[i], tasks) {
                    u[i] = mean;
                }
            }
            let loss = rank_one_change(&u, &v, &u_prev, &v_prev);
            losses.push(loss);
            if loss < self.tol {
                break;
            }
        }
        let k = (norm(&u) / norm(&v)).sqrt();
        (u.iter().map(|x| x / k).collect(), losses)
    }

    /// crowd-kit's `MajorityVote().fit(data, skills)` with these (possibly negative) skills:
    /// per item the weight sums divided by their total (crowd-kit's `scores_`), the label the
    /// largest share.
    fn vote(
        &self,
        n_items: usize,
        k: usize,
        annotations: &[Annotation],
        skills: &[f64],
    ) -> (Aggregation, Vec<Vec<f64>>) {
        let mut scores = vec![vec![0.0; k]; n_items];
        let mut has_labels = vec![false; n_items];
        for a in annotations {
            scores[a.item as usize][a.label as usize] += skills[a.worker as usize];
            has_labels[a.item as usize] = true;
        }
        let mut ties = rng(self.seed, stream::TIES);
        let mut labels = Vec::with_capacity(n_items);
        let mut posteriors = Vec::with_capacity(n_items);
        for (row, &has) in scores.iter().zip(&has_labels) {
            let total: f64 = row.iter().sum();
            let shares: Vec<f64> = if has && total != 0.0 && total.is_finite() {
                row.iter().map(|s| s / total).collect()
            } else {
                // No usable total (no labels, or weights cancelling out): the plain sums.
                row.clone()
            };
            let max = shares.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            labels.push(pick(&shares, max, self.ties, &mut ties).0);
            // The shares as a distribution: negative shares count 0.
            let kept: f64 = shares.iter().map(|s| s.max(0.0)).sum();
            posteriors.push(if has && kept > 0.0 && kept.is_finite() {
                shares.iter().map(|s| s.max(0.0) / kept).collect()
            } else {
                vec![1.0 / k as f64; k]
            });
        }
        (
            Aggregation {
                labels,
                posteriors: Posteriors::from_rows(&posteriors),
                has_labels,
            },
            scores,
        )
    }
}

/// crowd-kit's `_construnct_covariation_matrix`: C (r × r, row-major), which pairs share a
/// task, the number M of labels given, and the number of tasks.
fn covariation(data: &CrowdLabels) -> Result<(Vec<f64>, Vec<bool>, usize, usize)> {
    let (n_items, r, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
    let annotations = &data.annotations;
    let mut given = vec![false; n_class];
    let mut labelled = vec![false; n_items];
    for a in annotations {
        given[a.label as usize] = true;
        labelled[a.item as usize] = true;
    }
    let m = given.iter().filter(|&&g| g).count();
    if m < 2 {
        return Err(Error::Unsupported(
            "M-MSR needs at least two distinct labels in the data".into(),
        ));
    }
    let mut common = vec![0u32; r * r];
    let mut agree = vec![0u32; r * r];
    // Each item's labels (one per worker: crowd labels have no repeated pair), to visit its
    // pairs of workers.
    for i in 0..n_items {
        let labels = data.item_labels(i);
        for (x, a) in labels.iter().enumerate() {
            let (wa, la) = (a.worker, a.label);
            for b in &labels[x + 1..] {
                let (wb, lb) = (b.worker, b.label);
                let (wa, wb) = (wa as usize, wb as usize);
                for (p, q) in [(wa, wb), (wb, wa)] {
                    common[p * r + q] += 1;
                    agree[p * r + q] += u32::from(la == lb);
                }
            }
        }
    }
    let mf = m as f64;
    let c = common
        .iter()
        .zip(&agree)
        .map(|(&n, &same)| {
            let share = if n > 0 {
                f64::from(same) / f64::from(n)
            } else {
                0.0
            };
            share * mf / (mf - 1.0) - 1.0 / (mf - 1.0)
        })
        .collect();
    let observed = common.iter().map(|&n| n > 0).collect();
    Ok((c, observed, m, labelled.iter().filter(|&&l| l).count()))
}

/// crowd-kit's `_remove_largest_and_smallest_F_value` followed by the mean (None when
/// nothing is left). `f` may be negative, with Python's slice semantics, as in crowd-kit.
fn trimmed_mean(x: &mut [f64], f: i64, a: f64, tasks: usize) -> Option<f64> {
    x.sort_by(f64::total_cmp);
    let mut y: Vec<f64> = if (x.iter().filter(|&&v| v < a).count() as i64) < f {
        x.iter().copied().filter(|&v| v >= a).collect()
    } else {
        x[py_index(x.len(), f)..].to_vec()
    };
    let len = y.len();
    if (y.iter().filter(|&&v| v > a).count() as i64) < f {
        y.retain(|&v| v <= a);
    } else {
        y.truncate(py_index(len, len as i64 - f));
    }
    if y.len() == 1 && y[0] == 0.0 {
        y[0] = 1.0 / (tasks as f64).sqrt();
    }
    (!y.is_empty()).then(|| y.iter().sum::<f64>() / y.len() as f64)
}

/// Where Python's slice bound `i` falls in a sequence of `len`.
fn py_index(len: usize, i: i64) -> usize {
    if i < 0 {
        (len as i64 + i).max(0) as usize
    } else {
        (i as usize).min(len)
    }
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// ‖u vᵀ − a bᵀ‖_F, through u vᵀ − a bᵀ = (u − a) vᵀ + a (v − b)ᵀ so that a small change is
/// not lost to cancellation and no r × r matrix is formed.
fn rank_one_change(u: &[f64], v: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
    let du: Vec<f64> = u.iter().zip(a).map(|(x, y)| x - y).collect();
    let dv: Vec<f64> = v.iter().zip(b).map(|(x, y)| x - y).collect();
    let sq =
        dot(&du, &du) * dot(v, v) + 2.0 * dot(&du, a) * dot(v, &dv) + dot(a, a) * dot(&dv, &dv);
    sq.max(0.0).sqrt()
}

/// The tail of crowd-kit's `_m_msr`: signs, clipping and the vote weights.
fn skills_from(c: &[f64], s_abs: &[f64], r: usize, m: usize, tasks: usize) -> Vec<f64> {
    let signed = sign_determination(c, s_abs, r);
    let sqrt_n = (tasks as f64).sqrt();
    let mf = m as f64;
    signed
        .iter()
        .map(|&s| {
            let x = s
                .min(1.0 - 1.0 / sqrt_n)
                .max(-1.0 / (mf - 1.0) + 1.0 / sqrt_n);
            let p = x * (mf - 1.0) / mf + 1.0 / mf;
            (p * (mf - 1.0) / (1.0 - p)).ln()
        })
        .collect()
}

/// crowd-kit's `_sign_determination_valid`. Nodes: the valid workers (rows of C not summing
/// to 0), joined where C is negative (the diagonal included), and one node per positive pair
/// (i < j) joined to both. The eigenvector of the eigenvalue of D⁻¹A + I of smallest
/// magnitude signs each worker, the sign of its first `k` entries' sign sum fixing the
/// vector's own.
fn sign_determination(c: &[f64], s_abs: &[f64], r: usize) -> Vec<f64> {
    let valid: Vec<usize> = (0..r)
        .filter(|&i| c[i * r..(i + 1) * r].iter().sum::<f64>() != 0.0)
        .collect();
    let k = valid.len();
    let mut out = vec![0.0; r];
    if k == 0 {
        return out;
    }
    // Adjacency lists (symmetric, unweighted; a self-loop counts once in the degree, as
    // a 1 on A's diagonal does).
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut pairs = Vec::new();
    for (a, &i) in valid.iter().enumerate() {
        for (b, &j) in valid.iter().enumerate() {
            let s = c[i * r + j];
            if s < 0.0 {
                adj[a].push(b);
            } else if s > 0.0 && a <= b {
                pairs.push((a, b));
            }
        }
    }
    for (e, &(a, b)) in pairs.iter().enumerate() {
        let node = k + e;
        adj[a].push(node);
        adj[b].push(node);
        adj.push(vec![a, b]);
    }
    let vector = smallest_eigenvector(&adj);
    let sign = |v: f64| {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    let overall = sign(vector[..k].iter().map(|&v| sign(v)).sum::<f64>());
    for (a, &i) in valid.iter().enumerate() {
        out[i] = overall * s_abs[i] * sign(vector[a]);
    }
    out
}

/// The eigenvector of D⁻¹A for its smallest eigenvalue (that of D⁻¹A + I of smallest
/// magnitude: the eigenvalues lie in [−1, 1]), for the graph of adjacency lists `adj`.
/// Power iteration on I − D^{-1/2} A D^{-1/2} (symmetric, eigenvalues 1 − λ in [0, 2]),
/// whose top eigenvector u gives D⁻¹A's as D^{-1/2} u (same signs). Written here because
/// only this one vector of a sparse graph is needed (a dense eigensolver would be O(n³) on
/// the pair nodes).
fn smallest_eigenvector(adj: &[Vec<usize>]) -> Vec<f64> {
    let n = adj.len();
    let inv_sqrt_deg: Vec<f64> = adj.iter().map(|a| 1.0 / (a.len() as f64).sqrt()).collect();
    let apply = |x: &[f64], out: &mut [f64]| {
        for (i, a) in adj.iter().enumerate() {
            let s: f64 = a.iter().map(|&j| x[j] * inv_sqrt_deg[j]).sum();
            out[i] = x[i] - inv_sqrt_deg[i] * s;
        }
    };
    // A fixed start with a share of every eigenvector (no symmetry to be orthogonal to).
    let mut start = NumpyRandomState::new(12345);
    let mut x: Vec<f64> = (0..n).map(|_| start.random_sample() - 0.5).collect();
    let mut y = vec![0.0; n];
    normalise(&mut x);
    for _ in 0..1_000_000 {
        apply(&x, &mut y);
        normalise(&mut y);
        let change = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        std::mem::swap(&mut x, &mut y);
        if change < 1e-13 {
            break;
        }
    }
    x.iter().zip(&inv_sqrt_deg).map(|(v, d)| v * d).collect()
}

fn normalise(x: &mut [f64]) {
    let n = norm(x);
    if n > 0.0 {
        x.iter_mut().for_each(|v| *v /= n);
    }
}

impl Aggregator for Mmsr {
    type Fitted = FittedMmsr;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedMmsr> {
        self.run(data)
    }
}

impl FittedAggregator for FittedMmsr {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("skills", Values::Vector(self.skills.clone())),
            ("scores", Values::matrix(&self.scores)),
            ("loss_history", Values::Vector(self.loss_history.clone())),
        ]
    }

    fn worker_params(&self) -> Vec<(&'static str, Values)> {
        vec![("skill", Values::Vector(self.skills.clone()))]
    }
}
