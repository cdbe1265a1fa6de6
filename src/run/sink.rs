//! Where each epoch's metrics go while a run trains: the checkpoint's `metrics.jsonl`
//! ([`MetricsLog`], in the checkpoint and log directories) and TensorBoard scalars.

use crate::checkpoint::MetricsLog;
use crate::error::Result;
use crate::metrics::EpochMetrics;
use crate::report::tensorboard::EventWriter;
use crate::run::outputs::Outputs;

/// Receives each epoch's metrics: `metrics.jsonl` lines and TensorBoard scalars.
pub(crate) struct EpochSink {
    jsonl: MetricsLog,
    events: Option<EventWriter>,
}

impl EpochSink {
    /// Opens the outputs, rewriting metrics.jsonl with `history` (the epochs a resumed run
    /// already has; lines a crash left after them are dropped).
    pub(crate) fn create(outputs: Outputs<'_>, history: &[EpochMetrics]) -> Result<Self> {
        let dirs: Vec<&std::path::Path> = [outputs.save_dir, outputs.log_dir]
            .into_iter()
            .flatten()
            .collect();
        let events = match outputs.log_dir {
            Some(dir) => Some(EventWriter::create(dir)?),
            None => None,
        };
        Ok(EpochSink {
            jsonl: MetricsLog::create(&dirs, history)?,
            events,
        })
    }

    pub(crate) fn write(&mut self, m: &EpochMetrics) -> Result<()> {
        self.jsonl.write(m)?;
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
