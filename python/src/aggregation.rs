//! Aggregation and agreement metrics for Python: one entry point for every method of the
//! registry ([`aggregate`]), and crowd-kit's metrics. Inputs are a frame's integer codes;
//! the Python layer builds the DataFrames.

use conal::aggregate::agreement::{self, By};
use conal::aggregate::intervals::{Bootstrap, score_intervals};
use conal::aggregate::{Params, Values, registry};
use conal::data::{Comparisons, Embeddings, Outcome, Segmentations, Texts};
use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Codes, Names, posteriors_to_array, to_py, value_from_py, values_to_py};

/// Runs the aggregation method `method` (a registry name: `mv`, `ds`, …) with `params`
/// (crowd-kit's names; ints, floats, strings or numpy arrays) on a frame's codes (`coded`:
/// the Python `Coded`, whose `task_ids`/`worker_ids` only name tasks and workers in errors).
/// Returns (labels: class code per task, posteriors: tasks × classes, learned: dict of what
/// the method learned by crowd-kit's attribute name). With `agreement`, `learned` also
/// holds each worker's share of labels equal to its task's aggregated label (`agreement`,
/// crowd-kit's `get_accuracy`), computed on the same crowd labels.
#[pyfunction]
#[pyo3(signature = (method, coded, params, agreement=false))]
#[allow(clippy::type_complexity)]
pub fn aggregate<'py>(
    py: Python<'py>,
    method: &str,
    coded: &Bound<'py, PyAny>,
    params: &Bound<'py, PyDict>,
    agreement: bool,
) -> PyResult<(
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyAny>,
    Bound<'py, PyDict>,
)> {
    let entry = registry::entry(method).map_err(to_py)?;
    let aggregator = entry.build(&params_from_py(params)?).map_err(to_py)?;
    let names = Names {
        tasks: Some(coded.getattr("task_ids")?),
        workers: Some(coded.getattr("worker_ids")?),
    };
    let data = coded.extract::<Codes>()?.labels(&names)?;
    let fitted = py.detach(|| aggregator.fit(&data)).map_err(to_py)?;
    let learned = learned_to_py(py, fitted.learned())?;
    let a = fitted.aggregation();
    if agreement {
        let shares =
            agreement::accuracy_on_aggregates(data.n_workers(), &data.annotations, &a.labels);
        learned.set_item("agreement", nan_where_none(py, shares))?;
    }
    Ok((
        PyArray1::from_slice(py, &a.labels),
        posteriors_to_array(py, &a.posteriors)?.into_any(),
        learned,
    ))
}

/// The parameters of a method from a dict of crowd-kit's names (`None`: the default).
fn params_from_py(params: &Bound<'_, PyDict>) -> PyResult<Params> {
    let mut p = Params::new();
    for (k, v) in params.iter() {
        let name: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        p.set(&name, value_from_py(&name, &v)?);
    }
    Ok(p)
}

/// What a method learned, by name, as a dict of numpy values.
fn learned_to_py<'py>(
    py: Python<'py>,
    learned: Vec<(&'static str, Values)>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, values) in learned {
        dict.set_item(name, values_to_py(py, &values)?)?;
    }
    Ok(dict)
}

/// The int64 array attribute `name` of a coded frame (codes, offsets, sizes) as indices; a
/// negative value becomes `beyond` (the largest index), which the core's constructor then
/// reports by row as out of range.
fn indices<T: TryFrom<i64> + Copy>(
    coded: &Bound<'_, PyAny>,
    name: &str,
    beyond: T,
) -> PyResult<Vec<T>> {
    let a: PyReadonlyArray1<'_, i64> = coded.getattr(name)?.extract()?;
    Ok(a.as_slice()?
        .iter()
        .map(|&c| T::try_from(c).unwrap_or(beyond))
        .collect())
}

/// Runs the ranking method `method` (`bt`, `noisy-bt`) with `params` on a comparison frame's
/// codes (`coded`: the Python `CodedComparisons`: `left`, `right`, `worker` codes, `outcome`
/// 0 left won / 1 right won / 2 tie / 3 neither, and the id names for errors). Returns
/// (scores per item, learned: dict by crowd-kit's attribute name, and with `confidence` the
/// bootstrap intervals' (lower, upper) arrays from `resamples` resamples drawn from `seed`).
#[pyfunction]
#[pyo3(signature = (method, coded, params, confidence=None, resamples=200, seed=0))]
#[allow(clippy::type_complexity)]
pub fn rank<'py>(
    py: Python<'py>,
    method: &str,
    coded: &Bound<'py, PyAny>,
    params: &Bound<'py, PyDict>,
    confidence: Option<f64>,
    resamples: usize,
    seed: u64,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyDict>,
    Option<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)>,
)> {
    let entry = registry::ranker(method).map_err(to_py)?;
    let ranker = entry.build(&params_from_py(params)?).map_err(to_py)?;
    let codes = |name: &str| indices(coded, name, u32::MAX);
    let outcome: PyReadonlyArray1<'py, i8> = coded.getattr("outcome")?.extract()?;
    let outcome = outcome
        .as_slice()?
        .iter()
        .map(|o| match o {
            0 => Some(Outcome::Left),
            1 => Some(Outcome::Right),
            2 => Some(Outcome::Tie),
            _ => None,
        })
        .collect();
    let data = Comparisons::new(
        coded.getattr("item_names")?.extract()?,
        coded.getattr("worker_names")?.extract()?,
        codes("left")?,
        codes("right")?,
        codes("worker")?,
        outcome,
    )
    .map_err(to_py)?;
    let (fitted, intervals) = py
        .detach(|| {
            let fitted = ranker.fit(&data, None)?;
            let intervals = confidence
                .map(|level| {
                    let how = Bootstrap {
                        level,
                        resamples,
                        seed,
                    };
                    score_intervals(ranker.as_ref(), &data, fitted.scores(), &how)
                })
                .transpose()?;
            Ok::<_, conal::Error>((fitted, intervals))
        })
        .map_err(to_py)?;
    let learned = learned_to_py(py, fitted.learned())?;
    Ok((
        PyArray1::from_slice(py, fitted.scores()),
        learned,
        intervals.map(|ci| {
            (
                PyArray1::from_vec(py, ci.lower),
                PyArray1::from_vec(py, ci.upper),
            )
        }),
    ))
}

/// Runs the segmentation method `method` (`seg-mv`, `seg-rasa`, `seg-em`) with `params` on
/// a mask frame's codes (`coded`: the Python `CodedMasks`: `task`, `worker` codes per row,
/// `masks` the rows' masks as given, `conform(row)` the checked boolean array of a row that
/// is not one already, and the id names for errors). Returns (one boolean height × width array per task, learned: dict
/// by crowd-kit's attribute name).
#[pyfunction]
pub fn segment<'py>(
    py: Python<'py>,
    method: &str,
    coded: &Bound<'py, PyAny>,
    params: &Bound<'py, PyDict>,
) -> PyResult<(Vec<Bound<'py, PyAny>>, Bound<'py, PyDict>)> {
    let entry = registry::segmenter(method).map_err(to_py)?;
    let segmenter = entry.build(&params_from_py(params)?).map_err(to_py)?;
    // The masks are read where the DataFrame holds them: a C-contiguous 2-D boolean array is
    // borrowed as it is; any other value goes through `coded.conform(row)`, which checks it
    // (a ValueError naming the row) and returns such an array.
    let conform = coded.getattr("conform")?;
    let arrays = coded
        .getattr("masks")?
        .try_iter()?
        .enumerate()
        .map(|(r, item)| match item?.cast_into::<PyArray2<bool>>() {
            Ok(a) if a.is_c_contiguous() => Ok(a),
            _ => Ok(conform.call1((r,))?.cast_into::<PyArray2<bool>>()?),
        })
        .collect::<PyResult<Vec<_>>>()?;
    // SAFETY: the GIL is held from here to the end of the fit (no `detach`, no Python code
    // runs), so nothing can write to the arrays while these slices live; the arrays are
    // aligned bool arrays (checked by `as_slice`) kept alive by `arrays`.
    let masks = arrays
        .iter()
        .map(|a| unsafe { a.as_slice() })
        .collect::<Result<Vec<_>, _>>()?;
    let data = Segmentations::from_masks(
        coded.getattr("task_names")?.extract()?,
        coded.getattr("worker_names")?.extract()?,
        indices(coded, "task", u32::MAX)?,
        indices(coded, "worker", u32::MAX)?,
        arrays
            .iter()
            .map(|a| (a.shape()[0], a.shape()[1]))
            .collect(),
        masks,
    )
    .map_err(to_py)?;
    let fitted = segmenter.fit(&data).map_err(to_py)?;
    let learned = learned_to_py(py, fitted.learned())?;
    let masks = fitted
        .masks()
        .iter()
        .enumerate()
        .map(|(t, m)| {
            let (h, w) = data.shape(t);
            let mask = PyArray2::<bool>::zeros(py, [h, w], false);
            // SAFETY: a new array that nothing else refers to yet.
            unsafe { mask.as_slice_mut()? }.copy_from_slice(m);
            Ok(mask.into_any())
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((masks, learned))
}

/// Runs the embedding method `method` (`closest-to-average`, `rasa`) with `params` on an
/// embedding frame's codes (`coded`: the Python `CodedEmbeddings`: `task`, `worker` codes per
/// row, `values` rows × dim, and the id names for errors). Returns (aggregated embedding per
/// task: tasks × dim, each row's distance to its task's aggregate, each task's closest row
/// (−1: none), learned: dict by crowd-kit's attribute name).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn embed<'py>(
    py: Python<'py>,
    method: &str,
    coded: &Bound<'py, PyAny>,
    params: &Bound<'py, PyDict>,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyDict>,
)> {
    let entry = registry::embedder(method).map_err(to_py)?;
    let embedder = entry.build(&params_from_py(params)?).map_err(to_py)?;
    let codes = |name: &str| indices(coded, name, u32::MAX);
    let values: PyReadonlyArray2<'py, f64> = coded.getattr("values")?.extract()?;
    let dim = values.shape()[1];
    let data = Embeddings::new(
        coded.getattr("task_names")?.extract()?,
        coded.getattr("worker_names")?.extract()?,
        codes("task")?,
        codes("worker")?,
        dim,
        values.as_array().iter().copied().collect(),
    )
    .map_err(to_py)?;
    let fitted = py.detach(|| embedder.fit(&data)).map_err(to_py)?;
    let learned = learned_to_py(py, fitted.learned())?;
    let aggregated: Vec<f64> = fitted
        .aggregated()
        .iter()
        .flat_map(|row| {
            if row.is_empty() {
                vec![f64::NAN; dim]
            } else {
                row.clone()
            }
        })
        .collect();
    let closest: Vec<i64> = fitted
        .closest()
        .iter()
        .map(|c| c.map_or(-1, |r| r as i64))
        .collect();
    Ok((
        PyArray1::from_vec(py, aggregated).reshape([data.n_tasks(), dim])?,
        PyArray1::from_slice(py, fitted.scores()),
        PyArray1::from_vec(py, closest),
        learned,
    ))
}

/// Runs the text method `method` (`rover`) on a text frame's codes (`coded`: the Python
/// `CodedTexts`: `task` code per row, `offsets` (rows + 1) into `tokens`, the word ids, and
/// `words`, the vocabulary with the empty word first). Returns each task's word ids.
#[pyfunction]
pub fn aggregate_texts<'py>(
    py: Python<'py>,
    method: &str,
    coded: &Bound<'py, PyAny>,
    params: &Bound<'py, PyDict>,
) -> PyResult<Vec<Bound<'py, PyArray1<u32>>>> {
    let entry = registry::text_aggregator(method).map_err(to_py)?;
    let aggregator = entry.build(&params_from_py(params)?).map_err(to_py)?;
    let data = Texts::new(
        coded.getattr("task_names")?.extract()?,
        coded.getattr("words")?.extract()?,
        indices(coded, "task", u32::MAX)?,
        indices(coded, "offsets", usize::MAX)?,
        indices(coded, "tokens", u32::MAX)?,
    )
    .map_err(to_py)?;
    let fitted = py.detach(|| aggregator.fit(&data)).map_err(to_py)?;
    Ok(fitted
        .texts()
        .iter()
        .map(|t| PyArray1::from_slice(py, t))
        .collect())
}

/// Krippendorff's alpha (nominal distance) of the labels.
#[pyfunction]
pub fn krippendorff_alpha<'py>(codes: Codes<'py>) -> PyResult<f64> {
    let data = codes.labels(&no_names())?;
    agreement::krippendorff_alpha(&data).map_err(to_py)
}

/// Per-item or per-worker values as a numpy array, NaN where there is none.
fn nan_where_none(py: Python<'_>, values: Vec<Option<f64>>) -> Bound<'_, PyArray1<f64>> {
    PyArray1::from_vec(
        py,
        values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
    )
}

fn no_names() -> Names<'static> {
    Names {
        tasks: None,
        workers: None,
    }
}

/// Label uncertainty per task (or per worker with `by_worker`), skill-weighted when
/// `skills` (one per worker) are given.
#[pyfunction]
pub fn uncertainty<'py>(
    py: Python<'py>,
    codes: Codes<'py>,
    skills: Option<PyReadonlyArray1<'py, f64>>,
    by_worker: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = codes.labels(&no_names())?;
    let skills = match &skills {
        Some(s) => Some(s.as_slice()?),
        None => None,
    };
    let by = if by_worker { By::Worker } else { By::Task };
    let values = agreement::uncertainty(&data, skills, by).map_err(to_py)?;
    Ok(PyArray1::from_vec(py, values))
}

/// Each worker's share of labels equal to its task's value in `truth` (a class code per
/// task, −1 where unknown), among its labels of known tasks; NaN for a worker without one
/// (crowd-kit's `get_accuracy`: Wawa's, gold majority vote's skills and
/// `accuracy_on_aggregates`).
#[pyfunction]
pub fn worker_accuracy<'py>(
    py: Python<'py>,
    codes: Codes<'py>,
    truth: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = codes.labels(&no_names())?;
    let truth = truth.as_slice()?;
    // A code past the classes is a known value no label equals.
    let known: Vec<Option<u32>> = truth.iter().map(|&y| u32::try_from(y).ok()).collect();
    let values = agreement::known_accuracy(&data, &known).map_err(to_py)?;
    Ok(nan_where_none(py, values))
}

/// Consistency per task (NaN for a task without labels): the one-coin posterior of
/// `aggregated` (class codes, one per task) under `skills` (one per worker).
#[pyfunction]
pub fn consistency<'py>(
    py: Python<'py>,
    codes: Codes<'py>,
    skills: PyReadonlyArray1<'py, f64>,
    aggregated: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let data = codes.labels(&no_names())?;
    let aggregated: Vec<u32> = aggregated
        .as_slice()?
        .iter()
        .map(|&c| u32::try_from(c).unwrap_or(u32::MAX))
        .collect();
    let values = agreement::consistency(&data, skills.as_slice()?, &aggregated).map_err(to_py)?;
    Ok(nan_where_none(py, values))
}

/// Each worker's spammer score from its Dawid-Skene confusion matrix (default parameters).
#[pyfunction]
pub fn spammer_scores<'py>(
    py: Python<'py>,
    codes: Codes<'py>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    use conal::aggregate::{Aggregator, DawidSkene};
    let data = codes.labels(&no_names())?;
    let fitted = py.detach(|| DawidSkene::new().fit(&data)).map_err(to_py)?;
    Ok(PyArray1::from_vec(
        py,
        agreement::spammer_scores(&fitted.worker_confusions),
    ))
}

/// A method of the registry: (name, summary, [(parameter, summary)]).
type MethodInfo = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// The registry's methods: (name, summary, [(parameter, summary)]).
#[pyfunction]
pub fn aggregation_methods() -> Vec<MethodInfo> {
    registry::METHODS
        .iter()
        .map(|e| (e.name, e.about, e.params.to_vec()))
        .collect()
}
