//! Closest to average, as crowd-kit 1.4 defines it: each task's aggregated embedding is the
//! mean of its answers' embeddings (or one given: known true embeddings, or aggregates from
//! elsewhere), and the task's answer is the one whose embedding is closest to it.
//!
//! Sums run in crowd-kit's order (answers one after another), so the means equal its.
//!
//! ```
//! use conal::aggregate::{ClosestToAverage, Embedder, FittedEmbeddings};
//! use conal::data::Embeddings;
//!
//! let data = Embeddings::new(
//!     vec!["t".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0],
//!     vec![0, 1, 2],
//!     2,
//!     vec![1.0, 0.0, 0.9, 0.2, -1.0, 0.5],
//! )?;
//! let fitted = ClosestToAverage::new().fit(&data)?;
//! let mean = &fitted.aggregated()[0];
//! assert!((mean[0] - 0.3).abs() < 1e-12 && (mean[1] - 0.7 / 3.0).abs() < 1e-12);
//! assert_eq!(fitted.closest()[0], Some(1));
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;

use crate::aggregate::contract::{Embedder, Entry, FittedEmbeddings};
use crate::aggregate::params::Params;
use crate::data::{Embeddings, numpy_sum_by};
use crate::error::{Error, Result};

/// Closest to average in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynEmbedder> = Entry {
    name: "closest-to-average",
    about: "closest to average: each task's mean embedding and the answer closest to it",
    params: &[
        (
            "distance",
            "cosine (default; infinite for a zero vector), euclidean or sqeuclidean",
        ),
        (
            "true_embeddings",
            "a tasks × dim table of known embeddings used in place of the mean (NaN rows: none)",
        ),
        (
            "aggregated_embeddings",
            "a tasks × dim table of aggregates to use instead of the means",
        ),
    ],
    build: |p| {
        let mut m = ClosestToAverage::new();
        if let Some(d) = p.text("distance")? {
            m.distance = Distance::parse(d)?;
        }
        m.true_embeddings = table(p, "true_embeddings")?;
        m.aggregated = table(p, "aggregated_embeddings")?;
        Ok(Box::new(m))
    },
};

/// A tasks × dim table parameter as rows.
pub(crate) fn table(p: &Params, name: &str) -> Result<Option<Vec<Vec<f64>>>> {
    Ok(p.matrix(name)?.map(|(rows, cols, v)| {
        (0..rows)
            .map(|r| v[r * cols..(r + 1) * cols].to_vec())
            .collect()
    }))
}

/// How far an answer's embedding is from its task's aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Distance {
    /// `1 − u·v / (|u| |v|)`, clipped to [0, 2]; infinite when either vector is 0 (crowd-kit's
    /// RASA and HRRASA distance).
    #[default]
    Cosine,
    /// `|u − v|`.
    Euclidean,
    /// `|u − v|²`.
    SqEuclidean,
}

impl Distance {
    /// By name: cosine, euclidean or sqeuclidean.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cosine" => Ok(Distance::Cosine),
            "euclidean" => Ok(Distance::Euclidean),
            "sqeuclidean" => Ok(Distance::SqEuclidean),
            other => Err(Error::param(
                "distance",
                other,
                "cosine, euclidean or sqeuclidean",
            )),
        }
    }

    /// The distance of `u` to `v`.
    pub fn between(self, u: &[f64], v: &[f64]) -> f64 {
        match self {
            Distance::Cosine => {
                if u.iter().all(|&x| x == 0.0) || v.iter().all(|&x| x == 0.0) {
                    return f64::INFINITY;
                }
                let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                let d = 1.0 - dot(u, v) / (dot(u, u) * dot(v, v)).sqrt();
                d.clamp(0.0, 2.0)
            }
            Distance::Euclidean => Distance::SqEuclidean.between(u, v).sqrt(),
            Distance::SqEuclidean => numpy_sum_by(u.len(), |j| (u[j] - v[j]) * (u[j] - v[j])),
        }
    }
}

/// Closest to average's parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClosestToAverage {
    /// How distances are measured. Defaults to cosine.
    pub distance: Distance,
    /// Known embeddings by task (rows of NaN: unknown), used in place of the means.
    pub true_embeddings: Option<Vec<Vec<f64>>>,
    /// Aggregates by task to use instead of the means.
    pub aggregated: Option<Vec<Vec<f64>>>,
}

/// What an embedding method infers: aggregates, distances, the closest answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedClosest {
    /// Each task's aggregated embedding.
    pub aggregated: Vec<Vec<f64>>,
    /// Each row's distance to its task's aggregate.
    pub scores: Vec<f64>,
    /// Each task's closest row.
    pub closest: Vec<Option<usize>>,
}

/// Each task's embedding replaced by the known one where `known` has it (a row without NaN).
pub(crate) fn with_known(
    aggregated: &mut [Vec<f64>],
    known: Option<&Vec<Vec<f64>>>,
    dim: usize,
) -> Result<()> {
    let Some(known) = known else { return Ok(()) };
    if known.len() != aggregated.len() || known.iter().any(|r| r.len() != dim) {
        return Err(Error::Invalid {
            what: "true_embeddings",
            message: format!("expected {} rows of {dim} numbers", aggregated.len()),
        });
    }
    for (a, k) in aggregated.iter_mut().zip(known) {
        if k.iter().all(|v| !v.is_nan()) {
            a.clone_from(k);
        }
    }
    Ok(())
}

/// Each row's distance to its task's aggregate and each task's closest row (the first of the
/// smallest, NaN distances skipped, as pandas' `idxmin`).
pub(crate) fn closest(
    data: &Embeddings,
    aggregated: &[Vec<f64>],
    distance: Distance,
) -> FittedClosest {
    let scores: Vec<f64> = (0..data.len())
        .into_par_iter()
        .map(|r| distance.between(data.embedding(r), &aggregated[data.task[r] as usize]))
        .collect();
    let closest = (0..data.n_tasks())
        .map(|t| {
            data.rows_of(t)
                .iter()
                .filter(|&&r| !scores[r].is_nan())
                .fold(None, |best: Option<usize>, &r| match best {
                    Some(b) if scores[b] <= scores[r] => Some(b),
                    _ => Some(r),
                })
        })
        .collect();
    FittedClosest {
        aggregated: aggregated.to_vec(),
        scores,
        closest,
    }
}

impl ClosestToAverage {
    /// Cosine distance to the mean.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Embedder for ClosestToAverage {
    type Fitted = FittedClosest;

    fn fit(&self, data: &Embeddings) -> Result<Self::Fitted> {
        let dim = data.dim;
        let aggregated = match &self.aggregated {
            Some(given) => {
                if given.len() != data.n_tasks() || given.iter().any(|r| r.len() != dim) {
                    return Err(Error::Invalid {
                        what: "aggregated_embeddings",
                        message: format!("expected {} rows of {dim} numbers", data.n_tasks()),
                    });
                }
                given.clone()
            }
            None => {
                let mut means: Vec<Vec<f64>> = (0..data.n_tasks())
                    .map(|t| {
                        let rows = data.rows_of(t);
                        let mut sum = vec![0.0; dim];
                        for &r in rows {
                            sum.iter_mut()
                                .zip(data.embedding(r))
                                .for_each(|(s, x)| *s += x);
                        }
                        sum.iter().map(|s| s / rows.len() as f64).collect()
                    })
                    .collect();
                with_known(&mut means, self.true_embeddings.as_ref(), dim)?;
                means
            }
        };
        Ok(closest(data, &aggregated, self.distance))
    }
}

impl FittedEmbeddings for FittedClosest {
    fn aggregated(&self) -> &[Vec<f64>] {
        &self.aggregated
    }

    fn scores(&self) -> &[f64] {
        &self.scores
    }

    fn closest(&self) -> &[Option<usize>] {
        &self.closest
    }
}
