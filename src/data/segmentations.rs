//! Image segmentations: each worker's binary mask of a task's image (every mask of one task
//! has the image's shape). What the segmentation aggregators combine into one mask per task.
//!
//! [`Segmentations::new`] is the one place that checks them (codes in range, one shape per
//! task, the pixels there are), naming the row.
//!
//! ```
//! use conal::data::Segmentations;
//!
//! // Task 0 is 2 × 2 and has two masks; task 1 is 1 × 3 and has one.
//! let s = Segmentations::new(
//!     vec!["t1".into(), "t2".into()],
//!     vec!["w1".into(), "w2".into()],
//!     vec![0, 0, 1],
//!     vec![0, 1, 0],
//!     vec![(2, 2), (2, 2), (1, 3)],
//!     vec![true, false, true, true, true, true, false, true, true, false, true],
//! )?;
//! assert_eq!(s.shape(0), (2, 2));
//! assert_eq!(s.rows_of(0), [0, 1]);
//! assert_eq!(s.mask(2), [true, false, true]);
//! # Ok::<(), conal::Error>(())
//! ```

use rustc_hash::FxHashMap;

use crate::error::{DataError, Error, Result};

/// Binary masks per (task, worker).
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentations {
    /// Task ids, by index.
    pub tasks: Vec<String>,
    /// Worker ids, by index.
    pub workers: Vec<String>,
    /// The task of each row.
    pub task: Vec<u32>,
    /// The worker of each row.
    pub worker: Vec<u32>,
    shapes: Vec<(usize, usize)>,
    offsets: Vec<usize>,
    pixels: Vec<bool>,
    by_task: Vec<Vec<usize>>,
}

impl Segmentations {
    /// Masks from codes: row `r` is worker `worker[r]`'s mask of task `task[r]`, of shape
    /// `shapes[r]` (height, width), its pixels row-major in `pixels` after those of the rows
    /// before it. A task whose masks differ in shape, or pixels that do not add up, are an
    /// error naming the row.
    pub fn new(
        tasks: Vec<String>,
        workers: Vec<String>,
        task: Vec<u32>,
        worker: Vec<u32>,
        shapes: Vec<(usize, usize)>,
        pixels: Vec<bool>,
    ) -> Result<Self> {
        let n = task.len();
        if worker.len() != n || shapes.len() != n {
            return Err(Error::Invalid {
                what: "segmentations",
                message: format!(
                    "columns of different lengths: task {n}, worker {}, segmentation {}",
                    worker.len(),
                    shapes.len()
                ),
            });
        }
        let invalid = |r: usize, message: String| {
            Error::Data(DataError::Invalid(format!("row {r}: {message}")))
        };
        let mut task_shape: Vec<Option<(usize, (usize, usize))>> = vec![None; tasks.len()];
        let mut by_task = vec![Vec::new(); tasks.len()];
        let mut offsets = Vec::with_capacity(n + 1);
        let mut at = 0usize;
        for r in 0..n {
            let (t, w) = (task[r] as usize, worker[r] as usize);
            if t >= tasks.len() {
                return Err(invalid(
                    r,
                    format!("task code {t} is not one of the {} tasks", tasks.len()),
                ));
            }
            if w >= workers.len() {
                return Err(invalid(
                    r,
                    format!(
                        "worker code {w} is not one of the {} workers",
                        workers.len()
                    ),
                ));
            }
            let shape = shapes[r];
            match task_shape[t] {
                Some((first, s)) if s != shape => {
                    return Err(invalid(
                        r,
                        format!(
                            "the mask of task {:?} is {} × {}, its mask in row {first} is {} × {} \
                             (every mask of a task must have the image's shape)",
                            tasks[t], shape.0, shape.1, s.0, s.1
                        ),
                    ));
                }
                Some(_) => {}
                None => task_shape[t] = Some((r, shape)),
            }
            by_task[t].push(r);
            offsets.push(at);
            at += shape.0 * shape.1;
        }
        offsets.push(at);
        if at != pixels.len() {
            return Err(Error::Invalid {
                what: "segmentations",
                message: format!(
                    "the masks' shapes add up to {at} pixels, {} given",
                    pixels.len()
                ),
            });
        }
        Ok(Segmentations {
            tasks,
            workers,
            task,
            worker,
            shapes: task_shape
                .iter()
                .map(|s| s.map_or((0, 0), |(_, s)| s))
                .collect(),
            offsets,
            pixels,
            by_task,
        })
    }

    /// The number of masks.
    pub fn len(&self) -> usize {
        self.task.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.task.is_empty()
    }

    /// The number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// The number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Task `t`'s image shape (height, width); (0, 0) for a task without a mask.
    pub fn shape(&self, t: usize) -> (usize, usize) {
        self.shapes[t]
    }

    /// The rows of task `t`, in input order.
    pub fn rows_of(&self, t: usize) -> &[usize] {
        &self.by_task[t]
    }

    /// Task `t`'s masks, in input order.
    pub fn masks_of(&self, t: usize) -> Vec<&[bool]> {
        self.by_task[t].iter().map(|&r| self.mask(r)).collect()
    }

    /// `f(masks, pixels)` for every task (its masks in input order, its pixel count), the
    /// tasks in parallel, results in task order.
    pub fn map_tasks<T: Send>(&self, f: impl Fn(&[&[bool]], usize) -> T + Sync) -> Vec<T> {
        use rayon::prelude::*;
        (0..self.n_tasks())
            .into_par_iter()
            .map(|t| {
                let (h, w) = self.shape(t);
                f(&self.masks_of(t), h * w)
            })
            .collect()
    }

    /// Row `r`'s mask, row-major.
    pub fn mask(&self, r: usize) -> &[bool] {
        &self.pixels[self.offsets[r]..self.offsets[r + 1]]
    }
}

/// The distinct patterns of a task's masks: which workers marked each pixel. Every per-pixel
/// quantity of the segmentation methods (votes, posteriors, their logarithms) depends on the
/// pixel only through its pattern, so they are computed once per pattern (a few dozen) rather
/// than once per pixel (millions), then looked up in pixel order wherever a sum must run in
/// numpy's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Patterns {
    /// The pattern of each pixel.
    pub ids: Vec<u32>,
    /// Each pattern: whether worker `k` marked it, `marks[id][k]`.
    pub marks: Vec<Vec<bool>>,
}

impl Patterns {
    /// The patterns of `masks` (each `pixels` long).
    pub fn of(masks: &[&[bool]], pixels: usize) -> Self {
        let words = masks.len().div_ceil(64).max(1);
        let mut keys = vec![0u64; pixels * words];
        for (k, m) in masks.iter().enumerate() {
            let (word, bit) = (k / 64, k % 64);
            for (p, &b) in m.iter().enumerate() {
                keys[p * words + word] |= u64::from(b) << bit;
            }
        }
        let mut marks: Vec<Vec<bool>> = Vec::new();
        let mut new_pattern = |key: &[u64]| {
            marks.push(
                (0..masks.len())
                    .map(|k| key[k / 64] >> (k % 64) & 1 == 1)
                    .collect(),
            );
            (marks.len() - 1) as u32
        };
        let ids = if masks.len() <= 16 {
            // Few workers: a direct table of every possible pattern (a map lookup per pixel
            // was most of the time).
            let mut table = vec![u32::MAX; 1 << masks.len()];
            keys.iter()
                .map(|&key| {
                    let slot = &mut table[key as usize];
                    if *slot == u32::MAX {
                        *slot = new_pattern(&[key]);
                    }
                    *slot
                })
                .collect()
        } else {
            let mut index: FxHashMap<&[u64], u32> = FxHashMap::default();
            keys.chunks_exact(words)
                .map(|key| *index.entry(key).or_insert_with(|| new_pattern(key)))
                .collect()
        };
        Patterns { ids, marks }
    }
}

/// numpy's sum of a contiguous run of numbers (`np.add.reduce`'s pairwise summation: eight
/// partial sums over blocks of up to 128, halves above), so that sums over a mask's pixels
/// add up in crowd-kit's order. Written by hand: no crate reproduces numpy's order.
pub(crate) fn numpy_sum(values: &[f64]) -> f64 {
    numpy_sum_by(values.len(), |i| values[i])
}

/// [`numpy_sum`] of `value(0), …, value(n − 1)`, computed as they are needed (a sum over
/// workers × pixels then needs no array of them).
pub(crate) fn numpy_sum_by(n: usize, value: impl Fn(usize) -> f64 + Copy) -> f64 {
    pairwise(0, n, value)
}

fn pairwise(start: usize, n: usize, value: impl Fn(usize) -> f64 + Copy) -> f64 {
    if n < 8 {
        // numpy starts from -0.0 here.
        return (start..start + n).fold(-0.0, |acc, i| acc + value(i));
    }
    if n <= 128 {
        let mut r = [0.0; 8];
        for (k, acc) in r.iter_mut().enumerate() {
            *acc = value(start + k);
        }
        let mut i = 8;
        while i < n - n % 8 {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += value(start + i + k);
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for j in i..n {
            sum += value(start + j);
        }
        return sum;
    }
    let half = (n / 2) / 8 * 8;
    pairwise(start, half, value) + pairwise(start + half, n - half, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_of_one_task_must_share_a_shape() {
        let e = Segmentations::new(
            vec!["t".into()],
            vec!["a".into(), "b".into()],
            vec![0, 0],
            vec![0, 1],
            vec![(1, 2), (2, 1)],
            vec![true; 4],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("row 1") && e.contains("2 × 1") && e.contains("row 0"),
            "{e}"
        );
    }

    /// The pairwise order: for 1,000 values of mixed magnitude the sum equals a
    /// straightforward transcription of numpy's loop (and differs from left-to-right).
    #[test]
    fn numpy_sum_is_pairwise() {
        let v: Vec<f64> = (0..1000)
            .map(|i| 1.0 / (i as f64 + 1.0) * if i % 3 == 0 { 1e8 } else { 1.0 })
            .collect();
        let plain: f64 = v.iter().sum();
        assert!((numpy_sum(&v) - plain).abs() < 1e-6);
        assert_eq!(numpy_sum(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(numpy_sum(&[]), -0.0);
        let r: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(numpy_sum(&r), 45.0);
    }
}
