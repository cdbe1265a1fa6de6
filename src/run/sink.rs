//! Where each epoch's metrics go while a run trains: `metrics.jsonl` lines in the checkpoint
//! and log directories, and TensorBoard scalars.

use std::io::Write;
use std::path::PathBuf;

use crate::checkpoint::files;
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use crate::report::tensorboard::EventWriter;
use crate::run::Outputs;

/// Receives each epoch's metrics: `metrics.jsonl` lines and TensorBoard scalars.
pub(crate) struct EpochSink {
    jsonl: Vec<(PathBuf, std::fs::File)>,
    events: Option<EventWriter>,
}

impl EpochSink {
    /// Opens the outputs, rewriting metrics.jsonl with `history` (the epochs a resumed run
    /// already has; lines a crash left after them are dropped).
    pub(crate) fn create(outputs: Outputs<'_>, history: &[EpochMetrics]) -> Result<Self> {
        let mut jsonl = Vec::new();
        for dir in [outputs.save_dir, outputs.log_dir].into_iter().flatten() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let path = dir.join(files::METRICS);
            if jsonl.iter().any(|(p, _)| *p == path) {
                continue;
            }
            let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            for m in history {
                let line = serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?;
                writeln!(file, "{line}").map_err(|e| Error::io(&path, e))?;
            }
            jsonl.push((path, file));
        }
        let events = match outputs.log_dir {
            Some(dir) => Some(EventWriter::create(dir)?),
            None => None,
        };
        Ok(EpochSink { jsonl, events })
    }

    pub(crate) fn write(&mut self, m: &EpochMetrics) -> Result<()> {
        let line = serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?;
        for (path, file) in &mut self.jsonl {
            writeln!(file, "{line}").map_err(|e| Error::io(path, e))?;
        }
        if let Some(ev) = &mut self.events {
            let step = m.epoch as i64;
            let mut scalars = vec![
                ("train/loss", Some(m.train_loss)),
                ("train/nll", Some(m.train_nll)),
                ("train/lr", Some(m.lr)),
                ("train/mean_omega", m.mean_omega),
                ("holdout/nll", m.holdout_nll),
                ("holdout/agreement", m.holdout_agreement),
                ("valid/accuracy", m.valid_accuracy),
                ("test/accuracy", m.test_accuracy),
                ("time/epoch_ms", Some(m.wall_ms)),
            ];
            let select_tag = format!("select/{}", m.selection_metric_name);
            scalars.push((select_tag.as_str(), Some(m.selection_metric)));
            for (tag, value) in scalars {
                if let Some(v) = value {
                    ev.scalar(tag, step, v as f32)?;
                }
            }
            ev.flush()?;
        }
        Ok(())
    }
}
