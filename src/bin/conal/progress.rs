//! Progress output: bars for people, JSON lines for pipelines, nothing for tests.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use conal::progress::Progress;
use conal::train::EpochMetrics;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressKind {
    /// Progress bars on stderr (hidden automatically when stderr is not a terminal).
    Bars,
    /// One JSON object per epoch on stderr.
    Json,
    /// Nothing.
    None,
}

/// The one multi-bar all bars draw on, so that log lines can be printed above them.
pub fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// A `tracing` writer that prints above the bars instead of through them.
#[derive(Clone, Copy)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        multi().suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Makes the reporter for `kind`; `log_interval` epochs between summary log lines (0 = none).
pub fn reporter(kind: ProgressKind, log_interval: usize) -> Box<dyn Progress> {
    match kind {
        ProgressKind::Bars => Box::new(Bars {
            bar: None,
            log_interval,
        }),
        ProgressKind::Json => Box::new(JsonLines),
        ProgressKind::None => Box::new(Quiet { log_interval }),
    }
}

fn summary(m: &EpochMetrics) -> String {
    let mut s = format!(
        "epoch {:>4}  loss {:.4}  {} {:.4}",
        m.epoch, m.train_loss, m.selection_metric_name, m.selection_metric
    );
    if let Some(t) = m.test_accuracy {
        s.push_str(&format!("  test_accuracy {t:.4}"));
    }
    if m.best {
        s.push_str("  *");
    }
    s
}

struct Bars {
    bar: Option<ProgressBar>,
    log_interval: usize,
}

impl Progress for Bars {
    fn cancelled(&mut self) -> bool {
        crate::signals::stop_requested()
    }

    fn start(&mut self, label: &str, total: u64) {
        let bar = multi().add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn step(&mut self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("batch {done}/{total}"));
        }
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "loss {:.4} {} {:.4}",
                m.train_loss, m.selection_metric_name, m.selection_metric
            ));
            bar.inc(1);
        }
        if self.log_interval > 0 && m.epoch.is_multiple_of(self.log_interval) {
            tracing::info!("{}", summary(m));
        }
    }

    fn advance(&mut self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
            bar.inc(1);
        }
    }

    fn finish(&mut self, message: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            multi().remove(&bar);
        }
        if !message.is_empty() {
            tracing::info!("{message}");
        }
    }
}

struct JsonLines;

impl Progress for JsonLines {
    fn cancelled(&mut self) -> bool {
        crate::signals::stop_requested()
    }

    fn start(&mut self, label: &str, total: u64) {
        eprintln!(
            "{}",
            serde_json::json!({"event": "start", "phase": label, "total": total})
        );
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        let mut v = serde_json::to_value(m).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("event".into(), "epoch".into());
        }
        eprintln!("{v}");
    }

    fn advance(&mut self, message: &str) {
        eprintln!(
            "{}",
            serde_json::json!({"event": "advance", "message": message})
        );
    }

    fn finish(&mut self, message: &str) {
        eprintln!(
            "{}",
            serde_json::json!({"event": "finish", "message": message})
        );
    }
}

struct Quiet {
    log_interval: usize,
}

impl Progress for Quiet {
    fn cancelled(&mut self) -> bool {
        crate::signals::stop_requested()
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        if self.log_interval > 0 && m.epoch.is_multiple_of(self.log_interval) {
            tracing::debug!("{}", summary(m));
        }
    }
}
