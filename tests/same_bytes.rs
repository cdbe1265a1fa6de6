//! Trained results do not move under refactoring: the models that `conal train` writes for the
//! paper recipe (Music and LabelMe, seed 0) and the default recipe (Music, seed 0) must have
//! exactly the bytes recorded in `tests/fixtures/model_hashes.json`, which were produced by the
//! code before the estimator-API redesign (commit a329e1f). A checkpoint directory written by
//! that code (`tests/fixtures/ckpt-synthetic`) must still load and score the same accuracy.
//!
//! The bytes depend on the CPU's GEMM kernels (AVX-512 or not round differently), so the
//! fixtures are keyed by the instruction set, and each test names the key it compared. On a
//! CPU without a recorded entry the hash tests say SKIPPED, except in CI
//! (`CONAL_REQUIRE_DATA`), where they fail: a byte-identity test that compares nothing must
//! not pass there.

mod common;

use std::path::{Path, PathBuf};

use common::{conal, output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The GEMM kernel family burn picks on this CPU (the key of the recorded hashes).
fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "x86_64-avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return "x86_64-avx2";
        }
    }
    "other"
}

/// `len:crc32c` of a file.
fn hash(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{}:{:08x}", bytes.len(), crc32c::crc32c(&bytes))
}

/// The recorded hashes of `case` on this CPU, or `None` (SKIPPED) where none were recorded.
fn expected(case: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(fixtures().join("model_hashes.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    match all[isa()][case].as_array() {
        Some(v) => {
            println!("{case}: compared with the hashes recorded for {}", isa());
            Some(v.iter().map(|h| h.as_str().unwrap().to_string()).collect())
        }
        None if std::env::var_os("CONAL_REQUIRE_DATA").is_some() => panic!(
            "no recorded model hashes for {case} on a {} CPU, and CONAL_REQUIRE_DATA is set: \
             record this CPU's hashes (from the build before the change) in \
             tests/fixtures/model_hashes.json",
            isa()
        ),
        None => {
            eprintln!(
                "SKIPPED: no recorded model hashes for {case} on a {} CPU",
                isa()
            );
            None
        }
    }
}

fn train(args: &[&str], data: &[(&str, &Path)], save: &Path) {
    let mut cmd = conal();
    cmd.arg("train").args(args);
    for (flag, path) in data {
        cmd.arg(flag).arg(path);
    }
    cmd.arg("--save-dir").arg(save);
    let (ok, _, err) = output(&mut cmd);
    assert!(ok, "conal train {args:?} failed: {err}");
}

fn check(case: &str, files: &[PathBuf]) {
    let got: Vec<String> = files.iter().map(|f| hash(f)).collect();
    println!("{case}: {got:?}");
    if let Some(want) = expected(case) {
        assert_eq!(got, want, "{case}: the trained model's bytes changed");
    }
}

#[test]
fn music_paper_recipe_bytes() {
    let Some(dir) = common::shared_data("music_genre") else {
        return;
    };
    let ckpt = tempfile::tempdir().unwrap();
    train(
        &["--task", "music", "--recipe", "paper", "--seed", "0"],
        &[("--train-data", &dir)],
        ckpt.path(),
    );
    check("music-paper-seed0", &[ckpt.path().join("model.bpk")]);
}

#[test]
fn labelme_paper_recipe_bytes() {
    let Some(dir) = common::shared_data("labelme") else {
        return;
    };
    let ckpt = tempfile::tempdir().unwrap();
    train(
        &["--task", "labelme", "--recipe", "paper", "--seed", "0"],
        &[("--train-data", &dir), ("--valid-data", &dir)],
        ckpt.path(),
    );
    check("labelme-paper-seed0", &[ckpt.path().join("model.bpk")]);
}

#[test]
fn music_default_recipe_bytes() {
    let Some(dir) = common::shared_data("music_genre") else {
        return;
    };
    let ckpt = tempfile::tempdir().unwrap();
    train(
        &["--task", "music", "--seed", "0"],
        &[("--train-data", &dir)],
        ckpt.path(),
    );
    let members: Vec<PathBuf> = (0..10)
        .map(|j| ckpt.path().join(format!("members/{j}/model.bpk")))
        .collect();
    check("music-default-seed0", &members);
}

/// Checkpoint directories written by the code before the redesign (`conal train --task table`
/// on `tests/fixtures/old-table`, the paper recipe and the default ensemble) still load, and
/// `conal test` scores them exactly as that code did (`expected.json` beside each).
#[test]
fn old_checkpoints_still_load_and_score_the_same() {
    let data = fixtures().join("old-table");
    for name in ["ckpt-paper", "ckpt-default"] {
        let dir = data.join(name);
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let (ok, out, err) = output(
            conal()
                .args(["test", "--json", "--ckpt-dir"])
                .arg(&dir)
                .arg("--test-features")
                .arg(data.join("test_features.csv"))
                .arg("--test-gold")
                .arg(data.join("test_gold.csv")),
        );
        assert!(ok, "conal test on the old checkpoint {name} failed: {err}");
        let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(got["n"], 60);
        assert_eq!(
            got["accuracy"], expected["accuracy"],
            "{name}: accuracy changed"
        );
        assert_eq!(
            got["macro_f1"], expected["macro_f1"],
            "{name}: macro-F1 changed"
        );
    }
}
