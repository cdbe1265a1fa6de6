//! `conal._conal`: the native module behind the `conal` Python package. It only converts:
//! numpy arrays and Python values become the library's types ([`convert`]), the same
//! registry, estimators and reports the `conal` command line uses do the work
//! ([`aggregation`], [`learning`]), and the results come back as numpy arrays; the crowd-kit
//! and scikit-learn shapes (DataFrames, index names) are built by the thin Python layer.
//!
//! Every fit runs with the GIL released ([`interrupt`]). Errors become `ValueError` (bad data
//! or parameters), `FileExistsError` (a run or a file in the way), `KeyboardInterrupt`
//! (Ctrl-C during a fit) or `RuntimeError`; a Rust panic surfaces as an exception, never an
//! abort.

use pyo3::prelude::*;

mod aggregation;
mod convert;
mod interrupt;
mod learning;

/// The native module.
#[pymodule]
fn _conal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aggregation::aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::aggregation_methods, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::rank, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::segment, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::embed, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::aggregate_texts, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::krippendorff_alpha, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::uncertainty, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::consistency, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::worker_accuracy, m)?)?;
    m.add_function(wrap_pyfunction!(aggregation::spammer_scores, m)?)?;
    m.add_function(wrap_pyfunction!(learning::fit, m)?)?;
    m.add_function(wrap_pyfunction!(learning::load, m)?)?;
    m.add_function(wrap_pyfunction!(learning::sort_labels, m)?)?;
    m.add_function(wrap_pyfunction!(convert::_matrix_address, m)?)?;
    m.add_class::<learning::PyFitted>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
