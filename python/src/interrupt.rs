//! Progress and Ctrl-C for fits that run with the GIL released: a [`Progress`] that reports
//! to a Python callable and polls a stop flag, and [`interruptible`], which runs the fit on
//! its own thread while the interpreter's main thread watches for signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conal::metrics::EpochMetrics;
use conal::progress::Progress;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::convert::to_py;

/// Reports to a Python callable `callback(done, total, message)` at most every 0.2 s, and
/// tells the fit to stop once the interpreter's main thread has seen Ctrl-C (`stop`, set by
/// [`interruptible`]). It may be asked from any thread: an ensemble's members train side by
/// side on the thread pool and all ask it.
pub struct PyProgress<'a> {
    callback: Option<Py<PyAny>>,
    total: u64,
    done: u64,
    last: Instant,
    stop: &'a AtomicBool,
}

impl<'a> PyProgress<'a> {
    const EVERY: Duration = Duration::from_millis(200);

    /// Reports to `callback` (none: silent), stopping when `stop` is raised.
    pub fn new(callback: Option<Py<PyAny>>, stop: &'a AtomicBool) -> Self {
        PyProgress {
            callback,
            total: 0,
            done: 0,
            last: Instant::now(),
            stop,
        }
    }

    fn report(&mut self, message: &str, force: bool) {
        if self.callback.is_none() || (!force && self.last.elapsed() < Self::EVERY) {
            return;
        }
        self.last = Instant::now();
        let (done, total) = (self.done, self.total);
        Python::attach(|py| {
            if let Some(cb) = &self.callback
                && let Err(e) = cb.call1(py, (done, total, message))
            {
                // A broken progress callback must not lose the fit: report it once.
                e.print(py);
                self.callback = None;
            }
        });
    }
}

impl Progress for PyProgress<'_> {
    fn start(&mut self, _label: &str, total: u64) {
        self.total = total;
        self.done = 0;
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        self.done += 1;
        let message = format!("epoch {} loss {:.4}", m.epoch, m.train_loss);
        let force = self.done == self.total;
        self.report(&message, force);
    }

    fn cancelled(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Runs `work` on a thread of its own with the GIL released, while the calling thread (the
/// interpreter's main thread, the only one where Python sees signals) checks for Ctrl-C
/// every 0.1 s and, when it comes, sets the flag `work` polls through its [`PyProgress`].
/// `work` then ends with `Error::Interrupted`, and what is returned is Python's own
/// `KeyboardInterrupt` (also where `work` finished before it saw the flag). Polling here
/// rather than inside the fit is what lets every thread of the fit (ensemble members, a pool
/// of `n_jobs` threads) see the stop.
pub fn interruptible<T: Send>(
    py: Python<'_>,
    stop: &AtomicBool,
    work: impl FnOnce() -> conal::Result<T> + Send,
) -> PyResult<T> {
    let mut signal: Option<PyErr> = None;
    let outcome = py.detach(|| {
        std::thread::scope(|scope| {
            let waiter = std::thread::current();
            let worker = std::thread::Builder::new()
                .name("conal-fit".into())
                // The main thread's stack, not a spawned thread's 2 MiB default.
                .stack_size(8 << 20)
                .spawn_scoped(scope, move || {
                    let out = work();
                    waiter.unpark();
                    out
                })
                .map_err(|e| PyRuntimeError::new_err(format!("cannot start the fit: {e}")))?;
            while !worker.is_finished() {
                std::thread::park_timeout(Duration::from_millis(100));
                if signal.is_none() && !worker.is_finished() {
                    Python::attach(|py| {
                        if let Err(e) = py.check_signals() {
                            signal = Some(e);
                            stop.store(true, Ordering::Relaxed);
                        }
                    });
                }
            }
            worker.join().map_err(|payload| {
                to_py(conal::Error::WorkerPanic {
                    what: "the fit".into(),
                    message: conal::error::panic_message(payload.as_ref()),
                })
            })
        })
    })?;
    match signal {
        // Ctrl-C is raised even where the fit finished before it saw the stop.
        Some(e) => Err(e),
        None => outcome.map_err(to_py),
    }
}
