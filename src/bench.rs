//! Benchmarks behind `conal bench`: training epochs on generated data of a given shape, and
//! loading a large `.npy`. They print figures; nothing here asserts a time.
//!
//! ```
//! // 5,000 generated labels, Dawid-Skene timed on them.
//! let r = conal::bench::aggregate(5_000, "ds", 0, None)?;
//! assert_eq!((r.labels, r.method.as_str()), (5_000, "ds"));
//! assert!(r.accuracy > 0.5);
//! # Ok::<(), conal::Error>(())
//! ```

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::data::{Annotation, Matrix, npy};
use crate::error::{Error, Result};
use crate::model::{ConalConfig, MlpConfig};
use crate::progress::Progress;
use crate::train::{Selection, TrainConfig, TrainData, Trainer};

/// Peak resident memory of this process (VmHWM), bytes; 0 where /proc is unavailable.
pub fn peak_rss_bytes() -> u64 {
    proc_status_kib("VmHWM:") * 1024
}

/// Current resident memory (VmRSS), bytes.
pub fn rss_bytes() -> u64 {
    proc_status_kib("VmRSS:") * 1024
}

fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak-RSS counter to the current RSS (Linux `clear_refs` 5); false if unsupported.
pub fn reset_peak_rss() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// A training shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Music: 700 items × 124 features, 44 workers, 10 classes, ~4.2 labels per item, full
    /// batch, the Music head.
    Music,
    /// LabelMe as the paper trains it: 10,000 items × 8,192 features (4×4×512 VGG maps),
    /// 59 workers, 8 classes, ~2.5 labels per item, batch 128, the LabelMe head.
    Labelme,
    /// 1,000,000 items × 64 features, 2,000 workers, 10 classes, 3 labels per item, batch
    /// 1,024: memory and time must scale with the labels, not items × workers.
    Million,
}

/// The sizes of a shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapeSpec {
    /// Items.
    pub items: usize,
    /// Features per item.
    pub features: usize,
    /// Workers.
    pub workers: usize,
    /// Classes.
    pub classes: usize,
    /// Mean labels per item.
    pub labels_per_item: f64,
    /// Items per step.
    pub batch_size: usize,
}

impl Shape {
    /// Its sizes.
    pub fn spec(self) -> ShapeSpec {
        match self {
            Shape::Music => ShapeSpec {
                items: 700,
                features: 124,
                workers: 44,
                classes: 10,
                labels_per_item: 4.21,
                batch_size: 1024,
            },
            Shape::Labelme => ShapeSpec {
                items: 10_000,
                features: 8_192,
                workers: 59,
                classes: 8,
                labels_per_item: 2.55,
                batch_size: 128,
            },
            Shape::Million => ShapeSpec {
                items: 1_000_000,
                features: 64,
                workers: 2_000,
                classes: 10,
                labels_per_item: 3.0,
                batch_size: 1024,
            },
        }
    }
}

impl ShapeSpec {
    /// FLOPs an epoch cannot avoid: the two layers that read the features (classifier and
    /// auxiliary network, D → 128 each), forward and weight-gradient GEMMs (the features
    /// need no gradient): 2 layers × 2 GEMMs × 2·N·D·128.
    pub fn flop_floor(&self) -> f64 {
        2.0 * 2.0 * 2.0 * self.items as f64 * self.features as f64 * 128.0
    }
}

/// What a training benchmark measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainBench {
    /// Shape.
    pub shape: Shape,
    /// The device trained on (`cpu`, `wgpu`: as `--device` names it).
    pub device: String,
    /// Its sizes.
    pub spec: ShapeSpec,
    /// Threads used for tensor math.
    pub threads: usize,
    /// Wall time of every epoch, ms.
    pub epoch_ms: Vec<f64>,
    /// Median epoch, ms.
    pub median_epoch_ms: f64,
    /// The FLOP floor of one epoch.
    pub flop_floor: f64,
    /// Achieved GFLOP/s on the floor's FLOPs (floor / median epoch).
    pub gflops: f64,
    /// Peak resident memory while training (after generating the data), bytes.
    pub peak_rss_bytes: u64,
    /// Size of the feature matrix, bytes.
    pub feature_bytes: u64,
    /// Peak RSS / feature matrix size.
    pub peak_over_features: f64,
}

/// Generates random data of `shape` (features N(0, 1), labels uniform).
pub fn generate(shape: &ShapeSpec, seed: u64) -> Result<(Matrix, Vec<Annotation>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.items * shape.features;
    let mut x = Vec::with_capacity(n);
    for _ in 0..n {
        let v: f32 = StandardNormal.sample(&mut rng);
        x.push(v);
    }
    let mut annotations =
        Vec::with_capacity((shape.items as f64 * shape.labels_per_item) as usize + 1);
    let whole = shape.labels_per_item.floor() as usize;
    let extra = shape.labels_per_item - whole as f64;
    for item in 0..shape.items {
        let k = (whole + usize::from(rng.random_bool(extra))).clamp(1, shape.workers);
        let mut workers: Vec<u32> = Vec::with_capacity(k);
        while workers.len() < k {
            let w = rng.random_range(0..shape.workers as u32);
            if !workers.contains(&w) {
                workers.push(w);
            }
        }
        for worker in workers {
            annotations.push(Annotation {
                item: item as u32,
                worker,
                label: rng.random_range(0..shape.classes as u32),
            });
        }
    }
    Ok((Matrix::new(shape.items, shape.features, x)?, annotations))
}

/// Trains CoNAL for `epochs` on generated data of `shape` and times each epoch.
///
/// `device` is a device name as `--device` takes it (`cpu`, or `wgpu` in a build with that
/// feature). The features are uploaded once; on a GPU the epoch time includes reading the
/// loss back every step, as training does.
pub fn train(
    shape: Shape,
    epochs: usize,
    seed: u64,
    device: &str,
    progress: &mut dyn Progress,
) -> Result<TrainBench> {
    if epochs == 0 {
        return Err(Error::param("epochs", 0, "must be at least 1"));
    }
    let spec = shape.spec();
    let (x, annotations) = generate(&spec, seed)?;
    let (d, r, k) = (spec.features, spec.workers, spec.classes);
    let (classifier, conal) = match shape {
        Shape::Music => (MlpConfig::music(d, k), ConalConfig::music(d, r, k)),
        Shape::Labelme | Shape::Million => {
            (MlpConfig::labelme(d, k), ConalConfig::labelme(d, r, k))
        }
    };
    let device_name = device.to_ascii_lowercase();
    let device = crate::model::device_from_name(device)?.autodiff();
    let model = conal.init(classifier, &mut crate::rng::rng(seed, 0), &device);
    let data = TrainData {
        inputs: &x,
        annotations: &annotations,
        weights: None,
        valid: None,
        test: None,
    };
    let config = TrainConfig {
        seed,
        epochs,
        batch_size: spec.batch_size,
        select: Selection::Last,
        ..TrainConfig::default()
    };
    reset_peak_rss();
    let mut trainer = Trainer::new(model, &data, config, &device)?;
    // The trainer keeps its own compact index of the labels; like any caller done with the
    // raw triples, the bench lets them go (the CLI keeps them for the worker report).
    drop(annotations);
    progress.start("epochs", epochs as u64);
    let mut epoch_ms = Vec::with_capacity(epochs);
    while !trainer.is_done() {
        let t = Instant::now();
        let m = trainer.run_epoch(&x, progress)?;
        epoch_ms.push(t.elapsed().as_secs_f64() * 1e3);
        progress.epoch(&m);
    }
    progress.finish("");
    let peak = peak_rss_bytes();
    let median_epoch_ms = median(&mut epoch_ms.clone());
    let flop_floor = spec.flop_floor();
    let feature_bytes = (spec.items * spec.features * 4) as u64;
    Ok(TrainBench {
        shape,
        device: device_name,
        threads: rayon::current_num_threads(),
        epoch_ms,
        median_epoch_ms,
        flop_floor,
        gflops: flop_floor / (median_epoch_ms * 1e-3) / 1e9,
        peak_rss_bytes: peak,
        peak_over_features: peak as f64 / feature_bytes as f64,
        feature_bytes,
        spec,
    })
}

/// The GEMM throughput of this machine through burn's CPU backend (the kernels training
/// uses): the best of a few runs of a 2048³ float32 product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GemmBench {
    /// "gemm".
    pub shape: String,
    /// Threads used.
    pub threads: usize,
    /// Best GFLOP/s.
    pub gflops: f64,
}

/// Measures the GEMM peak.
pub fn gemm() -> GemmBench {
    let device = Device::flex();
    let n = 2048;
    let a = burn::tensor::Tensor::<2>::random([n, n], burn::tensor::Distribution::Default, &device);
    let b = burn::tensor::Tensor::<2>::random([n, n], burn::tensor::Distribution::Default, &device);
    let mut best = 0f64;
    for _ in 0..5 {
        let t = Instant::now();
        let c = a.clone().matmul(b.clone());
        let _ = c.slice([0..1, 0..1]).into_data();
        let s = t.elapsed().as_secs_f64();
        best = best.max(2.0 * (n as f64).powi(3) / s / 1e9);
    }
    GemmBench {
        shape: "gemm".into(),
        threads: rayon::current_num_threads(),
        gflops: best,
    }
}

/// What the `.npy` loading benchmark measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NpyBench {
    /// Rows × columns of the float32 array.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// File size, bytes.
    pub file_bytes: u64,
    /// Median time to read the file's bytes into memory (`std::fs::read`, warm cache), s.
    pub read_seconds: f64,
    /// Median time to load it as a feature matrix (`npy::read_f32_matrix` + finiteness
    /// check), s.
    pub load_seconds: f64,
    /// load / read.
    pub load_over_read: f64,
    /// Peak resident memory while loading, bytes.
    pub peak_rss_bytes: u64,
    /// Resident memory before loading, bytes.
    pub baseline_rss_bytes: u64,
    /// Peak RSS / file size.
    pub peak_over_file: f64,
}

/// Writes a `rows × cols` float32 `.npy` into `dir` (streaming, without holding it), then
/// times reading its bytes against loading it, three times each, warm cache.
pub fn npy_load(dir: &Path, rows: usize, cols: usize, seed: u64) -> Result<NpyBench> {
    let path = dir.join(format!("bench_{rows}x{cols}.npy"));
    {
        // Generate row by row so that generation does not set the memory peak.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w =
            npy::StreamWriter::create(&path, rows, cols).map_err(|e| Error::io(&path, e))?;
        let mut row = vec![0f32; cols];
        for _ in 0..rows {
            row.iter_mut().for_each(|v| *v = rng.random::<f32>());
            w.write_row(&row).map_err(|e| Error::io(&path, e))?;
        }
        w.finish().map_err(|e| Error::io(&path, e))?;
    }
    let file_bytes = std::fs::metadata(&path)
        .map_err(|e| Error::io(&path, e))?
        .len();
    // Warm the page cache.
    drop(std::fs::read(&path).map_err(|e| Error::io(&path, e))?);
    let mut read = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        read.push(t.elapsed().as_secs_f64());
        drop(bytes);
    }
    let baseline = rss_bytes();
    reset_peak_rss();
    let mut load = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let m = npy::read_f32_matrix(&path)?;
        if let Some((r, c)) = m.first_non_finite() {
            return Err(Error::Internal(format!(
                "generated value at ({r}, {c}) is not finite"
            )));
        }
        load.push(t.elapsed().as_secs_f64());
        drop(m);
    }
    let peak = peak_rss_bytes();
    let _ = std::fs::remove_file(&path);
    let (read_seconds, load_seconds) = (median(&mut read), median(&mut load));
    Ok(NpyBench {
        rows,
        cols,
        file_bytes,
        read_seconds,
        load_seconds,
        load_over_read: load_seconds / read_seconds,
        peak_rss_bytes: peak,
        baseline_rss_bytes: baseline,
        peak_over_file: peak as f64 / file_bytes as f64,
    })
}

/// What `conal bench --shape aggregate` measures: one aggregation method on a generated
/// crowd, from the labels in memory to the posteriors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateBench {
    /// Always "aggregate".
    pub shape: String,
    /// Crowd labels.
    pub labels: usize,
    /// Tasks (5 labels each, from distinct workers).
    pub tasks: usize,
    /// Workers (Zipf-like activity).
    pub workers: usize,
    /// Classes.
    pub classes: usize,
    /// The method, as `conal aggregate --method` names it.
    pub method: String,
    /// Seconds to generate the crowd.
    pub generate_seconds: f64,
    /// Seconds the method took.
    pub fit_seconds: f64,
    /// Accuracy of its labels against the generated truth.
    pub accuracy: f64,
    /// Threads available to the method.
    pub threads: usize,
    /// Peak resident memory of the whole process, bytes.
    pub peak_rss_bytes: u64,
}

/// A generated crowd for the aggregation benchmark: its labels, true classes and sizes.
pub struct GeneratedCrowd {
    /// (task, worker, label) triples, task by task.
    pub annotations: Vec<Annotation>,
    /// The true class of each task.
    pub truth: Vec<u32>,
    /// Number of workers.
    pub workers: usize,
}

/// Labels per task in the aggregation benchmark.
pub const LABELS_PER_TASK: usize = 5;
/// Classes in the aggregation benchmark.
pub const AGGREGATE_CLASSES: usize = 5;

/// The crowd of `conal bench --shape aggregate`: `n_labels / 5` tasks with 5 labels each
/// from distinct workers; `max(2000, n_labels / 1000)` workers whose activity falls as
/// 1/rank^0.8 (Zipf-like); worker skills uniform in [0.4, 0.95]: right with that
/// probability, else a uniform class. Seeded: the same crowd for the same arguments.
pub fn generate_crowd(n_labels: usize, seed: u64) -> Result<GeneratedCrowd> {
    let tasks = n_labels / LABELS_PER_TASK;
    if tasks == 0 {
        return Err(Error::param(
            "labels",
            n_labels,
            format!("at least {LABELS_PER_TASK} (one task)"),
        ));
    }
    let workers = (n_labels / 1000).max(2000);
    let k = AGGREGATE_CLASSES as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cumulative = Vec::with_capacity(workers);
    let mut total = 0.0;
    for r in 1..=workers {
        total += 1.0 / (r as f64).powf(0.8);
        cumulative.push(total);
    }
    let skill: Vec<f64> = (0..workers).map(|_| rng.random_range(0.4..0.95)).collect();
    let mut annotations = Vec::with_capacity(tasks * LABELS_PER_TASK);
    let mut truth = Vec::with_capacity(tasks);
    let mut chosen = [0u32; LABELS_PER_TASK];
    for task in 0..tasks as u32 {
        let y = rng.random_range(0..k);
        truth.push(y);
        let mut n = 0;
        while n < LABELS_PER_TASK {
            let u = rng.random::<f64>() * total;
            let w = cumulative.partition_point(|&c| c < u).min(workers - 1) as u32;
            if chosen[..n].contains(&w) {
                continue;
            }
            chosen[n] = w;
            n += 1;
            let label = if rng.random_bool(skill[w as usize]) {
                y
            } else {
                rng.random_range(0..k)
            };
            annotations.push(Annotation {
                item: task,
                worker: w,
                label,
            });
        }
    }
    Ok(GeneratedCrowd {
        annotations,
        truth,
        workers,
    })
}

impl GeneratedCrowd {
    /// The crowd as crowd labels: items `t<i>`, the workers who labelled `w<j>` (in index
    /// order; workers the draw never picked are left out, as a file of these labels would),
    /// classes `c<k>`, and the true labels.
    pub fn labels(&self) -> Result<crate::data::CrowdLabels> {
        let mut used = vec![u32::MAX; self.workers];
        for a in &self.annotations {
            used[a.worker as usize] = 0;
        }
        let mut ids = Vec::new();
        for (w, slot) in used.iter_mut().enumerate() {
            if *slot == 0 {
                *slot = ids.len() as u32;
                ids.push(format!("w{w}"));
            }
        }
        let annotations = self
            .annotations
            .iter()
            .map(|a| Annotation {
                worker: used[a.worker as usize],
                ..*a
            })
            .collect();
        let n = self.truth.len();
        let mut labels = crate::data::CrowdLabels::new(
            annotations,
            (0..AGGREGATE_CLASSES).map(|k| format!("c{k}")).collect(),
            ids,
            (0..n).map(|i| format!("t{i}")).collect(),
            Some(self.truth.iter().map(|&y| Some(y)).collect()),
        )?;
        labels.truth = Some(self.truth.iter().map(|&y| Some(y)).collect());
        Ok(labels)
    }
}

/// Writes the crowd as `answers.csv` (task,worker,label with ids `t<i>`, `w<j>`, `c<k>`)
/// and `gold.csv` (task,label) into `dir`, for `conal aggregate --task table` and other
/// tools to read.
pub fn write_crowd_csv(crowd: &GeneratedCrowd, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let answers = dir.join("answers.csv");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&answers).map_err(|e| Error::io(&answers, e))?,
    );
    let io = |e| Error::io(&answers, e);
    writeln!(out, "task,worker,label").map_err(io)?;
    for a in &crowd.annotations {
        writeln!(out, "t{},w{},c{}", a.item, a.worker, a.label).map_err(io)?;
    }
    out.flush().map_err(io)?;
    let gold = dir.join("gold.csv");
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(&gold).map_err(|e| Error::io(&gold, e))?);
    let io = |e| Error::io(&gold, e);
    writeln!(out, "task,label").map_err(io)?;
    for (i, y) in crowd.truth.iter().enumerate() {
        writeln!(out, "t{i},c{y}").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// Runs the aggregation method named `method` (with its defaults) on a generated crowd of
/// `n_labels` labels and times its fit.
pub fn aggregate(
    n_labels: usize,
    method: &str,
    seed: u64,
    write_csv: Option<&Path>,
) -> Result<AggregateBench> {
    let entry = crate::aggregate::registry::entry(method)?;
    let start = Instant::now();
    let crowd = generate_crowd(n_labels, seed)?;
    let generate_seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = write_csv {
        write_crowd_csv(&crowd, dir)?;
    }
    // Gold majority vote knows every true label; ties are broken from seed 0.
    let data = crowd.labels()?;
    let (n, r, k) = (data.n_items(), data.n_workers(), data.n_classes());
    let method = entry.build(&crate::aggregate::Params::new())?;
    let start = Instant::now();
    let labels = method.fit(&data)?.aggregation().labels.clone();
    let fit_seconds = start.elapsed().as_secs_f64();
    let right = labels
        .iter()
        .zip(&crowd.truth)
        .filter(|(a, b)| a == b)
        .count();
    Ok(AggregateBench {
        shape: "aggregate".into(),
        labels: crowd.annotations.len(),
        tasks: n,
        workers: r,
        classes: k,
        method: entry.name.into(),
        generate_seconds,
        fit_seconds,
        accuracy: right as f64 / n as f64,
        threads: rayon::current_num_threads(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}
