//! KOS (Karger, Oh & Shah 2011), binary, as crowd-kit 1.4 runs it: answers A = ±1 (class 0
//! is +1, class 1 is −1), one reliability message per label drawn from N(1, 1) by numpy's
//! legacy generator (so a run matches crowd-kit's for the same `random_state` and label
//! order), then `n_iter` rounds of
//! `x_{i→j} = Σ_{j'≠j} A_{ij'} y_{j'→i}` and `y_{j→i} = Σ_{i'≠i} A_{i'j} x_{i'→j}`,
//! stopping early (keeping the last finite messages) once a sum passes 10^300, as
//! crowd-kit does. An item's label is the sign of `Σ_j A_{ij} y_{j→i}`.
//!
//! ```
//! use conal::aggregate::{Aggregator, Kos};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0-2 are right; worker 3 always says the opposite of them.
//! let truth = [0, 1, 1, 0, 1, 0];
//! let mut labels = Vec::new();
//! for (i, &y) in truth.iter().enumerate() {
//!     let i = i as u32;
//!     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, y), a(i, 3, 1 - y)]);
//! }
//! let fitted = Kos::new().fit(&CrowdLabels::indexed(6, 4, 2, labels)?)?;
//! assert_eq!(fitted.aggregation.labels, truth.to_vec());
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, FittedAggregator, Posteriors, Values,
};
use crate::data::{Annotation, CrowdLabels};
use crate::error::{Error, Result};
use crate::rng::NumpyRandomState;

/// KOS in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "kos",
    about: "KOS: belief-propagation-like messages between items and workers (two classes only)",
    params: &[
        ("n_iter", "rounds (default 100)"),
        (
            "random_state",
            "seed of numpy's generator for the starting messages (default 0)",
        ),
    ],
    build: |p| {
        let mut kos = Kos::new();
        if let Some(n) = p.usize("n_iter")? {
            kos = kos.n_iter(n);
        }
        if let Some(seed) = p.u32("random_state")? {
            kos = kos.random_state(seed);
        }
        Ok(Box::new(kos))
    },
};

/// Where crowd-kit stops KOS before its messages overflow.
const MAX: f64 = 1e300;

/// KOS's parameters (crowd-kit's names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Kos {
    n_iter: usize,
    random_state: u32,
}

impl Default for Kos {
    fn default() -> Self {
        Self::new()
    }
}

/// What KOS infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedKos {
    /// Labels; posteriors are one-hot (KOS gives no probabilities; an item whose score is
    /// exactly 0 gets class 0 and a uniform posterior).
    pub aggregation: Aggregation,
    /// Each item's score `Σ_j A_{ij} y_{j→i}`: positive for class 0, negative for class 1.
    pub scores: Vec<f64>,
    /// Rounds run before the messages grew past 10^300 (`n_iter` when they never did).
    pub rounds: usize,
}

impl Kos {
    /// crowd-kit's defaults: 100 rounds, random state 0.
    pub fn new() -> Self {
        Kos {
            n_iter: 100,
            random_state: 0,
        }
    }

    /// Number of rounds (crowd-kit's `n_iter`). Defaults to 100.
    pub fn n_iter(mut self, n: usize) -> Self {
        self.n_iter = n;
        self
    }

    /// Seed of numpy's legacy generator for the starting messages. Defaults to 0.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }
}

impl Aggregator for Kos {
    type Fitted = FittedKos;

    /// Aggregates crowd labels of two classes. The starting messages are drawn in the order
    /// the labels were given ([`CrowdLabels::in_input_order`]), as crowd-kit draws them.
    fn fit(&self, data: &CrowdLabels) -> Result<FittedKos> {
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        if n_class != 2 {
            return Err(Error::Unsupported(format!(
                "KOS is for binary labels only: the data has {n_class} classes (use ds, glad or \
                 mv for more)"
            )));
        }
        let annotations: &[Annotation] = &data.in_input_order();
        let sign: Vec<f64> = annotations
            .iter()
            .map(|a| if a.label == 0 { 1.0 } else { -1.0 })
            .collect();
        let mut rng = NumpyRandomState::new(self.random_state);
        let mut reliability: Vec<f64> = (0..annotations.len())
            .map(|_| 1.0 + rng.standard_normal())
            .collect();
        let mut inferred = vec![0.0; annotations.len()];
        let mut item_sum = vec![0.0; n_items];
        let mut worker_sum = vec![0.0; n_workers];
        let mut rounds = 0;
        // Each message leaves out its own edge: the node's sum minus the edge's term.
        let pass = |sums: &mut [f64],
                    node: &dyn Fn(&Annotation) -> usize,
                    messages: &[f64],
                    out: &mut [f64]|
         -> bool {
            sums.fill(0.0);
            for ((a, s), m) in annotations.iter().zip(&sign).zip(messages) {
                sums[node(a)] += s * m;
            }
            if sums.iter().any(|v| v.abs() > MAX) {
                return false;
            }
            for (((a, s), m), o) in annotations.iter().zip(&sign).zip(messages).zip(out) {
                *o = sums[node(a)] - s * m;
            }
            true
        };
        for _ in 0..self.n_iter {
            if !pass(
                &mut item_sum,
                &|a| a.item as usize,
                &reliability,
                &mut inferred,
            ) {
                break;
            }
            if !pass(
                &mut worker_sum,
                &|a| a.worker as usize,
                &inferred,
                &mut reliability,
            ) {
                break;
            }
            rounds += 1;
        }
        let mut scores = vec![0.0; n_items];
        let mut has_labels = vec![false; n_items];
        for ((a, s), y) in annotations.iter().zip(&sign).zip(&reliability) {
            scores[a.item as usize] += s * y;
            has_labels[a.item as usize] = true;
        }
        let labels = scores.iter().map(|&s| u32::from(s < 0.0)).collect();
        let posteriors: Vec<Vec<f64>> = scores
            .iter()
            .zip(&has_labels)
            .map(|(&s, &has)| match (has, s) {
                (true, s) if s > 0.0 => vec![1.0, 0.0],
                (true, s) if s < 0.0 => vec![0.0, 1.0],
                _ => vec![0.5, 0.5],
            })
            .collect();
        tracing::debug!("kos: {rounds} rounds");
        Ok(FittedKos {
            aggregation: Aggregation {
                labels,
                posteriors: Posteriors::from_rows(&posteriors),
                has_labels,
            },
            scores,
            rounds,
        })
    }
}

impl FittedAggregator for FittedKos {
    fn aggregation(&self) -> &Aggregation {
        &self.aggregation
    }

    fn learned(&self) -> Vec<(&'static str, Values)> {
        vec![
            ("scores", Values::Vector(self.scores.clone())),
            ("rounds", Values::Scalar(self.rounds as f64)),
        ]
    }
}
