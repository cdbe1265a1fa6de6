//! Adam as one fused, parallel pass per parameter on the CPU.
//!
//! burn's `Adam` is written with tensor operations: about a dozen element-wise passes per
//! parameter and step (scale the moments, square the gradient, add, take the root, divide,
//! scale by the learning rate, subtract), each a single-threaded loop over the whole tensor
//! and most of them a fresh allocation. On the LabelMe-size model (two 8,192 × 128 first layers)
//! that was about a fifth of the epoch. [`FusedAdam`] does the same arithmetic, in the same
//! order and precision, in one pass over (parameter, gradient, moments), split over threads,
//! in place where the buffers are not shared. It keeps burn's `AdamState`, so optimizer state
//! in checkpoints is unchanged, and it hands any tensor it cannot update in host memory (another
//! device, another precision) to burn's own `Adam`. burn has no fused optimizer kernel for its
//! CPU backend, hence this module.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Tensors with fewer elements than this are updated on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;
/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// Adam (Kingma & Ba), with optional L2 weight decay added to the gradient, as burn's
/// `Adam` and PyTorch's `torch.optim.Adam(weight_decay=…)` define it; or, with
/// [`FusedAdam::rectified`], RAdam (Liu et al., ICLR 2020) as `torch.optim.RAdam` defines it
/// (burn has no RAdam).
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: Option<f32>,
    /// RAdam instead of Adam.
    rectified: bool,
    /// burn's Adam with the same settings, for tensors off the CPU backend.
    fallback: burn::optim::Adam,
    /// Raised by a fused step that met a NaN or infinite gradient entry.
    non_finite: Arc<AtomicBool>,
}

impl FusedAdam {
    /// Adam with these moments' decay rates, ε, and L2 penalty (`0` for none).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, weight_decay: f32) -> Self {
        let weight_decay = (weight_decay > 0.0).then_some(weight_decay);
        let mut config = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon);
        if let Some(penalty) = weight_decay {
            config = config.with_weight_decay(Some(WeightDecayConfig::new(penalty)));
        }
        FusedAdam {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            rectified: false,
            fallback: config.build(),
            non_finite: Arc::new(AtomicBool::new(false)),
        }
    }

    /// RAdam (`torch.optim.RAdam`): the same moments, with the step of Adam scaled by the
    /// variance rectification r_t once the approximated SMA length ρ_t exceeds 5, and plain
    /// bias-corrected momentum `lr · m̂` before that (the first five steps with β₂ = 0.999);
    /// ε is added to √v unscaled, as torch does. Weight decay stays L2 added to the gradient.
    pub fn rectified(mut self) -> Self {
        self.rectified = true;
        self
    }

    /// The per-step constants for step `time` (1-based) at rate `lr`.
    fn factors(&self, time: usize, lr: f64) -> Factors {
        let (combined, epsilon_corrected, adaptive) = if self.rectified {
            // torch computes these in Python floats (f64) and multiplies in the tensor's
            // precision; so do we.
            let (b1, b2, tf) = (f64::from(self.beta_1), f64::from(self.beta_2), time as f64);
            let (bc1, bc2) = (1.0 - b1.powf(tf), 1.0 - b2.powf(tf));
            let rho_inf = 2.0 / (1.0 - b2) - 1.0;
            let rho_t = rho_inf - 2.0 * tf * b2.powf(tf) / bc2;
            if rho_t > 5.0 {
                let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                    .sqrt();
                ((rect * bc2.sqrt() / bc1) as f32, self.epsilon, true)
            } else {
                ((1.0 / bc1) as f32, self.epsilon, false)
            }
        } else {
            let t = time as i32;
            let bias_correction2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
            (
                bias_correction2_sqrt / (1.0 - self.beta_1.powi(t)),
                self.epsilon * bias_correction2_sqrt,
                true,
            )
        };
        Factors {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            one_minus_beta_1: 1.0 - self.beta_1,
            one_minus_beta_2: 1.0 - self.beta_2,
            combined,
            epsilon_corrected,
            lr: lr as f32,
            penalty: self.weight_decay,
            adaptive,
        }
    }

    /// burn's Adam, or for RAdam the same arithmetic as the fused loop in tensor operations:
    /// the step for tensors the fused loop cannot update in host memory.
    fn fallback_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        if !self.rectified {
            return self.fallback.step(lr, tensor, grad, state);
        }
        let grad = match self.weight_decay {
            Some(penalty) => tensor.clone().mul_scalar(penalty) + grad,
            None => grad,
        };
        let (time, m, v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                s.momentum.moment_1.mul_scalar(self.beta_1)
                    + grad.clone().mul_scalar(1.0 - self.beta_1),
                s.momentum.moment_2.mul_scalar(self.beta_2)
                    + grad.clone().square().mul_scalar(1.0 - self.beta_2),
            ),
            None => (
                1,
                grad.clone().mul_scalar(1.0 - self.beta_1),
                grad.square().mul_scalar(1.0 - self.beta_2),
            ),
        };
        let k = self.factors(time, lr);
        let step = if k.adaptive {
            m.clone().mul_scalar(k.combined) / v.clone().sqrt().add_scalar(k.epsilon_corrected)
        } else {
            m.clone().mul_scalar(k.combined)
        };
        let tensor = tensor - step.mul_scalar(k.lr);
        let state = AdamState::new(AdaptiveMomentumState::new(time, m, v));
        (tensor, Some(state))
    }

    /// Raise `flag` (instead of a flag of its own) when a fused step meets a NaN or infinite
    /// gradient entry. The step reads every gradient entry anyway, so this check is free, where
    /// a separate pass over the gradients cost a tenth of a LabelMe-size epoch. The step is
    /// still taken (the parameter becomes NaN where the gradient was not finite); the caller
    /// decides what to do. Steps burn's Adam takes (see [`fuses_on`]) never raise it.
    pub fn with_non_finite_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.non_finite = flag;
        self
    }
}

/// Whether the fused step applies to tensors on this device: burn's CPU backend, whose
/// tensors move to and from host memory without a copy.
pub fn fuses_on(device: &Device) -> bool {
    *device == Device::flex()
}

/// Updates one chunk of a parameter; returns whether a gradient entry was NaN or infinite.
///
/// The loop is compiled three times, for AVX-512, AVX2 and the baseline, and the widest the
/// CPU has is taken at run time: the square root and the division dominate this memory pass,
/// and the baseline build (SSE2) does four of them at a time where AVX-512 does sixteen. Every
/// operation is IEEE-exact in any width and nothing is contracted into an FMA, so all three
/// give the same bits.
fn update_chunk(
    ps: &mut [f32],
    gs: &[f32],
    ms: &mut [f32],
    vs: &mut [f32],
    k: &Factors,
    first: bool,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked on the line above.
            return unsafe { update_chunk_avx512(ps, gs, ms, vs, k, first) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked on the line above.
            return unsafe { update_chunk_avx2(ps, gs, ms, vs, k, first) };
        }
    }
    update_chunk_any(ps, gs, ms, vs, k, first)
}

/// The same loop compiled for one instruction set (a `#[target_feature]` function cannot be
/// generic over the feature, hence a macro).
macro_rules! update_chunk_with {
    ($name:ident, $feature:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        fn $name(
            ps: &mut [f32],
            gs: &[f32],
            ms: &mut [f32],
            vs: &mut [f32],
            k: &Factors,
            first: bool,
        ) -> bool {
            update_chunk_any(ps, gs, ms, vs, k, first)
        }
    };
}
update_chunk_with!(update_chunk_avx512, "avx512f");
update_chunk_with!(update_chunk_avx2, "avx2");

/// One loop per case, so that each is branch-free and vectorises.
#[inline(always)]
fn update_chunk_any(
    ps: &mut [f32],
    gs: &[f32],
    ms: &mut [f32],
    vs: &mut [f32],
    k: &Factors,
    first: bool,
) -> bool {
    match (first, k.penalty.is_some(), k.adaptive) {
        (true, false, true) => update_loop::<true, false, true>(ps, gs, ms, vs, k),
        (true, true, true) => update_loop::<true, true, true>(ps, gs, ms, vs, k),
        (false, false, true) => update_loop::<false, false, true>(ps, gs, ms, vs, k),
        (false, true, true) => update_loop::<false, true, true>(ps, gs, ms, vs, k),
        // RAdam's first steps (ρ_t ≤ 5).
        (true, false, false) => update_loop::<true, false, false>(ps, gs, ms, vs, k),
        (true, true, false) => update_loop::<true, true, false>(ps, gs, ms, vs, k),
        (false, false, false) => update_loop::<false, false, false>(ps, gs, ms, vs, k),
        (false, true, false) => update_loop::<false, true, false>(ps, gs, ms, vs, k),
    }
}

/// Adam for each element, in burn's order of operations (so the results are the same bits
/// as burn's tensor-wise Adam). `FIRST`: no moments yet; `DECAY`: L2 penalty on; `ADAPTIVE`:
/// divide by √v + ε (off for RAdam's first steps, ρ_t ≤ 5: `lr · m / (1 − β₁ᵗ)`).
#[inline(always)]
fn update_loop<const FIRST: bool, const DECAY: bool, const ADAPTIVE: bool>(
    ps: &mut [f32],
    gs: &[f32],
    ms: &mut [f32],
    vs: &mut [f32],
    k: &Factors,
) -> bool {
    let n = ps.len();
    let (gs, ms, vs) = (&gs[..n], &mut ms[..n], &mut vs[..n]);
    let penalty = k.penalty.unwrap_or(0.0);
    let mut bad = false;
    for i in 0..n {
        let g = gs[i];
        bad |= !g.is_finite();
        let g = if DECAY { ps[i] * penalty + g } else { g };
        let (m, v) = if FIRST {
            (g * k.one_minus_beta_1, (g * g) * k.one_minus_beta_2)
        } else {
            (
                ms[i] * k.beta_1 + g * k.one_minus_beta_1,
                vs[i] * k.beta_2 + (g * g) * k.one_minus_beta_2,
            )
        };
        ms[i] = m;
        vs[i] = v;
        let step = if ADAPTIVE {
            (m * k.combined) / (v.sqrt() + k.epsilon_corrected)
        } else {
            m * k.combined
        };
        ps[i] -= step * k.lr;
    }
    bad
}

/// The per-step constants, computed as burn computes them (Adam) or torch (RAdam).
struct Factors {
    beta_1: f32,
    beta_2: f32,
    one_minus_beta_1: f32,
    one_minus_beta_2: f32,
    combined: f32,
    epsilon_corrected: f32,
    lr: f32,
    penalty: Option<f32>,
    /// Divide by √v + ε (Adam, and RAdam once rectified); else plain momentum.
    adaptive: bool,
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        let f32s = [tensor.dtype(), grad.dtype()]
            .iter()
            .all(|d| *d == DType::F32);
        let amsgrad = state
            .as_ref()
            .is_some_and(|s| s.momentum.max_moment_2.is_some());
        if !fuses_on(&device) || !f32s || amsgrad {
            return self.fallback_step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let (time, mut m, mut v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                s.momentum.moment_1.into_data(),
                s.momentum.moment_2.into_data(),
            ),
            None => {
                let zeros = || TensorData::new(vec![0f32; shape.num_elements()], shape.clone());
                (1, zeros(), zeros())
            }
        };
        let first = time == 1;
        let (mut p, g) = (tensor.into_data(), grad.into_data());
        let k = self.factors(time, lr);
        let fused = match (
            p.as_mut_slice::<f32>(),
            g.as_slice::<f32>(),
            m.as_mut_slice::<f32>(),
            v.as_mut_slice::<f32>(),
        ) {
            (Ok(ps), Ok(gs), Ok(ms), Ok(vs)) if ms.len() == ps.len() && vs.len() == ps.len() => {
                let run = |ps: &mut [f32], gs: &[f32], ms: &mut [f32], vs: &mut [f32]| {
                    update_chunk(ps, gs, ms, vs, &k, first)
                };
                let bad = if ps.len() < PARALLEL_MIN {
                    run(ps, gs, ms, vs)
                } else {
                    ps.par_chunks_mut(CHUNK)
                        .zip(gs.par_chunks(CHUNK))
                        .zip(ms.par_chunks_mut(CHUNK))
                        .zip(vs.par_chunks_mut(CHUNK))
                        .map(|(((p, g), m), v)| run(p, g, m, v))
                        .reduce(|| false, |a, b| a || b)
                };
                if bad {
                    self.non_finite.store(true, Ordering::Relaxed);
                }
                true
            }
            _ => false,
        };
        if !fused {
            // Not f32 in host memory after all (a moment loaded in another precision, say):
            // burn's step on the same values.
            let tensor = Tensor::from_data(p, &device);
            let grad = Tensor::from_data(g, &device);
            let state = (!first).then(|| {
                AdamState::new(AdaptiveMomentumState::new(
                    time - 1,
                    Tensor::from_data(m, &device),
                    Tensor::from_data(v, &device),
                ))
            });
            return self.fallback_step(lr, tensor, grad, state);
        }
        let state = AdamState::new(AdaptiveMomentumState::new(
            time,
            Tensor::from_data(m, &device),
            Tensor::from_data(v, &device),
        ));
        (Tensor::from_data(p, &device), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <burn::optim::Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::AdamConfig;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, shape: [usize; 2], device: &Device) -> Tensor<2> {
        let values = (0..shape[0] * shape[1])
            .map(|_| rng.random::<f32>() * 4.0 - 2.0)
            .collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    fn bits(t: Tensor<2>) -> Vec<u32> {
        let data = t.into_data();
        let values = data.as_slice::<f32>().expect("f32");
        values.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn the_cpu_backend_takes_the_fused_path() {
        assert!(fuses_on(&Device::flex()));
        assert!(fuses_on(&Device::flex().autodiff().inner()));
    }

    /// As the trainer uses it: a module on the autodiff CPU device, through burn's
    /// `ModuleOptimizer`, raises the flag for an infinite gradient and only then.
    #[test]
    fn a_module_step_on_the_autodiff_device_raises_the_flag() {
        use burn::optim::{GradientsParams, ModuleOptimizer};
        let device = Device::flex().autodiff();
        let flag = Arc::new(AtomicBool::new(false));
        let mut optim = ModuleOptimizer::from(
            FusedAdam::new(0.9, 0.999, 1e-8, 0.0).with_non_finite_flag(flag.clone()),
        );
        let mut layer = crate::model::init::linear(
            4,
            3,
            crate::model::Init::Torch,
            &mut ChaCha8Rng::seed_from_u64(1),
            &device,
        );
        for (input, raised) in [(1.0f32, false), (f32::INFINITY, true)] {
            let x = Tensor::<2>::from_data(
                TensorData::new(vec![0.5f32, -1.0, 2.0, input], [1, 4]),
                &device,
            );
            let loss = layer.forward(x).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &layer);
            layer = optim.step(0.1, layer, grads);
            assert_eq!(flag.swap(false, Ordering::Relaxed), raised, "input {input}");
        }
    }

    /// Same bits as burn's Adam over several steps, with and without weight decay, on a
    /// tensor small enough for one thread and one large enough to be split over threads.
    #[test]
    fn steps_are_bit_identical_to_burns_adam() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for weight_decay in [0.0, 1e-2] {
            for shape in [[3, 5], [300, 700]] {
                let fused = FusedAdam::new(0.9, 0.999, 1e-8, weight_decay);
                let mut config = AdamConfig::new().with_epsilon(1e-8);
                if weight_decay > 0.0 {
                    config = config.with_weight_decay(Some(WeightDecayConfig::new(weight_decay)));
                }
                let reference = config.build();
                let start = random(&mut rng, shape, &device);
                let (mut a, mut b) = (start.clone(), start);
                let (mut sa, mut sb) = (None, None);
                for step in 0..4 {
                    let grad = random(&mut rng, shape, &device);
                    let lr = 1e-2 / (step + 1) as f64;
                    (a, sa) = fused.step(lr, a, grad.clone(), sa);
                    (b, sb) = reference.step(lr, b, grad, sb);
                    assert_eq!(
                        bits(a.clone()),
                        bits(b.clone()),
                        "parameter after step {step}, shape {shape:?}, decay {weight_decay}"
                    );
                }
                let (sa, sb) = (sa.expect("state"), sb.expect("state"));
                assert_eq!(sa.momentum.time, 4);
                assert_eq!(sb.momentum.time, 4);
                assert_eq!(
                    bits(sa.momentum.moment_1.clone()),
                    bits(sb.momentum.moment_1.clone())
                );
                assert_eq!(bits(sa.momentum.moment_2), bits(sb.momentum.moment_2));
            }
        }
    }

    #[test]
    fn a_non_finite_gradient_raises_the_flag_and_poisons_only_its_entries() {
        let device = Device::flex();
        let flag = Arc::new(AtomicBool::new(false));
        let adam = FusedAdam::new(0.9, 0.999, 1e-8, 0.0).with_non_finite_flag(flag.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (n, bad) in [
            (10, f32::NAN),
            (1 << 17, f32::INFINITY),
            (1 << 17, f32::NEG_INFINITY),
        ] {
            let p = random(&mut rng, [1, n], &device);
            let (_, state) = adam.step(0.1, p.clone(), random(&mut rng, [1, n], &device), None);
            assert!(
                !flag.load(Ordering::Relaxed),
                "finite gradients, {n} entries"
            );
            let mut g: Vec<f32> = bits(random(&mut rng, [1, n], &device))
                .into_iter()
                .map(f32::from_bits)
                .collect();
            g[n / 2] = bad;
            let g = Tensor::from_data(TensorData::new(g, [1, n]), &device);
            let (p, _) = adam.step(0.1, p, g, state);
            assert!(
                flag.swap(false, Ordering::Relaxed),
                "{bad} among {n} entries"
            );
            let after: Vec<f32> = bits(p).into_iter().map(f32::from_bits).collect();
            assert!(after[n / 2].is_nan());
            assert_eq!(after.iter().filter(|x| !x.is_finite()).count(), 1);
        }
    }

    type Kernel<'a> = dyn Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) -> bool + 'a;

    /// The vector builds give the bits of the baseline build, in every case of the loop
    /// (on the instruction sets this CPU has).
    #[test]
    fn every_vector_width_gives_the_same_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 1003; // not a multiple of any vector width
        let mut draw = || -> Vec<f32> { (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect() };
        let (p0, g, m0) = (draw(), draw(), draw());
        let v0: Vec<f32> = draw().iter().map(|x| x * x).collect();
        for (penalty, adaptive) in [
            (None, true),
            (Some(1e-2f32), true),
            (None, false),
            (Some(1e-2f32), false),
        ] {
            for first in [true, false] {
                let k = Factors {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    one_minus_beta_1: 1.0 - 0.9,
                    one_minus_beta_2: 1.0 - 0.999,
                    combined: 0.7,
                    epsilon_corrected: 1e-8,
                    lr: 0.01,
                    penalty,
                    adaptive,
                };
                let run = |f: &Kernel| {
                    let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
                    f(&mut p, &g, &mut m, &mut v);
                    [p, m, v].map(|x| x.iter().map(|y| y.to_bits()).collect::<Vec<_>>())
                };
                let base = run(&|p, g, m, v| update_chunk_any(p, g, m, v, &k, first));
                assert_eq!(run(&|p, g, m, v| update_chunk(p, g, m, v, &k, first)), base);
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: AVX2 checked above.
                        let avx2 =
                            run(&|p, g, m, v| unsafe { update_chunk_avx2(p, g, m, v, &k, first) });
                        assert_eq!(avx2, base, "AVX2, first {first}, penalty {penalty:?}");
                    }
                    if std::arch::is_x86_feature_detected!("avx512f") {
                        // SAFETY: AVX-512F checked above.
                        let avx512 = run(&|p, g, m, v| unsafe {
                            update_chunk_avx512(p, g, m, v, &k, first)
                        });
                        assert_eq!(avx512, base, "AVX-512, first {first}, penalty {penalty:?}");
                    }
                }
            }
        }
    }

    /// RAdam against torch.optim.RAdam's update written out in f64, over twelve steps (the
    /// first five are plain momentum, ρ_t ≤ 5; rectification starts at step 6), with and
    /// without weight decay; and the fused loop against the tensor-operation fallback that
    /// other devices take.
    #[test]
    fn radam_follows_torchs_update() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for weight_decay in [0.0f32, 1e-2] {
            let radam = FusedAdam::new(0.9, 0.999, 1e-8, weight_decay).rectified();
            let n = 7;
            let start: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            let mut want: Vec<f64> = start.iter().map(|&x| f64::from(x)).collect();
            let (mut m, mut v) = (vec![0f64; n], vec![0f64; n]);
            let p0 = Tensor::<2>::from_data(TensorData::new(start, [1, n]), &device);
            let (mut fused, mut fallback) = (p0.clone(), p0);
            let (mut sf, mut sb) = (None, None);
            for step in 1..=12 {
                let g: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
                let lr = 1e-2;
                let (b1, b2, t) = (0.9f64, 0.999f64, step as f64);
                let rho_inf = 2.0 / (1.0 - b2) - 1.0;
                let rho_t = rho_inf - 2.0 * t * b2.powf(t) / (1.0 - b2.powf(t));
                assert_eq!(rho_t > 5.0, step >= 6, "step {step}: ρ_t = {rho_t}");
                for i in 0..n {
                    let gi = f64::from(g[i]) + f64::from(weight_decay) * want[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * gi;
                    v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                    let m_hat = m[i] / (1.0 - b1.powf(t));
                    want[i] -= if rho_t > 5.0 {
                        let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                            / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                            .sqrt();
                        lr * m_hat * rect * (1.0 - b2.powf(t)).sqrt() / (v[i].sqrt() + 1e-8)
                    } else {
                        lr * m_hat
                    };
                }
                let g = Tensor::<2>::from_data(TensorData::new(g, [1, n]), &device);
                (fused, sf) = radam.step(lr, fused, g.clone(), sf);
                (fallback, sb) = radam.fallback_step(lr, fallback, g, sb);
                let got: Vec<f32> = bits(fused.clone())
                    .into_iter()
                    .map(f32::from_bits)
                    .collect();
                let other: Vec<f32> = bits(fallback.clone())
                    .into_iter()
                    .map(f32::from_bits)
                    .collect();
                for i in 0..n {
                    let tol = 1e-5 * want[i].abs().max(1e-2);
                    assert!(
                        (f64::from(got[i]) - want[i]).abs() < tol,
                        "step {step}, decay {weight_decay}, entry {i}: {} vs {}",
                        got[i],
                        want[i]
                    );
                    assert!(
                        (got[i] - other[i]).abs() <= 1e-6 * got[i].abs().max(1e-2),
                        "fused {} vs fallback {} at step {step}",
                        got[i],
                        other[i]
                    );
                }
            }
            assert_eq!(sf.expect("state").momentum.time, 12);
        }
    }

    /// A first step is sign descent: lr · g / (|g| + ε) for every element.
    #[test]
    fn first_step_moves_each_weight_by_the_learning_rate() {
        let device = Device::flex();
        let p = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 1.0], [1, 3]), &device);
        let g = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -3.0, 1e-3], [1, 3]), &device);
        let (p, _) = FusedAdam::new(0.9, 0.999, 1e-8, 0.0).step(0.1, p, g, None);
        let data = p.into_data();
        let values = data.as_slice::<f32>().expect("f32");
        for (x, want) in values.iter().zip([0.9f32, 1.1, 0.9]) {
            assert!((x - want).abs() < 1e-5, "{x} vs {want}");
        }
    }
}
