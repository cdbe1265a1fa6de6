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
use crate::loss::weighted_crowd_nll;
use crate::metrics::EpochMetrics;
use crate::model::{CrowdModel, Mode, Observed};
use crate::progress::Progress;
use crate::rng::{rng, stream};
use crate::train::adam::{FusedAdam, fuses_on};
use crate::train::batch::{Inputs, LabelIndex, batches};
use crate::train::config::{AdamReset, AdamSettings, Selection, TrainConfig};
use crate::train::eval::{accuracy, argmax_rows, probabilities};
use crate::train::snapshot::{BestSnapshot, Snapshot, model_bytes, model_from_bytes};

/// A split with true labels, pre-batched for evaluation.
struct EvalSet<B> {
    chunks: Vec<B>,
    truth: Vec<u32>,
}

/// Held-out crowd-labelled items, pre-batched with their observed labels (also kept on the
/// host as (batch row, label) pairs).
struct Holdout<B> {
    chunks: Vec<HoldoutChunk<B>>,
}

/// A batch, its observed labels, and the same labels as (batch row, label) pairs.
type HoldoutChunk<B> = (B, Observed, Vec<(usize, u32)>);

const EVAL_CHUNK: usize = 4096;

fn eval_set<I: Inputs>(inputs: &I, truth: &[u32], device: &Device) -> EvalSet<I::Batch> {
    let rows: Vec<usize> = (0..inputs.len()).collect();
    EvalSet {
        chunks: rows
            .chunks(EVAL_CHUNK)
            .map(|c| inputs.batch(c, device))
            .collect(),
        truth: truth.to_vec(),
    }
}

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
            return Err(Error::Config("training needs an autodiff device".into()));
        }
        if let Some(w) = data.weights
            && (w.len() != data.annotations.len() || w.iter().any(|v| !v.is_finite() || *v < 0.0))
        {
            return Err(Error::Config(
                "label weights must be one finite, non-negative number per annotation".into(),
            ));
        }
        let labels = LabelIndex::weighted(data.inputs.len(), data.annotations, data.weights);

        let mut train_items = labels.labelled_items();
        if train_items.is_empty() {
            return Err(Error::Config("no training item has a crowd label".into()));
        }
        let eval_device = device.clone().inner();
        let holdout = if config.select == Selection::CrowdHoldout {
            let mut shuffled = train_items.clone();
            let holdout_seed = config.holdout_seed.unwrap_or(config.seed);
            shuffled.shuffle(&mut rng(holdout_seed, stream::HOLDOUT));
            // The held-out items: the first `holdout` of the shuffled items, or fold j of k.
            let (from, to) = match config.holdout_fold {
                Some((j, k)) if k >= 2 && j < k => {
                    let n = shuffled.len();
                    (j * n / k, (j + 1) * n / k)
                }
                Some((j, k)) => {
                    return Err(Error::Config(format!(
                        "holdout fold {j} of {k} does not exist"
                    )));
                }
                None => (
                    0,
                    ((shuffled.len() as f64) * config.holdout).round() as usize,
                ),
            };
            if from >= to || to - from >= shuffled.len() {
                return Err(Error::param(
                    "holdout",
                    config.holdout,
                    format!(
                        "of {} labelled items leaves nothing to hold out or to train on",
                        shuffled.len()
                    ),
                ));
            }
            let mut held: Vec<usize> = shuffled[from..to].to_vec();
            held.sort_unstable();
            train_items = shuffled[..from]
                .iter()
                .chain(&shuffled[to..])
                .copied()
                .collect();
            train_items.sort_unstable();
            Some(Holdout {
                chunks: held
                    .chunks(EVAL_CHUNK)
                    .map(|c| {
                        (
                            data.inputs.batch(c, &eval_device),
                            labels.observed(c, &eval_device),
                            labels.pairs(c),
                        )
                    })
                    .collect(),
            })
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
        let full_batch = (config.batch_size >= train_items.len()).then(|| {
            (
                data.inputs.batch(&train_items, device),
                labels.observed(&train_items, device),
            )
        });
        let non_finite =
            fuses_on(&device.clone().inner()).then(|| Arc::new(AtomicBool::new(false)));
        Ok(Trainer {
            optim: new_optimizer(&config.adam, non_finite.as_ref()),
            config,
            device: device.clone(),
            model: Some(model),
            labels,
            train_items,
            full_batch,
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
            let (mut x, mut obs) = match &self.full_batch {
                Some((x, obs)) => (x.clone(), obs.clone()),
                None => (
                    inputs.batch(rows, &self.device),
                    self.labels.observed(rows, &self.device),
                ),
            };
            if let Some(alpha) = self.config.mixup {
                let lambda: f64 = rand_distr::Beta::new(alpha, alpha)
                    .map(|b| rand_distr::Distribution::sample(&b, &mut rng))
                    .unwrap_or(1.0);
                let lambda = lambda.max(1.0 - lambda);
                let mut perm: Vec<usize> = (0..rows.len()).collect();
                perm.shuffle(&mut rng);
                if let Some(mixed) = I::mix(&x, &perm, lambda) {
                    x = mixed;
                    obs = self
                        .labels
                        .observed_mixed(rows, &perm, lambda, &self.device);
                }
            }
            if obs.len == 0 {
                continue;
            }
            let out = self.model().forward(&x, &obs, &mut Mode::train(&mut rng));
            let nll =
                weighted_crowd_nll(out.worker_logits, obs.labels.clone(), obs.weights.clone());
            let loss = match self.model().penalty(self.config.scale) {
                Some(p) => nll.clone() + p,
                None => nll.clone(),
            };
            let loss_value: f64 = loss.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() {
                return Err(Error::Diverged(format!(
                    "loss is {loss_value} at epoch {epoch}, batch {} of {}",
                    step + 1,
                    steps.len()
                )));
            }
            loss_sum += loss_value;
            nll_sum += nll.into_scalar::<f32>() as f64;
            if let Some(omega) = out.omega {
                omega_sum += omega.sum().into_scalar::<f32>() as f64;
                omega_n += obs.len;
            }
            let grads = GradientsParams::from_grads(loss.backward(), self.model());
            let diverged = |param: String| {
                Error::Diverged(format!(
                    "the gradient of {param} is not finite at epoch {epoch}, batch {} of {}",
                    step + 1,
                    steps.len()
                ))
            };
            if self.non_finite.is_none()
                && let Some(param) = non_finite(self.model(), Some(&grads))
            {
                return Err(diverged(param));
            }
            let model = self.model.take();
            let model = model.expect("the model is absent only inside an optimiser step");
            self.model = Some(self.optim.step(lr, model, grads));
            if let Some(flag) = &self.non_finite
                && flag.swap(false, Ordering::Relaxed)
            {
                // The step has turned exactly the entries with a non-finite gradient into
                // NaN, which names the parameter; the run stops here either way.
                let param = non_finite(self.model(), None).unwrap_or_else(|| "a parameter".into());
                return Err(diverged(param));
            }
            if let Some(decay) = self.config.ema {
                let current = self.model().valid();
                self.ema = Some(match self.ema.take() {
                    Some(average) => ema_update(average, &current, decay),
                    None => current,
                });
            }
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
            Some(h) if noise_model => Some(holdout_nll(&eval_model, h)),
            _ => None,
        };
        let holdout_agreement = match &self.holdout {
            Some(h) if !noise_model => Some(holdout_agreement(&eval_model, h)),
            _ => None,
        };
        let valid_accuracy = self.valid.as_ref().map(|v| set_accuracy(&eval_model, v));
        let test_accuracy = self.test.as_ref().map(|t| set_accuracy(&eval_model, t));
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
        let holdout_probabilities = self
            .holdout
            .as_ref()
            .map(|h| holdout_label_probabilities(&model, h));
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
            .map_err(|e| Error::Config(format!("cannot serialise the optimiser state: {e}")))?
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

/// `decay · average + (1 − decay) · current`, parameter by parameter (matched by id).
fn ema_update<M: burn::module::Module>(average: M, current: &M, decay: f64) -> M {
    use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
    use burn::tensor::Tensor;
    use std::collections::HashMap;
    struct Collect(HashMap<ParamId, Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.0.insert(param.id, t.reshape([n]));
        }
    }
    struct Blend(HashMap<ParamId, Tensor<1>>, f64);
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(new) = self.0.remove(&param.id) else {
                return param;
            };
            let decay = self.1;
            param.map(|old| {
                let dims = old.dims();
                old.mul_scalar(decay) + new.reshape(dims).mul_scalar(1.0 - decay)
            })
        }
    }
    let mut values = Collect(HashMap::new());
    current.visit(&mut values);
    average.map(&mut Blend(values.0, decay))
}

/// Sums every gradient entry (or, without gradients, every parameter entry) of a module, one
/// reduction per parameter, and names the parameters on the way (for the message if a sum
/// is not finite).
struct FiniteCheck<'a> {
    grads: Option<&'a GradientsParams>,
    path: Vec<String>,
    sums: Vec<(String, burn::tensor::Tensor<1>)>,
}

impl burn::module::ModuleVisitor for FiniteCheck<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        // The plain sum is NaN or infinite whenever an entry is (a finite sum of finite
        // entries overflows only when training has diverged anyway).
        let sum = match self.grads {
            Some(grads) => grads.get::<D>(param.id).map(|g| g.sum()),
            None => Some(param.val().sum()),
        };
        if let Some(sum) = sum {
            self.sums.push((self.path.join("."), sum));
        }
    }
}

/// The name of a parameter with a NaN or infinite entry in its gradient (`grads`) or, without
/// `grads`, in its values; `None` if there is none. One read-back when all is well.
fn non_finite<M: burn::module::Module>(
    model: &M,
    grads: Option<&GradientsParams>,
) -> Option<String> {
    let mut visitor = FiniteCheck {
        grads,
        path: Vec::new(),
        sums: Vec::new(),
    };
    model.visit(&mut visitor);
    let total = visitor
        .sums
        .iter()
        .map(|(_, s)| s.clone())
        .reduce(|a, b| a + b)?;
    if total.into_scalar::<f32>().is_finite() {
        return None;
    }
    // Find the culprit (rare, so a second read-back per parameter is fine).
    for (name, sum) in visitor.sums {
        if !sum.into_scalar::<f32>().is_finite() {
            return Some(if name.is_empty() {
                "a parameter".into()
            } else {
                name
            });
        }
    }
    // Every parameter's own sum is finite: only adding them up overflowed, so no entry is
    // NaN or infinite.
    None
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
    ModuleOptimizer::from(match non_finite {
        Some(flag) => adam.with_non_finite_flag(flag.clone()),
        None => adam,
    })
}

fn set_accuracy<M: CrowdModel<B>, B>(model: &M, set: &EvalSet<B>) -> f64 {
    let mut predictions = Vec::with_capacity(set.truth.len());
    for chunk in &set.chunks {
        let probs = probabilities(model.class_logits(chunk, &mut Mode::eval()));
        predictions.extend(argmax_rows(&probs.0, probs.1));
    }
    accuracy(&predictions, &set.truth)
}

fn holdout_agreement<M: CrowdModel<B>, B>(model: &M, holdout: &Holdout<B>) -> f64 {
    let (mut right, mut n) = (0usize, 0usize);
    for (x, _, pairs) in &holdout.chunks {
        let probs = probabilities(model.class_logits(x, &mut Mode::eval()));
        let predicted = argmax_rows(&probs.0, probs.1);
        for &(row, label) in pairs {
            right += usize::from(predicted[row] == label);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { right as f64 / n as f64 }
}

/// The probability of each held-out crowd label under `model`, chunk by chunk.
fn holdout_label_probabilities<M: CrowdModel<B>, B>(model: &M, holdout: &Holdout<B>) -> Vec<f64> {
    let mut out = Vec::new();
    for (x, obs, _) in &holdout.chunks {
        if obs.len == 0 {
            continue;
        }
        let logits = model.forward(x, obs, &mut Mode::eval()).worker_logits;
        let p = burn::tensor::activation::log_softmax(logits, 1)
            .gather(1, obs.labels.clone().reshape([obs.len, 1]))
            .exp()
            .into_data();
        out.extend(
            p.try_into_vec::<f32>()
                .expect("float tensors are f32")
                .into_iter()
                .map(f64::from),
        );
    }
    out
}

fn holdout_nll<M: CrowdModel<B>, B>(model: &M, holdout: &Holdout<B>) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for (x, obs, _) in &holdout.chunks {
        if obs.len == 0 {
            continue;
        }
        let out = model.forward(x, obs, &mut Mode::eval());
        let nll: f32 =
            weighted_crowd_nll(out.worker_logits, obs.labels.clone(), obs.weights.clone())
                .into_scalar();
        total += nll as f64 * obs.len as f64;
        n += obs.len;
    }
    if n == 0 {
        f64::INFINITY
    } else {
        total / n as f64
    }
}
