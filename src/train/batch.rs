//! Turning items into batches: the input side ([`Inputs`]) and the observed labels of a batch.

use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use crate::data::{Annotation, Matrix};
use crate::model::Observed;

/// Batches of at least this many feature values are gathered on all threads.
const PARALLEL_GATHER_MIN: usize = 1 << 18;

/// A collection of items the trainer can batch: the data side of a task.
///
/// Implemented for feature matrices. Implement it for your own item type (images, token
/// sequences, …) together with a [`Backbone`](crate::model::Backbone) that reads `Batch`.
pub trait Inputs {
    /// A batch of items, as the backbone reads it.
    type Batch;

    /// Number of items.
    fn len(&self) -> usize;

    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch made of items `rows`, in that order, on `device`.
    fn batch(&self, rows: &[usize], device: &Device) -> Self::Batch;

    /// Mixup: `λ · batch + (1 − λ) · batch[perm]`, if this kind of input can be mixed
    /// (feature matrices can; the default cannot).
    fn mix(batch: &Self::Batch, perm: &[usize], lambda: f64) -> Option<Self::Batch> {
        let _ = (batch, perm, lambda);
        None
    }

    /// Mixup with one weight per row: row i becomes `λ_i · batch_i + (1 − λ_i) · batch[perm_i]`
    /// (Annot-Mix's mixup over labels), if this kind of input can be mixed.
    fn mix_rows(batch: &Self::Batch, perm: &[usize], lambdas: &[f32]) -> Option<Self::Batch> {
        let _ = (batch, perm, lambdas);
        None
    }

    /// Whether [`Inputs::mix_rows`] blends (feature matrices do; the default does not).
    const MIXES_ROWS: bool = false;

    /// Whether [`Inputs::gather`] gathers batches on the device (feature matrices do; the
    /// default does not).
    const GATHERS: bool = false;

    /// The batch made of items `rows`, gathered on the device from `all` (every item, as
    /// [`Inputs::batch`] of all rows in order gives it), where [`Inputs::GATHERS`]. A GPU
    /// trainer uploads the items once and gathers each batch there instead of uploading it.
    fn gather(all: &Self::Batch, rows: &[usize]) -> Option<Self::Batch> {
        let _ = (all, rows);
        None
    }
}

impl Inputs for Matrix {
    type Batch = Tensor<2>;

    fn len(&self) -> usize {
        self.rows()
    }

    fn batch(&self, rows: &[usize], device: &Device) -> Tensor<2> {
        let (d, n) = (self.cols(), rows.len() * self.cols());
        let data = if rows.len() == self.rows() && rows.iter().enumerate().all(|(i, &r)| i == r) {
            self.as_slice().to_vec()
        } else if d > 0 && n >= PARALLEL_GATHER_MIN && rayon::current_num_threads() > 1 {
            // A LabelMe-size batch is 4 MB; copied on one thread it held the other idle for
            // 7–9 % of the 2-thread epoch. Written into uninitialised memory: zeroing it
            // first cost as much as the copy.
            let mut data: Vec<f32> = Vec::with_capacity(n);
            data.spare_capacity_mut()[..n]
                .par_chunks_mut(d)
                .zip(rows.par_iter())
                .for_each(|(dst, &r)| {
                    dst.write_copy_of_slice(self.row(r));
                });
            // SAFETY: the n = rows.len() · d values were all written above: each of the
            // rows.len() chunks of d has been filled with a whole row.
            unsafe { data.set_len(n) };
            data
        } else {
            let mut data = Vec::with_capacity(n);
            for &r in rows {
                data.extend_from_slice(self.row(r));
            }
            data
        };
        Tensor::from_data(TensorData::new(data, [rows.len(), d]), device)
    }

    fn mix(batch: &Tensor<2>, perm: &[usize], lambda: f64) -> Option<Tensor<2>> {
        let other = batch.clone().select(0, row_index(perm, &batch.device()));
        Some(batch.clone().mul_scalar(lambda) + other.mul_scalar(1.0 - lambda))
    }

    fn mix_rows(batch: &Tensor<2>, perm: &[usize], lambdas: &[f32]) -> Option<Tensor<2>> {
        let device = batch.device();
        let lambda =
            Tensor::<1>::from_data(TensorData::new(lambdas.to_vec(), [lambdas.len()]), &device)
                .unsqueeze_dim(1);
        let other = batch.clone().select(0, row_index(perm, &device));
        Some(batch.clone() * lambda.clone() + other * lambda.neg().add_scalar(1.0))
    }

    const GATHERS: bool = true;
    const MIXES_ROWS: bool = true;

    fn gather(all: &Tensor<2>, rows: &[usize]) -> Option<Tensor<2>> {
        Some(all.clone().select(0, row_index(rows, &all.device())))
    }
}

/// Row numbers as an index tensor for `select`.
fn row_index(rows: &[usize], device: &Device) -> Tensor<1, burn::tensor::Int> {
    let index: Vec<i64> = rows.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(index, [rows.len()]), device)
}

/// One crowd label of an item whose index is implied (by [`LabelIndex::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Vote {
    /// Worker index.
    pub worker: u32,
    /// Class index.
    pub label: u32,
}

/// The crowd labels grouped by item, for fast batch assembly: 8 bytes a label (the item is
/// the group), plus one offset per item.
#[derive(Debug, Clone)]
pub struct LabelIndex {
    offsets: Vec<usize>,
    labels: Vec<Vote>,
    weights: Option<Vec<f32>>,
}

impl LabelIndex {
    /// Groups `annotations` of `n_items` items.
    pub fn new(n_items: usize, annotations: &[Annotation]) -> Self {
        Self::weighted(n_items, annotations, None)
    }

    /// Groups `annotations` of `n_items` items, each with its weight (soft targets).
    ///
    /// A counting sort by item (linear, and without the permutation array a comparison sort
    /// would need: 24 MB at the memory peak of a 3-million-label run), then each item's few
    /// labels by (worker, label), so the order never depends on the input's.
    pub fn weighted(n_items: usize, annotations: &[Annotation], weights: Option<&[f32]>) -> Self {
        let n = annotations.len();
        // offsets[i] = end of item i; placing back to front leaves offsets[i] = its start.
        let mut offsets = vec![0usize; n_items + 1];
        for a in annotations {
            offsets[a.item as usize] += 1;
        }
        for i in 1..n_items {
            offsets[i] += offsets[i - 1];
        }
        offsets[n_items] = n;
        let blank = Vote {
            worker: 0,
            label: 0,
        };
        let mut labels = vec![blank; n];
        let mut sorted_weights = weights.map(|_| vec![0f32; n]);
        for (i, a) in annotations.iter().enumerate().rev() {
            let slot = &mut offsets[a.item as usize];
            *slot -= 1;
            labels[*slot] = Vote {
                worker: a.worker,
                label: a.label,
            };
            if let (Some(to), Some(from)) = (sorted_weights.as_mut(), weights) {
                to[*slot] = from[i];
            }
        }
        for item in 0..n_items {
            let range = offsets[item]..offsets[item + 1];
            let slice = &mut labels[range.clone()];
            if slice.is_sorted() {
                continue;
            }
            match sorted_weights.as_mut() {
                None => slice.sort_unstable(),
                Some(w) => {
                    let mut pairs: Vec<(Vote, f32)> = slice
                        .iter()
                        .copied()
                        .zip(w[range.clone()].iter().copied())
                        .collect();
                    pairs.sort_unstable_by_key(|p| p.0);
                    for (j, (a, weight)) in pairs.into_iter().enumerate() {
                        slice[j] = a;
                        w[range.start + j] = weight;
                    }
                }
            }
        }
        LabelIndex {
            offsets,
            labels,
            weights: sorted_weights,
        }
    }

    /// The labels of `item`.
    pub fn of(&self, item: usize) -> &[Vote] {
        &self.labels[self.offsets[item]..self.offsets[item + 1]]
    }

    /// Items with at least one label, ascending.
    pub fn labelled_items(&self) -> Vec<usize> {
        (0..self.offsets.len() - 1)
            .filter(|&i| self.offsets[i + 1] > self.offsets[i])
            .collect()
    }

    /// The observed labels of a mixup batch: row i carries its own labels with weight λ and
    /// those of row `perm[i]` with weight 1 − λ (label weights multiply).
    pub fn observed_mixed(
        &self,
        rows: &[usize],
        perm: &[usize],
        lambda: f64,
        device: &Device,
    ) -> Observed {
        let (mut items, mut workers, mut labels, mut weights) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (local, &r) in rows.iter().enumerate() {
            for (source, w) in [(r, lambda), (rows[perm[local]], 1.0 - lambda)] {
                for (j, a) in self.of(source).iter().enumerate() {
                    let base = self
                        .weights
                        .as_ref()
                        .map_or(1.0, |ws| ws[self.offsets[source] + j]);
                    items.push(local as u32);
                    workers.push(a.worker);
                    labels.push(a.label);
                    weights.push(base * w as f32);
                }
            }
        }
        Observed::new(&items, &workers, &labels, device).with_weights(&weights, device)
    }

    /// The (batch row, label) pairs of a batch made of `rows`.
    pub fn pairs(&self, rows: &[usize]) -> Vec<(usize, u32)> {
        rows.iter()
            .enumerate()
            .flat_map(|(local, &r)| self.of(r).iter().map(move |a| (local, a.label)))
            .collect()
    }

    /// The total weight of the labels of `rows` (their number without weights).
    pub fn weight_of(&self, rows: &[usize]) -> f64 {
        rows.iter()
            .map(|&r| match &self.weights {
                Some(w) => w[self.offsets[r]..self.offsets[r + 1]]
                    .iter()
                    .map(|&v| v as f64)
                    .sum(),
                None => (self.offsets[r + 1] - self.offsets[r]) as f64,
            })
            .sum()
    }

    /// Whether the labels carry weights (soft targets).
    pub fn is_weighted(&self) -> bool {
        self.weights.is_some()
    }

    /// The observed labels of a batch made of `rows` (batch-local item indices).
    pub fn observed(&self, rows: &[usize], device: &Device) -> Observed {
        let (items, workers, labels, weights) = self.columns(rows);
        let obs = Observed::new(&items, &workers, &labels, device);
        match weights {
            Some(w) => obs.with_weights(&w, device),
            None => obs,
        }
    }

    /// Every label of items `rows`, in order, as parallel columns: batch row (the position
    /// in `rows`), worker, label, and the labels' weights where they have them.
    pub fn columns(&self, rows: &[usize]) -> (Vec<u32>, Vec<u32>, Vec<u32>, Option<Vec<f32>>) {
        let n: usize = rows.iter().map(|&r| self.of(r).len()).sum();
        let (mut items, mut workers, mut labels) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut weights = self.weights.as_ref().map(|_| Vec::with_capacity(n));
        for (local, &r) in rows.iter().enumerate() {
            for a in self.of(r) {
                items.push(local as u32);
                workers.push(a.worker);
                labels.push(a.label);
            }
            if let (Some(to), Some(w)) = (weights.as_mut(), &self.weights) {
                to.extend_from_slice(&w[self.offsets[r]..self.offsets[r + 1]]);
            }
        }
        (items, workers, labels, weights)
    }
}

/// Splits `order` into batches of `batch_size`; a last batch of a single item is merged into
/// the previous one (batch norm cannot normalise one item).
pub fn batches(order: &[usize], batch_size: usize) -> Vec<&[usize]> {
    let mut out: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
    if out.len() > 1 && out.last().is_some_and(|b| b.len() == 1) {
        out.pop();
        let n = out.len();
        let start = (n - 1) * batch_size;
        out[n - 1] = &order[start..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_merge_a_trailing_singleton() {
        let order: Vec<usize> = (0..9).collect();
        let b = batches(&order, 4);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![4, 5]);
        let b = batches(&order, 3);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![3, 3, 3]);
        let b = batches(&order, 100);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn batches_gather_the_rows_in_order_on_one_thread_and_on_several() {
        let device = Device::flex();
        // The second batch is past PARALLEL_GATHER_MIN (302 × 1,024 values).
        for (rows, cols) in [(7, 5), (600, 1024)] {
            let m = Matrix::new(rows, cols, (0..rows * cols).map(|i| i as f32).collect())
                .expect("a matrix");
            // Every other row from the last, then row 0 twice: the order given, whatever it is.
            let pick: Vec<usize> = (0..rows).rev().step_by(2).chain([0, 0]).collect();
            let expected: Vec<f32> = pick.iter().flat_map(|&r| m.row(r).to_vec()).collect();
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool");
                let batch = pool.install(|| m.batch(&pick, &device));
                assert_eq!(batch.dims(), [pick.len(), cols]);
                let data = batch.into_data();
                assert_eq!(data.as_slice::<f32>().expect("f32"), expected.as_slice());
            }
        }
    }

    #[test]
    fn label_index_groups_by_item() {
        let a = |item, worker, label| Annotation {
            item,
            worker,
            label,
        };
        let idx = LabelIndex::new(4, &[a(2, 0, 1), a(0, 1, 0), a(2, 1, 1)]);
        assert_eq!(idx.of(2).len(), 2);
        assert_eq!(idx.of(1).len(), 0);
        assert_eq!(idx.labelled_items(), vec![0, 2]);
    }

    #[test]
    fn label_index_sorts_within_items_and_carries_weights() {
        let a = |item, worker, label| Annotation {
            item,
            worker,
            label,
        };
        let given = [a(1, 5, 0), a(0, 3, 2), a(1, 2, 1), a(1, 2, 0), a(0, 1, 1)];
        let weights = [0.5, 0.25, 0.125, 1.0, 2.0];
        let idx = LabelIndex::weighted(3, &given, Some(&weights));
        let v = |worker, label| Vote { worker, label };
        assert_eq!(idx.of(0), &[v(1, 1), v(3, 2)]);
        assert_eq!(idx.of(1), &[v(2, 0), v(2, 1), v(5, 0)]);
        assert!(idx.of(2).is_empty());
        let w = idx.weights.as_deref().expect("weighted");
        assert_eq!(w, &[2.0, 0.25, 1.0, 0.125, 0.5]);
        // Any input order gives the same index.
        let mut reversed = given;
        reversed.reverse();
        let mut rw = weights;
        rw.reverse();
        let again = LabelIndex::weighted(3, &reversed, Some(&rw));
        assert_eq!(again.labels, idx.labels);
        assert_eq!(again.weights, idx.weights);
        assert_eq!(again.offsets, vec![0, 2, 5, 5]);
    }
}
