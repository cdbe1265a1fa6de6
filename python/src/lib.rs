//! `conal._conal`: the native module behind the `conal` Python package. It converts numpy
//! arrays and Python values to the library's types, calls the same estimators the `conal`
//! command line calls, and converts the results back; the crowd-kit and scikit-learn shapes
//! (DataFrames, index names) are built by the thin Python layer around it.
//!
//! Every fit runs with the GIL released. Errors become `ValueError` (bad data or parameters),
//! `KeyboardInterrupt` (Ctrl-C during a fit) or `RuntimeError`; a Rust panic surfaces as
//! PyO3's `PanicException`, never an abort.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conal::aggregate::{
    DawidSkene, Glad, InitialErrorStrategy, InitialErrors, Kos, Mace, MaceMethod, MajorityVote,
    Mmsr, OneCoinDawidSkene, Posteriors, Ties, ZeroBasedSkill, agreement,
};
use conal::data::{Annotation, CrowdData, CrowdLabels, Matrix};
use conal::estimator::RunParams;
use conal::metrics::EpochMetrics;
use conal::progress::Progress;
use conal::report::confusion::Confusions;
use conal::run::{FittedModel, Outputs};
use conal::spec::{Method, ModelSpec};
use numpy::{
    PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// The library's error as the Python exception of the same message.
fn to_py(e: conal::Error) -> PyErr {
    match e {
        conal::Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(e.to_string()),
        conal::Error::Io { .. } | conal::Error::WriteFailed { .. } | conal::Error::Diverged(_) => {
            PyRuntimeError::new_err(e.to_string())
        }
        e => PyValueError::new_err(e.to_string()),
    }
}

fn data_err(e: conal::DataError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Checked crowd labels from the integer codes pandas' `factorize` gives (−1 for a missing
/// value; the core names the column and the first bad row). Ids are the codes; the Python
/// layer keeps the real ones.
fn crowd_labels(
    tasks: &PyReadonlyArray1<'_, i64>,
    workers: &PyReadonlyArray1<'_, i64>,
    labels: &PyReadonlyArray1<'_, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
) -> PyResult<CrowdLabels> {
    let classes = (0..n_classes).map(|k| k.to_string()).collect();
    let (t, w, l) = (tasks.as_slice()?, workers.as_slice()?, labels.as_slice()?);
    CrowdLabels::from_codes(n_tasks, n_workers, classes, t, w, l).map_err(data_err)
}

/// Items × classes, copied once from the flat posteriors.
fn posteriors_to_array<'py>(
    py: Python<'py>,
    posteriors: &Posteriors,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray1::from_slice(py, posteriors.as_flat())
        .reshape([posteriors.len(), posteriors.n_classes()])
}

fn rows_to_array<'py>(py: Python<'py>, rows: &[Vec<f64>]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray2::from_vec2(py, rows).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// Majority vote: vote shares per task (tasks × classes), weighted by `weights` (one per
/// worker) when given. Ties are the Python layer's (first class in column order, as
/// crowd-kit).
#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes, weights=None))]
#[allow(clippy::too_many_arguments)]
fn majority_vote<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    weights: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let mut mv = MajorityVote::new();
    if let Some(weights) = weights {
        mv = mv.weights(weights.as_slice()?.to_vec());
    }
    let fitted = py.detach(|| mv.fit(&data)).map_err(to_py)?;
    posteriors_to_array(py, &fitted.aggregation.posteriors)
}

/// Dawid-Skene: (posteriors, priors, worker confusions [worker, true, given], ELBO history).
/// `initial`: crowd-kit's initial_error as (strategy "assign" or "addition", worker codes,
/// given-label codes, values rows × true classes).
#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes, n_iter, tol, gold_tasks, gold_labels, initial=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn dawid_skene<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    tol: f64,
    gold_tasks: PyReadonlyArray1<'py, i64>,
    gold_labels: PyReadonlyArray1<'py, i64>,
    initial: Option<(
        String,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray2<'py, f64>,
    )>,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray3<f64>>,
    Vec<f64>,
)> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let gold: Vec<(usize, u32)> = gold_tasks
        .as_slice()?
        .iter()
        .zip(gold_labels.as_slice()?)
        .map(|(&t, &y)| (t as usize, y as u32))
        .collect();
    let mut ds = DawidSkene::new().max_iter(n_iter).tol(tol).gold(gold);
    if let Some((strategy, workers, labels, values)) = initial {
        let strategy = match strategy.as_str() {
            "assign" => InitialErrorStrategy::Assign,
            "addition" => InitialErrorStrategy::Addition,
            other => {
                return Err(PyValueError::new_err(format!(
                    "initial_error_strategy={other:?} is not 'assign' or 'addition'"
                )));
            }
        };
        let values = values.as_array();
        let rows = workers
            .as_slice()?
            .iter()
            .zip(labels.as_slice()?)
            .zip(values.rows())
            .map(|((&w, &l), v)| (w as u32, l as u32, v.to_vec()))
            .collect();
        ds = ds.initial_errors(InitialErrors { strategy, rows });
    }
    let fitted = py.detach(|| ds.fit(&data)).map_err(to_py)?;
    let errors = PyArray3::from_vec3(py, &fitted.worker_confusions)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok((
        posteriors_to_array(py, &fitted.aggregation.posteriors)?,
        PyArray1::from_vec(py, fitted.priors),
        errors,
        fitted.elbo_history,
    ))
}

/// One-coin Dawid-Skene: (posteriors, priors, worker confusions [worker, true, given],
/// skills, ELBO history).
#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes, n_iter, tol))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn one_coin_dawid_skene<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    tol: f64,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray1<f64>>,
    Vec<f64>,
)> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let ds = OneCoinDawidSkene::new().max_iter(n_iter).tol(tol);
    let fitted = py.detach(|| ds.fit(&data)).map_err(to_py)?;
    let errors = PyArray3::from_vec3(py, &fitted.worker_confusions)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok((
        posteriors_to_array(py, &fitted.aggregation.posteriors)?,
        PyArray1::from_vec(py, fitted.priors),
        errors,
        PyArray1::from_vec(py, fitted.skills),
        fitted.elbo_history,
    ))
}

/// Krippendorff's alpha (nominal distance) of the labels.
/// Zero-based skill: (vote shares of the final weighted vote, skills). Ties go to the
/// lowest class code, crowd-kit's rule when the codes are in sorted label order.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn zero_based_skill<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    lr_init: f64,
    lr_steps_to_reduce: usize,
    lr_reduce_factor: f64,
    eps: f64,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<f64>>)> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let zbs = ZeroBasedSkill::new()
        .n_iter(n_iter)
        .lr_init(lr_init)
        .lr_steps_to_reduce(lr_steps_to_reduce)
        .lr_reduce_factor(lr_reduce_factor)
        .eps(eps)
        .ties(Ties::Lowest);
    let fitted = py.detach(|| zbs.fit(&data)).map_err(to_py)?;
    Ok((
        posteriors_to_array(py, &fitted.aggregation.posteriors)?,
        PyArray1::from_vec(py, fitted.skills),
    ))
}

/// The labels in the order given (checked as crowd labels first): what KOS draws its start
/// for, row by row, as crowd-kit does.
fn annotations_in_order(
    tasks: &PyReadonlyArray1<'_, i64>,
    workers: &PyReadonlyArray1<'_, i64>,
    labels: &PyReadonlyArray1<'_, i64>,
) -> PyResult<Vec<Annotation>> {
    let (t, w, l) = (tasks.as_slice()?, workers.as_slice()?, labels.as_slice()?);
    Ok((0..t.len())
        .map(|j| Annotation {
            item: t[j] as u32,
            worker: w[j] as u32,
            label: l[j] as u32,
        })
        .collect())
}

/// KOS: (each task's score: > 0 for class code 0, < 0 for code 1; rounds run).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn kos<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    random_state: u32,
) -> PyResult<(Bound<'py, PyArray1<f64>>, usize)> {
    crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let rows = annotations_in_order(&tasks, &workers, &labels)?;
    let kos = Kos::new().n_iter(n_iter).random_state(random_state);
    let fitted = py
        .detach(|| kos.fit_annotations(n_tasks, n_workers, n_classes, &rows))
        .map_err(to_py)?;
    Ok((PyArray1::from_vec(py, fitted.scores), fitted.rounds))
}

/// MACE: (gold-label marginals normalised per task, spamming (workers × 2), thetas
/// (workers × classes), log marginal likelihood, restart kept).
#[pyfunction]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn mace<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_restarts: usize,
    n_iter: usize,
    method: &str,
    default_noise: f64,
    alpha: f64,
    beta: f64,
    random_state: u32,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    f64,
    usize,
)> {
    let method = match method {
        "vb" => MaceMethod::Vb,
        "em" => MaceMethod::Em,
        other => {
            return Err(PyValueError::new_err(format!(
                "method={other:?} is not one of 'vb', 'em'"
            )));
        }
    };
    crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    // In the data's order, so that each task's product runs in crowd-kit's order.
    let rows = annotations_in_order(&tasks, &workers, &labels)?;
    let mace = Mace::new()
        .n_restarts(n_restarts)
        .n_iter(n_iter)
        .method(method)
        .default_noise(default_noise)
        .beta_prior(alpha, beta)
        .random_state(random_state);
    let fitted = py
        .detach(|| mace.fit_annotations(n_tasks, n_workers, n_classes, &rows))
        .map_err(to_py)?;
    let spamming: Vec<Vec<f64>> = fitted.spamming.iter().map(|s| s.to_vec()).collect();
    Ok((
        posteriors_to_array(py, &fitted.aggregation.posteriors)?,
        rows_to_array(py, &spamming)?,
        rows_to_array(py, &fitted.thetas)?,
        fitted.log_marginal_likelihood,
        fitted.restart,
    ))
}

/// M-MSR: (each worker's skill, the loss per iteration).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn m_msr<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    tol: f64,
    random_state: u32,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Vec<f64>)> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let mmsr = Mmsr::new()
        .n_iter(n_iter)
        .tol(tol)
        .random_state(random_state);
    let fitted = py.detach(|| mmsr.fit(&data)).map_err(to_py)?;
    Ok((PyArray1::from_vec(py, fitted.skills), fitted.loss_history))
}

#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes))]
fn krippendorff_alpha<'py>(
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
) -> PyResult<f64> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    agreement::krippendorff_alpha(n_tasks, n_classes, &data.annotations).map_err(to_py)
}

/// Label uncertainty per task (or per worker with `by_worker`), skill-weighted when
/// `skills` (one per worker) are given.
#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes, skills, by_worker))]
#[allow(clippy::too_many_arguments)]
fn uncertainty<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    skills: Option<PyReadonlyArray1<'py, f64>>,
    by_worker: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let skills = match &skills {
        Some(s) => Some(s.as_slice()?),
        None => None,
    };
    let by = if by_worker {
        agreement::By::Worker
    } else {
        agreement::By::Task
    };
    let values =
        agreement::uncertainty(n_tasks, n_workers, n_classes, &data.annotations, skills, by)
            .map_err(to_py)?;
    Ok(PyArray1::from_vec(py, values))
}

/// GLAD: (posteriors, abilities α per worker, log-easiness β per task, Q per round).
/// Consistency per task (NaN for a task without labels): the one-coin posterior of
/// `aggregated` (class codes, one per task) under `skills` (one per worker).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn consistency<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    skills: PyReadonlyArray1<'py, f64>,
    aggregated: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let aggregated: Vec<u32> = aggregated
        .as_slice()?
        .iter()
        .map(|&c| {
            u32::try_from(c)
                .ok()
                .filter(|&c| (c as usize) < n_classes)
                .ok_or_else(|| {
                    PyValueError::new_err(format!("aggregated label code {c} is not a class"))
                })
        })
        .collect::<PyResult<_>>()?;
    let values = agreement::consistency(
        n_tasks,
        n_workers,
        n_classes,
        &data.annotations,
        skills.as_slice()?,
        &aggregated,
    )
    .map_err(to_py)?;
    Ok(PyArray1::from_vec(
        py,
        values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
    ))
}

/// Each worker's spammer score from its Dawid-Skene confusion matrix (default parameters).
#[pyfunction]
fn spammer_scores<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let fitted = py.detach(|| DawidSkene::new().fit(&data)).map_err(to_py)?;
    Ok(PyArray1::from_vec(
        py,
        agreement::spammer_scores(&fitted.worker_confusions),
    ))
}

#[pyfunction]
#[pyo3(signature = (tasks, workers, labels, n_tasks, n_workers, n_classes, n_iter, tol, m_step_max_iter, m_step_tol, class_priors=None, ability_means=None, difficulty_means=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn glad<'py>(
    py: Python<'py>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_tasks: usize,
    n_workers: usize,
    n_classes: usize,
    n_iter: usize,
    tol: f64,
    m_step_max_iter: usize,
    m_step_tol: f64,
    class_priors: Option<PyReadonlyArray1<'py, f64>>,
    ability_means: Option<PyReadonlyArray1<'py, f64>>,
    difficulty_means: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Vec<f64>,
)> {
    let data = crowd_labels(&tasks, &workers, &labels, n_tasks, n_workers, n_classes)?;
    let mut glad = Glad::new()
        .max_iter(n_iter)
        .tol(tol)
        .m_step_max_iter(m_step_max_iter)
        .m_step_tol(m_step_tol);
    if let Some(p) = class_priors {
        glad = glad.class_priors(p.as_slice()?.to_vec());
    }
    if let Some(m) = ability_means {
        glad = glad.ability_prior_means(m.as_slice()?.to_vec());
    }
    if let Some(m) = difficulty_means {
        glad = glad.difficulty_prior_means(m.as_slice()?.to_vec());
    }
    let fitted = py.detach(|| glad.fit(&data)).map_err(to_py)?;
    Ok((
        posteriors_to_array(py, &fitted.aggregation.posteriors)?,
        PyArray1::from_vec(py, fitted.abilities),
        PyArray1::from_vec(py, fitted.difficulties),
        fitted.loss_history,
    ))
}

/// Reports to a Python callable `callback(done, total, message)` at most every 0.2 s, and
/// tells the fit to stop once the interpreter's main thread has seen Ctrl-C (`stop`, set by
/// [`interruptible`]). It may be asked from any thread: an ensemble's members train side by
/// side on the thread pool and all ask it.
struct PyProgress<'a> {
    callback: Option<Py<PyAny>>,
    total: u64,
    done: u64,
    last: Instant,
    stop: &'a AtomicBool,
}

impl PyProgress<'_> {
    const EVERY: Duration = Duration::from_millis(200);

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
/// `KeyboardInterrupt` (also where `work` finished before it saw the flag). Polling here rather than inside the fit is what lets every thread
/// of the fit (ensemble members, a pool of `n_jobs` threads) see the stop.
fn interruptible<T: Send>(
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
            worker
                .join()
                .map_err(|_| PyRuntimeError::new_err("the fit panicked (a bug in conal)"))
        })
    })?;
    match signal {
        // Ctrl-C is raised even where the fit finished before it saw the stop.
        Some(e) => Err(e),
        None => outcome.map_err(to_py),
    }
}

/// A trained model (CoNAL, CrowdLayer or a classifier on aggregated labels).
#[pyclass(module = "conal._conal", name = "Fitted", frozen)]
struct PyFitted {
    inner: FittedModel,
}

/// A float32 C-contiguous numpy array lent to a [`Matrix`] without copying it: the matrix
/// holds a reference to the array, which keeps the buffer alive.
struct Lent {
    _array: Py<PyArray2<f32>>,
    ptr: *const f32,
    len: usize,
}

// SAFETY: the buffer lives as long as `_array` (a counted reference to its owner), and a
// fit only reads it. The callers hold numpy's read-only borrow of the array for the whole
// call, so no Rust code writes it meanwhile; Python code must not modify X during a fit
// (as for every library that reads arrays with the GIL released).
unsafe impl Send for Lent {}
unsafe impl Sync for Lent {}

impl AsRef<[f32]> for Lent {
    fn as_ref(&self) -> &[f32] {
        // SAFETY: `ptr` and `len` come from the array's contiguous, non-empty buffer
        // (see above for why it stays valid and unchanged).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The library's row-major matrix over `x`: the array's own buffer when it is C-contiguous
/// (not copied), else one copy.
fn matrix(x: &PyReadonlyArray2<'_, f32>) -> PyResult<Matrix> {
    let view = x.as_array();
    let (rows, cols) = view.dim();
    // `as_slice` also accepts Fortran order, whose values are not row-major.
    let slice = if x.is_c_contiguous() {
        x.as_slice().ok()
    } else {
        None
    };
    let matrix = match slice {
        Some(s) if !s.is_empty() => {
            let lent = Lent {
                _array: x.as_unbound().clone_ref(x.py()),
                ptr: s.as_ptr(),
                len: s.len(),
            };
            Matrix::shared(rows, cols, std::sync::Arc::new(lent))
        }
        Some(s) => Matrix::new(rows, cols, s.to_vec()),
        None => Matrix::new(rows, cols, view.iter().copied().collect()),
    };
    matrix.map_err(data_err)
}

/// Where the matrix that `fit` and `predict_proba` make of `x` keeps its values (a test
/// compares it with the array's own address: equal means not copied).
#[pyfunction]
fn _matrix_address(x: PyReadonlyArray2<'_, f32>) -> PyResult<usize> {
    Ok(matrix(&x)?.as_slice().as_ptr() as usize)
}

#[pymethods]
impl PyFitted {
    /// Class probabilities for the rows of `x` (float32, items × features).
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = matrix(&x)?;
        let p = py.detach(|| self.inner.predict_proba(&x)).map_err(to_py)?;
        let (rows, cols) = (p.rows(), p.cols());
        PyArray1::from_vec(py, p.into_vec())
            .reshape([rows, cols])
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Class names.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.inner.classes().to_vec()
    }

    /// Worker ids.
    #[getter]
    fn workers(&self) -> Vec<String> {
        self.inner.workers().to_vec()
    }

    /// The method, as `conal train --method` names it.
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.config().model.method().name()
    }

    /// `args.json` as a JSON string.
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.config())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The metrics of every epoch (of the first member), as a JSON string (a list).
    fn history_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.history())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// CoNAL's matrices of the first member: (common K×K, individual R×K×K, worker stats as
    /// JSON or None). `ValueError` for other methods.
    fn confusions<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyArray3<f32>>,
        Option<String>,
    )> {
        let member = &self.inner.members()[0];
        if !matches!(member.config.model, ModelSpec::Conal { .. }) {
            return Err(PyValueError::new_err(format!(
                "method {} has no confusion matrices (only CoNAL has)",
                member.config.model.method().name()
            )));
        }
        let c = Confusions::from_bytes(
            &member.config,
            member.model.clone(),
            member.worker_stats.clone(),
        )
        .map_err(to_py)?;
        let to_err = |e: numpy::FromVecError| PyRuntimeError::new_err(e.to_string());
        let stats = match &c.stats {
            Some(s) => {
                Some(serde_json::to_string(s).map_err(|e| PyRuntimeError::new_err(e.to_string()))?)
            }
            None => None,
        };
        Ok((
            PyArray2::from_vec2(py, &c.common).map_err(to_err)?,
            PyArray3::from_vec3(py, &c.individual).map_err(to_err)?,
            stats,
        ))
    }

    /// Writes the checkpoint directory `conal train --save-dir` writes; a directory that
    /// holds a run is refused unless `overwrite`.
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        py.detach(|| self.inner.save(&path, overwrite))
            .map_err(to_py)
    }
}

/// Reads a checkpoint directory (written by `conal train --save-dir` or `save`).
#[pyfunction]
fn load(path: PathBuf) -> PyResult<PyFitted> {
    Ok(PyFitted {
        inner: FittedModel::load(&path).map_err(to_py)?,
    })
}

/// The estimator parameters' defaults for `method`, as a dict (the Python layer's
/// `get_params` names).
#[pyfunction]
fn default_params(method: &str) -> PyResult<String> {
    let method = parse_method(method)?;
    serde_json::to_string(&RunParams::new(method))
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

fn parse_method(name: &str) -> PyResult<Method> {
    Method::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            PyValueError::new_err(format!("method {name:?} is not one of {names:?}"))
        })
}

/// Trains `method` on features `x` (rows = tasks) and crowd labels given as codes.
/// `params` is a JSON object of estimator parameters (the fields of `RunParams`) overriding
/// the method's defaults.
#[pyfunction]
#[pyo3(signature = (method, params, x, tasks, workers, labels, task_ids, worker_ids, classes, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    method: &str,
    params: &str,
    x: PyReadonlyArray2<'py, f32>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    task_ids: Vec<String>,
    worker_ids: Vec<String>,
    classes: Vec<String>,
    n_jobs: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PyFitted> {
    let method = parse_method(method)?;
    let mut merged = serde_json::to_value(RunParams::new(method))
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let overrides: serde_json::Value = serde_json::from_str(params)
        .map_err(|e| PyValueError::new_err(format!("parameters: {e}")))?;
    if let (Some(base), Some(over)) = (merged.as_object_mut(), overrides.as_object()) {
        for (k, v) in over {
            if !base.contains_key(k) {
                return Err(PyValueError::new_err(format!("unknown parameter {k:?}")));
            }
            base.insert(k.clone(), v.clone());
        }
    }
    let mut run: RunParams = serde_json::from_value(merged)
        .map_err(|e| PyValueError::new_err(format!("parameters: {e}")))?;
    run.method = method;
    run.threads = n_jobs;
    let features = matrix(&x)?;
    if features.rows() != task_ids.len() {
        return Err(PyValueError::new_err(format!(
            "X has {} rows for {} tasks",
            features.rows(),
            task_ids.len()
        )));
    }
    let (t, w, l) = (tasks.as_slice()?, workers.as_slice()?, labels.as_slice()?);
    let labels = CrowdLabels::from_codes(task_ids.len(), worker_ids.len(), classes, t, w, l)
        .and_then(|labels| labels.with_ids(worker_ids, task_ids))
        .map_err(data_err)?;
    let data = CrowdData::join(labels, features).map_err(data_err)?;
    let task = conal::data::TaskData {
        train: data,
        valid: None,
        test: None,
    };
    let stop = AtomicBool::new(false);
    let mut reporter = PyProgress {
        callback: progress,
        total: 0,
        done: 0,
        last: Instant::now(),
        stop: &stop,
    };
    let inner = interruptible(py, &stop, || {
        run.fit_task(
            conal::data::source::DataSpec::memory(),
            &task,
            Outputs::default(),
            &mut reporter,
        )
    })?;
    Ok(PyFitted { inner })
}

/// Class names in the order `conal train` gives them: numerically when all are integers,
/// else as strings.
#[pyfunction]
fn sort_labels(labels: Vec<String>) -> Vec<String> {
    conal::data::table::sort_labels(labels.into_iter().collect())
}

/// The native module.
#[pymodule]
fn _conal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(majority_vote, m)?)?;
    m.add_function(wrap_pyfunction!(dawid_skene, m)?)?;
    m.add_function(wrap_pyfunction!(one_coin_dawid_skene, m)?)?;
    m.add_function(wrap_pyfunction!(glad, m)?)?;
    m.add_function(wrap_pyfunction!(zero_based_skill, m)?)?;
    m.add_function(wrap_pyfunction!(kos, m)?)?;
    m.add_function(wrap_pyfunction!(mace, m)?)?;
    m.add_function(wrap_pyfunction!(m_msr, m)?)?;
    m.add_function(wrap_pyfunction!(krippendorff_alpha, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty, m)?)?;
    m.add_function(wrap_pyfunction!(consistency, m)?)?;
    m.add_function(wrap_pyfunction!(spammer_scores, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(default_params, m)?)?;
    m.add_function(wrap_pyfunction!(sort_labels, m)?)?;
    m.add_function(wrap_pyfunction!(_matrix_address, m)?)?;
    m.add_class::<PyFitted>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
