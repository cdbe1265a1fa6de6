//! Majority vote with ties broken at random (from the seed), never by file order.
//!
//! ```
//! use conal::aggregate::MajorityVote;
//! use conal::data::Annotation;
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! let labels = [a(0, 0, 1), a(0, 1, 1), a(0, 2, 0), a(1, 0, 2)];
//! let fitted = MajorityVote::new().fit_annotations(2, 3, &labels).unwrap();
//! assert_eq!(fitted.aggregation.labels, vec![1, 2]);
//! assert!((fitted.aggregation.posteriors[0][1] - 2.0 / 3.0).abs() < 1e-12);
//! ```

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::aggregate::{Aggregation, Posteriors};
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

    /// Aggregates the crowd labels of `data`.
    pub fn fit(&self, data: &CrowdLabels) -> Result<FittedMajorityVote> {
        self.fit_annotations(data.n_items(), data.n_classes(), &data.annotations)
    }

    /// Aggregates `annotations` over `n_items` items and `n_class` classes. Posteriors are the
    /// vote shares; an item without labels gets a uniform posterior and a random label.
    pub fn fit_annotations(
        &self,
        n_items: usize,
        n_class: usize,
        annotations: &[Annotation],
    ) -> Result<FittedMajorityVote> {
        if n_class == 0 {
            return Err(Error::Config(
                "majority vote needs at least one class".into(),
            ));
        }
        if let Some(weights) = &self.weights
            && let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::param("weights", w, "finite and non-negative"));
        }
        // One flat item × class table (a vector per item was most of the vote's time).
        let mut votes = vec![0.0f64; n_items * n_class];
        for a in annotations {
            let (i, k) = (a.item as usize, a.label as usize);
            if i >= n_items || k >= n_class {
                return Err(Error::Config(format!("annotation {a:?} out of range")));
            }
            votes[i * n_class + k] += match &self.weights {
                None => 1.0,
                Some(weights) => *weights.get(a.worker as usize).ok_or_else(|| {
                    Error::Config(format!(
                        "{} weights, but a label of worker {} (majority vote needs one weight \
                         per worker)",
                        weights.len(),
                        a.worker
                    ))
                })?,
            };
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
