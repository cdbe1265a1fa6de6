//! Add your own task: a new data type and a different backbone, trained with CoNAL, its loss
//! and the trainer unchanged.
//!
//! The items here are tiny 8 × 8 grey images of four shapes (a horizontal bar, a vertical bar,
//! a diagonal, a cross) with noise; the backbone is a small convolutional network. Three of
//! twelve simulated annotators label each image; half of them are careless.
//!
//! Three pieces connect a task to conal:
//! 1. the data: a type implementing [`Inputs`] (how to make a batch of items), whose batch
//!    implements [`FlatInput`] (the flat view CoNAL's auxiliary network reads);
//! 2. the backbone: a burn [`Module`] implementing [`Backbone`] for that batch type (batch →
//!    `[batch, n_class]` logits);
//! 3. its configuration: a [`BackboneConfig`] that builds it from the run's seeded RNG.
//!
//! Run it with `cargo run --release --example custom_task`.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use conal::aggregate::{Aggregator, MajorityVote};
use conal::data::{Annotation, CrowdLabels};
use conal::model::{Backbone, BackboneConfig, ConalConfig, FlatInput, Mode};
use conal::progress::Silent;
use conal::train::eval::{accuracy, argmax_rows, predict};
use conal::train::{Inputs, Selection, TrainConfig, TrainData, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SIDE: usize = 8;
const CLASSES: usize = 4;

/// 1. The data: images stored flat, one after another.
pub struct Images {
    pixels: Vec<f32>,
}

/// A batch of images, `[batch, 1, 8, 8]`.
#[derive(Clone)]
pub struct ImageBatch(Tensor<4>);

impl Inputs for Images {
    type Batch = ImageBatch;

    fn len(&self) -> usize {
        self.pixels.len() / (SIDE * SIDE)
    }

    fn batch(&self, rows: &[usize], device: &Device) -> ImageBatch {
        let mut data = Vec::with_capacity(rows.len() * SIDE * SIDE);
        for &r in rows {
            data.extend_from_slice(&self.pixels[r * SIDE * SIDE..(r + 1) * SIDE * SIDE]);
        }
        ImageBatch(Tensor::from_data(
            TensorData::new(data, [rows.len(), 1, SIDE, SIDE]),
            device,
        ))
    }
}

impl FlatInput for ImageBatch {
    fn flat(&self) -> Tensor<2> {
        let [b, ..] = self.0.dims();
        self.0.clone().reshape([b, SIDE * SIDE])
    }
}

/// 2. The backbone: conv 3×3 (8 channels) → ReLU → global average → linear.
#[derive(Module, Debug)]
pub struct SmallCnn {
    conv: Conv2d,
    out: Linear,
}

impl Backbone<ImageBatch> for SmallCnn {
    fn logits(&self, input: &ImageBatch, _mode: &mut Mode) -> Tensor<2> {
        let h = relu(self.conv.forward(input.0.clone())); // [b, 8, 8, 8]
        let [b, c, _, _] = h.dims();
        let pooled = h.reshape([b, c, SIDE * SIDE]).mean_dim(2).reshape([b, c]);
        self.out.forward(pooled)
    }
}

/// 3. Its configuration.
pub struct SmallCnnConfig;

impl BackboneConfig for SmallCnnConfig {
    type Model = SmallCnn;
    fn init_backbone(&self, rng: &mut ChaCha8Rng, device: &Device) -> SmallCnn {
        // burn's initialisers draw from the backend's generator: seed it from the run's RNG.
        device.seed(rng.random());
        SmallCnn {
            conv: Conv2dConfig::new([1, 8], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            out: LinearConfig::new(8, CLASSES).init(device),
        }
    }
}

/// Draws `n` noisy images with their true shapes.
fn images(n: usize, rng: &mut ChaCha8Rng) -> (Images, Vec<u32>) {
    let mut pixels = Vec::with_capacity(n * SIDE * SIDE);
    let mut truth = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.random_range(0..CLASSES);
        let at = rng.random_range(2..SIDE - 2);
        for y in 0..SIDE {
            for x in 0..SIDE {
                let on = match class {
                    0 => y == at,
                    1 => x == at,
                    2 => x == y,
                    _ => x == at || y == at,
                };
                let noise: f32 = rng.random::<f32>() * 0.6;
                pixels.push(if on { 1.0 } else { 0.0 } + noise);
            }
        }
        truth.push(class as u32);
    }
    (Images { pixels }, truth)
}

/// Generates the crowd, trains CoNAL on it and returns (CoNAL's, majority vote's) test
/// accuracy after training for `epochs`.
pub fn run(n_train: usize, epochs: usize, seed: u64) -> conal::Result<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (train, truth) = images(n_train, &mut rng);
    let (test, test_truth) = images(500, &mut rng);
    // Twelve annotators: the first six careful (90 % right), the rest careless (45 %).
    let n_workers = 12;
    let mut annotations = Vec::new();
    for (item, &y) in truth.iter().enumerate() {
        let mut workers: Vec<u32> = Vec::new();
        while workers.len() < 3 {
            let w = rng.random_range(0..n_workers);
            if !workers.contains(&w) {
                workers.push(w);
            }
        }
        for worker in workers {
            let right = if worker < 6 { 0.9 } else { 0.45 };
            let label = if rng.random_bool(right) {
                y
            } else {
                (y + rng.random_range(1..4)) % 4
            };
            annotations.push(Annotation {
                item: item as u32,
                worker,
                label,
            });
        }
    }

    let device = Device::flex().autodiff();
    let model = ConalConfig::labelme(SIDE * SIDE, n_workers as usize, CLASSES).init(
        SmallCnnConfig,
        &mut conal::rng::rng(seed, 0),
        &device,
    );
    let data = TrainData {
        inputs: &train,
        annotations: &annotations,
        weights: None,
        valid: None,
        test: None,
    };
    let config = TrainConfig {
        seed,
        epochs,
        batch_size: 128,
        select: Selection::CrowdHoldout,
        ..TrainConfig::default()
    };
    let fitted = Trainer::new(model, &data, config, &device)?.fit(&train, &mut Silent)?;
    let (p, k) = predict(&fitted.model, &test, 256, &Device::flex());
    let conal_accuracy = accuracy(&argmax_rows(&p, k), &test_truth);
    let workers = annotations
        .iter()
        .map(|a| a.worker)
        .max()
        .map_or(0, |w| w as usize + 1);
    let crowd = CrowdLabels::indexed(n_train, workers, CLASSES, annotations.clone())?;
    let mv = MajorityVote::new().seed(seed).fit(&crowd)?;
    Ok((conal_accuracy, accuracy(&mv.aggregation.labels, &truth)))
}

#[allow(dead_code)]
fn main() -> conal::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (conal_accuracy, mv_accuracy) = run(2000, 30, seed)?;
    println!("majority vote on the training images: accuracy {mv_accuracy:.3}");
    println!("CoNAL with a small CNN, test accuracy {conal_accuracy:.3}");
    Ok(())
}
