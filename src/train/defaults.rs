//! The training settings each task implies: the authors' settings for Music and LabelMe, the
//! Music ones for your own data, and the demo's for a generated crowd.

use crate::data::source::TaskKind;
use crate::train::config::{AdamReset, Selection};

impl TaskKind {
    /// The task's default settings.
    pub fn defaults(self) -> TaskDefaults {
        match self {
            // The authors' Music settings: full batch (700 songs < 1024), 200 epochs, Adam
            // re-created every epoch as their code does.
            TaskKind::Music => TaskDefaults {
                epochs: 200,
                batch_size: 1024,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 80,
                normalize_instance: false,
                batch_norm: true,
                select: Selection::CrowdHoldout,
                adam_reset: AdamReset::Epoch,
            },
            // The authors' LabelMe settings (batch 1024, lr 1e-2, Adam re-created every epoch),
            // with 500 epochs: their 100 epochs are ~1,000 steps on the 10,000 augmented images
            // but only 100 full-batch steps on the 1,000 published ones.
            TaskKind::Labelme => TaskDefaults {
                epochs: 500,
                batch_size: 1024,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 20,
                normalize_instance: true,
                batch_norm: false,
                select: Selection::Valid,
                adam_reset: AdamReset::Epoch,
            },
            // Your own data: the Music settings, whose input batch norm copes with unscaled
            // features.
            TaskKind::Table => TaskKind::Music.defaults(),
            TaskKind::Synthetic => TaskDefaults {
                epochs: 100,
                batch_size: 256,
                lr: 1e-2,
                scale: 1e-5,
                emb_dim: 20,
                normalize_instance: true,
                batch_norm: false,
                select: Selection::CrowdHoldout,
                adam_reset: AdamReset::Never,
            },
        }
    }
}

/// Settings that differ between tasks (every one can be overridden on the command line).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefaults {
    /// `--epochs`.
    pub epochs: usize,
    /// `--batch-size`.
    pub batch_size: usize,
    /// `--lr`.
    pub lr: f64,
    /// `--scale` (λ).
    pub scale: f64,
    /// `--emb-dim` (E).
    pub emb_dim: usize,
    /// Whether the auxiliary network normalises the instance embedding.
    pub normalize_instance: bool,
    /// Whether the classifier head batch-normalises its input and hidden layer (Music head).
    pub batch_norm: bool,
    /// `--select`.
    pub select: Selection,
    /// `--adam-reset` for CoNAL (other methods use standard Adam, see
    /// [`Method::adam_reset`](crate::spec::Method::adam_reset)).
    pub adam_reset: AdamReset,
}
