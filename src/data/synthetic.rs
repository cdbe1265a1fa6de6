//! Generated demo crowds with known confusions, for the out-of-the-box run and for tests.
//!
//! The generative story follows CoNAL's own: every class `k` has a partner class (0↔1, 2↔3, …).
//! Features are a Gaussian mixture; a fraction of items are *ambiguous* and lie part of the way
//! towards their partner's mean. On an ambiguous item a worker usually makes the **common**
//! mistake every worker makes (the common confusion sends a class to its partner); otherwise it
//! answers through its own **individual** confusion: right with its reliability ρ_r, else
//! mostly the partner class, sometimes any other wrong class. A fraction of workers are
//! spammers who always give the same class. Workers label at different rates (a few do most of
//! the work).
//!
//! ```
//! use conal::data::synthetic::SyntheticConfig;
//!
//! let demo = SyntheticConfig::default().with_seed(7).generate().unwrap();
//! assert_eq!(demo.data.train.n_classes(), 6);
//! assert!(demo.data.test.is_some());
//! ```

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::data::{Annotation, CrowdData, LabeledSet, Matrix, TaskData};
use crate::error::DataError;

/// Parameters of a generated crowd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    /// Training items (crowd-labelled). Defaults to 2,000.
    pub n_train: usize,
    /// Test items (true labels only). Defaults to 1,000.
    pub n_test: usize,
    /// Features per item. Defaults to 20.
    pub n_features: usize,
    /// Classes; must be even (classes come in partner pairs). Defaults to 6.
    pub n_classes: usize,
    /// Workers. Defaults to 30.
    pub n_workers: usize,
    /// Distinct workers per training item. Defaults to 3.
    pub labels_per_item: usize,
    /// Fraction of ambiguous items. Defaults to 0.2.
    pub ambiguous_fraction: f64,
    /// How far (0–1) an ambiguous item lies towards its partner class's mean. Defaults to 0.4.
    pub ambiguity_shift: f64,
    /// Probability that a worker makes the common mistake on an ambiguous item. Defaults to 0.6.
    pub common_rate: f64,
    /// Reliabilities of the other workers are spread evenly over this range. Defaults to
    /// (0.5, 0.95).
    pub reliability: (f64, f64),
    /// Share of a worker's own mistakes that go to the partner class (the rest are spread
    /// uniformly over the other wrong classes). Defaults to 0.7.
    #[serde(default = "default_partner_mistakes")]
    pub partner_mistakes: f64,
    /// Fraction of workers that are lazy spammers: they always give the first class (as
    /// annotators who keep a form's default option do), whatever the item. Defaults to 0.4.
    #[serde(default = "default_spammers")]
    pub spammers: f64,
    /// Standard deviation of the class means (noise has unit variance). Defaults to 1.5.
    pub class_spread: f64,
    /// RNG seed. Defaults to 0.
    pub seed: u64,
}

fn default_partner_mistakes() -> f64 {
    0.7
}

fn default_spammers() -> f64 {
    0.4
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            n_train: 2000,
            n_test: 1000,
            n_features: 20,
            n_classes: 6,
            n_workers: 30,
            labels_per_item: 3,
            ambiguous_fraction: 0.2,
            ambiguity_shift: 0.4,
            common_rate: 0.6,
            reliability: (0.5, 0.95),
            partner_mistakes: default_partner_mistakes(),
            spammers: default_spammers(),
            class_spread: 1.5,
            seed: 0,
        }
    }
}

/// A generated crowd with the confusions that produced it.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Training crowd (with true labels) and a test split.
    pub data: TaskData,
    /// The common confusion, K × K row-stochastic, row = true class.
    pub common: Vec<Vec<f64>>,
    /// Each worker's individual confusion, R × K × K row-stochastic.
    pub individual: Vec<Vec<Vec<f64>>>,
    /// Each worker's reliability: its probability of a right answer outside the common mistake
    /// (ρ_r, or 1/K for a spammer).
    pub reliability: Vec<f64>,
    /// Which training items are ambiguous.
    pub ambiguous: Vec<bool>,
}

impl SyntheticConfig {
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Partner of class `k`.
    pub fn partner(k: usize) -> usize {
        k ^ 1
    }

    fn check(&self) -> Result<(), DataError> {
        let bad = |m: &str| Err(DataError::Invalid(format!("synthetic crowd: {m}")));
        if self.n_classes < 2 || !self.n_classes.is_multiple_of(2) {
            return bad("n_classes must be even and at least 2");
        }
        if self.n_train == 0 || self.n_test == 0 || self.n_features == 0 {
            return bad("n_train, n_test and n_features must be positive");
        }
        if self.labels_per_item == 0 || self.labels_per_item > self.n_workers {
            return bad("labels_per_item must be between 1 and n_workers");
        }
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        if !unit(self.ambiguous_fraction)
            || !unit(self.ambiguity_shift)
            || !unit(self.common_rate)
            || !unit(self.reliability.0)
            || !unit(self.reliability.1)
            || !unit(self.partner_mistakes)
            || !unit(self.spammers)
        {
            return bad("fractions, rates and reliabilities must lie in [0, 1]");
        }
        Ok(())
    }

    /// Generates the crowd.
    pub fn generate(&self) -> Result<Synthetic, DataError> {
        self.check()?;
        let (k, d, r) = (self.n_classes, self.n_features, self.n_workers);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        let means: Vec<Vec<f64>> = (0..k)
            .map(|_| {
                (0..d)
                    .map(|_| self.class_spread * normal(&mut rng))
                    .collect()
            })
            .collect();

        let common: Vec<Vec<f64>> = (0..k)
            .map(|y| {
                let mut row = vec![0.0; k];
                row[y] = 1.0 - self.common_rate;
                row[Self::partner(y)] += self.common_rate;
                row
            })
            .collect();
        let (lo, hi) = self.reliability;
        let mut reliability: Vec<f64> = (0..r)
            .map(|w| {
                if r == 1 {
                    hi
                } else {
                    lo + (hi - lo) * w as f64 / (r - 1) as f64
                }
            })
            .collect();
        reliability.shuffle(&mut rng);
        let n_spammers = (self.spammers * r as f64).round() as usize;
        let mut individual: Vec<Vec<Vec<f64>>> = reliability
            .iter()
            .map(|&rho| {
                (0..k)
                    .map(|y| {
                        let partner = Self::partner(y);
                        let spread = if k > 2 {
                            (1.0 - rho) * (1.0 - self.partner_mistakes) / (k - 2) as f64
                        } else {
                            0.0
                        };
                        (0..k)
                            .map(|j| {
                                if j == y {
                                    rho
                                } else if j == partner {
                                    if k > 2 {
                                        (1.0 - rho) * self.partner_mistakes
                                    } else {
                                        1.0 - rho
                                    }
                                } else {
                                    spread
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Spammers: the first workers of the shuffled order always answer class 0; a right
        // answer then happens only by chance (expected accuracy 1/K).
        for w in 0..n_spammers.min(r) {
            let class = 0;
            individual[w] = (0..k)
                .map(|_| (0..k).map(|j| if j == class { 1.0 } else { 0.0 }).collect())
                .collect();
            reliability[w] = 1.0 / k as f64;
        }
        // Activity: worker w labels at a rate ∝ 1/sqrt(w+1), in a shuffled order.
        let mut activity: Vec<f64> = (0..r).map(|w| 1.0 / ((w + 1) as f64).sqrt()).collect();
        activity.shuffle(&mut rng);

        let sample_items = |n: usize, rng: &mut ChaCha8Rng| {
            let mut x = Vec::with_capacity(n * d);
            let mut y = Vec::with_capacity(n);
            let mut ambiguous = Vec::with_capacity(n);
            for _ in 0..n {
                let class = rng.random_range(0..k);
                let amb = rng.random_bool(self.ambiguous_fraction);
                let shift = if amb { self.ambiguity_shift } else { 0.0 };
                let p = Self::partner(class);
                for (own, other) in means[class].iter().zip(&means[p]) {
                    let mu = own + shift * (other - own);
                    x.push((mu + normal(rng)) as f32);
                }
                y.push(class as u32);
                ambiguous.push(amb);
            }
            (x, y, ambiguous)
        };
        let (x_train, y_train, ambiguous) = sample_items(self.n_train, &mut rng);
        let (x_test, y_test, _) = sample_items(self.n_test, &mut rng);

        let draw = |row: &[f64], rng: &mut ChaCha8Rng| -> u32 {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            for (j, &p) in row.iter().enumerate() {
                acc += p;
                if u < acc {
                    return j as u32;
                }
            }
            (row.len() - 1) as u32
        };
        let total_activity: f64 = activity.iter().sum();
        let mut annotations = Vec::with_capacity(self.n_train * self.labels_per_item);
        for i in 0..self.n_train {
            let mut chosen: Vec<usize> = Vec::with_capacity(self.labels_per_item);
            while chosen.len() < self.labels_per_item {
                let mut u = rng.random::<f64>() * total_activity;
                let mut w = 0;
                while w + 1 < r && u >= activity[w] {
                    u -= activity[w];
                    w += 1;
                }
                if !chosen.contains(&w) {
                    chosen.push(w);
                }
            }
            let y = y_train[i] as usize;
            for w in chosen {
                let label = if ambiguous[i] && rng.random_bool(self.common_rate.min(1.0)) {
                    Self::partner(y) as u32
                } else {
                    draw(&individual[w][y], &mut rng)
                };
                annotations.push(Annotation {
                    item: i as u32,
                    worker: w as u32,
                    label,
                });
            }
        }
        // Drop workers that were never drawn (possible for tiny crowds) and renumber.
        let mut used = vec![false; r];
        for a in &annotations {
            used[a.worker as usize] = true;
        }
        let kept: Vec<usize> = (0..r).filter(|&w| used[w]).collect();
        let mut new_index = vec![0u32; r];
        for (n, &w) in kept.iter().enumerate() {
            new_index[w] = n as u32;
        }
        for a in &mut annotations {
            a.worker = new_index[a.worker as usize];
        }

        let classes: Vec<String> = (0..k).map(|c| format!("class{c}")).collect();
        let train = CrowdData::new(
            Matrix::new(self.n_train, d, x_train)?,
            annotations,
            classes,
            kept.iter().map(|w| format!("worker{w}")).collect(),
            (0..self.n_train).map(|i| format!("item{i}")).collect(),
            Some(y_train.into_iter().map(Some).collect()),
        )?;
        let test = LabeledSet::new(
            Matrix::new(self.n_test, d, x_test)?,
            y_test,
            (0..self.n_test).map(|i| format!("test{i}")).collect(),
            k,
        )?;
        Ok(Synthetic {
            data: TaskData {
                train,
                valid: None,
                test: Some(test),
            },
            common,
            individual: kept.iter().map(|&w| individual[w].clone()).collect(),
            reliability: kept.iter().map(|&w| reliability[w]).collect(),
            ambiguous,
        })
    }
}
