//! The GPU code path (burn's wgpu backend) against the CPU one. Built with `--features wgpu`;
//! without a Vulkan (or GL) adapter the tests say SKIPPED, unless `CONAL_REQUIRE_WGPU` is set
//! (CI, which installs Mesa's lavapipe: a software Vulkan device on the CPU), where they fail.
#![cfg(feature = "wgpu")]

mod common;

use burn::tensor::{Device, Tensor, TensorData};

use common::training::{max_relative_difference, train, train_batched, values};
use common::{conal, output};

/// The wgpu device when an adapter answers, else `None` (SKIPPED, or a failure under
/// `CONAL_REQUIRE_WGPU`).
fn wgpu() -> Option<Device> {
    // wgpu panics when it finds no adapter; a tiny kernel tells whether one works.
    let probe = std::panic::catch_unwind(|| {
        let device = Device::wgpu(Default::default());
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device);
        let sum = (t.clone() * t).sum().into_scalar::<f32>();
        (sum == 14.0).then_some(device)
    });
    match probe {
        Ok(Some(device)) => Some(device),
        outcome => {
            let why = match outcome {
                Ok(_) => "the wgpu adapter computed a wrong sum",
                Err(_) => "no wgpu adapter (install mesa-vulkan-drivers and libvulkan1)",
            };
            if std::env::var_os("CONAL_REQUIRE_WGPU").is_some() {
                panic!("{why}, and CONAL_REQUIRE_WGPU is set");
            }
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

#[test]
fn one_step_on_wgpu_equals_the_cpu_step() {
    let Some(gpu) = wgpu() else { return };
    let cpu = values(&train(&Device::flex(), 1, 1));
    let on_gpu = values(&train(&gpu, 1, 1));
    let start = values(&train(&Device::flex(), 0, 1));
    // The step moved the weights (so that equal results are not equal starts).
    assert!(max_relative_difference(&cpu, &start) > 1e-4);
    let diff = max_relative_difference(&cpu, &on_gpu);
    println!("one step, wgpu vs cpu: max relative difference {diff:e}");
    assert!(
        diff < 1e-4,
        "wgpu step differs from the cpu step by {diff:e}"
    );
}

#[test]
fn ten_steps_on_wgpu_stay_with_the_cpu() {
    let Some(gpu) = wgpu() else { return };
    let cpu = values(&train(&Device::flex(), 10, 1));
    let on_gpu = values(&train(&gpu, 10, 1));
    let diff = max_relative_difference(&cpu, &on_gpu);
    println!("ten steps, wgpu vs cpu: max relative difference {diff:e}");
    assert!(
        diff < 1e-3,
        "after ten steps wgpu differs from cpu by {diff:e}"
    );
}

#[test]
fn mini_batches_gathered_on_wgpu_step_as_on_the_cpu() {
    let Some(gpu) = wgpu() else { return };
    // 300 items in batches of 64: the features stay on the GPU and each batch is gathered
    // there (the CPU gathers on the host).
    let (cpu, cpu_losses) = train_batched(&Device::flex(), 2, 1, 64);
    let (on_gpu, gpu_losses) = train_batched(&gpu, 2, 1, 64);
    let diff = max_relative_difference(&values(&cpu), &values(&on_gpu));
    println!("2 epochs of 5 batches, wgpu vs cpu: max relative difference {diff:e}");
    assert!(
        diff < 1e-3,
        "wgpu mini-batches differ from the cpu's by {diff:e}"
    );
    for (a, b) in cpu_losses.iter().zip(&gpu_losses) {
        assert!(
            (a - b).abs() <= 1e-4 * a.abs(),
            "epoch loss {b} on wgpu, {a} on cpu"
        );
    }
}

#[test]
fn two_wgpu_shares_step_as_one_device() {
    let Some(gpu) = wgpu() else { return };
    // burn gives one default wgpu device: the two shares run on two instances of it.
    // As tests/data_parallel.rs: one step within 1e-4, five (Adam's drift) within 1e-3.
    for (epochs, tolerance) in [(1, 1e-4), (5, 1e-3)] {
        let one = values(&train(&gpu, epochs, 1));
        let two = values(&train(&gpu, epochs, 2));
        let diff = max_relative_difference(&one, &two);
        println!("{epochs} steps on wgpu, 2 shares vs 1: max relative difference {diff:e}");
        assert!(
            diff < tolerance,
            "two wgpu shares differ from one device by {diff:e}"
        );
    }
}

/// Test accuracy of `conal train --task music --recipe paper --epochs 30` on a device.
fn music_accuracy(dir: &std::path::Path, device: &str, seed: u64) -> f64 {
    let save = tempfile::tempdir().unwrap();
    let mut cmd = conal();
    cmd.args([
        "train", "--task", "music", "--recipe", "paper", "--epochs", "30",
    ])
    .args(["--device", device, "--seed", &seed.to_string(), "--json"])
    .arg("--train-data")
    .arg(dir)
    .arg("--test-data")
    .arg(dir)
    .arg("--save-dir")
    .arg(save.path());
    let (ok, out, err) = output(&mut cmd);
    assert!(ok, "conal train --device {device} failed: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["test_accuracy"].as_f64().unwrap()
}

#[test]
fn music_on_wgpu_scores_as_on_the_cpu() {
    let Some(dir) = common::shared_data("music_genre") else {
        return;
    };
    if wgpu().is_none() {
        return;
    }
    let seeds = [0, 1, 2];
    let mean = |device: &str| {
        let a: Vec<f64> = seeds
            .iter()
            .map(|&s| music_accuracy(&dir, device, s))
            .collect();
        println!("music, paper recipe, 30 epochs, {device}: {a:?}");
        a.iter().sum::<f64>() / a.len() as f64
    };
    let (cpu, gpu) = (mean("cpu"), mean("wgpu"));
    println!("mean test accuracy: cpu {cpu:.4}, wgpu {gpu:.4}");
    assert!(
        (cpu - gpu).abs() <= 0.02,
        "wgpu's mean accuracy {gpu:.4} is more than 2 points from the cpu's {cpu:.4}"
    );
}
