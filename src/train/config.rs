//! Training settings (saved in `args.json` with the model configuration).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the epoch whose model is kept is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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

/// When Adam's moment estimates start afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
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
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            reset: AdamReset::Never,
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
    /// λ of CoNAL's regulariser −λ Σ_r ‖W_r − W_g‖_F (the seed's `--scale`).
    pub scale: f64,
    /// Model selection.
    pub select: Selection,
    /// Fraction of crowd-labelled items held out for `crowd-holdout` selection.
    pub holdout: f64,
    /// Optimiser settings.
    pub adam: AdamSettings,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 0,
            epochs: 200,
            batch_size: 1024,
            lr: 1e-2,
            scale: 1e-5,
            select: Selection::CrowdHoldout,
            holdout: 0.15,
            adam: AdamSettings::default(),
        }
    }
}

impl TrainConfig {
    /// Checks ranges; returns a message that names the flag.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("--batch-size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be a positive number, got {}", self.lr));
        }
        if !self.scale.is_finite() || self.scale < 0.0 {
            return bad(format!(
                "--scale must be a non-negative number, got {}",
                self.scale
            ));
        }
        if self.select == Selection::CrowdHoldout && !(self.holdout > 0.0 && self.holdout < 1.0) {
            return bad(format!(
                "--holdout must lie strictly between 0 and 1 for --select crowd-holdout, got {}",
                self.holdout
            ));
        }
        let a = &self.adam;
        if !(0.0..1.0).contains(&a.beta_1) || !(0.0..1.0).contains(&a.beta_2) || a.epsilon <= 0.0 {
            return bad("Adam needs 0 ≤ β < 1 and ε > 0".into());
        }
        if a.weight_decay < 0.0 {
            return bad("--weight-decay must be non-negative".into());
        }
        Ok(())
    }
}
