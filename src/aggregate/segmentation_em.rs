//! Segmentation EM, as crowd-kit 1.4 defines it (after Jung-Lin Lee et al. 2018): each
//! worker marks a pixel correctly with probability `e_k` (one number per worker and task);
//! EM alternates the pixels' posteriors of being in the mask (starting from the mean of the
//! masks as prior, then each round's posterior as the next round's prior) and the workers'
//! `e_k`, over the pixels any worker marked, until the evidence lower bound per pixel grows by
//! less than `tol` or `n_iter` rounds; a pixel is in when its posterior exceeds 0.5.
//! Computed as crowd-kit computes it (numpy's summation order, its NaN and infinity rules),
//! so the masks equal crowd-kit's.
//!
//! ```
//! use conal::aggregate::{FittedSegmentation, SegmentationEm, Segmenter};
//! use conal::data::Segmentations;
//!
//! let masks = Segmentations::new(
//!     vec!["t".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0],
//!     vec![0, 1, 2],
//!     vec![(1, 4); 3],
//!     vec![true, true, false, false, true, true, true, false, false, true, false, false],
//! )?;
//! let fitted = SegmentationEm::new().fit(&masks)?;
//! assert_eq!(fitted.masks[0], [true, true, false, false]);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::contract::{Entry, FittedSegmentation, Segmenter, Values};
use crate::data::{Patterns, Segmentations, numpy_sum, numpy_sum_by};
use crate::error::{Error, Result};

/// Posteriors below this are set to 0 (crowd-kit's `eps`).
const EPS: f64 = 1e-15;

/// Segmentation EM in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynSegmenter> = Entry {
    name: "seg-em",
    about: "segmentation EM: per-pixel posteriors and each worker's accuracy, alternated",
    params: &[
        ("n_iter", "most EM rounds (default 10)"),
        (
            "tol",
            "stop when the evidence lower bound per pixel grows by less (default 1e-5)",
        ),
    ],
    build: |p| {
        let mut m = SegmentationEm::new();
        if let Some(n) = p.usize("n_iter")? {
            m.n_iter = n;
        }
        if let Some(t) = p.f64("tol")? {
            if !t.is_finite() {
                return Err(Error::param("tol", t, "finite"));
            }
            m.tol = t;
        }
        Ok(Box::new(m))
    },
};

/// Segmentation EM's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationEm {
    /// The most EM rounds. Defaults to 10.
    pub n_iter: usize,
    /// Stop when the evidence lower bound per pixel grows by less. Defaults to 1e-5.
    pub tol: f64,
}

impl Default for SegmentationEm {
    fn default() -> Self {
        Self::new()
    }
}

/// What segmentation EM infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSegmentationEm {
    /// Each task's mask.
    pub masks: Vec<Vec<bool>>,
    /// Each task's workers' chances of marking a pixel correctly (in the task's row order).
    pub errors: Vec<Vec<f64>>,
    /// Each task's evidence lower bound per pixel, round after round.
    pub loss_history: Vec<Vec<f64>>,
}

/// numpy's `nan_to_num`: NaN → 0, ±∞ → the largest finite numbers.
fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else if x == f64::INFINITY {
        f64::MAX
    } else if x == f64::NEG_INFINITY {
        f64::MIN
    } else {
        x
    }
}

/// The chance that worker `e`'s mark of a pixel, `m`, is what it shows.
fn weighted(e: f64, m: bool) -> f64 {
    let m = f64::from(u8::from(m));
    e * m + (1.0 - e) * (1.0 - m)
}

/// A worker's `ln w` and `ln(1 − w)` for a marked and an unmarked pixel (`w` as
/// [`weighted`] computes it).
struct Logs {
    marked: (f64, f64),
    unmarked: (f64, f64),
}

impl Logs {
    fn of(e: f64) -> Self {
        let (w1, w0) = (weighted(e, true), weighted(e, false));
        Logs {
            marked: (w1.ln(), (1.0 - w1).ln()),
            unmarked: (w0.ln(), (1.0 - w0).ln()),
        }
    }

    fn at(&self, m: bool) -> (f64, f64) {
        if m { self.marked } else { self.unmarked }
    }
}

/// One task, by pattern ([`Patterns`]): each per-pixel quantity is worked out once per
/// pattern, and sums over pixels look it up in pixel order (numpy's).
struct Task {
    patterns: Patterns,
    workers: usize,
    pixels: usize,
    region: f64,
    sizes: Vec<f64>,
}

impl Task {
    /// `Σ_p value[pattern of p]` in numpy's order.
    fn sum(&self, value: &[f64]) -> f64 {
        numpy_sum_by(self.pixels, |p| value[self.patterns.ids[p] as usize])
    }

    /// crowd-kit's `_m_step`: each worker's chance of a correct mark given the posteriors.
    fn m_step(&self, posteriors: &[f64]) -> Vec<f64> {
        let total = self.sum(posteriors);
        (0..self.workers)
            .map(|k| {
                let marked: Vec<f64> = self
                    .patterns
                    .marks
                    .iter()
                    .zip(posteriors)
                    .map(|(m, &q)| if m[k] { q } else { 0.0 })
                    .collect();
                1.0 - (self.sizes[k] + total - 2.0 * self.sum(&marked)) / self.region
            })
            .collect()
    }

    /// crowd-kit's `_e_step`: each pattern's posterior of being in the mask.
    fn e_step(&self, logs: &[Logs], priors: &[f64]) -> Vec<f64> {
        self.patterns
            .marks
            .iter()
            .zip(priors)
            .map(|(m, &prior)| {
                let (mut pos, mut neg) = (0.0, 0.0);
                for (&b, l) in m.iter().zip(logs) {
                    let (a, c) = l.at(b);
                    pos += a;
                    neg += c;
                }
                let (pos, neg) = (prior.ln() + pos, (1.0 - prior).ln() + neg);
                let post = pos.exp() / (pos.exp() + neg.exp());
                if post.is_nan() { 0.0 } else { post }
            })
            .collect()
    }

    /// crowd-kit's `_evidence_lower_bound`; `scratch` holds the workers × pixels terms in
    /// numpy's row-major order (reused from round to round).
    fn elbo(
        &self,
        priors: &[f64],
        posteriors: &[f64],
        errors: &[f64],
        scratch: &mut Vec<f64>,
    ) -> f64 {
        let logs: Vec<Logs> = errors.iter().map(|&e| Logs::of(e)).collect();
        let mut sum = |marked: bool| {
            scratch.clear();
            for (k, l) in logs.iter().enumerate() {
                let table: Vec<f64> = self
                    .patterns
                    .marks
                    .iter()
                    .zip(priors.iter().zip(posteriors))
                    .map(|(m, (&prior, &q))| {
                        let (lw, l1w) = l.at(m[k]);
                        if marked {
                            finite((lw + prior.ln()) * q)
                        } else {
                            finite((l1w + (1.0 - prior).ln()) * (1.0 - q))
                        }
                    })
                    .collect();
                scratch.extend(self.patterns.ids.iter().map(|&id| table[id as usize]));
            }
            numpy_sum(scratch)
        };
        let (a, b) = (sum(true), sum(false));
        let entropy: Vec<f64> = posteriors.iter().map(|&q| finite(q.ln() * q)).collect();
        a + b - self.sum(&entropy)
    }
}

impl SegmentationEm {
    /// 10 rounds, tolerance 1e-5.
    pub fn new() -> Self {
        SegmentationEm {
            n_iter: 10,
            tol: 1e-5,
        }
    }

    fn one(&self, masks: &[&[bool]], pixels: usize) -> (Vec<bool>, Vec<f64>, Vec<f64>) {
        let k = masks.len();
        let patterns = Patterns::of(masks, pixels);
        // The mean mask (crowd-kit's `sum(segmentations) / n`): marks over workers.
        let mut priors: Vec<f64> = patterns
            .marks
            .iter()
            .map(|m| m.iter().filter(|&&b| b).count() as f64 / k as f64)
            .collect();
        let region = patterns
            .ids
            .iter()
            .filter(|&&id| patterns.marks[id as usize].iter().any(|&b| b))
            .count();
        if region == 0 {
            return (vec![false; pixels], vec![], vec![]);
        }
        let sizes = masks
            .iter()
            .map(|m| m.iter().filter(|&&b| b).count() as f64)
            .collect();
        let task = Task {
            patterns,
            workers: k,
            pixels,
            region: region as f64,
            sizes,
        };
        // numpy's round: halves to even (a prior of exactly 0.5 starts out).
        let rounded: Vec<f64> = priors.iter().map(|p| p.round_ties_even()).collect();
        let mut errors = task.m_step(&rounded);
        let mut loss = f64::NEG_INFINITY;
        let mut history = Vec::new();
        let mut scratch = Vec::new();
        for _ in 0..self.n_iter {
            let logs: Vec<Logs> = errors.iter().map(|&e| Logs::of(e)).collect();
            let mut posteriors = task.e_step(&logs, &priors);
            posteriors
                .iter_mut()
                .filter(|q| **q < EPS)
                .for_each(|q| *q = 0.0);
            errors = task.m_step(&posteriors);
            let new_loss =
                task.elbo(&priors, &posteriors, &errors, &mut scratch) / (k * pixels) as f64;
            priors = posteriors;
            history.push(new_loss);
            if new_loss - loss < self.tol {
                break;
            }
            loss = new_loss;
        }
        let mask = task
            .patterns
            .ids
            .iter()
            .map(|&id| priors[id as usize] > 0.5)
            .collect();
        (mask, errors, history)
    }
}

impl Segmenter for SegmentationEm {
    type Fitted = FittedSegmentationEm;

    fn fit(&self, data: &Segmentations) -> Result<Self::Fitted> {
        let per_task = data.map_tasks(|masks, pixels| self.one(masks, pixels));
        let mut fitted = FittedSegmentationEm {
            masks: Vec::with_capacity(per_task.len()),
            errors: Vec::with_capacity(per_task.len()),
            loss_history: Vec::with_capacity(per_task.len()),
        };
        for (m, x, l) in per_task {
            fitted.masks.push(m);
            fitted.errors.push(x);
            fitted.loss_history.push(l);
        }
        Ok(fitted)
    }
}

impl FittedSegmentation for FittedSegmentationEm {
    fn masks(&self) -> &[Vec<bool>] {
        &self.masks
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        // crowd-kit keeps the last task's history (each task overwrites it).
        let last = self.loss_history.iter().rev().find(|h| !h.is_empty());
        vec![(
            "loss_history",
            Values::Vector(last.cloned().unwrap_or_default()),
        )]
    }
}
