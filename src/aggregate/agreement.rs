//! Agreement and quality metrics of crowd labels, as crowd-kit 1.4 computes them:
//! Krippendorff's α (nominal, NLTK's `AnnotationTask.alpha`, which crowd-kit calls), label
//! uncertainty per task or per worker (entropy of the, optionally skill-weighted, label
//! distribution), consistency (posterior of the aggregated label under a one-coin model of
//! the workers' skills), each worker's accuracy on aggregated labels, and each worker's
//! spammer score (Raykar & Yu 2011, from its Dawid-Skene confusion matrix; crowd-kit has
//! none).
//!
//! ```
//! use conal::aggregate::agreement::{By, krippendorff_alpha, uncertainty};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! let agree = CrowdLabels::indexed(2, 2, 2, vec![a(0, 0, 1), a(0, 1, 1), a(1, 0, 0), a(1, 1, 0)])?;
//! assert_eq!(krippendorff_alpha(&agree)?, 1.0);
//! let split = CrowdLabels::indexed(1, 2, 2, vec![a(0, 0, 0), a(0, 1, 1)])?;
//! let h = uncertainty(&split, None, By::Task)?;
//! assert!((h[0] - 2f64.ln()).abs() < 1e-12);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};

/// What uncertainty is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// One value per item (task).
    Task,
    /// One value per worker.
    Worker,
}

/// Krippendorff's α with the nominal (binary) distance: 1 − observed / expected
/// disagreement, over the items with at least two labels; 1 when those labels all agree on
/// one class. An error without any such item.
pub fn krippendorff_alpha(data: &CrowdLabels) -> Result<f64> {
    let (n_items, n_class) = (data.n_items(), data.n_classes());
    let mut counts = vec![0u64; n_items * n_class];
    for a in &data.annotations {
        counts[a.item as usize * n_class + a.label as usize] += 1;
    }
    // Binary distance: the disagreeing ordered pairs of a frequency table are N² − Σ n².
    let disagreement = |freqs: &[f64]| {
        let total: f64 = freqs.iter().sum();
        let same: f64 = freqs.iter().map(|n| n * n).sum();
        (total * total - same) / (total * (total - 1.0))
    };
    let mut all = vec![0.0; n_class];
    let mut observed = 0.0;
    let mut row = vec![0.0; n_class];
    for item in counts.chunks(n_class) {
        let n: u64 = item.iter().sum();
        if n < 2 {
            continue;
        }
        for ((r, &c), t) in row.iter_mut().zip(item).zip(all.iter_mut()) {
            *r = c as f64;
            *t += c as f64;
        }
        observed += disagreement(&row) * n as f64;
    }
    let valid: f64 = all.iter().sum();
    if valid == 0.0 {
        return Err(Error::Unsupported(
            "no item has two labels: Krippendorff's alpha is undefined".into(),
        ));
    }
    if all.iter().filter(|&&n| n > 0.0).count() == 1 {
        return Ok(1.0);
    }
    Ok(1.0 - (observed / valid) / disagreement(&all))
}

/// Label uncertainty as crowd-kit's `uncertainty(aggregate=False)`: for every item (or
/// worker), the entropy (natural log) of its labels' distribution, each label counting
/// `skill` for the class given and `(1 − skill)/(K − 1)` for every other (`skills`: one per
/// worker, default 1). An item (worker) without labels gets 0.
pub fn uncertainty(data: &CrowdLabels, skills: Option<&[f64]>, by: By) -> Result<Vec<f64>> {
    let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
    let annotations = &data.annotations;
    if let Some(s) = skills {
        if s.len() != n_workers {
            return Err(Error::param(
                "skills",
                format!("{} values", s.len()),
                format!("one per worker ({n_workers})"),
            ));
        }
        if let Some(v) = s
            .iter()
            .find(|v| !(v.is_finite() && (0.0..=1.0).contains(*v)))
        {
            return Err(Error::param("skills", v, "a probability in [0, 1]"));
        }
    }
    let n = match by {
        By::Task => n_items,
        By::Worker => n_workers,
    };
    let k = n_class;
    let mut mass = vec![0.0; n * k];
    for a in annotations {
        let at = match by {
            By::Task => a.item as usize,
            By::Worker => a.worker as usize,
        } * k;
        let s = skills.map_or(1.0, |s| s[a.worker as usize]);
        let other = if k > 1 {
            (1.0 - s) / (k - 1) as f64
        } else {
            0.0
        };
        for (c, m) in mass[at..at + k].iter_mut().enumerate() {
            *m += if c == a.label as usize { s } else { other };
        }
    }
    Ok(mass
        .chunks(k)
        .map(|row| {
            let total: f64 = row.iter().sum();
            if total <= 0.0 {
                return 0.0;
            }
            -row.iter()
                .filter(|&&m| m > 0.0)
                .map(|m| {
                    let p = m / total;
                    p * p.ln()
                })
                .sum::<f64>()
        })
        .collect())
}

/// Each worker's share of labels equal to `labels` (crowd-kit's `accuracy_on_aggregates`
/// by worker); `None` for a worker without labels.
pub fn accuracy_on_aggregates(
    n_workers: usize,
    annotations: &[Annotation],
    labels: &[u32],
) -> Vec<Option<f64>> {
    worker_accuracy(n_workers, annotations, |item| labels.get(item).copied())
}

/// Each worker's share of right labels among its labels of the items whose class `known`
/// gives (one entry per item, `None` where unknown), `None` for a worker without such a
/// label: crowd-kit's `get_accuracy`, what Wawa and gold majority vote weigh workers by.
pub fn known_accuracy(data: &CrowdLabels, known: &[Option<u32>]) -> Result<Vec<Option<f64>>> {
    if known.len() != data.n_items() {
        return Err(Error::param(
            "truth",
            format!("{} values", known.len()),
            format!("one per item ({})", data.n_items()),
        ));
    }
    Ok(worker_accuracy(data.n_workers(), &data.annotations, |i| {
        known[i]
    }))
}

/// Each worker's share of right labels among its labels of the items whose class `known`
/// gives; `None` for a worker without such a label. What Wawa (against majority vote), gold
/// majority vote (against known labels) and [`accuracy_on_aggregates`] measure.
pub(crate) fn worker_accuracy(
    n_workers: usize,
    annotations: &[Annotation],
    known: impl Fn(usize) -> Option<u32>,
) -> Vec<Option<f64>> {
    let mut right = vec![0u64; n_workers];
    let mut total = vec![0u64; n_workers];
    for a in annotations {
        if let Some(y) = known(a.item as usize) {
            let w = a.worker as usize;
            total[w] += 1;
            right[w] += u64::from(y == a.label);
        }
    }
    right
        .iter()
        .zip(&total)
        .map(|(&r, &t)| (t > 0).then(|| r as f64 / t as f64))
        .collect()
}

/// Consistency as crowd-kit's `consistency(by_task=True)`: for every item, the posterior of
/// its aggregated label `aggregated[item]` when each label of worker `w` is right with
/// probability `skills[w]` and otherwise uniform over the other classes, over the L classes
/// the data gives; uniform prior. `None` for an item without labels; 0 where every class
/// has probability 0 (as crowd-kit). Computed in logs (crowd-kit multiplies directly and
/// underflows to 0 only on items with hundreds of labels).
pub fn consistency(
    data: &CrowdLabels,
    skills: &[f64],
    aggregated: &[u32],
) -> Result<Vec<Option<f64>>> {
    let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
    let annotations = &data.annotations;
    if skills.len() != n_workers {
        return Err(Error::param(
            "skills",
            format!("{} values", skills.len()),
            format!("one per worker ({n_workers})"),
        ));
    }
    if aggregated.len() != n_items || aggregated.iter().any(|&y| y as usize >= n_class) {
        return Err(Error::param(
            "aggregated",
            format!("{} labels", aggregated.len()),
            format!("one class of {n_class} per item ({n_items})"),
        ));
    }
    let mut given = vec![false; n_class];
    annotations
        .iter()
        .for_each(|a| given[a.label as usize] = true);
    let present: Vec<usize> = (0..n_class).filter(|&c| given[c]).collect();
    let l = present.len();
    let k = n_class;
    let mut log_p = vec![0.0f64; n_items * k];
    let mut has = vec![false; n_items];
    for a in annotations {
        let s = skills[a.worker as usize];
        let other = if l > 1 {
            (1.0 - s) / (l - 1) as f64
        } else {
            0.0
        };
        let row = &mut log_p[a.item as usize * k..(a.item as usize + 1) * k];
        for &c in &present {
            row[c] += if c == a.label as usize { s } else { other }.ln();
        }
        has[a.item as usize] = true;
    }
    Ok((0..n_items)
        .map(|i| {
            if !has[i] {
                return None;
            }
            let row = &log_p[i * k..(i + 1) * k];
            let max = present
                .iter()
                .map(|&c| row[c])
                .fold(f64::NEG_INFINITY, f64::max);
            let y = aggregated[i] as usize;
            if max == f64::NEG_INFINITY || !given.get(y).copied().unwrap_or(false) {
                return Some(0.0);
            }
            let total: f64 = present.iter().map(|&c| (row[c] - max).exp()).sum();
            Some((row[y] - max).exp() / total)
        })
        .collect())
}

/// Each worker's spammer score (Raykar & Yu, "Ranking annotators for crowdsourced labeling
/// tasks", NIPS 2011) from its confusion matrix `[true class][label given]` (rows summing to
/// 1, as Dawid-Skene's): `1/(K(K−1)) Σ_{c<c'} Σ_l (A[c][l] − A[c'][l])²`. 0 for a spammer
/// (the same answer distribution whatever the truth), 1 for a perfect (or perfectly
/// permuting) worker.
pub fn spammer_scores(confusions: &[Vec<Vec<f64>>]) -> Vec<f64> {
    confusions
        .iter()
        .map(|a| {
            let k = a.len();
            if k < 2 {
                return 0.0;
            }
            let mut sum = 0.0;
            for c in 0..k {
                for d in c + 1..k {
                    sum += a[c]
                        .iter()
                        .zip(&a[d])
                        .map(|(x, y)| (x - y) * (x - y))
                        .sum::<f64>();
                }
            }
            sum / (k * (k - 1)) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(item: u32, worker: u32, label: u32) -> Annotation {
        Annotation {
            item,
            worker,
            label,
        }
    }

    #[test]
    fn consistency_is_the_one_coin_posterior_of_the_aggregate() {
        // Item 0: workers of skill 0.9 and 0.6 say 0, one of 0.8 says 1; 3 classes given.
        let labels = [a(0, 0, 0), a(0, 1, 0), a(0, 2, 1), a(1, 0, 2)];
        let skills = [0.9, 0.6, 0.8];
        let data = CrowdLabels::indexed(3, 3, 3, labels.to_vec()).unwrap();
        let c = consistency(&data, &skills, &[0, 2, 0]).unwrap();
        let p0 = 0.9 * 0.6 * 0.1;
        let p1 = 0.05 * 0.2 * 0.8;
        let p2 = 0.05 * 0.2 * 0.1;
        assert!((c[0].unwrap() - p0 / (p0 + p1 + p2)).abs() < 1e-12);
        // One label of skill 0.9 among 3 classes: 0.9 / (0.9 + 0.05 + 0.05).
        assert!((c[1].unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(c[2], None);
        // Every class impossible (a perfect worker against each class): 0, as crowd-kit.
        let split = [a(0, 0, 0), a(0, 1, 1)];
        let data = CrowdLabels::indexed(1, 2, 2, split.to_vec()).unwrap();
        let c = consistency(&data, &[1.0, 1.0], &[0]).unwrap();
        assert_eq!(c[0], Some(0.0));
    }

    #[test]
    fn spammer_scores_separate_spammers_from_experts() {
        let perfect = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        let spammer = vec![vec![0.2, 0.5, 0.3]; 3];
        let noisy = vec![
            vec![0.8, 0.1, 0.1],
            vec![0.1, 0.8, 0.1],
            vec![0.1, 0.1, 0.8],
        ];
        let s = spammer_scores(&[perfect, spammer, noisy]);
        assert!((s[0] - 1.0).abs() < 1e-12);
        assert!(s[1].abs() < 1e-12);
        // Pairs of rows differ by 0.7 in two places: 3 pairs × 2 × 0.49 / 6.
        assert!((s[2] - 0.49).abs() < 1e-12);
    }
}
