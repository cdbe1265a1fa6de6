//! The CoNAL model and loss against hand computations: a finite-difference gradient check, the
//! sparse (observed-only) loss against an independent dense B × R × K computation, and the
//! regulariser at its starting point.

use burn::module::Param;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use conal::loss::{confusion_regulariser, crowd_nll};
use conal::model::{Backbone, Conal, ConalConfig, CrowdModel, Mlp, MlpConfig, Mode, Observed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 4;
const D: usize = 3;
const R: usize = 3;
const K: usize = 3;

fn values<const N: usize>(t: Tensor<N>) -> Vec<f64> {
    t.into_data()
        .try_into_vec::<f32>()
        .expect("f32 tensor")
        .into_iter()
        .map(f64::from)
        .collect()
}

fn tensor<const N: usize>(v: &[f64], shape: [usize; N], device: &Device) -> Tensor<N> {
    let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// A tiny CoNAL whose confusion matrices are random (not 2·I), so that every parameter has a
/// non-zero gradient and the regulariser is differentiable.
fn tiny_model(device: &Device, normalize_instance: bool) -> Conal<Mlp> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut classifier = MlpConfig::labelme(D, K);
    classifier.n_units = 5;
    let mut conal = ConalConfig::labelme(D, R, K);
    conal.emb_dim = 2;
    conal.aux_hidden = 4;
    conal.normalize_instance = normalize_instance;
    let mut model = conal.init(classifier, &mut rng, device);
    let mut random =
        |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random::<f64>() * 2.0 - 0.5).collect() };
    model.common = Param::from_tensor(tensor(&random(K * K), [K, K], device));
    model.individual = Param::from_tensor(tensor(&random(R * K * K), [R, K, K], device));
    model
}

fn batch(device: &Device) -> (Tensor<2>, Observed) {
    let x: Vec<f64> = (0..B * D)
        .map(|i| ((i * 7) % 5) as f64 * 0.4 - 0.7)
        .collect();
    // Items 0..3 with 1–3 labels each; item 3 has none.
    let obs = Observed::new(
        &[0, 0, 1, 1, 1, 2],
        &[0, 2, 0, 1, 2, 1],
        &[1, 2, 0, 0, 2, 1],
        device,
    );
    (tensor(&x, [B, D], device), obs)
}

fn loss(model: &Conal<Mlp>, x: &Tensor<2>, obs: &Observed, lambda: f64) -> Tensor<1> {
    let out = model.forward(x, obs, &mut Mode::eval());
    let nll = crowd_nll(out.worker_logits, obs.labels.clone());
    match CrowdModel::<Tensor<2>>::penalty(model, lambda) {
        Some(p) => nll + p,
        None => nll,
    }
}

type Setter = fn(&mut Conal<Mlp>, Vec<f64>, &Device);

/// Reads a parameter's values, or its gradient when `grads` is given.
type Getter = fn(&Conal<Mlp>, Option<&Gradients>) -> Vec<f64>;

fn read<const N: usize>(t: Tensor<N>, grads: Option<&Gradients>) -> Vec<f64> {
    match grads {
        None => values(t),
        Some(g) => values(t.grad(g).expect("parameter has a gradient")),
    }
}

fn check_gradient(name: &str, get: Getter, set: Setter, normalize: bool) {
    let device = Device::flex().autodiff();
    let model = tiny_model(&device, normalize);
    let (x, obs) = batch(&device);
    let lambda = 0.05;
    let grads = loss(&model, &x, &obs, lambda).backward();
    let analytic = get(&model, Some(&grads));
    let base = get(&model, None);
    let eps = 1e-2;
    let mut checked = 0;
    for i in 0..base.len() {
        let eval = |delta: f64| -> f64 {
            let mut m = model.clone();
            let mut v = base.clone();
            v[i] += delta;
            set(&mut m, v, &device);
            values(loss(&m, &x, &obs, lambda))[0]
        };
        let numeric = (eval(eps) - eval(-eps)) / (2.0 * eps);
        let tol = 1e-3 + 1e-2 * analytic[i].abs();
        assert!(
            (numeric - analytic[i]).abs() <= tol,
            "{name}[{i}]: finite difference {numeric:.6} vs autodiff {:.6}",
            analytic[i]
        );
        checked += 1;
    }
    assert!(checked > 0);
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-4),
        "{name}: all gradients are ~0, the check would prove nothing"
    );
}

#[test]
fn gradient_of_common_matrix_matches_finite_differences() {
    check_gradient(
        "common",
        |m, g| read(m.common.val(), g),
        |m, v, d| m.common = Param::from_tensor(tensor(&v, [K, K], d)),
        false,
    );
}

#[test]
fn gradient_of_individual_matrices_matches_finite_differences() {
    check_gradient(
        "individual",
        |m, g| read(m.individual.val(), g),
        |m, v, d| m.individual = Param::from_tensor(tensor(&v, [R, K, K], d)),
        false,
    );
}

#[test]
fn gradient_of_classifier_weights_matches_finite_differences() {
    check_gradient(
        "classifier.hidden",
        |m, g| read(m.classifier.hidden.weight.val(), g),
        |m, v, d| m.classifier.hidden.weight = Param::from_tensor(tensor(&v, [D, 5], d)),
        false,
    );
}

#[test]
fn gradient_of_auxiliary_network_matches_finite_differences() {
    check_gradient(
        "instance_hidden",
        |m, g| read(m.instance_hidden.weight.val(), g),
        |m, v, d| m.instance_hidden.weight = Param::from_tensor(tensor(&v, [D, 4], d)),
        true,
    );
    check_gradient(
        "worker",
        |m, g| read(m.worker.weight.val(), g),
        |m, v, d| m.worker.weight = Param::from_tensor(tensor(&v, [R, 2], d)),
        true,
    );
}

fn linear_forward(
    x: &[f64],
    n: usize,
    w: &[f64],
    b: &[f64],
    d_in: usize,
    d_out: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; n * d_out];
    for i in 0..n {
        for o in 0..d_out {
            let mut s = b[o];
            for j in 0..d_in {
                s += x[i * d_in + j] * w[j * d_out + o];
            }
            out[i * d_out + o] = s;
        }
    }
    out
}

fn normalize_rows(v: &mut [f64], width: usize) {
    for row in v.chunks_mut(width) {
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The loss computed the dense way, as the authors' code does: h for every (item, worker)
/// pair of the batch (B × R × K), then the cross-entropy averaged over the observed pairs only.
fn dense_reference_loss(model: &Conal<Mlp>, x: &[f64], obs: &[(usize, usize, usize)]) -> f64 {
    let lin = |l: &burn::nn::Linear| {
        (
            values(l.weight.val()),
            values(l.bias.as_ref().expect("bias").val()),
        )
    };
    let (w1, b1) = lin(&model.classifier.hidden);
    let (w2, b2) = lin(&model.classifier.output);
    let h = model.classifier.hidden.weight.dims()[1];
    let mut hidden = linear_forward(x, B, &w1, &b1, D, h);
    hidden.iter_mut().for_each(|v| *v = v.max(0.0));
    let z = linear_forward(&hidden, B, &w2, &b2, h, K);
    let mut p = z.clone();
    for row in p.chunks_mut(K) {
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        row.iter_mut().for_each(|v| *v = (*v - m).exp() / s);
    }
    let (a1, c1) = lin(&model.instance_hidden);
    let (a2, c2) = lin(&model.instance_out);
    let (hidden_aux, e) = (
        model.instance_hidden.weight.dims()[1],
        model.instance_out.weight.dims()[1],
    );
    let mut v = linear_forward(
        &linear_forward(x, B, &a1, &c1, D, hidden_aux),
        B,
        &a2,
        &c2,
        hidden_aux,
        e,
    );
    if model.normalize_instance {
        normalize_rows(&mut v, e);
    }
    let (uw, ub) = lin(&model.worker);
    let mut u: Vec<f64> = (0..R * e).map(|i| uw[i] + ub[i % e]).collect();
    normalize_rows(&mut u, e);
    let wg = values(model.common.val());
    let wr = values(model.individual.val());
    // Dense h[b][r][l].
    let mut dense = vec![0.0; B * R * K];
    for b in 0..B {
        for r in 0..R {
            let dot: f64 = (0..e).map(|j| v[b * e + j] * u[r * e + j]).sum();
            let omega = 1.0 / (1.0 + (-dot).exp());
            for l in 0..K {
                let common: f64 = (0..K).map(|k| p[b * K + k] * wg[k * K + l]).sum();
                let indiv: f64 = (0..K)
                    .map(|k| p[b * K + k] * wr[r * K * K + k * K + l])
                    .sum();
                dense[(b * R + r) * K + l] = omega * common + (1.0 - omega) * indiv;
            }
        }
    }
    let mut total = 0.0;
    for &(b, r, y) in obs {
        let row = &dense[(b * R + r) * K..(b * R + r + 1) * K];
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        total += lse - row[y];
    }
    total / obs.len() as f64
}

#[test]
fn sparse_loss_equals_dense_computation() {
    for normalize in [false, true] {
        let device = Device::flex();
        let model = tiny_model(&device, normalize);
        let (x, obs) = batch(&device);
        let sparse = values(loss(&model, &x, &obs, 0.0))[0];
        let triples = [
            (0, 0, 1),
            (0, 2, 2),
            (1, 0, 0),
            (1, 1, 0),
            (1, 2, 2),
            (2, 1, 1),
        ];
        let dense = dense_reference_loss(&model, &values(x), &triples);
        assert!(
            (sparse - dense).abs() < 1e-5,
            "normalize_instance={normalize}: sparse {sparse} vs dense {dense}"
        );
    }
}

#[test]
fn loss_is_ln_k_for_uniform_logits_and_grows_with_wrong_confidence() {
    let device = Device::flex();
    let labels = |v: Vec<i64>| {
        Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(v.clone(), [v.len()]), &device)
    };
    let uniform = Tensor::<2>::zeros([3, 4], &device);
    let l = values(crowd_nll(uniform, labels(vec![0, 1, 3])))[0];
    assert!((l - 4f64.ln()).abs() < 1e-6);
    // One label, logits (2, 0): -log softmax = log(1 + e^-2) if right, 2 + log(1 + e^-2) if wrong.
    let h = tensor(&[2.0, 0.0], [1, 2], &device);
    let right = values(crowd_nll(h.clone(), labels(vec![0])))[0];
    let wrong = values(crowd_nll(h, labels(vec![1])))[0];
    assert!((right - (1.0 + (-2f64).exp()).ln()).abs() < 1e-6);
    assert!((wrong - right - 2.0).abs() < 1e-6);
}

#[test]
fn regulariser_is_finite_with_zero_gradient_at_initialisation() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let model = ConalConfig::music(D, R, K).init(MlpConfig::music(D, K), &mut rng, &device);
    // Both matrices start at 2·I.
    let common = values(model.common.val());
    assert_eq!(common, vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0]);
    let reg = confusion_regulariser(model.common.val(), model.individual.val(), 1e-5);
    let grads = reg.clone().backward();
    let value = values(reg)[0];
    assert!(
        value.is_finite() && value.abs() < 1e-12,
        "regulariser at init = {value}"
    );
    for g in values(model.individual.val().grad(&grads).expect("gradient"))
        .into_iter()
        .chain(values(model.common.val().grad(&grads).expect("gradient")))
    {
        assert_eq!(g, 0.0, "gradient at W_r = W_g must be exactly 0, got {g}");
    }
}

#[test]
fn regulariser_rewards_individual_matrices_that_differ_from_the_common_one() {
    let device = Device::flex();
    let common = Tensor::<2>::zeros([2, 2], &device);
    // ‖W_1 − W_g‖ = 5 (entries 3, 4), ‖W_2 − W_g‖ = 0.
    let individual = tensor(
        &[3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [2, 2, 2],
        &device,
    );
    let v = values(confusion_regulariser(common, individual, 0.1))[0];
    assert!((v - (-0.5)).abs() < 1e-6, "expected −λ·5 = −0.5, got {v}");
}

#[test]
fn forward_has_the_documented_shapes() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let model = ConalConfig::music(124, 44, 10).init(MlpConfig::music(124, 10), &mut rng, &device);
    let x = Tensor::<2>::ones([6, 124], &device);
    let obs = Observed::new(&[0, 1, 1, 5], &[0, 3, 43, 7], &[1, 2, 3, 9], &device);
    let out = model.forward(&x, &obs, &mut Mode::eval());
    assert_eq!(out.class_logits.dims(), [6, 10]);
    assert_eq!(out.worker_logits.dims(), [4, 10]);
    assert_eq!(out.omega.expect("CoNAL has ω").dims(), [4]);
    assert_eq!(model.common.dims(), [10, 10]);
    assert_eq!(model.individual.dims(), [44, 10, 10]);
}

#[test]
fn crowdlayer_variants_start_as_the_identity_on_p() {
    use burn::tensor::activation::softmax;
    use conal::model::{CrowdLayerConfig, CrowdLayerKind};
    let device = Device::flex();
    let x = tensor(
        &[0.3, -1.0, 2.0, 0.5, 0.1, -0.2, 1.0, 1.0, 0.0],
        [3, 3],
        &device,
    );
    let obs = Observed::new(&[0, 2, 2], &[1, 0, 2], &[0, 1, 2], &device);
    for kind in [
        CrowdLayerKind::Mw,
        CrowdLayerKind::Vw,
        CrowdLayerKind::Vb,
        CrowdLayerKind::Vwb,
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let model = CrowdLayerConfig {
            kind,
            n_worker: 3,
            n_class: K,
            confusion: Default::default(),
        }
        .init(MlpConfig::labelme(3, K), &mut rng, &device);
        let out = CrowdModel::<Tensor<2>>::forward(&model, &x, &obs, &mut Mode::eval());
        let p = values(softmax(out.class_logits, 1));
        let h = values(out.worker_logits);
        // h for the labels of items 0, 2, 2 is p of those items: I, ones and zeros at init.
        for (m, item) in [0usize, 2, 2].iter().enumerate() {
            for c in 0..K {
                assert!((h[m * K + c] - p[item * K + c]).abs() < 1e-6, "{kind:?}");
            }
        }
        assert!(out.omega.is_none());
    }
}

#[test]
fn weighted_loss_is_the_weighted_mean_of_label_losses() {
    use conal::loss::weighted_crowd_nll;
    let device = Device::flex();
    let h = tensor(&[2.0, 0.0, 0.0, 1.0], [2, 2], &device);
    let y = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(vec![0i64, 0], [2]), &device);
    let l0 = (1.0 + (-2f64).exp()).ln(); // -log softmax(2, 0)[0]
    let l1 = 1.0 + (1.0 + (-1f64).exp()).ln(); // -log softmax(0, 1)[0]
    let w = |v: [f64; 2]| Some(tensor(&v, [2], &device));
    let got = |weights| values(weighted_crowd_nll(h.clone(), y.clone(), weights))[0];
    assert!((got(w([1.0, 0.0])) - l0).abs() < 1e-6);
    assert!((got(w([0.0, 3.0])) - l1).abs() < 1e-6);
    assert!((got(w([1.0, 3.0])) - (l0 + 3.0 * l1) / 4.0).abs() < 1e-6);
    assert!((got(None) - (l0 + l1) / 2.0).abs() < 1e-6);
}

/// GeoCrowdNet's annotator model: CrowdLayer MW with row-stochastic confusions gives each
/// label the log of Σ_k p_k softmax(Θ_r)[k, z], with Θ_r = I at the start; it exposes those
/// confusions (for geo-w), which the free form does not.
#[test]
fn stochastic_crowdlayer_gives_mixture_log_probabilities() {
    use burn::tensor::activation::softmax;
    use conal::model::{Confusion, CrowdLayerConfig, CrowdLayerKind};
    let device = Device::flex();
    let x = tensor(
        &[0.3, -1.0, 2.0, 0.5, 0.1, -0.2, 1.0, 1.0, 0.0],
        [3, 3],
        &device,
    );
    let obs = Observed::new(&[0, 2, 2], &[1, 0, 2], &[0, 1, 2], &device);
    let config = |confusion| CrowdLayerConfig {
        kind: CrowdLayerKind::Mw,
        n_worker: 3,
        n_class: K,
        confusion,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let model = config(Confusion::Stochastic).init(MlpConfig::labelme(3, K), &mut rng, &device);
    let out = CrowdModel::<Tensor<2>>::forward(&model, &x, &obs, &mut Mode::eval());
    let p = values(softmax(out.class_logits, 1));
    let h = values(out.worker_logits);
    // softmax of a row of I: e on the diagonal, 1 elsewhere, over e + K − 1.
    let e = std::f64::consts::E;
    let confusion = |k: usize, z: usize| if k == z { e } else { 1.0 } / (e + K as f64 - 1.0);
    for (m, item) in [0usize, 2, 2].iter().enumerate() {
        for z in 0..K {
            let want: f64 = (0..K).map(|k| p[item * K + k] * confusion(k, z)).sum();
            assert!(
                (h[m * K + z].exp() - want).abs() < 1e-6,
                "label {m}, class {z}"
            );
        }
    }
    let stacked = values(
        CrowdModel::<Tensor<2>>::annotator_confusions(&model).expect("stochastic confusions"),
    );
    assert_eq!(stacked.len(), 3 * K * K);
    assert!((stacked[0] - confusion(0, 0)).abs() < 1e-6);
    let free = config(Confusion::Free).init(MlpConfig::labelme(3, K), &mut rng, &device);
    assert!(CrowdModel::<Tensor<2>>::annotator_confusions(&free).is_none());
}

/// CoNAL under Annot-Mix's mixup over labels: a label blended with a partner of the same
/// worker is the unblended label; with another worker, ω reads the embedding of the blended
/// one-hot (normalised after blending) and the individual matrix is λ W_a + (1 − λ) W_b —
/// checked against that formula computed from the parameters.
#[test]
fn conal_blends_annotators_under_mixup_over_labels() {
    let device = Device::flex();
    let model = tiny_model(&device, true);
    assert!(CrowdModel::<Tensor<2>>::mixes_annotators(&model));
    let (x, obs) = batch(&device);
    let plain = values(model.forward(&x, &obs, &mut Mode::eval()).worker_logits);
    // Partners: each label with itself.
    let own: Vec<usize> = (0..obs.len).collect();
    let lambdas = vec![0.3f32; obs.len];
    let selfmix = obs.clone().with_pair_mix(&own, &lambdas, &device);
    let got = values(model.forward(&x, &selfmix, &mut Mode::eval()).worker_logits);
    for (a, b) in got.iter().zip(&plain) {
        assert!(
            (a - b).abs() < 1e-5,
            "self-blend changed a logit: {a} vs {b}"
        );
    }
    // Label 0 (item 0, worker 0) blended with label 4 (worker 2) by λ = 0.3.
    let partners = vec![4usize, 1, 2, 3, 4, 5];
    let mixed = obs.clone().with_pair_mix(&partners, &lambdas, &device);
    let got = values(model.forward(&x, &mixed, &mut Mode::eval()).worker_logits);
    let lambda = 0.3f64;
    let p = values(burn::tensor::activation::softmax(
        model.classifier.logits(&x, &mut Mode::eval()),
        1,
    ));
    let w = values(model.worker.weight.val());
    let bias = values(model.worker.bias.as_ref().unwrap().val());
    let e = bias.len();
    let mut u: Vec<f64> = (0..e)
        .map(|c| lambda * w[c] + (1.0 - lambda) * w[2 * e + c] + bias[c])
        .collect();
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    u.iter_mut().for_each(|v| *v /= norm);
    // v_0: the instance embedding of item 0, L2-normalised (tiny_model normalises it).
    let v = values(
        model
            .instance_out
            .forward(model.instance_hidden.forward(x.clone())),
    );
    let v0: Vec<f64> = {
        let n = v[..e].iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
        v[..e].iter().map(|a| a / n).collect()
    };
    let dot: f64 = v0.iter().zip(&u).map(|(a, b)| a * b).sum();
    let omega_mixed = 1.0 / (1.0 + (-dot).exp());
    assert!(
        (values(model.omega(x.clone(), &mixed))[0] - omega_mixed).abs() < 1e-5,
        "ω of the blended worker"
    );
    let g = values(model.common.val());
    let ind = values(model.individual.val());
    for z in 0..K {
        let mut common = 0.0;
        let mut individual = 0.0;
        for k in 0..K {
            common += p[k] * g[k * K + z];
            let blended = lambda * ind[k * K + z] + (1.0 - lambda) * ind[2 * K * K + k * K + z];
            individual += p[k] * blended;
        }
        let want = omega_mixed * common + (1.0 - omega_mixed) * individual;
        assert!(
            (got[z] - want).abs() < 1e-5,
            "class {z}: {} vs {want}",
            got[z]
        );
    }
    // The other labels are blended with themselves: unchanged.
    for j in K..obs.len * K {
        assert!((got[j] - plain[j]).abs() < 1e-5);
    }
}
