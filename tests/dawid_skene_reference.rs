//! Dawid-Skene's fast implementation (flat tables, items and workers in parallel) against the
//! straightforward one it replaced, kept here as the reference: the same bits on every
//! output (posteriors, confusions, priors, ELBO history), with 1 and with 2 threads, on a
//! generated crowd (with unlabelled items and gold labels), Music and LabelMe. Both read the
//! labels in the order crowd labels keep them, (item, worker).

mod common;

use conal::aggregate::{Aggregator, DawidSkene, FittedDawidSkene, MajorityVote};
use conal::data::{Annotation, CrowdLabels, labelme, music};
use rand::{RngExt, SeedableRng};

/// The implementation before the rewrite (nested vectors, one thread), unchanged.
mod reference {
    use conal::aggregate::{Aggregator, MajorityVote};
    use conal::data::{Annotation, CrowdLabels};

    const EPS: f64 = 1e-10;

    pub struct Out {
        pub post: Vec<Vec<f64>>,
        pub errors: Vec<Vec<Vec<f64>>>,
        pub prior: Vec<f64>,
        pub history: Vec<f64>,
    }

    pub fn fit(
        n_items: usize,
        n_workers: usize,
        k: usize,
        annotations: &[Annotation],
        gold: &[(usize, u32)],
        max_iter: usize,
        tol: f64,
    ) -> Out {
        let apply_gold = |post: &mut [Vec<f64>]| {
            for &(i, y) in gold {
                for (c, v) in post[i].iter_mut().enumerate() {
                    *v = if c == y as usize { 1.0 } else { 0.0 };
                }
            }
        };
        let data = CrowdLabels::indexed(n_items, n_workers, k, annotations.to_vec()).unwrap();
        let mv = MajorityVote::new().fit(&data).unwrap().aggregation;
        let mut post = mv.posteriors.to_rows();
        let has_labels = mv.has_labels;
        apply_gold(&mut post);
        let labelled: Vec<usize> = (0..n_items).filter(|&i| has_labels[i]).collect();
        let mut prior = mean_rows(&post, &labelled, k);
        let mut errors = m_step(&post, annotations, n_workers, k);
        let mut last = f64::NEG_INFINITY;
        let mut history = Vec::new();
        for _ in 0..max_iter {
            post = e_step(&prior, &errors, annotations, n_items, k, &has_labels);
            apply_gold(&mut post);
            prior = mean_rows(&post, &labelled, k);
            errors = m_step(&post, annotations, n_workers, k);
            let e = elbo(&post, &prior, &errors, annotations, &labelled) / annotations.len() as f64;
            history.push(e);
            if e - last < tol {
                break;
            }
            last = e;
        }
        Out {
            post,
            errors,
            prior,
            history,
        }
    }

    fn mean_rows(post: &[Vec<f64>], items: &[usize], k: usize) -> Vec<f64> {
        let mut m = vec![0.0; k];
        for &i in items {
            for (acc, v) in m.iter_mut().zip(&post[i]) {
                *acc += v;
            }
        }
        m.iter_mut().for_each(|v| *v /= items.len().max(1) as f64);
        m
    }

    fn m_step(
        post: &[Vec<f64>],
        annotations: &[Annotation],
        n_workers: usize,
        k: usize,
    ) -> Vec<Vec<Vec<f64>>> {
        let mut counts = vec![vec![vec![0.0; k]; k]; n_workers];
        let mut used = vec![vec![false; k]; n_workers];
        for a in annotations {
            let (w, l) = (a.worker as usize, a.label as usize);
            used[w][l] = true;
            for (c, p) in post[a.item as usize].iter().enumerate() {
                counts[w][c][l] += p;
            }
        }
        for (w, m) in counts.iter_mut().enumerate() {
            for row in m.iter_mut() {
                for (l, v) in row.iter_mut().enumerate() {
                    if used[w][l] {
                        *v = v.max(EPS);
                    }
                }
                let s: f64 = row.iter().sum();
                if s > 0.0 {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            }
        }
        counts
    }

    fn e_step(
        prior: &[f64],
        errors: &[Vec<Vec<f64>>],
        annotations: &[Annotation],
        n_items: usize,
        k: usize,
        has_labels: &[bool],
    ) -> Vec<Vec<f64>> {
        let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
        let log_errors = log_table(errors);
        let mut log_post = vec![log_prior.clone(); n_items];
        for a in annotations {
            let m = &log_errors[a.worker as usize];
            for (c, lp) in log_post[a.item as usize].iter_mut().enumerate() {
                *lp += m[c][a.label as usize];
            }
        }
        log_post
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                if !has_labels[i] {
                    return prior.to_vec();
                }
                let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(|v| v / s).take(k).collect()
            })
            .collect()
    }

    fn log_table(errors: &[Vec<Vec<f64>>]) -> Vec<Vec<Vec<f64>>> {
        errors
            .iter()
            .map(|m| {
                m.iter()
                    .map(|row| row.iter().map(|v| v.ln()).collect())
                    .collect()
            })
            .collect()
    }

    fn elbo(
        post: &[Vec<f64>],
        prior: &[f64],
        errors: &[Vec<Vec<f64>>],
        annotations: &[Annotation],
        labelled: &[usize],
    ) -> f64 {
        let mut total = 0.0;
        let log_errors = log_table(errors);
        let log_prior: Vec<f64> = prior.iter().map(|p| p.max(EPS).ln()).collect();
        for a in annotations {
            let m = &log_errors[a.worker as usize];
            for (c, p) in post[a.item as usize].iter().enumerate() {
                if *p > 0.0 {
                    total += p * (m[c][a.label as usize] + log_prior[c]);
                }
            }
        }
        for &i in labelled {
            for &p in &post[i] {
                let p = p.max(EPS);
                total -= p * p.ln();
            }
        }
        total
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_same(name: &str, got: &FittedDawidSkene, want: &reference::Out) {
    assert_eq!(
        bits(&got.elbo_history),
        bits(&want.history),
        "{name}: ELBO history"
    );
    assert_eq!(bits(&got.priors), bits(&want.prior), "{name}: priors");
    for (i, (g, w)) in got
        .aggregation
        .posteriors
        .rows()
        .zip(&want.post)
        .enumerate()
    {
        assert_eq!(bits(g), bits(w), "{name}: posterior of item {i}");
    }
    assert_eq!(got.aggregation.posteriors.len(), want.post.len());
    for (w, (g, r)) in got.worker_confusions.iter().zip(&want.errors).enumerate() {
        for (c, (g, r)) in g.iter().zip(r).enumerate() {
            assert_eq!(
                bits(g),
                bits(r),
                "{name}: confusion of worker {w}, class {c}"
            );
        }
    }
    assert_eq!(got.worker_confusions.len(), want.errors.len());
}

fn compare(
    name: &str,
    n_items: usize,
    n_workers: usize,
    k: usize,
    annotations: &[Annotation],
    gold: Vec<(usize, u32)>,
) {
    // Crowd labels keep their labels in (item, worker) order: the reference reads that order.
    let data = CrowdLabels::indexed(n_items, n_workers, k, annotations.to_vec()).unwrap();
    let annotations = &data.annotations;
    let want = reference::fit(n_items, n_workers, k, annotations, &gold, 100, 1e-5);
    assert!(
        want.history.len() > 2,
        "{name}: too few iterations to compare"
    );
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| DawidSkene::new().gold(gold.clone()).fit(&data).unwrap());
        assert_same(&format!("{name}, {threads} threads"), &got, &want);
        // Labels: the first most probable class.
        let mv = MajorityVote::new().fit(&data).unwrap();
        assert_eq!(got.aggregation.has_labels, mv.aggregation.has_labels);
    }
}

#[test]
fn generated_crowd_same_bits_as_reference() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (n_items, n_workers, k) = (3000, 60, 4);
    let skill: Vec<f64> = (0..n_workers)
        .map(|_| rng.random_range(0.3..0.95))
        .collect();
    let mut annotations = Vec::new();
    for item in 0..n_items as u32 {
        // Every 50th item has no label at all; the others 1 to 5 from distinct workers.
        if item % 50 == 49 {
            continue;
        }
        let truth = rng.random_range(0..k as u32);
        let n = rng.random_range(1..=5);
        let mut seen = Vec::new();
        while seen.len() < n {
            // Zipf-like activity: low worker ids label much more.
            let w = ((rng.random::<f64>().powi(3)) * n_workers as f64) as u32;
            if seen.contains(&w) {
                continue;
            }
            seen.push(w);
            let label = if rng.random::<f64>() < skill[w as usize] {
                truth
            } else {
                rng.random_range(0..k as u32)
            };
            annotations.push(Annotation {
                item,
                worker: w,
                label,
            });
        }
    }
    // Input order is not grouped by item or worker.
    for i in (1..annotations.len()).rev() {
        let j = rng.random_range(0..=i);
        annotations.swap(i, j);
    }
    compare("generated", n_items, n_workers, k, &annotations, vec![]);
    compare(
        "generated with gold",
        n_items,
        n_workers,
        k,
        &annotations,
        vec![(0, 1), (10, 3), (49, 2)],
    );
}

#[test]
fn music_and_labelme_same_bits_as_reference() {
    if let Some(dir) = common::shared_data("music_genre") {
        let d = music::load(&dir).unwrap();
        compare(
            "Music",
            d.n_items(),
            d.n_workers(),
            d.n_classes(),
            &d.annotations,
            vec![],
        );
    }
    if let Some(dir) = common::shared_data("labelme") {
        let d = labelme::load(&dir, labelme::Features::Vgg).unwrap();
        compare(
            "LabelMe",
            d.n_items(),
            d.n_workers(),
            d.n_classes(),
            &d.annotations,
            vec![],
        );
    }
}
