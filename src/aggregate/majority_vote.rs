//! Majority vote with ties broken at random (from the seed), never by file order.
//!
//! ```
//! use conal::aggregate::{Aggregator, MajorityVote};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! let labels = vec![a(0, 0, 1), a(0, 1, 1), a(0, 2, 0), a(1, 0, 2)];
//! let data = CrowdLabels::indexed(2, 3, 3, labels)?;
//! let fitted = MajorityVote::new().fit(&data)?;
//! assert_eq!(fitted.aggregation.labels, vec![1, 2]);
//! assert!((fitted.aggregation.posteriors[0][1] - 2.0 / 3.0).abs() < 1e-12);
//! # Ok::<(), conal::Error>(())
//! ```

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, FittedAggregator, Posteriors, Values,
};
use crate::aggregate::params::Params;
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};
use crate::rng::{rng, stream};

/// How a vote picks among tied classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ties {
    /// At random, from the seed (never by file order).
    #[default]
    Random,
    /// The tied class of lowest index: crowd-kit's rule (`idxmax` over its label columns),
    /// for reproducing crowd-kit when the class order is its column order.
    Lowest,
}

/// Votes turned into their shares of the row's total in place (uniform for a row without
/// votes): majority vote's posteriors, and Dawid-Skene's start.
pub(crate) fn into_shares(row: &mut [f64]) {
    let total: f64 = row.iter().sum();
    let uniform = 1.0 / row.len() as f64;
    for v in row.iter_mut() {
        *v = if total > 0.0 { *v / total } else { uniform };
    }
}

/// The class of `row` whose value is `max`, ties broken by `ties` (a `Random` pick draws
/// once per call, tied or not, so that the draws do not depend on the votes), and whether
/// there was a tie. Shared by every vote of the crate.
pub(crate) fn pick(row: &[f64], max: f64, ties: Ties, rng: &mut ChaCha8Rng) -> (u32, bool) {
    // Counted, then found again, rather than collected: no allocation per item.
    let n_tied = row.iter().filter(|&&v| v == max).count();
    let nth = match ties {
        Ties::Random => rng.random_range(0..n_tied.max(1)),
        Ties::Lowest => 0,
    };
    let label = (0..row.len())
        .filter(|&k| row[k] == max)
        .nth(nth)
        .unwrap_or_default();
    (label as u32, n_tied > 1)
}

/// Majority vote in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "mv",
    about: "majority vote, ties broken at random from the seed",
    params: &[
        ("seed", "seed of the tie-breaking draws (default 0)"),
        (
            "ties",
            "random (default) or lowest (the first class in label order, crowd-kit's)",
        ),
        (
            "weights",
            "one weight per worker: a weighted vote (crowd-kit's skills=)",
        ),
    ],
    build: |p| {
        let mut mv = MajorityVote::new().seed(p.u64("seed")?.unwrap_or(0));
        if let Some(ties) = ties_param(p)? {
            mv = mv.ties(ties);
        }
        if let Some(w) = p.floats("weights")? {
            mv = mv.weights(w.to_vec());
        }
        Ok(Box::new(mv))
    },
};

/// The `ties` parameter of the votes: `random` or `lowest`.
pub(crate) fn ties_param(p: &Params) -> Result<Option<Ties>> {
    match p.text("ties")? {
        None => Ok(None),
        Some("random") => Ok(Some(Ties::Random)),
        Some("lowest") => Ok(Some(Ties::Lowest)),
        Some(other) => Err(Error::param("ties", other, "expected random or lowest")),
    }
}

/// Majority vote parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MajorityVote {
    seed: u64,
    weights: Option<Vec<f64>>,
    ties: Ties,
}

impl Default for MajorityVote {
    fn default() -> Self {
        Self::new()
    }
}

impl MajorityVote {
    /// Majority vote with seed 0 for tie breaking.
    pub fn new() -> Self {
        MajorityVote {
            seed: 0,
            weights: None,
            ties: Ties::Random,
        }
    }

    /// How ties are broken. Defaults to [`Ties::Random`].
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }

    /// Seed of the tie-breaking draws. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Weighted majority vote: worker `w`'s vote counts `weights[w]` (crowd-kit's
    /// `skills=`), finite and non-negative; posteriors are each item's weight shares. An
    /// item whose voters all weigh 0 is treated as unlabelled. Defaults to one vote each.
    pub fn weights(mut self, weights: Vec<f64>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// The vote over `annotations` (checked crowd labels of `n_items` items, `n_workers`
    /// workers and `n_class` classes). Posteriors are the vote shares; an item without labels
    /// gets a uniform posterior and a random label.
    pub(crate) fn vote(
        &self,
        n_items: usize,
        n_workers: usize,
        n_class: usize,
        annotations: &[Annotation],
        soft: Option<&[f64]>,
    ) -> Result<FittedMajorityVote> {
        if let Some(weights) = &self.weights {
            if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                return Err(Error::param("weights", w, "finite and non-negative"));
            }
            if weights.len() != n_workers {
                return Err(Error::param(
                    "weights",
                    format!("{} values", weights.len()),
                    format!("majority vote needs one weight per worker ({n_workers})"),
                ));
            }
        }
        // One flat item × class table (a vector per item was most of the vote's time).
        let mut votes = vec![0.0f64; n_items * n_class];
        match (&self.weights, soft) {
            (None, None) => {
                for a in annotations {
                    votes[a.item as usize * n_class + a.label as usize] += 1.0;
                }
            }
            (Some(weights), None) => {
                for a in annotations {
                    votes[a.item as usize * n_class + a.label as usize] +=
                        weights[a.worker as usize];
                }
            }
            // Soft answers: each class gets the answer's probability of it (times the
            // worker's weight); a one-hot row votes exactly as its label.
            (weights, Some(soft)) => {
                for (a, q) in annotations.iter().zip(soft.chunks_exact(n_class)) {
                    let weight = weights.as_ref().map_or(1.0, |w| w[a.worker as usize]);
                    let at = a.item as usize * n_class;
                    for (v, &q) in votes[at..at + n_class].iter_mut().zip(q) {
                        if q > 0.0 {
                            *v += if weights.is_some() { weight * q } else { q };
                        }
                    }
                }
            }
        }
        let mut rng = rng(self.seed, stream::TIES);
        let mut labels = Vec::with_capacity(n_items);
        let mut has_labels = Vec::with_capacity(n_items);
        let mut ties = 0;
        for row in votes.chunks_exact_mut(n_class) {
            has_labels.push(row.iter().sum::<f64>() > 0.0);
            let max = row.iter().cloned().fold(0.0, f64::max);
            let (label, tied) = pick(row, max, self.ties, &mut rng);
            ties += usize::from(tied);
            labels.push(label);
            into_shares(row);
        }
        tracing::debug!("majority vote: {ties} of {n_items} items had tied votes");
        Ok(FittedMajorityVote {
            aggregation: Aggregation {
                labels,
                posteriors: Posteriors::from_flat(n_items, n_class, votes),
                has_labels,
            },
            ties,
        })
    }
}

/// What majority vote infers: the labels and vote shares ([`Aggregation`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FittedMajorityVote {
    /// Labels (ties broken at random from the seed) and posteriors (the vote shares; uniform
    /// for an item without labels).
    pub aggregation: Aggregation,
    /// Items whose top vote was tied.
    pub ties: usize,
}

impl Aggregator for MajorityVote {
    type Fitted = FittedMajorityVote;
    const SOFT: bool = true;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedMajorityVote> {
        self.vote(
            data.n_items(),
            data.n_workers(),
            data.n_classes(),
            &data.annotations,
            data.soft(),
        )
    }
}

impl FittedAggregator for FittedMajorityVote {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![("ties", Values::Scalar(self.ties as f64))]
    }
}
