//! The estimator API: params → fit → fitted types over in-memory data, the same models as
//! the command line, and crowd labels built without files.

mod common;

use std::path::{Path, PathBuf};

use common::{conal, output};
use conal::aggregate::{Aggregator, DawidSkene, Glad, MajorityVote};
use conal::config::Recipe;
use conal::data::CrowdLabels;
use conal::data::table::TableSpec;
use conal::model::LabelSource;
use conal::{
    AnnotMixParams, ClassifierParams, ConalParams, CrowdLayerParams, Error, FittedConal, MadlParams,
};

/// The small crowd of `tests/fixtures/old-table`: 120 items, 6 workers, 3 classes, 4 features.
fn table() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-table")
}

fn load() -> conal::data::CrowdData {
    TableSpec::new(
        table().join("answers.csv"),
        Some(table().join("features.csv")),
    )
    .load()
    .unwrap()
}

fn test_split(classes: &[String]) -> conal::data::LabeledSet {
    TableSpec::new(PathBuf::new(), None)
        .load_labeled(
            &table().join("test_features.csv"),
            None,
            &table().join("test_gold.csv"),
            classes,
            4,
        )
        .unwrap()
}

fn cli_train(extra: &[&str], save: &Path) {
    let mut cmd = conal();
    cmd.args(["train", "--task", "table", "--answers"])
        .arg(table().join("answers.csv"))
        .arg("--features")
        .arg(table().join("features.csv"))
        .args(extra)
        .arg("--save-dir")
        .arg(save);
    let (ok, _, err) = output(&mut cmd);
    assert!(ok, "conal train failed: {err}");
}

fn bytes(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn in_memory_fit_trains_the_same_model_as_the_command_line() {
    let data = load();
    let dir = tempfile::tempdir().unwrap();
    // The paper recipe: one model.
    let cli = dir.path().join("cli-paper");
    cli_train(&["--recipe", "paper", "--epochs", "30"], &cli);
    let fitted = ConalParams::new()
        .recipe(Recipe::Paper)
        .epochs(30)
        .fit(&data)
        .unwrap();
    let saved = dir.path().join("lib-paper");
    fitted.save(&saved, false).unwrap();
    assert_eq!(bytes(cli.join("model.bpk")), bytes(saved.join("model.bpk")));
    // A directory holding a run is refused, unless overwrite replaces it.
    let again = fitted.save(&saved, false).unwrap_err();
    assert!(matches!(again, conal::Error::RunExists { .. }), "{again}");
    fitted.save(&saved, true).unwrap();
    assert_eq!(bytes(cli.join("model.bpk")), bytes(saved.join("model.bpk")));
    for f in ["args.json", "metrics.jsonl", "workers.json"] {
        assert!(saved.join(f).is_file(), "{f} missing");
    }
    // The default recipe: a cross-fitted ensemble of 10, every member the same.
    let cli = dir.path().join("cli-default");
    cli_train(&["--epochs", "8"], &cli);
    let fitted = ConalParams::new().epochs(8).fit(&data).unwrap();
    let saved = dir.path().join("lib-default");
    fitted.save(&saved, false).unwrap();
    assert_eq!(fitted.fitted().members().len(), 10);
    for j in 0..10 {
        let member = format!("members/{j}/model.bpk");
        assert_eq!(
            bytes(cli.join(&member)),
            bytes(saved.join(&member)),
            "member {j}"
        );
    }

    // `conal test` on the directory the library wrote scores what the library predicts.
    let test = test_split(fitted.classes());
    let predicted = fitted.predict(&test.features).unwrap();
    let accuracy = conal::train::eval::accuracy(&predicted, &test.truth);
    assert!(accuracy > 0.7, "ensemble accuracy {accuracy}");
    let (ok, out, err) = output(
        conal()
            .args(["test", "--json", "--ckpt-dir"])
            .arg(&saved)
            .arg("--test-features")
            .arg(table().join("test_features.csv"))
            .arg("--test-gold")
            .arg(table().join("test_gold.csv")),
    );
    assert!(ok, "conal test failed: {err}");
    let scored: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(scored["accuracy"].as_f64().unwrap(), accuracy);

    // And the library reads the directory the command line wrote.
    let loaded = FittedConal::load(&cli).unwrap();
    assert_eq!(
        loaded.predict_proba(&test.features).unwrap(),
        fitted.predict_proba(&test.features).unwrap()
    );
}

#[test]
fn fitted_conal_gives_probabilities_confusions_and_worker_statistics() {
    let data = load();
    let fitted = ConalParams::new()
        .recipe(Recipe::Paper)
        .epochs(30)
        .seed(3)
        .fit(&data)
        .unwrap();
    let test = test_split(fitted.classes());
    let (k, r) = (data.n_classes(), data.n_workers());
    let p = fitted.predict_proba(&test.features).unwrap();
    assert_eq!((p.rows(), p.cols()), (test.len(), k));
    for i in 0..p.rows() {
        let sum: f32 = p.row(i).iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {i} sums to {sum}");
    }
    let predicted = fitted.predict(&test.features).unwrap();
    for (i, &y) in predicted.iter().enumerate() {
        let row = p.row(i);
        assert!(row.iter().all(|&v| v <= row[y as usize]), "row {i}");
    }
    assert_eq!(fitted.common_confusion().len(), k);
    assert!(fitted.common_confusion().iter().all(|row| row.len() == k));
    assert_eq!(fitted.worker_confusions().len(), r);
    let probabilities = fitted.worker_probabilities();
    assert_eq!(probabilities.len(), r);
    for m in &probabilities {
        for row in m {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
    let stats = fitted
        .worker_stats()
        .expect("CoNAL keeps worker statistics");
    assert_eq!(stats.workers.len(), r);
    let labels: usize = stats.workers.iter().map(|w| w.labels).sum();
    assert_eq!(labels, data.annotations.len());
    assert!(stats.workers.iter().all(|w| w.omega_mean.is_some()));
    assert_eq!(fitted.history().len(), 30);
    assert!(fitted.result().unwrap().best_epoch >= 1);

    // save → load round trip: the same predictions, the same matrices.
    let dir = tempfile::tempdir().unwrap();
    fitted.save(dir.path(), false).unwrap();
    let loaded = FittedConal::load(dir.path()).unwrap();
    assert_eq!(loaded.predict_proba(&test.features).unwrap(), p);
    assert_eq!(loaded.common_confusion(), fitted.common_confusion());
    assert_eq!(loaded.worker_stats(), fitted.worker_stats());

    // Features of the wrong width are refused with the widths.
    let narrow = conal::data::Matrix::new(1, 3, vec![0.0; 3]).unwrap();
    let e = fitted.predict(&narrow).unwrap_err();
    assert!(
        e.to_string()
            .contains("features have 3 columns, the model was trained on 4"),
        "{e}"
    );
}

#[test]
fn the_other_methods_are_estimators_too() {
    let data = load();
    let dir = tempfile::tempdir().unwrap();
    let test = test_split(&data.classes);
    let layer = CrowdLayerParams::new()
        .recipe(Recipe::Paper)
        .epochs(20)
        .fit(&data)
        .unwrap();
    assert_eq!(layer.predict(&test.features).unwrap().len(), test.len());
    let classifier = ClassifierParams::new()
        .labels(LabelSource::DawidSkene)
        .recipe(Recipe::Paper)
        .epochs(20)
        .fit(&data)
        .unwrap();
    assert_eq!(classifier.labels(), LabelSource::DawidSkene);
    let accuracy =
        conal::train::eval::accuracy(&classifier.predict(&test.features).unwrap(), &test.truth);
    assert!(
        accuracy > 0.6,
        "classifier on Dawid-Skene labels: {accuracy}"
    );
    classifier.save(dir.path(), false).unwrap();
    // A classifier checkpoint is not a CoNAL one.
    let e = FittedConal::load(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is not CoNAL"), "{e}");
}

#[test]
fn parameter_errors_name_the_parameter() {
    let param = |e: Error| match e {
        Error::Param { param, .. } => param,
        other => panic!("not a parameter error: {other}"),
    };
    assert_eq!(
        param(ConalParams::new().epochs(0).check().unwrap_err()),
        "epochs"
    );
    assert_eq!(
        param(ConalParams::new().batch_size(0).check().unwrap_err()),
        "batch_size"
    );
    assert_eq!(
        param(ConalParams::new().dropout(1.5).check().unwrap_err()),
        "dropout"
    );
    assert_eq!(
        param(ConalParams::new().emb_dim(0).check().unwrap_err()),
        "emb_dim"
    );
    assert_eq!(
        param(ConalParams::new().threads(0).check().unwrap_err()),
        "threads"
    );
    assert_eq!(
        param(ConalParams::new().device("tpu").check().unwrap_err()),
        "device"
    );
    // Selection on a validation split without one.
    let e = ConalParams::new()
        .select(conal::train::Selection::Valid)
        .epochs(2)
        .fit(&load())
        .unwrap_err();
    assert_eq!(param(e), "select");
    // The command line names the flag.
    let (ok, _, err) = output(
        conal()
            .args(["train", "--task", "table", "--batch-size", "0", "--answers"])
            .arg(table().join("answers.csv"))
            .arg("--features")
            .arg(table().join("features.csv")),
    );
    assert!(!ok);
    assert!(
        err.contains("--batch-size 0: must be at least 1"),
        "stderr: {err}"
    );
}

#[test]
fn crowd_labels_from_memory_check_as_the_loaders_do() {
    let labels = CrowdLabels::from_strings(
        &["a", "a", "b", "c"],
        &["w1", "w2", "w1", "w2"],
        &["2", "10", "2", "1"],
        None,
    )
    .unwrap();
    // Integer labels sort numerically; items and workers in order of first appearance.
    assert_eq!(labels.classes, ["1", "2", "10"]);
    assert_eq!(labels.items, ["a", "b", "c"]);
    assert_eq!(labels.workers, ["w1", "w2"]);
    assert_eq!(labels.annotations.len(), 4);

    let err = |r: Result<CrowdLabels, conal::DataError>| r.unwrap_err().to_string();
    assert_eq!(
        err(CrowdLabels::from_strings(
            &["a", "b"],
            &["w1"],
            &["x", "y"],
            None
        )),
        "the task, worker and label columns have 2, 1 and 2 rows; they must be equally long"
    );
    assert_eq!(
        err(CrowdLabels::from_strings(
            &["a", "b", "c"],
            &["w1", "w1", "w1"],
            &["x", "y", "z"],
            Some(vec!["x".into(), "y".into()]),
        )),
        "row 2: label \"z\" is not one of the classes [\"x\", \"y\"]"
    );
    assert_eq!(
        err(CrowdLabels::from_strings(
            &["a", "b", "a"],
            &["w1", "w1", "w1"],
            &["x", "y", "y"],
            None
        )),
        "row 2: worker \"w1\" already labelled task \"a\" in row 0 (keep one label per (task, \
         worker) pair)"
    );
    // One class is a valid crowd (crowd-kit aggregates it); a model needs two.
    let one = CrowdLabels::from_strings(&["a"], &["w1"], &["x"], None).unwrap();
    assert_eq!((one.classes.len(), one.item_labels(0).len()), (1, 1));
    let empty: [&str; 0] = [];
    assert_eq!(
        err(CrowdLabels::from_strings(&empty, &empty, &empty, None)),
        "no crowd labels: nothing to learn from"
    );
    assert_eq!(
        err(CrowdLabels::from_codes(
            3,
            2,
            vec!["x".into(), "y".into()],
            &[0, 1],
            &[0, 5],
            &[0, 1]
        )),
        "row 1: worker 5 is out of range (expected 0..2)"
    );
    let codes = CrowdLabels::from_codes(
        3,
        2,
        vec!["x".into(), "y".into()],
        &[0, 1, 2],
        &[0, 1, 1],
        &[0, 1, 1],
    )
    .unwrap();
    assert_eq!(codes.items, ["0", "1", "2"]);
    // Aggregation takes crowd labels alone.
    let mv = MajorityVote::new().fit(&codes).unwrap();
    assert_eq!(mv.aggregation.labels, [0, 1, 1]);
}

#[test]
fn aggregators_return_what_they_learned() {
    let data = load();
    let (n, r, k) = (data.n_items(), data.n_workers(), data.n_classes());
    let ds = DawidSkene::new().fit(&data).unwrap();
    assert_eq!(ds.worker_confusions.len(), r);
    for m in &ds.worker_confusions {
        assert_eq!(m.len(), k);
        for row in m {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
    assert_eq!(ds.priors.len(), k);
    assert!((ds.priors.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(!ds.elbo_history.is_empty());
    assert_eq!(ds.aggregation.labels.len(), n);
    // The careful worker w0 (90 % right) is more reliable than w5 (40 %).
    let w = |id: &str| data.workers.iter().position(|x| x == id).unwrap();
    let diag = |m: &Vec<Vec<f64>>| (0..k).map(|c| m[c][c]).sum::<f64>() / k as f64;
    assert!(diag(&ds.worker_confusions[w("w0")]) > diag(&ds.worker_confusions[w("w5")]));
    let glad = Glad::new().fit(&data).unwrap();
    assert_eq!(glad.abilities.len(), r);
    assert_eq!(glad.difficulties.len(), n);
    assert!(glad.abilities[w("w0")] > glad.abilities[w("w5")]);
    // Labels alone give the same answers as labels joined to features.
    let labels_only = TableSpec::new(table().join("answers.csv"), None)
        .load_labels()
        .unwrap();
    assert_eq!(labels_only.items, data.items);
    assert_eq!(DawidSkene::new().fit(&labels_only).unwrap(), ds);
    assert_eq!(Glad::new().fit(&labels_only).unwrap(), glad);
}

#[test]
fn aggregate_needs_no_features() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["ds", "glad", "mv"] {
        let run = |with_features: bool| {
            let out = dir.path().join(format!("{method}-{with_features}.csv"));
            let mut cmd = conal();
            cmd.args([
                "aggregate",
                "--task",
                "table",
                "--method",
                method,
                "--answers",
            ])
            .arg(table().join("answers.csv"))
            .arg("--out")
            .arg(&out);
            if with_features {
                cmd.arg("--features").arg(table().join("features.csv"));
            }
            let (ok, stdout, err) = output(&mut cmd);
            assert!(ok, "conal aggregate --method {method} failed: {err}");
            assert!(stdout.contains("120 items labelled"), "{stdout}");
            std::fs::read_to_string(out).unwrap()
        };
        let without = run(false);
        assert_eq!(without.lines().count(), 121, "header + 120 items");
        assert_eq!(
            without,
            run(true),
            "{method}: labels differ with --features"
        );
    }
}

/// Annot-Mix trains from the library with its benchmark recipe (deep head, RAdam, cosine
/// annealing, mixup over labels), well above chance on the small table crowd, and the command
/// line trains the same model bytes from the same settings.
#[test]
fn annot_mix_learns_and_matches_the_command_line() {
    let data = load();
    let test = test_split(&data.classes);
    let fitted = AnnotMixParams::new().epochs(30).fit(&data).unwrap();
    let config = fitted.fitted().config();
    assert_eq!(config.recipe, Recipe::Benchmark);
    assert!(config.train.adam.rectified, "RAdam");
    assert_eq!(config.train.mixup, Some(1.0));
    assert_eq!(config.train.mixup_over, conal::train::MixupOver::Labels);
    assert_eq!(config.train.batch_size, 64);
    assert_eq!(config.model.classifier().layers, vec![256, 128]);
    let st = config
        .model
        .classifier()
        .standardize
        .as_ref()
        .expect("standardised input");
    assert_eq!(st.mean.len(), 4);
    let predicted = fitted.predict(&test.features).unwrap();
    let correct = predicted
        .iter()
        .zip(&test.truth)
        .filter(|(p, t)| **p == **t)
        .count();
    let accuracy = correct as f64 / test.truth.len() as f64;
    assert!(
        accuracy > 0.6,
        "Annot-Mix test accuracy {accuracy} (chance 0.33)"
    );

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("lib");
    fitted.save(&saved, false).unwrap();
    let cli = dir.path().join("cli");
    cli_train(&["--method", "annot-mix", "--epochs", "30"], &cli);
    let (a, b) = (
        conal::config::RunConfig::load(&cli).unwrap(),
        conal::config::RunConfig::load(&saved).unwrap(),
    );
    assert_eq!(a.train, b.train, "training settings");
    assert_eq!(a.model, b.model, "model settings");
    assert!(
        bytes(cli.join("model.bpk")) == bytes(saved.join("model.bpk")),
        "model bytes differ"
    );
    let loaded = conal::FittedAnnotMix::load(&cli).unwrap();
    assert_eq!(loaded.predict(&test.features).unwrap(), predicted);
    // Mixup over labels needs a model that blends annotators (CoNAL does; CrowdLayer not).
    let err = CrowdLayerParams::new()
        .recipe(Recipe::Paper)
        .mixup(1.0)
        .mixup_over(conal::train::MixupOver::Labels)
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("annot-mix"), "{err}");
}

fn accuracy(predicted: &[u32], truth: &[u32]) -> f64 {
    let correct = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    correct as f64 / truth.len() as f64
}

/// MaDL trains from the library with the benchmark's recipe (deep head, RAdam, cosine
/// annealing, no mixup), well above chance on the small table crowd; the command line's
/// `--method madl` trains the same model bytes; its checkpoint loads back as MaDL only.
#[test]
fn madl_learns_and_matches_the_command_line() {
    let data = load();
    let test = test_split(&data.classes);
    let fitted = MadlParams::new().epochs(30).fit(&data).unwrap();
    let config = fitted.fitted().config();
    assert_eq!(config.recipe, Recipe::Benchmark);
    assert!(config.train.adam.rectified, "RAdam");
    assert_eq!(config.train.mixup, None);
    assert_eq!(config.train.batch_size, 64);
    assert_eq!(config.model.classifier().layers, vec![256, 128]);
    let conal::model::ModelSpec::Madl { madl, .. } = &config.model else {
        panic!("not a MaDL model: {:?}", config.model.method());
    };
    assert_eq!((madl.emb_dim, madl.eta, madl.gamma), (16, 0.8, 1.0));
    let predicted = fitted.predict(&test.features).unwrap();
    let acc = accuracy(&predicted, &test.truth);
    assert!(acc > 0.6, "MaDL test accuracy {acc} (chance 0.33)");

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("lib");
    fitted.save(&saved, false).unwrap();
    let cli = dir.path().join("cli");
    cli_train(&["--method", "madl", "--epochs", "30"], &cli);
    assert!(
        bytes(cli.join("model.bpk")) == bytes(saved.join("model.bpk")),
        "model bytes differ"
    );
    let loaded = conal::FittedMadl::load(&cli).unwrap();
    assert_eq!(loaded.predict(&test.features).unwrap(), predicted);
    let err = conal::FittedAnnotMix::load(&cli).unwrap_err();
    assert!(err.to_string().contains("madl"), "{err}");
}

/// GeoCrowdNet as the benchmark trains it — CrowdLayer MW with row-stochastic confusions and
/// a volume regulariser — learns on the table crowd with either regulariser; the settings
/// reach args.json; geo-w without stochastic confusions is refused with the fix named, and
/// so is a stochastic form for a CrowdLayer without matrices.
#[test]
fn geocrowdnet_regularisers_train_and_bad_combinations_are_refused() {
    use conal::model::{Confusion, CrowdLayerKind};
    use conal::train::RegularizerKind;
    let data = load();
    let test = test_split(&data.classes);
    for kind in [RegularizerKind::GeoF, RegularizerKind::GeoW] {
        let fitted = CrowdLayerParams::new()
            .recipe(Recipe::Benchmark)
            .epochs(30)
            .confusion(Confusion::Stochastic)
            .regularizer(kind, None)
            .fit(&data)
            .unwrap();
        let config = fitted.fitted().config();
        let reg = config.train.regularizer.expect("a regulariser");
        assert_eq!((reg.kind, reg.lambda), (kind, 1e-3));
        let acc = accuracy(&fitted.predict(&test.features).unwrap(), &test.truth);
        assert!(acc > 0.6, "{} test accuracy {acc}", kind.name());
    }
    let err = CrowdLayerParams::new()
        .recipe(Recipe::Benchmark)
        .epochs(2)
        .regularizer(RegularizerKind::GeoW, Some(0.1))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("stochastic"), "{err}");
    let err = CrowdLayerParams::new()
        .kind(CrowdLayerKind::Vw)
        .confusion(Confusion::Stochastic)
        .epochs(2)
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("crowdlayer-mw"), "{err}");
    let err = CrowdLayerParams::new()
        .regularizer(RegularizerKind::GeoF, Some(-1.0))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("reg_lambda"), "{err}");
}
