//! Conversion between Python values and the library's types: numpy arrays to crowd labels
//! and matrices (the caller's float32 array lent, not copied), results back to numpy, and the
//! library's errors to the Python exceptions of the same message, in Python's words.

use conal::aggregate::{Posteriors, Value, Values};
use conal::data::{CrowdLabels, Matrix};
use numpy::{
    PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyFileExistsError, PyKeyboardInterrupt, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The Python names behind the codes of a crowd-label frame (the pandas Index objects), read
/// only to name what an error is about.
pub struct Names<'py> {
    /// Task ids, by code.
    pub tasks: Option<Bound<'py, PyAny>>,
    /// Worker ids, by code.
    pub workers: Option<Bound<'py, PyAny>>,
}

impl Names<'_> {
    fn name(ids: &Option<Bound<'_, PyAny>>, code: usize) -> String {
        ids.as_ref()
            .and_then(|ids| ids.get_item(code).ok())
            .and_then(|v| v.repr().ok())
            .map(|r| r.to_string())
            .unwrap_or_else(|| code.to_string())
    }
}

/// The library's error as the Python exception of the same message: `KeyboardInterrupt`
/// for a stop, `FileExistsError` where a run or a file is in the way, `RuntimeError` for
/// I/O and internal failures, `ValueError` for everything about the input.
pub fn to_py(e: conal::Error) -> PyErr {
    match &e {
        conal::Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(e.to_string()),
        conal::Error::RunExists { dir } => PyFileExistsError::new_err(format!(
            "{} already holds a run: pass overwrite=True to replace it (the old one is kept \
             until the new one is completely written)",
            dir.display()
        )),
        conal::Error::NotADirectory { .. } => PyFileExistsError::new_err(e.to_string()),
        conal::Error::Io { .. }
        | conal::Error::WriteFailed { .. }
        | conal::Error::Diverged { .. }
        | conal::Error::Codec { .. }
        | conal::Error::WorkerPanic { .. }
        | conal::Error::Internal(_) => PyRuntimeError::new_err(e.to_string()),
        conal::Error::Data(d) => data_err(
            d,
            &Names {
                tasks: None,
                workers: None,
            },
        ),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A data error as `ValueError`, ids named as the caller's frame names them.
pub fn data_err(e: &conal::DataError, names: &Names<'_>) -> PyErr {
    match e {
        conal::DataError::RepeatedPair {
            first,
            second,
            worker,
            item,
        } => PyValueError::new_err(format!(
            "rows {first} and {second}: worker {} labelled task {} twice (keep one label per \
             (task, worker) pair)",
            Names::name(&names.workers, *worker),
            Names::name(&names.tasks, *item)
        )),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// Checked crowd labels from the integer codes pandas' `factorize` gives (−1 for a missing
/// value; the core names the column and the first bad row; `names` names repeated pairs).
/// Ids are the codes; the Python layer keeps the real ones.
pub fn crowd_labels(
    codes: &Codes<'_>,
    classes: Vec<String>,
    names: &Names<'_>,
) -> PyResult<CrowdLabels> {
    let (t, w, l) = (
        codes.tasks.as_slice()?,
        codes.workers.as_slice()?,
        codes.labels.as_slice()?,
    );
    CrowdLabels::from_codes(codes.n_tasks, codes.n_workers, classes, t, w, l)
        .map_err(|e| data_err(&e, names))
}

/// A crowd-label frame as codes: read from the Python `Coded` object (`conal._data`) by
/// attribute, or built by the caller.
#[derive(FromPyObject)]
pub struct Codes<'py> {
    /// Task code of each row.
    pub tasks: PyReadonlyArray1<'py, i64>,
    /// Worker code of each row.
    pub workers: PyReadonlyArray1<'py, i64>,
    /// Label code of each row.
    pub labels: PyReadonlyArray1<'py, i64>,
    /// Tasks.
    pub n_tasks: usize,
    /// Workers.
    pub n_workers: usize,
    /// Classes.
    pub n_classes: usize,
    /// Soft answers: rows × classes probabilities, in the rows' order (`None`: labels).
    pub soft: Option<PyReadonlyArray2<'py, f64>>,
}

impl Codes<'_> {
    /// The crowd labels, classes named by their codes (with the soft answers, if any).
    pub fn labels(&self, names: &Names<'_>) -> PyResult<CrowdLabels> {
        let classes = (0..self.n_classes).map(|k| k.to_string()).collect();
        let labels = crowd_labels(self, classes, names)?;
        match &self.soft {
            None => Ok(labels),
            Some(soft) => labels
                .with_soft(soft.as_slice()?.to_vec())
                .map_err(|e| data_err(&e, names)),
        }
    }
}

/// Items × classes, copied once from the flat posteriors.
pub fn posteriors_to_array<'py>(
    py: Python<'py>,
    posteriors: &Posteriors,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray1::from_slice(py, posteriors.as_flat())
        .reshape([posteriors.len(), posteriors.n_classes()])
}

/// A learned quantity as a Python float or numpy array of its shape.
pub fn values_to_py<'py>(py: Python<'py>, v: &Values) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Values::Scalar(x) => x.into_pyobject(py)?.into_any(),
        Values::Vector(x) => PyArray1::from_slice(py, x).into_any(),
        Values::Matrix { rows, cols, values } => PyArray1::from_slice(py, values)
            .reshape([*rows, *cols])?
            .into_any(),
        Values::Cube { dims, values } => PyArray1::from_slice(py, values)
            .reshape([dims[0], dims[1], dims[2]])?
            .into_any(),
    })
}

/// A Python value as an aggregation parameter: bool, int, float, str, or a numpy array
/// (1-D int64 or float64, 2-D float64).
pub fn value_from_py(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(b) = v.extract::<bool>()
        && v.is_instance_of::<pyo3::types::PyBool>()
    {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(Value::Float(x));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(Value::Text(s));
    }
    if let Ok(a) = v.extract::<PyReadonlyArray1<'_, i64>>() {
        return Ok(Value::Ints(a.as_slice()?.to_vec()));
    }
    if let Ok(a) = v.extract::<PyReadonlyArray1<'_, f64>>() {
        return Ok(Value::Floats(a.as_slice()?.to_vec()));
    }
    if let Ok(a) = v.extract::<PyReadonlyArray2<'_, f64>>() {
        let (rows, cols) = a.as_array().dim();
        return Ok(Value::Matrix {
            rows,
            cols,
            values: a.as_array().iter().copied().collect(),
        });
    }
    Err(PyTypeError::new_err(format!(
        "parameter {name}: {} is not a number, a string or a numpy array",
        v.get_type().name()?
    )))
}

/// A JSON value as the Python object it describes (dicts, lists, numbers, strings, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        serde_json::Value::Null => py.None().into_bound(py),
        serde_json::Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        serde_json::Value::String(s) => s.into_pyobject(py)?.into_any(),
        serde_json::Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        serde_json::Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
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
pub fn matrix(x: &PyReadonlyArray2<'_, f32>) -> PyResult<Matrix> {
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
    matrix.map_err(|e| {
        data_err(
            &e,
            &Names {
                tasks: None,
                workers: None,
            },
        )
    })
}

/// Where the matrix that `fit` and `predict_proba` make of `x` keeps its values (a test
/// compares it with the array's own address: equal means not copied).
#[pyfunction]
pub fn _matrix_address(x: PyReadonlyArray2<'_, f32>) -> PyResult<usize> {
    Ok(matrix(&x)?.as_slice().as_ptr() as usize)
}

/// Nested rows as a 2-D array.
pub fn rows_f32<'py>(py: Python<'py>, rows: &[Vec<f32>]) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyArray2::from_vec2(py, rows).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// Nested matrices as a 3-D array.
pub fn cube<'py, T: numpy::Element + Copy>(
    py: Python<'py>,
    m: &[Vec<Vec<T>>],
) -> PyResult<Bound<'py, PyArray3<T>>> {
    PyArray3::from_vec3(py, m).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}
