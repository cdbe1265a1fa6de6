//! The training loop, one epoch at a time, with model selection.
//!
//! [`Trainer`] owns the model, the optimiser and the selection state; [`Trainer::run_epoch`]
//! does one pass and returns its metrics, so that the caller decides what to do between
//! epochs (report progress, write a checkpoint, stop).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::loss::{blended_crowd_nll, neg_log_det_gram, scaled_crowd_nll, weighted_crowd_nll};
use crate::metrics::EpochMetrics;
use crate::model::codec::{model_bytes, model_from_bytes};
use crate::model::{CrowdModel, Mode, Observed};
use crate::progress::Progress;
use crate::rng::{rng, stream};
use crate::train::adam::{FusedAdam, fuses_on};
use crate::train::batch::{Inputs, LabelIndex, batches};
use crate::train::config::{AdamReset, AdamSettings, RegularizerKind, Selection, TrainConfig};
use crate::train::ema::ema_update;
use crate::train::finite::non_finite;
use crate::train::holdout::{self, Holdout};
use crate::train::select::{EvalSet, eval_set};
use crate::train::snapshot::{BestSnapshot, Snapshot};

/// A labelled split given to the trainer for evaluation.
pub struct Labeled<'a, I> {
    /// The items.
    pub inputs: &'a I,
    /// True class per item.
    pub truth: &'a [u32],
}

/// The data a trainer learns from.
pub struct TrainData<'a, I> {
    /// Training items (only those with crowd labels are used).
    pub inputs: &'a I,
    /// Crowd labels, item indices into `inputs`.
    pub annotations: &'a [crate::data::Annotation],
    /// A weight per annotation (soft targets); `None`: all 1.
    pub weights: Option<&'a [f32]>,
    /// Validation split (required for `Selection::Valid`).
    pub valid: Option<Labeled<'a, I>>,
    /// Test split (required for `Selection::TestPeek`; otherwise only reported).
    pub test: Option<Labeled<'a, I>>,
}

/// The kept model and how it was chosen.
pub struct Fitted<M> {
    /// The selected model, in evaluation form (no autodiff).
    pub model: M,
    /// The epoch it comes from.
    pub best_epoch: usize,
    /// Metrics of every epoch.
    pub history: Vec<EpochMetrics>,
    /// Under the selected model, the probability of every held-out crowd label (in a fixed
    /// order), when crowd-holdout selection held items out; averaging these over ensemble
    /// members that share the holdout gives the ensemble's held-out likelihood.
    pub holdout_probabilities: Option<Vec<f64>>,
}

/// The loss figures of one data-parallel step.
#[derive(Default)]
struct StepValues {
    loss: f64,
    nll: f64,
    omega_sum: f64,
    omega_n: usize,
}

/// Trains a crowd model epoch by epoch.
pub struct Trainer<M, I: Inputs> {
    config: TrainConfig,
    device: Device,
    /// Absent only inside an optimiser step, which takes it by value so that the parameters
    /// it updates are not shared and are updated in place.
    model: Option<M>,
    optim: ModuleOptimizer,
    labels: LabelIndex,
    train_items: Vec<usize>,
    full_batch: Option<(I::Batch, Observed)>,
    /// Every item on the training device, uploaded once, for mini-batches gathered there
    /// (devices other than the CPU, where gathering on the host is faster).
    resident: Option<I::Batch>,
    holdout: Option<Holdout<I::Batch>>,
    valid: Option<EvalSet<I::Batch>>,
    test: Option<EvalSet<I::Batch>>,
    epoch: usize,
    best: Option<(usize, f64, M)>,
    history: Vec<EpochMetrics>,
    /// Moving average of the weights (evaluation form), when `config.ema` is set.
    ema: Option<M>,
    /// Raised by the optimiser when it meets a NaN or infinite gradient entry; `None` where
    /// the optimiser cannot check (not the CPU backend), and the trainer checks before each
    /// step instead.
    non_finite: Option<Arc<AtomicBool>>,
}

impl<M, I> Trainer<M, I>
where
    I: Inputs,
    I::Batch: Clone,
    M: CrowdModel<I::Batch>,
{
    /// Prepares training of `model` (already on `device`, which must have autodiff) on `data`.
    ///
    /// Holds out `config.holdout` of the labelled items when selecting on crowd holdout.
    pub fn new(
        model: M,
        data: &TrainData<'_, I>,
        config: TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        config.check()?;
        if !device.is_autodiff() {
            return Err(Error::Unsupported(
                "training needs an autodiff device (`Device::autodiff()`)".into(),
            ));
        }
        if let Some(w) = data.weights
            && (w.len() != data.annotations.len() || w.iter().any(|v| !v.is_finite() || *v < 0.0))
        {
            return Err(Error::Invalid {
                what: "label weights",
                message: "must be one finite, non-negative number per annotation".into(),
            });
        }
        let labels = LabelIndex::weighted(data.inputs.len(), data.annotations, data.weights);
        if config.label_mixup().is_some() {
            if !model.mixes_annotators() {
                return Err(Error::param(
                    "mixup_over",
                    "labels",
                    "needs a model that takes a blend of annotators (annot-mix or conal)",
                ));
            }
            if labels.is_weighted() {
                return Err(Error::param(
                    "mixup_over",
                    "labels",
                    "blends single crowd labels; these labels carry weights",
                ));
            }
            if !I::MIXES_ROWS {
                return Err(Error::param(
                    "mixup_over",
                    "labels",
                    "needs inputs that can be blended row by row (feature matrices)",
                ));
            }
        }

        if let Some(reg) = &config.regularizer
            && reg.kind == RegularizerKind::GeoW
            && model.annotator_confusions().is_none()
        {
            return Err(Error::param(
                "regularizer",
                "geo-w",
                "needs a model whose confusions are stochastic matrices per annotator \
                 (crowdlayer-mw or conal with confusion stochastic)",
            ));
        }
        let mut train_items = labels.labelled_items();
        if train_items.is_empty() {
            return Err(Error::Invalid {
                what: "training data",
                message: "no training item has a crowd label".into(),
            });
        }
        let eval_device = device.clone().inner();
        let holdout = if config.select == Selection::CrowdHoldout {
            let (held, rest) = holdout::split(&train_items, &config)?;
            train_items = rest;
            Some(Holdout::new(&held, data.inputs, &labels, &eval_device))
        } else {
            None
        };
        let valid = data
            .valid
            .as_ref()
            .map(|v| eval_set(v.inputs, v.truth, &eval_device));
        let test = data
            .test
            .as_ref()
            .map(|t| eval_set(t.inputs, t.truth, &eval_device));
        if config.select == Selection::Valid && valid.is_none() {
            return Err(Error::param(
                "select",
                "valid",
                "needs a validation split with true labels (valid_data)",
            ));
        }
        if config.select == Selection::TestPeek && test.is_none() {
            return Err(Error::param(
                "select",
                "test-peek",
                "needs the test split with true labels (test_data)",
            ));
        }
        // Mixup over labels builds every batch from its labels, so a whole-set batch is not
        // kept ready.
        let whole = config.batch_size >= train_items.len() && config.label_mixup().is_none();
        let full_batch = whole.then(|| {
            (
                data.inputs.batch(&train_items, device),
                labels.observed(&train_items, device),
            )
        });
        let on_cpu = fuses_on(&device.clone().inner());
        let resident = (I::GATHERS && full_batch.is_none() && !on_cpu).then(|| {
            let all: Vec<usize> = (0..data.inputs.len()).collect();
            data.inputs.batch(&all, device)
        });
        let non_finite = on_cpu.then(|| Arc::new(AtomicBool::new(false)));
        Ok(Trainer {
            optim: new_optimizer(&config.adam, non_finite.as_ref()),
            config,
            device: device.clone(),
            model: Some(model),
            labels,
            train_items,
            full_batch,
            resident,
            holdout,
            valid,
            test,
            epoch: 0,
            best: None,
            history: Vec::new(),
            ema: None,
            non_finite,
        })
    }

    /// Epochs done so far.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Whether all configured epochs are done.
    pub fn is_done(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The items trained on (labelled items minus the holdout).
    pub fn train_items(&self) -> &[usize] {
        &self.train_items
    }

    /// Metrics so far.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("the model is absent only inside an optimiser step")
    }

    /// One pass over the training items, then evaluation and selection.
    pub fn run_epoch(&mut self, inputs: &I, progress: &mut dyn Progress) -> Result<EpochMetrics> {
        let start = Instant::now();
        self.epoch += 1;
        let epoch = self.epoch;
        let mut rng = rng(self.config.seed, stream::EPOCH + epoch as u64);
        let lr = self
            .config
            .lr_schedule
            .at(self.config.lr, epoch, self.config.epochs);
        let mut order = self.train_items.clone();
        if self.full_batch.is_none() {
            order.shuffle(&mut rng);
        }
        let steps = batches(&order, self.config.batch_size);
        let (mut loss_sum, mut nll_sum, mut omega_sum, mut omega_n) = (0.0, 0.0, 0.0, 0usize);
        for (step, rows) in steps.iter().enumerate() {
            let n_steps = steps.len();
            let diverged = move |what: String| Error::Diverged {
                message: format!("{what} at epoch {epoch}, batch {} of {n_steps}", step + 1),
                kept: None,
            };
            if self.config.devices > 1 {
                if let Some(v) = self.data_parallel_step(inputs, rows, lr, &mut rng, diverged)? {
                    loss_sum += v.loss;
                    nll_sum += v.nll;
                    omega_sum += v.omega_sum;
                    omega_n += v.omega_n;
                }
                if steps.len() > 1 {
                    progress.step(step as u64 + 1, steps.len() as u64);
                }
                continue;
            }
            let (x, obs) = match self.config.label_mixup() {
                Some(alpha) => match self.blended_labels(inputs, rows, alpha, &mut rng) {
                    Some(blended) => blended,
                    None => continue,
                },
                None => self.item_batch(inputs, rows, &mut rng),
            };
            if obs.len == 0 {
                continue;
            }
            let out = self.model().forward(&x, &obs, &mut Mode::train(&mut rng));
            let volume = self.volume_term(self.model(), &out.class_logits);
            let nll = observed_nll(out.worker_logits, out.label_weights, &obs);
            let mut loss = match self.model().penalty(self.config.scale) {
                Some(p) => nll.clone() + p,
                None => nll.clone(),
            };
            if let Some(v) = volume {
                loss = loss + v;
            }
            let loss_value: f64 = loss.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() {
                return Err(diverged(format!("loss is {loss_value}")));
            }
            loss_sum += loss_value;
            nll_sum += nll.into_scalar::<f32>() as f64;
            if let Some(omega) = out.omega {
                omega_sum += omega.sum().into_scalar::<f32>() as f64;
                omega_n += obs.len;
            }
            let grads = GradientsParams::from_grads(loss.backward(), self.model());
            if self.non_finite.is_none()
                && let Some(param) = non_finite(self.model(), Some(&grads))
            {
                return Err(diverged(format!("the gradient of {param} is not finite")));
            }
            let model = self.model.take();
            let model = model.expect("the model is absent only inside an optimiser step");
            self.model = Some(self.optim.step(lr, model, grads));
            self.after_step(&diverged)?;
            if steps.len() > 1 {
                progress.step(step as u64 + 1, steps.len() as u64);
            }
        }
        let n_steps = steps.len().max(1) as f64;
        if self.config.adam.reset == AdamReset::Epoch {
            self.optim = new_optimizer(&self.config.adam, self.non_finite.as_ref());
        }

        let eval_model = match &self.ema {
            Some(average) => average.clone(),
            None => self.model().valid(),
        };
        let noise_model = eval_model.has_noise_model();
        let holdout_nll = match &self.holdout {
            Some(h) if noise_model => Some(h.nll(&eval_model)),
            _ => None,
        };
        let holdout_agreement = match &self.holdout {
            Some(h) if !noise_model => Some(h.agreement(&eval_model)),
            _ => None,
        };
        let valid_accuracy = self.valid.as_ref().map(|v| v.accuracy(&eval_model));
        let test_accuracy = self.test.as_ref().map(|t| t.accuracy(&eval_model));
        // Selection: a metric where higher is better.
        let (metric, score) = match self.config.select {
            Selection::CrowdHoldout => match holdout_agreement {
                Some(a) => (a, a),
                None => {
                    let v = holdout_nll.unwrap_or(f64::INFINITY);
                    (v, -v)
                }
            },
            Selection::Valid => {
                let v = valid_accuracy.unwrap_or(0.0);
                (v, v)
            }
            Selection::TestPeek => {
                let v = test_accuracy.unwrap_or(0.0);
                (v, v)
            }
            Selection::Last => (epoch as f64, epoch as f64),
        };
        let best = match &self.best {
            None => true,
            Some((_, best_score, _)) => score > *best_score,
        };
        if best {
            self.best = Some((epoch, score, eval_model));
        }
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / n_steps,
            train_nll: nll_sum / n_steps,
            selection_metric: metric,
            selection_metric_name: if holdout_agreement.is_some() {
                "holdout_agreement".into()
            } else {
                self.config.select.metric_name().into()
            },
            holdout_nll,
            holdout_agreement,
            valid_accuracy,
            test_accuracy,
            mean_omega: (omega_n > 0).then(|| omega_sum / omega_n as f64),
            lr,
            best,
            wall_ms: start.elapsed().as_secs_f64() * 1e3,
        };
        self.history.push(metrics.clone());
        Ok(metrics)
    }

    /// GeoCrowdNet's volume term for a batch, times its λ, when the run has one: `geo-f` on
    /// the batch's class probabilities, `geo-w` on the stack of every annotator's
    /// confusion. `None` where the term is singular, not finite or above its cap (the batch
    /// then adds nothing, as in the authors' code).
    fn volume_term(
        &self,
        model: &M,
        class_logits: &burn::tensor::Tensor<2>,
    ) -> Option<burn::tensor::Tensor<1>> {
        let reg = self.config.regularizer.as_ref()?;
        let x = match reg.kind {
            RegularizerKind::GeoF => burn::tensor::activation::softmax(class_logits.clone(), 1),
            RegularizerKind::GeoW => {
                let c = model.annotator_confusions()?;
                let [r, k, _] = c.dims();
                // Row (r, z) of the stack holds p(label z | true class k) for every k.
                c.swap_dims(1, 2).reshape([r * k, k])
            }
        };
        neg_log_det_gram(x).map(|v| v.mul_scalar(reg.lambda))
    }

    /// The batch of `rows` on `device`: gathered from the resident items where they are on
    /// it, else uploaded from the host.
    fn batch(&self, inputs: &I, rows: &[usize], device: &Device) -> I::Batch {
        match &self.resident {
            Some(all) if *device == self.device => {
                I::gather(all, rows).unwrap_or_else(|| inputs.batch(rows, device))
            }
            _ => inputs.batch(rows, device),
        }
    }

    /// The batch of items `rows` with their labels, blended with a shuffled copy of itself
    /// under mixup over items (where the input kind can be mixed).
    fn item_batch(
        &self,
        inputs: &I,
        rows: &[usize],
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> (I::Batch, Observed) {
        let (x, obs) = match &self.full_batch {
            Some((x, obs)) => (x.clone(), obs.clone()),
            None => (
                self.batch(inputs, rows, &self.device),
                self.labels.observed(rows, &self.device),
            ),
        };
        let Some(alpha) = self.config.item_mixup() else {
            return (x, obs);
        };
        let lambda: f64 = rand_distr::Beta::new(alpha, alpha)
            .map(|b| rand_distr::Distribution::sample(&b, rng))
            .unwrap_or(1.0);
        let lambda = lambda.max(1.0 - lambda);
        let mut perm: Vec<usize> = (0..rows.len()).collect();
        perm.shuffle(rng);
        match I::mix(&x, &perm, lambda) {
            Some(mixed) => (
                mixed,
                self.labels
                    .observed_mixed(rows, &perm, lambda, &self.device),
            ),
            None => (x, obs),
        }
    }

    /// Annot-Mix's mixup over labels for the batch of items `rows`: one row of features per
    /// label, each blended with a random partner row by its own λ ~ Beta(α, α), and the labels
    /// with their partners ([`crate::model::PairMix`]). `None` when the rows have no label.
    fn blended_labels(
        &self,
        inputs: &I,
        rows: &[usize],
        alpha: f64,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Option<(I::Batch, Observed)> {
        let (local, workers, labels, _) = self.labels.columns(rows);
        let items: Vec<usize> = local.iter().map(|&l| rows[l as usize]).collect();
        let n = items.len();
        if n == 0 {
            return None;
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(rng);
        // α > 0 is checked with the configuration, so Beta::new does not fail.
        let beta = rand_distr::Beta::new(alpha, alpha).ok();
        let lambdas: Vec<f32> = (0..n)
            .map(|_| match &beta {
                Some(b) => rand_distr::Distribution::sample(b, rng) as f32,
                None => 1.0,
            })
            .collect();
        let x = self.batch(inputs, &items, &self.device);
        let x = I::mix_rows(&x, &perm, &lambdas)?;
        let local: Vec<u32> = (0..n as u32).collect();
        let obs = Observed::new(&local, &workers, &labels, &self.device).with_pair_mix(
            &perm,
            &lambdas,
            &self.device,
        );
        Some((x, obs))
    }

    /// One optimiser step on `rows` split into `config.devices` shares (see
    /// [`TrainConfig::devices`]): `None` when the rows have no label.
    ///
    /// Each share gets its own instance of the training device and a replica of the model
    /// on it. The forward passes run in share order (batch norm's running statistics, which
    /// the replicas share, are then updated in a fixed order), the backward passes — most of
    /// the work — in parallel, one thread per share. Each share's loss is its weighted mean
    /// times its share of the batch's label weight, so the shares' gradients add up to the
    /// gradient of the whole batch's mean loss; the penalty is added once, to share 0. burn's
    /// `MultiGradientsParams` moves every share's gradients to one device and sums them, and
    /// the optimiser takes one step with the sum.
    fn data_parallel_step(
        &mut self,
        inputs: &I,
        rows: &[usize],
        lr: f64,
        rng: &mut rand_chacha::ChaCha8Rng,
        diverged: impl Fn(String) -> Error,
    ) -> Result<Option<StepValues>> {
        let n = self.config.devices.min(rows.len()).max(1);
        let (base, extra) = (rows.len() / n, rows.len() % n);
        let mut shares: Vec<&[usize]> = Vec::with_capacity(n);
        let mut at = 0;
        for s in 0..n {
            let len = base + usize::from(s < extra);
            shares.push(&rows[at..at + len]);
            at += len;
        }
        let total = self.labels.weight_of(rows);
        if total <= 0.0 {
            return Ok(None);
        }
        let mut values = StepValues::default();
        let mut losses: Vec<(burn::tensor::Tensor<1>, M, Device)> = Vec::with_capacity(n);
        for (s, share) in shares.iter().enumerate() {
            let weight = self.labels.weight_of(share);
            if weight <= 0.0 {
                continue;
            }
            // Instances of one device: burn's default wgpu device, or the CPU.
            let device = self.device.clone();
            let replica = self.model().clone().fork(&device);
            let x = self.batch(inputs, share, &device);
            let obs = self.labels.observed(share, &device);
            let out = replica.forward(&x, &obs, &mut Mode::train(rng));
            // Only geo-w reaches here (geo-f needs the whole batch: one device); like the
            // penalty, it is added once.
            let volume = if s == 0 {
                self.volume_term(&replica, &out.class_logits)
            } else {
                None
            };
            let nll = observed_nll(out.worker_logits, out.label_weights, &obs) * (weight / total);
            let mut loss = match (s, replica.penalty(self.config.scale)) {
                (0, Some(p)) => nll.clone() + p,
                _ => nll.clone(),
            };
            if let Some(v) = volume {
                loss = loss + v;
            }
            values.nll += nll.into_scalar::<f32>() as f64;
            values.loss += loss.clone().into_scalar::<f32>() as f64;
            if let Some(omega) = out.omega {
                values.omega_sum += omega.sum().into_scalar::<f32>() as f64;
                values.omega_n += obs.len;
            }
            losses.push((loss, replica, device));
        }
        if !values.loss.is_finite() {
            return Err(diverged(format!("loss is {}", values.loss)));
        }
        let grads: Vec<(GradientsParams, Device)> = std::thread::scope(|scope| {
            let handles: Vec<_> = losses
                .into_iter()
                .map(|(loss, replica, device)| {
                    scope.spawn(move || {
                        (
                            GradientsParams::from_grads(loss.backward(), &replica),
                            device,
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().map_err(|payload| Error::WorkerPanic {
                        what: "a data-parallel share's backward pass".into(),
                        message: crate::error::panic_message(payload.as_ref()),
                    })
                })
                .collect::<Result<_>>()
        })?;
        if self.non_finite.is_none() {
            for (g, _) in &grads {
                if let Some(param) = non_finite(self.model(), Some(g)) {
                    return Err(diverged(format!("the gradient of {param} is not finite")));
                }
            }
        }
        let model = self.model.take();
        let model = model.expect("the model is absent only inside an optimiser step");
        let multi = burn::optim::MultiGradientsParams { grads };
        self.model = Some(self.optim.step_multi(lr, model, multi));
        self.after_step(&diverged)?;
        Ok(Some(values))
    }

    /// After an optimiser step: the divergence the fused step flagged, then the moving
    /// average of the weights.
    fn after_step(&mut self, diverged: &impl Fn(String) -> Error) -> Result<()> {
        if let Some(flag) = &self.non_finite
            && flag.swap(false, Ordering::Relaxed)
        {
            // The step has turned exactly the entries with a non-finite gradient into
            // NaN, which names the parameter; the run stops here either way.
            let param = non_finite(self.model(), None).unwrap_or_else(|| "a parameter".into());
            return Err(diverged(format!("the gradient of {param} is not finite")));
        }
        if let Some(decay) = self.config.ema {
            let current = self.model().valid();
            self.ema = Some(match self.ema.take() {
                Some(average) => ema_update(average, &current, decay),
                None => current,
            });
        }
        Ok(())
    }

    /// Runs the remaining epochs, reporting each to `progress`, and returns the selected model.
    pub fn fit(mut self, inputs: &I, progress: &mut dyn Progress) -> Result<Fitted<M>> {
        progress.start("epochs", self.config.epochs as u64);
        while !self.is_done() {
            let m = self.run_epoch(inputs, progress)?;
            progress.epoch(&m);
        }
        progress.finish("");
        Ok(self.finish())
    }

    /// The selected model (the last one if no epoch ran).
    pub fn finish(self) -> Fitted<M> {
        let (model, best_epoch) = match self.best {
            Some((best_epoch, _, model)) => (model, best_epoch),
            None => (self.model().valid(), self.epoch),
        };
        let holdout_probabilities = self.holdout.as_ref().map(|h| h.label_probabilities(&model));
        Fitted {
            model,
            best_epoch,
            history: self.history,
            holdout_probabilities,
        }
    }

    /// The best model so far and its epoch.
    pub fn best(&self) -> Option<(usize, &M)> {
        self.best.as_ref().map(|(e, _, m)| (*e, m))
    }

    /// Everything needed to continue this run later exactly where it is: the model, the
    /// optimiser's moments, the best model so far and the selection state. (Random draws
    /// need no state: every epoch draws from its own stream of the seed.)
    pub fn snapshot(&self) -> Result<Snapshot> {
        let optimizer = self
            .optim
            .into_bytes()
            .map_err(|e| Error::Codec {
                what: "the optimiser state",
                message: e.to_string(),
            })?
            .to_vec();
        let best = match &self.best {
            Some((epoch, score, model)) => Some(BestSnapshot {
                epoch: *epoch,
                score: *score,
                model: model_bytes(model)?,
            }),
            None => None,
        };
        Ok(Snapshot {
            epoch: self.epoch,
            model: model_bytes(self.model())?,
            optimizer,
            best,
            history: self.history.clone(),
            ema: match &self.ema {
                Some(average) => Some(model_bytes(average)?),
                None => None,
            },
        })
    }

    /// Continues from `snapshot` (taken from a trainer of the same configuration and data).
    /// `path` names the checkpoint in errors.
    pub fn restore(mut self, snapshot: Snapshot, path: &std::path::Path) -> Result<Self> {
        if snapshot.epoch > self.config.epochs || snapshot.history.len() != snapshot.epoch {
            return Err(Error::checkpoint(
                path,
                format!(
                    "records {} epochs and {} metric lines for a run of {} epochs",
                    snapshot.epoch,
                    snapshot.history.len(),
                    self.config.epochs
                ),
            ));
        }
        let skeleton = self.model().clone();
        self.model = Some(model_from_bytes(path, snapshot.model, skeleton.clone())?);
        self.optim = new_optimizer(&self.config.adam, self.non_finite.as_ref())
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(snapshot.optimizer))
            .map_err(|e| Error::checkpoint(path, format!("optimiser state unreadable: {e}")))?;
        self.best = match snapshot.best {
            Some(b) => Some((
                b.epoch,
                b.score,
                model_from_bytes(path, b.model, skeleton.valid())?,
            )),
            None => None,
        };
        self.ema = match snapshot.ema {
            Some(bytes) => Some(model_from_bytes(path, bytes, skeleton.valid())?),
            None => None,
        };
        self.epoch = snapshot.epoch;
        self.history = snapshot.history;
        Ok(self)
    }
}

/// The negative log-likelihood of a batch's observed labels: blended targets under mixup over
/// labels, else each label weighted by its weight.
///
/// A model's own label weights (MaDL's annotator weights) scale each label's term; models
/// that take blended labels (Annot-Mix) give none.
fn observed_nll(
    worker_logits: burn::tensor::Tensor<2>,
    label_weights: Option<burn::tensor::Tensor<1>>,
    obs: &Observed,
) -> burn::tensor::Tensor<1> {
    match (&obs.mix, label_weights) {
        (Some(mix), _) => blended_crowd_nll(
            worker_logits,
            obs.labels.clone(),
            mix.labels.clone(),
            mix.lambda.clone(),
        ),
        (None, Some(scale)) => scaled_crowd_nll(
            worker_logits,
            obs.labels.clone(),
            obs.weights.clone(),
            scale,
        ),
        (None, None) => weighted_crowd_nll(worker_logits, obs.labels.clone(), obs.weights.clone()),
    }
}

/// A fresh Adam with these settings, raising `non_finite` (when given) on a NaN or infinite
/// gradient entry.
fn new_optimizer(settings: &AdamSettings, non_finite: Option<&Arc<AtomicBool>>) -> ModuleOptimizer {
    let adam = FusedAdam::new(
        settings.beta_1,
        settings.beta_2,
        settings.epsilon,
        settings.weight_decay,
    );
    let adam = if settings.rectified {
        adam.rectified()
    } else {
        adam
    };
    ModuleOptimizer::from(match non_finite {
        Some(flag) => adam.with_non_finite_flag(flag.clone()),
        None => adam,
    })
}
