//! Every aggregation method by name: the one table the command line (`conal aggregate
//! --method`), the library (a plain classifier's labels) and the Python bindings dispatch
//! through. Each method's file describes itself (its [`Entry`]: name, summary, parameters and
//! how to build it from [`Params`](crate::aggregate::Params)); adding a method is its file
//! plus one line here.
//!
//! ```
//! use conal::aggregate::{Params, Value, registry};
//! use conal::data::CrowdLabels;
//!
//! let data = CrowdLabels::from_strings(&["a", "a", "b"], &["w1", "w2", "w1"], &["x", "x", "y"], None)?;
//! let ds = registry::entry("ds")?;
//! let fitted = ds.fit(&Params::new().with("n_iter", Value::Int(10)), &data)?;
//! assert_eq!(fitted.aggregation().labels, [0, 1]);
//! assert!(fitted.learned().iter().any(|(name, _)| *name == "errors"));
//! # Ok::<(), conal::Error>(())
//! ```

pub use crate::aggregate::contract::{DynAggregator, Entry};
use crate::aggregate::{
    dawid_skene, glad, gold_majority_vote, kos, m_msr, mace, majority_vote, wawa, zero_based_skill,
};
use crate::error::{Error, Result};

/// Every method, in the order of crowd-kit's documentation.
pub static METHODS: [&Entry; 10] = [
    &majority_vote::ENTRY,
    &wawa::ENTRY,
    &gold_majority_vote::ENTRY,
    &zero_based_skill::ENTRY,
    &dawid_skene::ENTRY,
    &dawid_skene::ONE_COIN_ENTRY,
    &glad::ENTRY,
    &kos::ENTRY,
    &mace::ENTRY,
    &m_msr::ENTRY,
];

/// The method named `name`; an error lists the names.
pub fn entry(name: &str) -> Result<&'static Entry> {
    METHODS
        .iter()
        .copied()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            Error::param(
                "method",
                name,
                format!("expected one of {}", names().collect::<Vec<_>>().join(", ")),
            )
        })
}

/// The methods' names.
pub fn names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|e| e.name)
}
