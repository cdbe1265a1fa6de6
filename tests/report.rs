//! Reports: TensorBoard files read back by TensorBoard itself.

mod common;

use std::collections::BTreeMap;

use common::{conal, output};

/// A Python interpreter that has the `tensorboard` package (`CONAL_TENSORBOARD_PYTHON`, set by
/// scripts/test.sh after installing it into a throwaway venv), or `None` with a message.
fn tensorboard_python() -> Option<String> {
    match std::env::var("CONAL_TENSORBOARD_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var_os("CONAL_REQUIRE_TENSORBOARD").is_some() => {
            panic!("CONAL_REQUIRE_TENSORBOARD is set but CONAL_TENSORBOARD_PYTHON is not")
        }
        _ => {
            eprintln!("SKIPPED: set CONAL_TENSORBOARD_PYTHON to a python with tensorboard");
            None
        }
    }
}

#[test]
fn tensorboard_reads_every_scalar_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, save) = (dir.path().join("logs"), dir.path().join("ckpt"));
    let (ok, _, err) = output(
        conal()
            .args([
                "train",
                "--task",
                "synthetic",
                "--recipe",
                "paper",
                "--epochs",
                "7",
                "--log-dir",
            ])
            .arg(&logs)
            .arg("--save-dir")
            .arg(&save),
    );
    assert!(ok, "{err}");
    // What we wrote, according to metrics.jsonl (a copy sits beside the event file).
    let metrics = std::fs::read_to_string(logs.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    let mut expected: BTreeMap<&str, Vec<(u64, f64)>> = BTreeMap::new();
    for m in &lines {
        let epoch = m["epoch"].as_u64().unwrap();
        for (tag, key) in [
            ("train/loss", "train_loss"),
            ("train/nll", "train_nll"),
            ("train/lr", "lr"),
            ("train/mean_omega", "mean_omega"),
            ("holdout/nll", "holdout_nll"),
            ("test/accuracy", "test_accuracy"),
            ("select/holdout_nll", "selection_metric"),
        ] {
            let v = m[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} missing in {m}"));
            expected.entry(tag).or_default().push((epoch, v));
        }
    }
    let event_files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(event_files.len(), 1);

    let Some(python) = tensorboard_python() else {
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/read_tensorboard.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: BTreeMap<String, Vec<(u64, f64)>> = serde_json::from_slice(&out.stdout).unwrap();
    for (tag, points) in &expected {
        let got = read
            .get(*tag)
            .unwrap_or_else(|| panic!("TensorBoard has no tag {tag}: {read:?}"));
        let steps: Vec<u64> = got.iter().map(|p| p.0).collect();
        assert_eq!(steps, (1..=7).collect::<Vec<_>>(), "{tag}");
        for ((_, want), (_, have)) in points.iter().zip(got) {
            assert!(
                (want - have).abs() <= 1e-6 * want.abs().max(1.0),
                "{tag}: {want} vs {have}"
            );
        }
    }
    assert!(read.contains_key("time/epoch_ms"));
}
