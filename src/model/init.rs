//! Parameter initialisation from the run's own seeded RNG.
//!
//! burn's initialisers draw from the backend's global RNG; we draw every initial weight from a
//! ChaCha8 stream seeded by `--seed` instead, so that a run is reproducible on any backend and
//! a resumed run sees exactly the weights an uninterrupted one did.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How the weights of linear layers are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PyTorch's `nn.Linear` default (the authors' code): weight and bias ~ U(±1/√fan_in).
    #[default]
    Torch,
    /// Glorot/Xavier uniform: weight ~ U(±√(6/(fan_in+fan_out))), bias 0.
    Xavier,
    /// He/Kaiming uniform for ReLU: weight ~ U(±√(6/fan_in)), bias 0.
    Kaiming,
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

/// A `d_in → d_out` linear layer (burn's row layout: weight `[d_in, d_out]`).
pub fn linear(
    d_in: usize,
    d_out: usize,
    init: Init,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Linear {
    let fan_in = d_in.max(1) as f64;
    let (w_bound, b_bound) = match init {
        Init::Torch => (1.0 / fan_in.sqrt(), 1.0 / fan_in.sqrt()),
        Init::Xavier => ((6.0 / (fan_in + d_out as f64)).sqrt(), 0.0),
        Init::Kaiming => ((6.0 / fan_in).sqrt(), 0.0),
    };
    let weight = uniform(rng, d_in * d_out, w_bound);
    let bias = uniform(rng, d_out, b_bound);
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_in, d_out]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_out]), device)),
    }
}

/// `scale · I` repeated `copies` times: a `[copies, k, k]` tensor.
pub fn scaled_identities(copies: usize, k: usize, scale: f32, device: &Device) -> Tensor<3> {
    let mut data = vec![0f32; copies * k * k];
    for c in 0..copies {
        for i in 0..k {
            data[c * k * k + i * k + i] = scale;
        }
    }
    Tensor::from_data(TensorData::new(data, [copies, k, k]), device)
}

/// Numbers the parameters of `module` 1, 2, … in traversal order. burn gives every parameter
/// a random id; numbered ones make a seed's checkpoint files byte-identical from run to run
/// (the optimiser keys its state by these ids, which checkpoints keep).
pub fn number_params<M: burn::module::Module>(module: M) -> M {
    struct Numbering(u64);
    impl burn::module::ModuleMapper for Numbering {
        fn map_float<const D: usize>(
            &mut self,
            mut param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            self.0 += 1;
            param.id = burn::module::ParamId::from(self.0);
            param
        }
    }
    module.map(&mut Numbering(0))
}
