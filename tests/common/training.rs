//! Short training runs whose weights the device and data-parallel tests compare.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use conal::data::synthetic::SyntheticConfig;
use conal::model::{Conal, ConalConfig, Mlp, MlpConfig};
use conal::progress::Silent;
use conal::train::{Selection, TrainConfig, TrainData, Trainer};

/// Every parameter's values, in module order.
pub struct Values(Vec<(String, Vec<f32>)>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param.val().into_data().convert::<f32>().try_to_vec::<f32>();
        self.0.push((format!("{:?}", param.id), values.unwrap()));
    }
}

pub fn values(model: &Conal<Mlp>) -> Vec<Vec<f32>> {
    let mut v = Values(Vec::new());
    model.visit(&mut v);
    v.0.into_iter().map(|(_, values)| values).collect()
}

/// `epochs` full-batch Adam steps of CoNAL on a small demo crowd, on `device` split into
/// `devices` data-parallel shares, from the same initial weights (drawn on the host, then
/// uploaded). Without dropout, so that a step is a function of the weights and the batch.
pub fn train(device: &Device, epochs: usize, devices: usize) -> Conal<Mlp> {
    train_with_losses(device, epochs, devices).0
}

/// [`train`], with the training loss of every epoch (the batch's mean loss: one batch).
pub fn train_with_losses(device: &Device, epochs: usize, devices: usize) -> (Conal<Mlp>, Vec<f64>) {
    train_batched(device, epochs, devices, 100_000) // one step per epoch
}

/// [`train_with_losses`] in batches of `batch_size` items (shuffled per epoch, the same
/// order on every device).
pub fn train_batched(
    device: &Device,
    epochs: usize,
    devices: usize,
    batch_size: usize,
) -> (Conal<Mlp>, Vec<f64>) {
    let demo = SyntheticConfig {
        n_train: 300,
        ..SyntheticConfig::default()
    }
    .generate()
    .unwrap();
    let crowd = &demo.data.train;
    let (d, r, k) = (crowd.n_features(), crowd.n_workers(), crowd.n_classes());
    let device = device.clone().autodiff();
    let mut rng = conal::rng::rng(0, 0);
    let mut classifier = MlpConfig::labelme(d, k);
    classifier.dropout = 0.0;
    let model = ConalConfig::labelme(d, r, k).init(classifier, &mut rng, &device);
    if epochs == 0 {
        return (model, Vec::new());
    }
    let data = TrainData {
        inputs: &crowd.features,
        annotations: &crowd.annotations,
        weights: None,
        valid: None,
        test: None,
    };
    let config = TrainConfig {
        epochs,
        batch_size,
        select: Selection::Last,
        devices,
        ..TrainConfig::default()
    };
    let fitted = Trainer::new(model, &data, config, &device)
        .unwrap()
        .fit(&crowd.features, &mut Silent)
        .unwrap();
    let losses = fitted.history.iter().map(|m| m.train_loss).collect();
    (fitted.model, losses)
}

pub fn max_relative_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len());
        let scale = x.iter().map(|v| v.abs()).fold(0.0f32, f32::max).max(1e-6) as f64;
        for (p, q) in x.iter().zip(y) {
            worst = worst.max((*p as f64 - *q as f64).abs() / scale);
        }
    }
    worst
}
