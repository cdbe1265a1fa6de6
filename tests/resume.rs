//! Nothing lost: a run killed with SIGKILL and resumed ends exactly where an uninterrupted run
//! does; damaged checkpoints give clear errors; a diverging run stops and keeps its last state.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{conal, output};

const ARGS: [&str; 12] = [
    "train",
    "--task",
    "synthetic",
    "--recipe",
    "paper",
    "--epochs",
    "80",
    "--seed",
    "5",
    "--checkpoint-every",
    "1",
    "--json",
];

fn metric_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map_or(0, |s| s.lines().count())
}

/// Kills `child` with SIGKILL once `dir` has at least `epochs` metric lines, and checks that
/// the kill landed before the run ended (it died of the signal, not by finishing).
fn kill_after(mut child: Child, dir: &Path, epochs: usize) {
    let start = Instant::now();
    while metric_lines(dir) < epochs {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run made no progress"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the run ended ({status}) before the kill landed"
    );
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// metrics.jsonl without the wall times.
fn metrics_without_time(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("wall_ms");
            v
        })
        .collect()
}

#[test]
fn killed_twice_and_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("straight"), tmp.path().join("killed"));
    let (ok, _, err) = output(conal().args(ARGS).arg("--save-dir").arg(&a));
    assert!(ok, "{err}");

    kill_after(spawn(conal().args(ARGS).arg("--save-dir").arg(&b)), &b, 12);
    kill_after(
        spawn(
            conal()
                .args(["train", "--resume", "--checkpoint-every", "1", "--save-dir"])
                .arg(&b),
        ),
        &b,
        47,
    );
    assert!(
        !b.join("model.bpk").exists(),
        "the run must have been killed before it ended"
    );
    let (ok, _, err) = output(
        conal()
            .args(["train", "--resume", "--json", "--save-dir"])
            .arg(&b),
    );
    assert!(ok, "{err}");

    let (wa, wb) = (
        std::fs::read(a.join("model.bpk")).unwrap(),
        std::fs::read(b.join("model.bpk")).unwrap(),
    );
    assert!(
        wa == wb,
        "final model files differ ({} vs {} bytes)",
        wa.len(),
        wb.len()
    );
    assert_eq!(metrics_without_time(&a), metrics_without_time(&b));
    let result = |d: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("args.json")).unwrap()).unwrap();
        v["result"].as_object_mut().unwrap().remove("train_seconds");
        v
    };
    assert_eq!(result(&a), result(&b));
    // The finished run leaves no resumable state behind.
    assert!(!b.join("LATEST").exists());
}

#[test]
fn truncated_or_corrupt_checkpoint_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("ckpt");
    let (ok, _, err) = output(
        conal()
            .args([
                "train",
                "--task",
                "synthetic",
                "--recipe",
                "paper",
                "--epochs",
                "2",
                "--save-dir",
            ])
            .arg(&ckpt),
    );
    assert!(ok, "{err}");
    let model = ckpt.join("model.bpk");
    let bytes = std::fs::read(&model).unwrap();
    for (what, damaged) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("truncated header", bytes[..5].to_vec()),
        ("empty", Vec::new()),
        ("garbage", vec![0x5a; 4096]),
    ] {
        std::fs::write(&model, &damaged).unwrap();
        let (ok, _, err) = output(conal().args(["inspect", "--ckpt-dir"]).arg(&ckpt));
        assert!(!ok, "{what}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(
            err.contains("model.bpk: not a readable model file"),
            "{what}: {err}"
        );
    }
    let args = ckpt.join("args.json");
    let text = std::fs::read_to_string(&args).unwrap();
    std::fs::write(&args, &text[..text.len() / 2]).unwrap();
    let (ok, _, err) = output(conal().args(["inspect", "--ckpt-dir"]).arg(&ckpt));
    assert!(!ok);
    assert!(err.contains("args.json: line"), "{err}");
}

#[test]
fn a_damaged_state_is_reported_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("ckpt");
    let child = spawn(conal().args(ARGS).arg("--save-dir").arg(&ckpt));
    kill_after(child, &ckpt, 5);
    let latest = std::fs::read_to_string(ckpt.join("LATEST")).unwrap();
    let state = ckpt.join(latest.trim());
    std::fs::write(state.join("optimizer.bpk"), b"not burnpack").unwrap();
    let (ok, _, err) = output(conal().args(["train", "--resume", "--save-dir"]).arg(&ckpt));
    assert!(!ok);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("optimiser state unreadable"), "{err}");
    assert!(err.contains(latest.trim()), "{err}");
}

/// A run with saved states that then diverges stops, names the epoch and batch, and keeps
/// its last good state: the state is made by a healthy run (killed after a few epochs),
/// the learning rate of its args.json is then raised to 1e30 so that the resumed run
/// diverges in its first epoch, and lowered back, the run resumes from the kept state and
/// finishes as an uninterrupted one.
#[test]
fn diverging_run_stops_naming_epoch_and_batch_and_keeps_its_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, ckpt) = (tmp.path().join("straight"), tmp.path().join("ckpt"));
    let (ok, _, err) = output(conal().args(ARGS).arg("--save-dir").arg(&straight));
    assert!(ok, "{err}");
    kill_after(
        spawn(conal().args(ARGS).arg("--save-dir").arg(&ckpt)),
        &ckpt,
        5,
    );
    let latest = std::fs::read_to_string(ckpt.join("LATEST")).unwrap();
    let epoch: usize = latest.trim().trim_start_matches("state-").parse().unwrap();
    assert!(epoch >= 4, "{latest}");
    let args_path = ckpt.join("args.json");
    let args = std::fs::read_to_string(&args_path).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&args).unwrap();
    let lr = config["train"]["lr"].clone();
    config["train"]["lr"] = serde_json::json!(1e30);
    std::fs::write(&args_path, config.to_string()).unwrap();
    let (ok, _, err) = output(conal().args(["train", "--resume", "--save-dir"]).arg(&ckpt));
    assert!(!ok);
    assert!(err.contains("training diverged"), "{err}");
    assert!(
        err.contains(&format!("at epoch {}", epoch + 1)) && err.contains("batch"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&format!(
            "the last good state (epoch {epoch}) stays in {}",
            ckpt.display()
        )),
        "{err}"
    );
    // The good state is still there, and the run continues from it.
    assert_eq!(
        std::fs::read_to_string(ckpt.join("LATEST")).unwrap(),
        latest
    );
    config["train"]["lr"] = lr;
    std::fs::write(&args_path, config.to_string()).unwrap();
    let (ok, _, err) = output(conal().args(["train", "--resume", "--save-dir"]).arg(&ckpt));
    assert!(ok, "{err}");
    assert!(
        std::fs::read(ckpt.join("model.bpk")).unwrap()
            == std::fs::read(straight.join("model.bpk")).unwrap(),
        "the resumed model differs from the uninterrupted one"
    );
}

#[test]
fn a_killed_ensemble_resumes_member_by_member() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("straight"), tmp.path().join("killed"));
    let args = [
        "train",
        "--task",
        "synthetic",
        "--ensemble",
        "3",
        "--epochs",
        "40",
        "--seed",
        "2",
        "--checkpoint-every",
        "1",
        "--json",
    ];
    let (ok, straight, err) = output(conal().args(args).arg("--save-dir").arg(&a));
    assert!(ok, "{err}");
    // Kill during the second member, resume to the end.
    let child = spawn(conal().args(args).arg("--save-dir").arg(&b));
    kill_after(child, &b.join("members/1"), 7);
    let (ok, resumed, err) = output(
        conal()
            .args(["train", "--resume", "--json", "--save-dir"])
            .arg(&b),
    );
    assert!(ok, "{err}");
    for j in 0..3 {
        let m = |d: &Path| std::fs::read(d.join(format!("members/{j}/model.bpk"))).unwrap();
        assert!(m(&a) == m(&b), "member {j} differs");
    }
    let acc = |s: &str| -> f64 {
        let v: serde_json::Value = serde_json::from_str(s.lines().last().unwrap()).unwrap();
        v["test_accuracy"].as_f64().unwrap()
    };
    assert_eq!(acc(&straight), acc(&resumed));
}
