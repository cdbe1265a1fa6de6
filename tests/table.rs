//! `--task table`: your own data from files. The Music data rewritten into the long format
//! trains like `--task music`; every file of the bad-input corpus fails with one clear line.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{conal, output};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn music_in_long_format_trains_like_the_music_task() {
    let Some(dir) = common::shared_data("music_genre") else {
        return;
    };
    let crowd = conal::data::music::load(&dir).unwrap();
    let test =
        conal::data::music::load_labeled(&dir.join("music_genre_test.csv"), &crowd.classes, 124)
            .unwrap();
    let out = tempfile::tempdir().unwrap();
    let p = |name: &str| out.path().join(name);
    // Rows ordered by worker so that workers first appear in the Music loader's order.
    let mut rows = crowd.annotations.clone();
    rows.sort_by_key(|a| (a.worker, a.item));
    let mut answers = String::from("task,worker,label\n");
    for a in &rows {
        let _ = writeln!(
            answers,
            "{},{},{}",
            crowd.items[a.item as usize],
            crowd.workers[a.worker as usize],
            crowd.classes[a.label as usize]
        );
    }
    std::fs::write(p("answers.csv"), answers).unwrap();
    let features = |ids: &[String], m: &conal::data::Matrix| {
        let mut s = String::from("id");
        (0..m.cols()).for_each(|j| s.push_str(&format!(",f{j}")));
        s.push('\n');
        for (i, id) in ids.iter().enumerate() {
            s.push_str(id);
            m.row(i).iter().for_each(|v| s.push_str(&format!(",{v}")));
            s.push('\n');
        }
        s
    };
    std::fs::write(p("features.csv"), features(&crowd.items, &crowd.features)).unwrap();
    std::fs::write(p("test.csv"), features(&test.items, &test.features)).unwrap();
    let mut gold = String::from("task,label\n");
    for (id, &y) in test.items.iter().zip(&test.truth) {
        let _ = writeln!(gold, "{id},{}", crowd.classes[y as usize]);
    }
    std::fs::write(p("test_gold.csv"), gold).unwrap();

    let (ok, table, err) = output(
        conal()
            .args(["train", "--task", "table", "--json", "--answers"])
            .arg(p("answers.csv"))
            .arg("--features")
            .arg(p("features.csv"))
            .arg("--test-features")
            .arg(p("test.csv"))
            .arg("--test-gold")
            .arg(p("test_gold.csv"))
            .arg("--save-dir")
            .arg(p("ckpt")),
    );
    assert!(ok, "{err}");
    let (ok, music, err) = output(
        conal()
            .args(["train", "--task", "music", "--json", "--train-data"])
            .arg(&dir)
            .arg("--test-data")
            .arg(&dir),
    );
    assert!(ok, "{err}");
    let (a, b) = (
        json(&table)["test_accuracy"].as_f64().unwrap(),
        json(&music)["test_accuracy"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 0.01, "table {a} vs music {b}");
    // `conal test` reads table test data too.
    let (ok, tested, err) = output(
        conal()
            .args(["test", "--json", "--ckpt-dir"])
            .arg(p("ckpt"))
            .arg("--test-features")
            .arg(p("test.csv"))
            .arg("--test-gold")
            .arg(p("test_gold.csv")),
    );
    assert!(ok, "{err}");
    assert!((json(&tested)["accuracy"].as_f64().unwrap() - a).abs() < 1e-12);
    assert_eq!(json(&tested)["n"], 300);
}

#[test]
fn answers_formats_agree() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("features.csv"), "0,1,0\n1,0,1\n2,1,1\n3,0,0\n").unwrap();
    // The same 6 labels in the three layouts, labels given as class indices 0/1.
    std::fs::write(
        p("long.tsv"),
        "task\tworker\tlabel\n0\t0\t1\n0\t1\t1\n1\t0\t0\n2\t1\t1\n3\t0\t0\n3\t1\t1\n",
    )
    .unwrap();
    std::fs::write(p("matrix.txt"), "1 1\n0 -1\n-1 1\n0 1\n").unwrap();
    std::fs::write(
        p("answers.json"),
        r#"{"0": {"0": 1, "1": 1}, "1": {"0": 0}, "2": {"1": 1}, "3": {"0": 0, "1": 1}}"#,
    )
    .unwrap();
    let mut loaded = Vec::new();
    for answers in ["long.tsv", "matrix.txt", "answers.json"] {
        let spec = conal::data::table::TableSpec::new(p(answers), Some(p("features.csv")));
        let d = spec.load().unwrap();
        let mut triples: Vec<(String, String, String)> = d
            .annotations
            .iter()
            .map(|a| {
                (
                    d.items[a.item as usize].clone(),
                    d.workers[a.worker as usize].clone(),
                    d.classes[a.label as usize].clone(),
                )
            })
            .collect();
        triples.sort();
        assert_eq!(d.classes, ["0", "1"], "{answers}");
        loaded.push(triples);
    }
    assert_eq!(loaded[0], loaded[1]);
    assert_eq!(loaded[0], loaded[2]);
    assert_eq!(loaded[0].len(), 6);
}

#[test]
fn string_labels_items_without_labels_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(
        p("answers.csv"),
        "item,who,answer\nx,ann,spam\nx,bob,ham\ny,ann,ham\nx,ann,ham\n",
    )
    .unwrap();
    std::fs::write(p("features.csv"), "id,a,b\nx,1,2\ny,3,4\nz,5,6\n").unwrap();
    let mut spec = conal::data::table::TableSpec::new(p("answers.csv"), Some(p("features.csv")));
    spec.task_column = "item".into();
    spec.worker_column = "who".into();
    spec.label_column = "answer".into();
    let err = spec.load().unwrap_err().to_string();
    assert!(
        err.contains("answers.csv:5: worker \"ann\" already labelled task \"x\" on line 2"),
        "{err}"
    );
    spec.duplicates = conal::data::table::Duplicates::KeepLast;
    let d = spec.load().unwrap();
    assert_eq!(d.classes, ["ham", "spam"]);
    assert_eq!(d.n_items(), 3, "z has features but no label: kept");
    assert_eq!(d.annotations.len(), 3);
    assert!(
        d.annotations
            .iter()
            .all(|a| d.classes[a.label as usize] == "ham"),
        "the later label wins"
    );
    assert_eq!(d.labelled_items(), vec![0, 1]);
}

#[test]
fn npy_features_with_task_list() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    conal::data::npy::write_f32(&p("x.npy"), 3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    std::fs::write(p("tasks.txt"), "c\na\nb\n").unwrap();
    std::fs::write(p("answers.csv"), "task,worker,label\na,w,0\nc,w,1\n").unwrap();
    let mut spec = conal::data::table::TableSpec::new(p("answers.csv"), Some(p("x.npy")));
    spec.tasks = Some(p("tasks.txt"));
    let d = spec.load().unwrap();
    assert_eq!(d.items, ["c", "a", "b"]);
    let a = d.items.iter().position(|i| i == "a").unwrap();
    assert_eq!(d.features.row(a), &[3.0, 4.0]);
}

#[test]
fn every_bad_input_fails_with_one_clear_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("case.json").is_file())
        .map(|e| e.path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    for case in cases {
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap();
        let args: Vec<String> = spec["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let expected = spec["error"].as_str().unwrap();
        let (ok, _, err) = output(
            conal()
                .current_dir(&case)
                .args(["train", "--task", "table", "--epochs", "1"])
                .args(&args),
        );
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!ok, "{name}: should fail");
        assert!(!err.contains("panicked"), "{name}: panicked\n{err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{name}: one error line expected\n{err}");
        assert!(
            lines[0].contains(expected),
            "{name}: expected {expected:?} in\n{err}"
        );
    }
}
