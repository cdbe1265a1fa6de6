//! Zero-based skill (ZBS), as crowd-kit 1.4 defines it: every worker starts with skill
//! 1/L + ε (L the number of distinct labels given); each of `n_iter` rounds runs the
//! skill-weighted majority vote and moves each skill towards the worker's agreement with it,
//! `skill += lr · (agreement − skill)`, the rate halving every 20 rounds. The labels are the
//! vote weighted by the final skills. crowd-kit's loop has no early stop; neither has this.
//!
//! ```
//! use conal::aggregate::{Aggregator, ZeroBasedSkill};
//! use conal::data::{Annotation, CrowdLabels};
//!
//! let a = |item, worker, label| Annotation { item, worker, label };
//! // Workers 0 and 1 agree on items 0-3; worker 2 contradicts them on items 0-2.
//! let mut labels = Vec::new();
//! for i in 0..4 {
//!     let y = i % 2;
//!     labels.extend([a(i, 0, y), a(i, 1, y), a(i, 2, if i < 3 { 1 - y } else { y })]);
//! }
//! let fitted = ZeroBasedSkill::new().fit(&CrowdLabels::indexed(4, 3, 2, labels)?)?;
//! assert!((fitted.skills[0] - 1.0).abs() < 1e-3);
//! assert!((fitted.skills[2] - 0.25).abs() < 1e-3);
//! assert_eq!(fitted.aggregation.labels, vec![0, 1, 0, 1]);
//! # Ok::<(), conal::Error>(())
//! ```

use crate::aggregate::agreement::accuracy_on_aggregates;
use crate::aggregate::contract::{
    Aggregation, Aggregator, Entry, check_non_negative, fitted_with_skills,
};
use crate::aggregate::majority_vote::{MajorityVote, Ties, ties_param};
use crate::data::CrowdLabels;
use crate::error::{Error, Result};

/// Zero-based skill in the registry.
pub(crate) static ENTRY: Entry = Entry {
    name: "zbs",
    about: "zero-based skill: majority vote weighted by skills learnt by steps towards each \
            worker's agreement with the vote",
    params: &[
        ("n_iter", "rounds (default 100)"),
        ("lr_init", "starting rate (default 1.0)"),
        (
            "lr_steps_to_reduce",
            "rounds between rate reductions (default 20)",
        ),
        ("lr_reduce_factor", "rate reduction (default 0.5)"),
        ("eps", "added to the starting skill 1/L (default 1e-5)"),
        ("seed", "seed of the votes' tie breaks (default 0)"),
        (
            "ties",
            "random (default) or lowest (the first class in label order, crowd-kit's)",
        ),
    ],
    build: |p| {
        let mut z = ZeroBasedSkill::new();
        if let Some(n) = p.usize("n_iter")? {
            z = z.n_iter(n);
        }
        if let Some(v) = p.f64("lr_init")? {
            z = z.lr_init(v);
        }
        if let Some(n) = p.usize("lr_steps_to_reduce")? {
            z = z.lr_steps_to_reduce(n);
        }
        if let Some(v) = p.f64("lr_reduce_factor")? {
            z = z.lr_reduce_factor(v);
        }
        if let Some(v) = p.f64("eps")? {
            z = z.eps(v);
        }
        z = z.seed(p.u64("seed")?.unwrap_or(0));
        if let Some(ties) = ties_param(p)? {
            z = z.ties(ties);
        }
        Ok(Box::new(z))
    },
};

/// ZBS's parameters (crowd-kit's names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroBasedSkill {
    n_iter: usize,
    lr_init: f64,
    lr_steps_to_reduce: usize,
    lr_reduce_factor: f64,
    eps: f64,
    seed: u64,
    ties: Ties,
}

impl Default for ZeroBasedSkill {
    fn default() -> Self {
        Self::new()
    }
}

/// What ZBS infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedZeroBasedSkill {
    /// Labels and vote shares of the vote weighted by the final skills.
    pub aggregation: Aggregation,
    /// Each worker's skill (crowd-kit's `skills_`); a worker without labels keeps its
    /// starting skill.
    pub skills: Vec<f64>,
}

impl ZeroBasedSkill {
    /// crowd-kit's defaults: 100 rounds, rate 1.0 halved every 20 rounds, ε = 1e-5; ties
    /// broken at random from seed 0.
    pub fn new() -> Self {
        ZeroBasedSkill {
            n_iter: 100,
            lr_init: 1.0,
            lr_steps_to_reduce: 20,
            lr_reduce_factor: 0.5,
            eps: 1e-5,
            seed: 0,
            ties: Ties::Random,
        }
    }

    /// Number of rounds (crowd-kit's `n_iter`). Defaults to 100.
    pub fn n_iter(mut self, n: usize) -> Self {
        self.n_iter = n;
        self
    }

    /// Starting rate (`lr_init`). Defaults to 1.0.
    pub fn lr_init(mut self, lr: f64) -> Self {
        self.lr_init = lr;
        self
    }

    /// The rate is multiplied by [`ZeroBasedSkill::lr_reduce_factor`] at every round whose
    /// number (from 1) is a multiple of this (`lr_steps_to_reduce`). Defaults to 20.
    pub fn lr_steps_to_reduce(mut self, steps: usize) -> Self {
        self.lr_steps_to_reduce = steps;
        self
    }

    /// `lr_reduce_factor`. Defaults to 0.5.
    pub fn lr_reduce_factor(mut self, factor: f64) -> Self {
        self.lr_reduce_factor = factor;
        self
    }

    /// Added to the starting skill 1/L (`eps`). Defaults to 1e-5.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Seed of the votes' tie breaks. Defaults to 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How the votes break ties. Defaults to [`Ties::Random`].
    pub fn ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }
}

impl Aggregator for ZeroBasedSkill {
    type Fitted = FittedZeroBasedSkill;

    fn fit(&self, data: &CrowdLabels) -> Result<FittedZeroBasedSkill> {
        let (n_items, n_workers, n_class) = (data.n_items(), data.n_workers(), data.n_classes());
        let annotations = &data.annotations;
        if self.lr_steps_to_reduce == 0 {
            return Err(Error::param("lr_steps_to_reduce", 0, "at least 1"));
        }
        check_non_negative(&[
            ("lr_init", self.lr_init),
            ("lr_reduce_factor", self.lr_reduce_factor),
            ("eps", self.eps),
        ])?;
        let mut given = vec![false; n_class];
        for a in annotations {
            given[a.label as usize] = true;
        }
        let distinct = given.iter().filter(|&&g| g).count();
        let mut skills = vec![1.0 / distinct as f64 + self.eps; n_workers];
        let vote = |skills: &[f64]| {
            MajorityVote::new()
                .seed(self.seed)
                .ties(self.ties)
                .weights(skills.to_vec())
                .vote(n_items, n_workers, n_class, annotations, None)
        };
        let mut lr = self.lr_init;
        for round in 1..=self.n_iter {
            if round % self.lr_steps_to_reduce == 0 {
                lr *= self.lr_reduce_factor;
            }
            let labels = vote(&skills)?.aggregation.labels;
            let agreement = accuracy_on_aggregates(n_workers, annotations, &labels);
            for (s, a) in skills.iter_mut().zip(agreement) {
                if let Some(a) = a {
                    *s += lr * (a - *s);
                }
            }
        }
        Ok(FittedZeroBasedSkill {
            aggregation: vote(&skills)?.aggregation,
            skills,
        })
    }
}

fitted_with_skills!(FittedZeroBasedSkill);
