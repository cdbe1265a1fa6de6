//! Segmentation RASA, as crowd-kit 1.4 defines it: the task's mask is the weighted vote
//! (`Σ w_k mask_k ≥ 0.5`), each worker's weight `log(1 / (d_k + 10⁻⁵) + 1)` (normalised) from
//! the Jaccard distance `d_k` of its mask to the vote, alternated from equal weights until
//! the vote's relative squared change is below `tol` or `n_iter` rounds. Sums run in
//! numpy's order (sequential over workers, pairwise over pixels), so the masks equal
//! crowd-kit's.
//!
//! ```
//! use conal::aggregate::{FittedSegmentation, SegmentationRasa, Segmenter};
//! use conal::data::Segmentations;
//!
//! // Two workers agree on the left half; a third marks the right half.
//! let masks = Segmentations::new(
//!     vec!["t".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0],
//!     vec![0, 1, 2],
//!     vec![(1, 4); 3],
//!     vec![true, true, false, false, true, true, false, false, false, false, true, true],
//! )?;
//! let fitted = SegmentationRasa::new().fit(&masks)?;
//! assert_eq!(fitted.masks[0], [true, true, false, false]);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::contract::{
    Entry, FittedSegmentation, Segmenter, Values, check_non_negative,
};
use crate::data::{Patterns, Segmentations, numpy_sum, numpy_sum_by};
use crate::error::Result;

const EPS: f64 = 1e-5;

/// Segmentation RASA in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynSegmenter> = Entry {
    name: "seg-rasa",
    about: "segmentation RASA: a vote weighted by each worker's Jaccard closeness to it, iterated",
    params: &[
        ("n_iter", "most rounds (default 10)"),
        (
            "tol",
            "stop when the vote's relative squared change is below (default 1e-5)",
        ),
    ],
    build: |p| {
        let mut m = SegmentationRasa::new();
        if let Some(n) = p.usize("n_iter")? {
            m.n_iter = n;
        }
        if let Some(t) = p.f64("tol")? {
            check_non_negative(&[("tol", t)])?;
            m.tol = t;
        }
        Ok(Box::new(m))
    },
};

/// Segmentation RASA's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationRasa {
    /// The most rounds. Defaults to 10.
    pub n_iter: usize,
    /// Stop when the vote's relative squared change is below this. Defaults to 1e-5.
    pub tol: f64,
}

impl Default for SegmentationRasa {
    fn default() -> Self {
        Self::new()
    }
}

/// What segmentation RASA infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSegmentationRasa {
    /// Each task's mask.
    pub masks: Vec<Vec<bool>>,
    /// Each task's workers' final weights (in the task's row order).
    pub weights: Vec<Vec<f64>>,
    /// Each task's relative changes, round after round.
    pub loss_history: Vec<Vec<f64>>,
}

impl SegmentationRasa {
    /// 10 rounds, tolerance 1e-5.
    pub fn new() -> Self {
        SegmentationRasa {
            n_iter: 10,
            tol: 1e-5,
        }
    }

    fn one(&self, masks: &[&[bool]], pixels: usize) -> (Vec<bool>, Vec<f64>, Vec<f64>) {
        let k = masks.len();
        // Every per-pixel quantity depends on the pixel only through which workers marked it.
        let patterns = Patterns::of(masks, pixels);
        let mut count = vec![0u64; patterns.marks.len()];
        for &id in &patterns.ids {
            count[id as usize] += 1;
        }
        let sum = |value: &[f64]| numpy_sum_by(pixels, |p| value[patterns.ids[p] as usize]);
        let mut weights = vec![1.0 / k as f64; k];
        let mut vote = vec![false; patterns.marks.len()];
        let mut last: Option<Vec<f64>> = None;
        let mut history = Vec::new();
        for _ in 0..self.n_iter {
            // Σ_k w_k · mask_k, over workers in order (numpy's axis-0 sum).
            let weighted: Vec<f64> = patterns
                .marks
                .iter()
                .map(|m| {
                    m.iter()
                        .zip(&weights)
                        .fold(0.0, |acc, (&b, &w)| acc + w * f64::from(u8::from(b)))
                })
                .collect();
            for (v, &x) in vote.iter_mut().zip(&weighted) {
                *v = x >= 0.5;
            }
            // Counts of 0/1 pixels: numpy's float sums of them are these integers exactly.
            let raw: Vec<f64> = (0..k)
                .map(|w| {
                    let (mut inter, mut union) = (0u64, 0u64);
                    for ((m, &v), &c) in patterns.marks.iter().zip(&vote).zip(&count) {
                        inter += c * u64::from(m[w] && v);
                        union += c * u64::from(m[w] || v);
                    }
                    let distance = 1.0 - inter as f64 / union as f64;
                    (1.0 / (distance + EPS) + 1.0).ln()
                })
                .collect();
            let total = numpy_sum(&raw);
            weights = raw.iter().map(|w| w / total).collect();
            if let Some(prev) = &last {
                let delta: Vec<f64> = weighted
                    .iter()
                    .zip(prev)
                    .map(|(a, b)| (a - b) * (a - b))
                    .collect();
                let squares: Vec<f64> = weighted.iter().map(|a| a * a).collect();
                let loss = sum(&delta) / sum(&squares);
                history.push(loss);
                if loss < self.tol {
                    break;
                }
            }
            last = Some(weighted);
        }
        let mask = patterns.ids.iter().map(|&id| vote[id as usize]).collect();
        (mask, weights, history)
    }
}

impl Segmenter for SegmentationRasa {
    type Fitted = FittedSegmentationRasa;

    fn fit(&self, data: &Segmentations) -> Result<Self::Fitted> {
        let per_task = data.map_tasks(|masks, pixels| self.one(masks, pixels));
        let mut fitted = FittedSegmentationRasa {
            masks: Vec::with_capacity(per_task.len()),
            weights: Vec::with_capacity(per_task.len()),
            loss_history: Vec::with_capacity(per_task.len()),
        };
        for (m, x, l) in per_task {
            fitted.masks.push(m);
            fitted.weights.push(x);
            fitted.loss_history.push(l);
        }
        Ok(fitted)
    }
}

impl FittedSegmentation for FittedSegmentationRasa {
    fn masks(&self) -> &[Vec<bool>] {
        &self.masks
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![(
            "loss_history",
            Values::Vector(self.loss_history.last().cloned().unwrap_or_default()),
        )]
    }
}
