//! Data-parallel training (`TrainConfig::devices`, `conal train --devices N`): a batch split
//! into shares whose gradients are summed gives one device's step, up to rounding. On the
//! CPU the shares are instances of the one CPU device (tests/wgpu.rs does the same on wgpu).

mod common;

use burn::tensor::Device;
use common::training::{max_relative_difference, train, train_with_losses, values};
use common::{conal, output};

#[test]
fn shares_of_a_batch_step_as_the_whole_batch() {
    let cpu = Device::flex();
    let start = values(&train(&cpu, 0, 1));
    // One step within 1e-4 of the largest entry of each parameter (measured: 8e-8). Later
    // steps drift further: Adam divides by the root of the second moment, so rounding in a
    // near-zero gradient moves its entry by up to the learning rate (measured after 5 steps:
    // 1.1e-4), hence 1e-3 there.
    for (epochs, tolerance) in [(1, 1e-4), (5, 1e-3)] {
        let one = values(&train(&cpu, epochs, 1));
        let moved = max_relative_difference(&one, &start);
        assert!(moved > 1e-3, "the steps moved the weights ({moved:e})");
        for shares in [2, 3] {
            let (model, losses) = train_with_losses(&cpu, epochs, shares);
            let split = values(&model);
            // The shares' losses add up to the whole batch's mean loss (Adam's step does not
            // see a wrong scale of the gradient; the loss does).
            let (_, whole) = train_with_losses(&cpu, epochs, 1);
            for (a, b) in losses.iter().zip(&whole) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs(),
                    "loss {a} with {shares} shares, {b} without"
                );
            }
            let diff = max_relative_difference(&one, &split);
            println!("{epochs} steps, {shares} shares vs 1: max relative difference {diff:e}");
            assert!(
                diff < tolerance,
                "{shares} shares differ from one device by {diff:e}"
            );
        }
    }
}

#[test]
fn conal_train_splits_batches_across_devices() {
    let dir = tempfile::tempdir().unwrap();
    let run = |devices: &str, extra: &[&str]| {
        let save = dir.path().join(format!("d{devices}{}", extra.len()));
        let mut cmd = conal();
        cmd.args([
            "train",
            "--task",
            "synthetic",
            "--epochs",
            "3",
            "--devices",
            devices,
        ])
        .args(extra)
        .arg("--save-dir")
        .arg(&save)
        .arg("--json");
        output(&mut cmd)
    };
    let (ok, out, err) = run("2", &[]);
    assert!(ok, "{err}");
    assert!(out.contains("test_accuracy"), "{out}");
    let (ok, _, err) = run("0", &[]);
    assert!(!ok && err.contains("devices"), "{err}");
    let (ok, _, err) = run("2", &["--mixup", "0.4"]);
    assert!(!ok && err.contains("mixup"), "{err}");
}
