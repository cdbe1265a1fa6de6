//! `conal inspect` and the annotator report: against a crowd whose confusions are known, and
//! on a checkpoint of every crowd model (CoNAL with either head, CrowdLayer, Annot-Mix, MaDL).

mod common;

use burn::tensor::Device;
use conal::data::synthetic::{Synthetic, SyntheticConfig};
use conal::model::{Conal, ConalConfig, Mlp, MlpConfig};
use conal::progress::Silent;
use conal::report::annotators::{AnnotatorReport, Basis};
use conal::train::{Selection, TrainConfig, TrainData, Trainer};

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn train(config: &SyntheticConfig, epochs: usize) -> (Synthetic, Conal<Mlp>) {
    let demo = config.generate().unwrap();
    let crowd = &demo.data.train;
    let (d, r, k) = (crowd.n_features(), crowd.n_workers(), crowd.n_classes());
    let device = Device::flex().autodiff();
    let mut rng = conal::rng::rng(0, 0);
    let model = ConalConfig::labelme(d, r, k).init(MlpConfig::labelme(d, k), &mut rng, &device);
    let data = TrainData {
        inputs: &crowd.features,
        annotations: &crowd.annotations,
        weights: None,
        valid: None,
        test: None,
    };
    let train = TrainConfig {
        epochs,
        batch_size: 256,
        select: Selection::CrowdHoldout,
        ..TrainConfig::default()
    };
    let fitted = Trainer::new(model, &data, train, &device)
        .unwrap()
        .fit(&crowd.features, &mut Silent)
        .unwrap();
    (demo, fitted.model)
}

fn argmax(row: &[f64]) -> usize {
    (0..row.len())
        .max_by(|&i, &j| row[i].total_cmp(&row[j]))
        .unwrap()
}

#[test]
fn demo_workers_are_ranked_and_spammers_found() {
    let (demo, model) = train(&SyntheticConfig::default(), 100);
    let crowd = &demo.data.train;
    let c = AnnotatorReport::new(&model.into(), &crowd.classes, &crowd.workers, None).unwrap();
    assert_eq!(c.basis, Basis::Model);
    let rho = spearman(&c.reliability(), &demo.reliability);
    assert!(
        rho >= 0.8,
        "Spearman of inspected vs true reliability = {rho:.3}"
    );
    let k = crowd.n_classes() as f64;
    let mut spammers = 0;
    let counts = crowd.labels_per_worker();
    for (r, &truth) in demo.reliability.iter().enumerate() {
        let p = &c.confusions[r];
        if (truth - 1.0 / k).abs() < 1e-12 && counts[r] >= 30 {
            // A lazy worker always answers class 0: its matrix says so for every true class.
            spammers += 1;
            for (t, row) in p.iter().enumerate() {
                assert_eq!(
                    argmax(row),
                    0,
                    "spammer {} row {t}: {row:?}",
                    crowd.workers[r]
                );
            }
        }
    }
    assert!(
        spammers >= 8,
        "only {spammers} lazy workers checked (the demo has 12)"
    );
}

#[test]
fn common_matrix_recovers_the_shared_confusion() {
    // The demo's generator without lazy workers: the only confusion all workers share is the
    // common one, which sends a class to its partner (0↔1, 2↔3, 4↔5).
    let config = SyntheticConfig {
        spammers: 0.0,
        ..SyntheticConfig::default()
    };
    let (demo, model) = train(&config, 100);
    let crowd = &demo.data.train;
    let c = AnnotatorReport::new(&model.into(), &crowd.classes, &crowd.workers, None).unwrap();
    for (k, row) in c.common_probabilities().unwrap().iter().enumerate() {
        let partner = SyntheticConfig::partner(k);
        // The true common confusion's support is {k, partner}; the learned one puts its two
        // largest entries there, and its largest confusion on the partner.
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let mut top2 = [order[0], order[1]];
        top2.sort();
        let mut want = [k, partner];
        want.sort();
        assert_eq!(top2, want, "row {k}: {row:?}");
        let off = (0..row.len())
            .filter(|&j| j != k)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert_eq!(off, partner, "row {k}: {row:?}");
        // The true matrix is the model's truth too: argmax of the truth's off-diagonal.
        let truth = &demo.common[k];
        assert_eq!(argmax(truth), partner);
    }
}

#[test]
fn inspect_writes_tables_json_csv_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, out) = (dir.path().join("ckpt"), dir.path().join("out"));
    let (ok, _, err) = common::output(
        common::conal()
            .args([
                "train",
                "--task",
                "synthetic",
                "--epochs",
                "5",
                "--save-dir",
            ])
            .arg(&ckpt),
    );
    assert!(ok, "{err}");
    let (ok, table, err) =
        common::output(common::conal().args(["inspect", "--ckpt-dir"]).arg(&ckpt));
    assert!(ok, "{err}");
    assert!(
        table.contains("Common confusion W_g as probabilities"),
        "{table}"
    );
    assert!(table.contains("worker"), "{table}");
    let (ok, json, err) = common::output(
        common::conal()
            .args(["inspect", "--format", "json", "--ckpt-dir"])
            .arg(&ckpt),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let (k, r) = (
        v["classes"].as_array().unwrap().len(),
        v["workers"].as_array().unwrap().len(),
    );
    assert_eq!((k, r), (6, 30));
    for row in v["common"]["probabilities"].as_array().unwrap() {
        let sum: f64 = row
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
    let w0 = &v["workers"][0];
    assert!(w0["labels"].as_u64().unwrap() > 0);
    assert!(w0["omega_mean"].as_f64().is_some());
    assert!(w0["reliability"].as_f64().unwrap() > 0.0);
    let (ok, csv, err) = common::output(
        common::conal()
            .args(["inspect", "--format", "csv", "--plot", "--ckpt-dir"])
            .arg(&ckpt)
            .arg("--out")
            .arg(&out),
    );
    assert!(ok, "{err}");
    assert_eq!(csv.lines().count(), 1 + (1 + r) * k * k);
    assert!(csv.starts_with("matrix,worker,true_class,label,raw,probability"));
    for f in ["confusions.csv", "workers.csv", "inspect.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    for (png, min_side) in [("common.png", 300), ("workers.png", 900)] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png} is not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert!(w >= min_side && h >= min_side, "{png} is {w}x{h}");
        // Not a blank image: the file is far bigger than a flat fill would compress to.
        assert!(bytes.len() > 20_000, "{png} has {} bytes", bytes.len());
    }
    // A classifier on aggregated labels has no annotator model: a clear error.
    let mv = dir.path().join("mv");
    let (ok, _, err) = common::output(
        common::conal()
            .args([
                "train",
                "--task",
                "synthetic",
                "--method",
                "mv",
                "--epochs",
                "2",
                "--save-dir",
            ])
            .arg(&mv),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = common::output(common::conal().args(["inspect", "--ckpt-dir"]).arg(&mv));
    assert!(!ok);
    assert!(err.contains("has no annotator model"), "{err}");
}

/// Every crowd model's checkpoint inspects cleanly, with one K × K probability matrix per
/// annotator: CoNAL on the deep head (the benchmark recipe, whose checkpoint `inspect` once
/// failed to read), each CrowdLayer variant, Annot-Mix and MaDL (their per-pair confusions
/// averaged over each annotator's items); the library's fitted types give the same matrices.
#[test]
fn every_crowd_model_checkpoint_inspects_with_its_annotator_matrices() {
    let dir = tempfile::tempdir().unwrap();
    for (method, recipe, basis) in [
        ("conal", "benchmark", "model"),
        ("crowdlayer-mw", "paper", "model"),
        ("crowdlayer-vw", "paper", "model"),
        ("crowdlayer-vb", "paper", "model"),
        ("crowdlayer-vwb", "paper", "model"),
        ("annot-mix", "benchmark", "mean-over-items"),
        ("madl", "benchmark", "mean-over-items"),
    ] {
        let ckpt = dir.path().join(method);
        let (ok, _, err) = common::output(
            common::conal()
                .args([
                    "train",
                    "--task",
                    "synthetic",
                    "--method",
                    method,
                    "--recipe",
                    recipe,
                ])
                .args(["--epochs", "2", "--save-dir"])
                .arg(&ckpt),
        );
        assert!(ok, "{method}: {err}");
        let (ok, json, err) = common::output(
            common::conal()
                .args(["inspect", "--format", "json", "--ckpt-dir"])
                .arg(&ckpt),
        );
        assert!(ok, "{method}: inspect failed: {err}");
        let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(v["method"], method, "{method}");
        assert_eq!(v["basis"], basis, "{method}");
        assert_eq!(v["common"].is_null(), method != "conal", "{method}");
        let workers = v["workers"].as_array().unwrap();
        assert_eq!(workers.len(), 30, "{method}");
        for w in workers {
            let rows = w["probabilities"].as_array().unwrap();
            assert_eq!(rows.len(), 6, "{method}");
            for row in rows {
                let row: Vec<f64> = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                assert_eq!(row.len(), 6);
                let sum: f64 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{method}: a row sums to {sum}");
            }
            let reliability = w["reliability"].as_f64().unwrap();
            assert!(
                (0.0..=1.0).contains(&reliability),
                "{method}: {reliability}"
            );
        }
        let (ok, table, err) =
            common::output(common::conal().args(["inspect", "--ckpt-dir"]).arg(&ckpt));
        assert!(ok, "{method}: {err}");
        assert!(
            table.contains(method) && table.contains("reliability"),
            "{table}"
        );
        // The library reads the same report.
        let report = AnnotatorReport::load(&ckpt).unwrap();
        assert_eq!(report.confusions.len(), 30);
        let first: Vec<f64> = workers[0]["probabilities"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(report.confusions[0][0], first, "{method}");
    }
}
