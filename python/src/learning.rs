//! Training, prediction, annotator reports and persistence for Python's `conal.learning`:
//! [`fit`] takes the estimator's settings as typed keyword arguments and returns a
//! [`PyFitted`], which predicts, reports, saves, loads and pickles.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use conal::config::{Recipe, RunParams};
use conal::data::{CrowdData, Matrix};
use conal::model::{Confusion, Head, Method};
use conal::report::annotators::AnnotatorReport;
use conal::run::{FittedModel, Outputs};
use conal::train::{RegularizerKind, Selection};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use serde::de::DeserializeOwned;

use crate::convert::{Codes, Names, crowd_labels, cube, json_to_py, matrix, rows_f32, to_py};
use crate::interrupt::{PyProgress, interruptible};

/// An enum value from its command-line spelling (`"crowd-holdout"`, `"benchmark"`, …); a
/// `ValueError` naming the keyword and the values it takes.
fn parse<T: DeserializeOwned>(keyword: &str, value: &str) -> PyResult<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
        .map_err(|e| PyValueError::new_err(format!("{keyword}={value:?}: {e}")))
}

/// A trained model (CoNAL, CrowdLayer, Annot-Mix, MaDL or a classifier on aggregated
/// labels), held as a value: predictions never rebuild it.
#[pyclass(module = "conal._conal", name = "Fitted", frozen)]
pub struct PyFitted {
    inner: FittedModel,
}

#[pymethods]
impl PyFitted {
    /// Class probabilities for the rows of `x` (float32, items × features).
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, numpy::PyArray2<f32>>> {
        let x: Matrix = matrix(&x)?;
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

    /// Feature width.
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.config().n_features
    }

    /// The settings an estimator shows for this model: seed, recipe, and where the model has
    /// them the form of its confusions and its volume regulariser.
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.config();
        let d = PyDict::new(py);
        d.set_item("seed", c.train.seed)?;
        d.set_item("recipe", c.recipe.name())?;
        d.set_item("head", Head::of(c.model.classifier()).name())?;
        let confusion = match &c.model {
            conal::model::ModelSpec::CrowdLayer { crowd_layer, .. } => Some(crowd_layer.confusion),
            conal::model::ModelSpec::Conal { conal, .. } => Some(conal.confusion),
            _ => None,
        };
        if let Some(confusion) = confusion {
            d.set_item(
                "confusion",
                match confusion {
                    Confusion::Free => "free",
                    Confusion::Stochastic => "stochastic",
                },
            )?;
        }
        if let Some(reg) = &c.train.regularizer {
            d.set_item("regularizer", reg.kind.name())?;
            d.set_item("reg_lambda", reg.lambda)?;
        }
        Ok(d)
    }

    /// The metrics of every epoch (of the first member): a list of dicts.
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self
            .inner
            .history()
            .iter()
            .map(|m| {
                let v =
                    serde_json::to_value(m).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                json_to_py(py, &v)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// What the model learned about each annotator (of the first member): a dict with
    /// `method`, `basis` ("model" or "mean-over-items"), `confusions` (R × K × K
    /// probabilities, row = true class), `raw` (CoNAL's and CrowdLayer MW's raw matrices, or
    /// None), `common` (CoNAL's raw W_g, or None), `class_prior`, `labels`, `reliability` and
    /// `omega_mean`/`omega_min`/`omega_max` (NaN where the model has no ω). `ValueError` for
    /// a model without an annotator model.
    fn annotators<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let member = &self.inner.members()[0];
        let r = AnnotatorReport::of(&member.model, &member.config, member.worker_stats.clone())
            .map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("method", &r.method)?;
        d.set_item(
            "basis",
            match r.basis {
                conal::report::annotators::Basis::Model => "model",
                conal::report::annotators::Basis::MeanOverItems => "mean-over-items",
            },
        )?;
        d.set_item("confusions", cube(py, &r.confusions)?)?;
        d.set_item(
            "raw",
            match &r.raw {
                Some(raw) => Some(cube(py, raw)?),
                None => None,
            },
        )?;
        d.set_item(
            "common",
            match &r.common {
                Some(c) => Some(rows_f32(py, c)?),
                None => None,
            },
        )?;
        d.set_item(
            "common_probabilities",
            match r.common_probabilities() {
                Some(p) => Some(
                    numpy::PyArray2::from_vec2(py, &p)
                        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
                ),
                None => None,
            },
        )?;
        d.set_item("class_prior", PyArray1::from_vec(py, r.class_prior()))?;
        d.set_item("reliability", PyArray1::from_vec(py, r.reliability()))?;
        let summaries = r.worker_summaries();
        d.set_item(
            "labels",
            PyArray1::from_vec(py, summaries.iter().map(|s| s.labels as u64).collect()),
        )?;
        for (name, get) in [
            (
                "omega_mean",
                (|s: &conal::report::annotators::WorkerSummary| s.omega_mean) as fn(&_) -> _,
            ),
            ("omega_min", |s| s.omega_min),
            ("omega_max", |s| s.omega_max),
        ] {
            let v: Vec<f64> = summaries
                .iter()
                .map(|s| get(s).unwrap_or(f64::NAN))
                .collect();
            d.set_item(name, PyArray1::from_vec(py, v))?;
        }
        Ok(d)
    }

    /// Writes the checkpoint directory `conal train --save-dir` writes. A directory that
    /// holds a run, or a file in the way, is a `FileExistsError` unless `overwrite` (a run).
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        py.detach(|| self.inner.save(&path, overwrite))
            .map_err(to_py)
    }

    /// The whole model as bytes ([`Self::_from_bytes`] reads them back).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.inner.to_bytes().map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The model [`Self::to_bytes`] wrote.
    #[staticmethod]
    fn _from_bytes(bytes: &[u8]) -> PyResult<Self> {
        Ok(PyFitted {
            inner: FittedModel::from_bytes(bytes).map_err(to_py)?,
        })
    }

    /// Pickling (and `copy.deepcopy`, joblib, Dask and Spark shipping): the model's bytes.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.get_type::<PyFitted>();
        let from_bytes = cls.getattr("_from_bytes")?;
        let args = PyTuple::new(py, [self.to_bytes(py)?])?;
        PyTuple::new(py, [from_bytes, args.into_any()])
    }
}

/// Reads a checkpoint directory (written by `conal train --save-dir` or `save`).
#[pyfunction]
pub fn load(path: PathBuf) -> PyResult<PyFitted> {
    Ok(PyFitted {
        inner: FittedModel::load(&path).map_err(to_py)?,
    })
}

/// Trains `method` on features `x` (rows = tasks) and crowd labels given as codes, with the
/// estimator's settings as keyword arguments (`None`: the defaults table's).
#[pyfunction]
#[pyo3(signature = (
    method, x, tasks, workers, labels, task_ids, worker_ids, classes, *,
    n_jobs=None, progress=None, recipe=None, epochs=None, batch_size=None, lr=None, seed=0,
    select=None, holdout=None, ensemble=None, n_units=None, dropout=None, head=None, device=None,
    emb_dim=None, scale=None, confusion=None, regularizer=None, reg_lambda=None,
))]
#[allow(clippy::too_many_arguments)]
pub fn fit<'py>(
    py: Python<'py>,
    method: &str,
    x: PyReadonlyArray2<'py, f32>,
    tasks: PyReadonlyArray1<'py, i64>,
    workers: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    task_ids: Bound<'py, PyAny>,
    worker_ids: Bound<'py, PyAny>,
    classes: Vec<String>,
    n_jobs: Option<usize>,
    progress: Option<Py<PyAny>>,
    recipe: Option<String>,
    epochs: Option<usize>,
    batch_size: Option<usize>,
    lr: Option<f64>,
    seed: u64,
    select: Option<String>,
    holdout: Option<f64>,
    ensemble: Option<usize>,
    n_units: Option<usize>,
    dropout: Option<f64>,
    head: Option<String>,
    device: Option<String>,
    emb_dim: Option<usize>,
    scale: Option<f64>,
    confusion: Option<String>,
    regularizer: Option<String>,
    reg_lambda: Option<f64>,
) -> PyResult<PyFitted> {
    let method = Method::from_name(method).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        PyValueError::new_err(format!("method {method:?} is not one of {names:?}"))
    })?;
    let mut run = RunParams::new(method);
    run.recipe = recipe.map(|r| parse::<Recipe>("recipe", &r)).transpose()?;
    run.select = select
        .map(|s| parse::<Selection>("select", &s))
        .transpose()?;
    run.regularizer = regularizer
        .map(|r| parse::<RegularizerKind>("regularizer", &r))
        .transpose()?;
    if let Some(c) = confusion {
        run.model.confusion = parse::<Confusion>("confusion", &c)?;
    }
    run.seed = seed;
    (run.epochs, run.batch_size, run.lr, run.ensemble) = (epochs, batch_size, lr, ensemble);
    (run.scale, run.reg_lambda, run.model.emb_dim) = (scale, reg_lambda, emb_dim);
    if let Some(h) = holdout {
        run.holdout = h;
    }
    if let Some(n) = n_units {
        run.model.n_units = n;
    }
    if let Some(p) = dropout {
        run.model.dropout = p;
    }
    run.model.head = head.map(|h| parse::<Head>("head", &h)).transpose()?;
    if let Some(d) = device {
        run.device = d;
    }
    run.threads = n_jobs;
    let features = matrix(&x)?;
    let n_tasks: usize = task_ids.len()?;
    if features.rows() != n_tasks {
        return Err(PyValueError::new_err(format!(
            "X has {} rows for {n_tasks} tasks",
            features.rows()
        )));
    }
    let worker_names: Vec<String> = worker_ids
        .try_iter()?
        .map(|w| w.and_then(|w| w.str().map(|s| s.to_string())))
        .collect::<PyResult<_>>()?;
    let task_names: Vec<String> = task_ids
        .try_iter()?
        .map(|t| t.and_then(|t| t.str().map(|s| s.to_string())))
        .collect::<PyResult<_>>()?;
    let codes = Codes {
        tasks,
        workers,
        labels,
        n_tasks,
        n_workers: worker_names.len(),
        n_classes: classes.len(),
        // Training takes one label per answer (the Python side refuses soft answers).
        soft: None,
    };
    let names = Names {
        tasks: Some(task_ids),
        workers: Some(worker_ids),
    };
    let labels = crowd_labels(&codes, classes, &names)?
        .with_ids(worker_names, task_names)
        .map_err(|e| crate::convert::data_err(&e, &names))?;
    let data =
        CrowdData::join(labels, features).map_err(|e| crate::convert::data_err(&e, &names))?;
    let task = conal::data::TaskData {
        train: data,
        valid: None,
        test: None,
    };
    let stop = AtomicBool::new(false);
    let mut reporter = PyProgress::new(progress, &stop);
    let inner = interruptible(py, &stop, || {
        conal::estimator::fit(
            &run,
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
pub fn sort_labels(labels: Vec<String>) -> Vec<String> {
    conal::data::table::sort_labels(labels.into_iter().collect())
}
