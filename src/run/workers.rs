//! What a trained crowd model says about each worker on its training crowd (saved as the
//! checkpoint's `workers.json`, read by the annotator report).

use burn::tensor::{Device, Tensor};

use crate::checkpoint::{WorkerStat, WorkerStats};
use crate::data::CrowdData;
use crate::model::built::probabilities;
use crate::model::{CrowdModel, Mode};
use crate::train::{Inputs, LabelIndex};

/// The statistics of `model` on the training crowd: the mean predicted class distribution,
/// each worker's label count and ω (weight of the common confusion) over its labels, and,
/// for models whose confusion depends on the item, each worker's mean confusion over the
/// items it labelled.
pub fn worker_stats<M: CrowdModel<Tensor<2>>>(
    model: &M,
    crowd: &CrowdData,
    device: &Device,
) -> WorkerStats {
    let index = LabelIndex::new(crowd.n_items(), &crowd.annotations);
    let (k, r) = (crowd.n_classes(), crowd.n_workers());
    let mut prior = vec![0.0f64; k];
    let mut omegas: Vec<Vec<f64>> = vec![Vec::new(); r];
    // Per worker: the sum of its pairs' K × K confusions (flat), when the model has them.
    let mut confusion_sums: Option<Vec<f64>> = None;
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
        // The observed labels come item by item, each item's in index order.
        let workers = || {
            chunk
                .iter()
                .flat_map(|&i| index.of(i).iter().map(|a| a.worker as usize))
        };
        if let Some(omega) = out.omega {
            let omega: Vec<f32> = omega.into_data().try_into_vec().unwrap_or_default();
            for (w, o) in workers().zip(omega) {
                omegas[w].push(o as f64);
            }
        }
        if let Some(pairs) = model.pair_confusions(&x, &obs) {
            let pairs: Vec<f32> = pairs.into_data().try_into_vec().unwrap_or_default();
            let sums = confusion_sums.get_or_insert_with(|| vec![0.0; r * k * k]);
            for (w, m) in workers().zip(pairs.chunks_exact(k * k)) {
                for (acc, v) in sums[w * k * k..(w + 1) * k * k].iter_mut().zip(m) {
                    *acc += *v as f64;
                }
            }
        }
    }
    prior
        .iter_mut()
        .for_each(|v| *v /= crowd.n_items().max(1) as f64);
    let counts = crowd.labels_per_worker();
    let mean_confusions = confusion_sums.map(|sums| {
        (0..r)
            .map(|w| {
                let n = counts[w].max(1) as f64;
                sums[w * k * k..(w + 1) * k * k]
                    .chunks(k)
                    .map(|row| row.iter().map(|v| v / n).collect())
                    .collect()
            })
            .collect()
    });
    let workers = crowd
        .workers
        .iter()
        .enumerate()
        .map(|(w, id)| {
            let o = &omegas[w];
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
                labels: counts[w],
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
        mean_confusions,
    }
}
