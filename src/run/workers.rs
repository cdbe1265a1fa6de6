//! Per-worker statistics of a trained crowd model (saved as the checkpoint's `workers.json`).

use burn::tensor::{Device, Tensor};

use crate::checkpoint::{WorkerStat, WorkerStats};
use crate::data::CrowdData;
use crate::model::{CrowdModel, Mode};
use crate::train::eval::probabilities;
use crate::train::{Inputs, LabelIndex};

/// The statistics of `model` on the training crowd: the mean predicted class distribution and
/// each worker's label count and ω (weight of the common confusion) over its labels.
pub fn worker_stats<M: CrowdModel<Tensor<2>>>(
    model: &M,
    crowd: &CrowdData,
    device: &Device,
) -> WorkerStats {
    let index = LabelIndex::new(crowd.n_items(), &crowd.annotations);
    let k = crowd.n_classes();
    let mut prior = vec![0.0f64; k];
    let mut omegas: Vec<Vec<f64>> = vec![Vec::new(); crowd.n_workers()];
    let rows: Vec<usize> = (0..crowd.n_items()).collect();
    for chunk in rows.chunks(4096) {
        let x = crowd.features.batch(chunk, device);
        let obs = index.observed(chunk, device);
        let out = model.forward(&x, &obs, &mut Mode::eval());
        let (p, _) = probabilities(out.class_logits);
        for row in p.chunks_exact(k) {
            for (acc, v) in prior.iter_mut().zip(row) {
                *acc += *v as f64;
            }
        }
        if let Some(omega) = out.omega {
            let omega: Vec<f32> = omega.into_data().try_into_vec().unwrap_or_default();
            let workers = chunk
                .iter()
                .flat_map(|&i| index.of(i).iter().map(|a| a.worker));
            for (w, o) in workers.zip(omega) {
                omegas[w as usize].push(o as f64);
            }
        }
    }
    prior
        .iter_mut()
        .for_each(|v| *v /= crowd.n_items().max(1) as f64);
    let counts = crowd.labels_per_worker();
    let workers = crowd
        .workers
        .iter()
        .enumerate()
        .map(|(r, id)| {
            let o = &omegas[r];
            let (mean, min, max) = if o.is_empty() {
                (None, None, None)
            } else {
                (
                    Some(o.iter().sum::<f64>() / o.len() as f64),
                    Some(o.iter().cloned().fold(f64::INFINITY, f64::min)),
                    Some(o.iter().cloned().fold(f64::NEG_INFINITY, f64::max)),
                )
            };
            WorkerStat {
                id: id.clone(),
                labels: counts[r],
                omega_mean: mean,
                omega_min: min,
                omega_max: max,
            }
        })
        .collect();
    WorkerStats {
        classes: crowd.classes.clone(),
        class_prior: prior,
        workers,
    }
}
