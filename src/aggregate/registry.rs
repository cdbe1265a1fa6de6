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

pub use crate::aggregate::contract::{
    DynAggregator, DynEmbedder, DynRanker, DynSegmenter, DynTextAggregator, Entry,
};
use crate::aggregate::{
    bradley_terry, closest_to_average, dawid_skene, glad, gold_majority_vote, hrrasa, kos, m_msr,
    mace, majority_vote, noisy_bradley_terry, rasa, rover, segmentation_em,
    segmentation_majority_vote, segmentation_rasa, wawa, zero_based_skill,
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

/// Every ranking method (pairwise comparisons → one score per item).
pub static RANKERS: [&Entry<dyn DynRanker>; 2] =
    [&bradley_terry::ENTRY, &noisy_bradley_terry::ENTRY];

/// Every segmentation method (workers' masks → one mask per task).
pub static SEGMENTERS: [&Entry<dyn DynSegmenter>; 3] = [
    &segmentation_majority_vote::ENTRY,
    &segmentation_rasa::ENTRY,
    &segmentation_em::ENTRY,
];

/// Every embedding method (embedded answers → one embedding and answer per task).
pub static EMBEDDERS: [&Entry<dyn DynEmbedder>; 3] =
    [&closest_to_average::ENTRY, &rasa::ENTRY, &hrrasa::ENTRY];

/// Every text method (tokenised texts → one text per task).
pub static TEXTS: [&Entry<dyn DynTextAggregator>; 1] = [&rover::ENTRY];

/// A method of any kind.
#[derive(Clone, Copy)]
pub enum Method {
    /// Tokenised texts → a text per task.
    Texts(&'static Entry<dyn DynTextAggregator>),
    /// Embedded answers → an embedding and an answer per task.
    Embeddings(&'static Entry<dyn DynEmbedder>),
    /// Workers' masks → a mask per task.
    Segmentations(&'static Entry<dyn DynSegmenter>),
    /// Crowd labels of classes → a label per item.
    Classes(&'static Entry),
    /// Pairwise comparisons → a score per item.
    Comparisons(&'static Entry<dyn DynRanker>),
}

/// The method named `name`, of either kind; an error lists the names.
pub fn method(name: &str) -> Result<Method> {
    if let Some(e) = METHODS.iter().find(|e| e.name == name) {
        return Ok(Method::Classes(e));
    }
    if let Some(e) = RANKERS.iter().find(|e| e.name == name) {
        return Ok(Method::Comparisons(e));
    }
    if let Some(e) = SEGMENTERS.iter().find(|e| e.name == name) {
        return Ok(Method::Segmentations(e));
    }
    if let Some(e) = EMBEDDERS.iter().find(|e| e.name == name) {
        return Ok(Method::Embeddings(e));
    }
    if let Some(e) = TEXTS.iter().find(|e| e.name == name) {
        return Ok(Method::Texts(e));
    }
    Err(unknown(name))
}

fn unknown(name: &str) -> Error {
    Error::param(
        "method",
        name,
        format!("expected one of {}", names().collect::<Vec<_>>().join(", ")),
    )
}

/// The aggregation method of classes named `name`; an error lists the names (a ranking
/// method's name says it takes comparisons).
pub fn entry(name: &str) -> Result<&'static Entry> {
    match method(name)? {
        Method::Classes(e) => Ok(e),
        Method::Comparisons(e) => Err(Error::param(
            "method",
            name,
            format!(
                "{} ranks pairwise comparisons (columns worker, left, right, label), not class labels",
                e.name
            ),
        )),
        Method::Segmentations(e) => Err(not_masks(e.name, "class labels")),
        Method::Embeddings(e) => Err(not_embeddings(e.name, "class labels")),
        Method::Texts(e) => Err(not_texts(e.name, "class labels")),
    }
}

fn not_masks(name: &str, what: &str) -> Error {
    Error::param(
        "method",
        name,
        format!("{name} aggregates image masks (columns task, worker, segmentation), not {what}"),
    )
}

fn not_embeddings(name: &str, what: &str) -> Error {
    Error::param(
        "method",
        name,
        format!("{name} aggregates embedded answers (columns task, worker, embedding), not {what}"),
    )
}

fn not_texts(name: &str, what: &str) -> Error {
    Error::param(
        "method",
        name,
        format!("{name} aggregates texts (columns task, worker, text), not {what}"),
    )
}

/// The text method named `name`.
pub fn text_aggregator(name: &str) -> Result<&'static Entry<dyn DynTextAggregator>> {
    match method(name)? {
        Method::Texts(e) => Ok(e),
        _ => Err(Error::param("method", name, "not a text method (rover)")),
    }
}

/// The embedding method named `name`.
pub fn embedder(name: &str) -> Result<&'static Entry<dyn DynEmbedder>> {
    match method(name)? {
        Method::Embeddings(e) => Ok(e),
        _ => Err(Error::param(
            "method",
            name,
            "not an embedding method (closest-to-average, rasa, hrrasa)",
        )),
    }
}

/// The segmentation method named `name`; an error lists the names.
pub fn segmenter(name: &str) -> Result<&'static Entry<dyn DynSegmenter>> {
    match method(name)? {
        Method::Segmentations(e) => Ok(e),
        _ => Err(Error::param(
            "method",
            name,
            "not a segmentation method (seg-mv, seg-rasa, seg-em)",
        )),
    }
}

/// The ranking method named `name`; an error lists the names.
pub fn ranker(name: &str) -> Result<&'static Entry<dyn DynRanker>> {
    match method(name)? {
        Method::Comparisons(e) => Ok(e),
        Method::Classes(e) => Err(Error::param(
            "method",
            name,
            format!(
                "{} aggregates class labels (columns task, worker, label), not comparisons",
                e.name
            ),
        )),
        Method::Segmentations(e) => Err(not_masks(e.name, "comparisons")),
        Method::Embeddings(e) => Err(not_embeddings(e.name, "comparisons")),
        Method::Texts(e) => Err(not_texts(e.name, "comparisons")),
    }
}

/// Every method's name: classes, then comparisons, masks, embeddings and texts.
pub fn names() -> impl Iterator<Item = &'static str> {
    METHODS
        .iter()
        .map(|e| e.name)
        .chain(RANKERS.iter().map(|e| e.name))
        .chain(SEGMENTERS.iter().map(|e| e.name))
        .chain(EMBEDDERS.iter().map(|e| e.name))
        .chain(TEXTS.iter().map(|e| e.name))
}
