//! The epoch loop's settings (saved in `args.json` with the rest of the run's, see
//! [`crate::config`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the epoch whose model is kept is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// Best accuracy on a validation split with true labels (`--valid-data`).
    Valid,
    /// Lowest negative log-likelihood of the observed crowd labels of held-out crowd-labelled
    /// items (`--holdout` of them). Honest: uses no true label at all.
    CrowdHoldout,
    /// The last epoch.
    Last,
    /// Best accuracy on the **test** set: the authors' Music protocol. It inflates the reported
    /// accuracy and is always labelled "test-peeked (paper protocol)".
    TestPeek,
}

impl Selection {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Selection::Valid => "valid",
            Selection::CrowdHoldout => "crowd-holdout",
            Selection::Last => "last",
            Selection::TestPeek => "test-peek",
        }
    }

    /// The metric this selection optimises, for logs.
    pub fn metric_name(self) -> &'static str {
        match self {
            Selection::Valid => "valid_accuracy",
            Selection::CrowdHoldout => "holdout_nll",
            Selection::Last => "epoch",
            Selection::TestPeek => "test_accuracy",
        }
    }
}

/// How the learning rate changes over the epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// The same rate throughout (the authors').
    #[default]
    Constant,
    /// Cosine decay from `lr` at the first epoch to 1 % of it at the last.
    Cosine,
    /// PyTorch's `CosineAnnealingLR(T_max = epochs)` stepped once per epoch (the Annot-Mix
    /// benchmark's): epoch e of E trains at `lr · (1 + cos(π (e − 1) / E)) / 2`.
    CosineAnnealing,
}

impl LrSchedule {
    /// The rate at 1-based `epoch` of `epochs`, for a base rate `lr`.
    pub fn at(self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let t = if epochs > 1 {
                    (epoch.saturating_sub(1)) as f64 / (epochs - 1) as f64
                } else {
                    0.0
                };
                let floor = 0.01;
                lr * (floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
            }
            LrSchedule::CosineAnnealing => {
                let t = epoch.saturating_sub(1) as f64 / epochs.max(1) as f64;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

/// When Adam's moment estimates start afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum AdamReset {
    /// Never: one optimiser for the whole run (standard Adam).
    #[default]
    Never,
    /// At every epoch, as the authors' code does (it creates a new `optim.Adam` each epoch).
    /// With one step per epoch (full-batch training) every step is then Adam's first step,
    /// `lr · g / (|g| + ε)`: sign descent, which regularises noticeably (see the README).
    Epoch,
}

/// Adam settings. The defaults are PyTorch's (and the authors'): burn's own Adam defaults to
/// ε = 1e-5, which we override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// β₁. Defaults to 0.9.
    pub beta_1: f32,
    /// β₂. Defaults to 0.999.
    pub beta_2: f32,
    /// ε. Defaults to 1e-8.
    pub epsilon: f32,
    /// L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=…)`). Defaults to 0.
    pub weight_decay: f32,
    /// When the moment estimates are reset. Defaults to never.
    #[serde(default)]
    pub reset: AdamReset,
    /// RAdam (`torch.optim.RAdam`) instead of Adam. Defaults to false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rectified: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which optimiser (`--optimizer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (the authors').
    #[default]
    Adam,
    /// RAdam, Adam with a rectified adaptive step (the Annot-Mix benchmark's).
    Radam,
}

/// What mixup blends (`--mixup-over`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum MixupOver {
    /// Items: the batch with a shuffled copy of itself, one λ per batch (folded to ≥ ½),
    /// every label of both items kept with its weight.
    #[default]
    Items,
    /// Labels, as Annot-Mix: every observed label is a (features, annotator, label) triple,
    /// blended with a random partner triple of the batch by its own λ ~ Beta(α, α) (not
    /// folded); the model takes the blended annotator. Only for models with an annotator
    /// input that can be blended (`annot-mix`, `conal`).
    Labels,
}

impl MixupOver {
    fn is_items(&self) -> bool {
        *self == MixupOver::Items
    }
}

/// GeoCrowdNet's volume regularisers (Ibrahim, Nguyen & Fu, ICLR 2023; `--regularizer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum RegularizerKind {
    /// `−log det(FᵀF)`, F the batch's class probabilities `[batch, K]` (GeoCrowdNet-F):
    /// favours confident predictions spread over the classes. Any method.
    GeoF,
    /// `−log det(WᵀW)`, W the stack of every annotator's confusion `[R·K, K]`
    /// (GeoCrowdNet-W): favours spread-out confusions. Needs stochastic confusions
    /// (crowdlayer-mw or conal with `confusion` stochastic).
    GeoW,
}

impl RegularizerKind {
    /// Name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RegularizerKind::GeoF => "geo-f",
            RegularizerKind::GeoW => "geo-w",
        }
    }
}

/// A volume regulariser and its weight: `λ R` is added to every batch's loss, R set to 0 for
/// a batch where it is singular, not finite or above 100 (as the authors' code does).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regularizer {
    /// Which volume.
    pub kind: RegularizerKind,
    /// λ (the Annot-Mix benchmark's 1e-3 by default).
    pub lambda: f64,
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            reset: AdamReset::Never,
            rectified: false,
        }
    }
}

/// How a model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seed of every random choice (initial weights, holdout split, batch order, dropout).
    pub seed: u64,
    /// Passes over the training items.
    pub epochs: usize,
    /// Items per optimisation step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// How the learning rate changes over the epochs.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// λ of CoNAL's regulariser −λ Σ_r ‖W_r − W_g‖_F (the seed's `--scale`).
    pub scale: f64,
    /// Model selection.
    pub select: Selection,
    /// Fraction of crowd-labelled items held out for `crowd-holdout` selection.
    pub holdout: f64,
    /// Seed of the holdout split when it differs from `seed` (ensemble members share their
    /// run's split). `None`: `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_seed: Option<u64>,
    /// Hold out fold j of k (of the items shuffled by the holdout seed) instead of the
    /// `holdout` fraction: ensemble members hold out disjoint folds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_fold: Option<(usize, usize)>,
    /// Optimiser settings.
    pub adam: AdamSettings,
    /// Evaluate (and keep) an exponential moving average of the weights, updated after every
    /// step with this decay, instead of the raw weights. `None`: the raw weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema: Option<f64>,
    /// Mixup with this Beta(α, α) parameter: each batch is blended with a shuffled copy of
    /// itself, labels weighted accordingly. `None`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixup: Option<f64>,
    /// What mixup blends. Defaults to items.
    #[serde(default, skip_serializing_if = "MixupOver::is_items")]
    pub mixup_over: MixupOver,
    /// Data-parallel shares: every batch is split into this many parts, each part's
    /// gradients are computed in parallel on its own instance of the training device, and
    /// their sum (each part's loss weighted by its share of the batch's labels) — the
    /// gradient of the whole batch's mean loss — takes one optimiser step. 1: no split.
    /// Batch norm then normalises each part by its own statistics, and dropout draws each
    /// part's mask in turn, so models with either differ from one-device training by more
    /// than rounding; without them the step is the same up to rounding. With three or more
    /// shares, repeated runs have differed in the last bits (two shares: the same bits).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub devices: usize,
    /// A volume regulariser added to the loss (GeoCrowdNet). `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regularizer: Option<Regularizer>,
}

pub(crate) fn is_one(n: &usize) -> bool {
    *n == 1
}

pub(crate) fn one() -> usize {
    1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 0,
            epochs: 200,
            batch_size: 1024,
            lr: 1e-2,
            lr_schedule: LrSchedule::Constant,
            scale: 1e-5,
            select: Selection::CrowdHoldout,
            holdout: 0.15,
            holdout_seed: None,
            holdout_fold: None,
            adam: AdamSettings::default(),
            ema: None,
            mixup: None,
            mixup_over: MixupOver::Items,
            devices: 1,
            regularizer: None,
        }
    }
}

impl TrainConfig {
    /// Mixup's α when it blends labels (Annot-Mix's mixup, [`MixupOver::Labels`]).
    pub fn label_mixup(&self) -> Option<f64> {
        self.mixup.filter(|_| self.mixup_over == MixupOver::Labels)
    }

    /// Mixup's α when it blends items ([`MixupOver::Items`]).
    pub fn item_mixup(&self) -> Option<f64> {
        self.mixup.filter(|_| self.mixup_over == MixupOver::Items)
    }

    /// Checks ranges; an error names the field ([`Error::Param`]).
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::param("epochs", self.epochs, "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::param(
                "batch_size",
                self.batch_size,
                "must be at least 1",
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::param("lr", self.lr, "must be a positive number"));
        }
        if !self.scale.is_finite() || self.scale < 0.0 {
            return Err(Error::param(
                "scale",
                self.scale,
                "must be a non-negative number",
            ));
        }
        if self.select == Selection::CrowdHoldout && !(self.holdout > 0.0 && self.holdout < 1.0) {
            return Err(Error::param(
                "holdout",
                self.holdout,
                "must lie strictly between 0 and 1 for crowd-holdout selection",
            ));
        }
        let a = &self.adam;
        if !(0.0..1.0).contains(&a.beta_1) || !(0.0..1.0).contains(&a.beta_2) {
            return Err(Error::param(
                "adam_betas",
                format!("({}, {})", a.beta_1, a.beta_2),
                "Adam needs 0 ≤ β < 1",
            ));
        }
        if a.epsilon.is_nan() || a.epsilon <= 0.0 {
            return Err(Error::param("adam_eps", a.epsilon, "must be positive"));
        }
        if self.devices == 0 || self.devices > 64 {
            return Err(Error::param("devices", self.devices, "must be 1 to 64"));
        }
        if self.devices > 1 && self.mixup.is_some() {
            return Err(Error::param(
                "devices",
                self.devices,
                "mixup blends items across the whole batch; it runs on one device only",
            ));
        }
        if let Some(reg) = &self.regularizer {
            if !(reg.lambda.is_finite() && reg.lambda >= 0.0) {
                return Err(Error::param(
                    "reg_lambda",
                    reg.lambda,
                    "must be a non-negative number",
                ));
            }
            if reg.kind == RegularizerKind::GeoF && self.devices > 1 {
                return Err(Error::param(
                    "devices",
                    self.devices,
                    "geo-f's volume is that of the whole batch's predictions; it runs on one \
                     device only",
                ));
            }
        }
        if let Some(e) = self.ema
            && !(0.0..1.0).contains(&e)
        {
            return Err(Error::param("ema", e, "must lie in [0, 1)"));
        }
        if let Some(m) = self.mixup
            && !(m.is_finite() && m > 0.0)
        {
            return Err(Error::param("mixup", m, "Beta(α, α) needs α > 0"));
        }
        if a.weight_decay.is_nan() || a.weight_decay < 0.0 {
            return Err(Error::param(
                "weight_decay",
                a.weight_decay,
                "must be non-negative",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torch's CosineAnnealingLR(T_max = 50) stepped per epoch: lr at epoch 1, half of it at
    /// epoch 26, lr · (1 + cos(49π/50)) / 2 at the last.
    #[test]
    fn cosine_annealing_is_torchs() {
        let at = |e| LrSchedule::CosineAnnealing.at(0.01, e, 50);
        assert_eq!(at(1), 0.01);
        assert!((at(26) - 0.005).abs() < 1e-15);
        let last = 0.01 * (1.0 + (49.0 * std::f64::consts::PI / 50.0).cos()) / 2.0;
        assert!((at(50) - last).abs() < 1e-15);
        assert!(at(50) > 0.0);
    }
}
