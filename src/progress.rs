//! Progress reporting, behind a trait so that the library never prints: the binary shows bars
//! for people or JSON lines for pipelines; tests stay silent.
//!
//! ```
//! use conal::metrics::EpochMetrics;
//! use conal::progress::Progress;
//!
//! /// Counts epochs and stops a run after the third.
//! struct StopAfter3(usize);
//!
//! impl Progress for StopAfter3 {
//!     fn epoch(&mut self, _: &EpochMetrics) {
//!         self.0 += 1;
//!     }
//!     fn cancelled(&mut self) -> bool {
//!         self.0 >= 3
//!     }
//! }
//!
//! let data = conal::data::synthetic::SyntheticConfig::default().generate()?.data;
//! let params = conal::config::RunParams {
//!     recipe: Some(conal::config::Recipe::Paper),
//!     ..conal::config::RunParams::new(conal::model::Method::Mv)
//! };
//! let source = conal::data::source::DataSpec::memory();
//! let e = conal::estimator::fit(&params, source, &data, Default::default(), &mut StopAfter3(0))
//!     .unwrap_err();
//! assert!(matches!(e, conal::Error::Interrupted { epoch: 3, .. }));
//! # Ok::<(), conal::Error>(())
//! ```

use crate::metrics::EpochMetrics;

/// Receives progress events from long-running work. `Send`, so that a fit can run on a
/// thread pool of its own while the caller waits.
pub trait Progress: Send {
    /// A phase of work starts: `total` units (epochs, runs, iterations) labelled `label`.
    fn start(&mut self, label: &str, total: u64) {
        let _ = (label, total);
    }

    /// Step `done` of `total` within the current unit finished (batches within an epoch).
    fn step(&mut self, done: u64, total: u64) {
        let _ = (done, total);
    }

    /// An epoch finished.
    fn epoch(&mut self, metrics: &EpochMetrics) {
        let _ = metrics;
    }

    /// One unit of a non-epoch phase finished, with a short status message.
    fn advance(&mut self, message: &str) {
        let _ = message;
    }

    /// The phase ended.
    fn finish(&mut self, message: &str) {
        let _ = message;
    }

    /// Whether the caller asked to stop (Ctrl-C in Python). Asked after every epoch; long
    /// work then ends with [`Error::Interrupted`](crate::Error::Interrupted), keeping what
    /// it saved so far.
    fn cancelled(&mut self) -> bool {
        false
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
