//! Segmentation majority vote, as crowd-kit 1.4 defines it: a pixel is in the task's mask
//! when the workers who put it in weigh at least half of all (each worker weighs 1, or its
//! skill when skills are given): `2 · Σ skill · mask − Σ skill ≥ 0`.
//!
//! ```
//! use conal::aggregate::{FittedSegmentation, SegmentationMajorityVote, Segmenter};
//! use conal::data::Segmentations;
//!
//! let masks = Segmentations::new(
//!     vec!["t".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     vec![0, 0, 0],
//!     vec![0, 1, 2],
//!     vec![(1, 3); 3],
//!     vec![true, true, false, true, false, false, false, true, true],
//! )?;
//! let fitted = SegmentationMajorityVote::new().fit(&masks)?;
//! assert_eq!(fitted.masks()[0], [true, true, false]);
//! # Ok::<(), conal::Error>(())
//! ```

use rayon::prelude::*;

use crate::aggregate::contract::{Entry, FittedSegmentation, Segmenter};
use crate::data::Segmentations;
use crate::error::{Error, Result};

/// Segmentation majority vote in the registry.
pub(crate) static ENTRY: Entry<dyn crate::aggregate::contract::DynSegmenter> = Entry {
    name: "seg-mv",
    about: "segmentation majority vote: a pixel is in when at least half the (skill-weighted) workers put it in",
    params: &[("skills", "one weight per worker (default: all 1)")],
    build: |p| {
        let mut mv = SegmentationMajorityVote::new();
        if let Some(s) = p.floats("skills")? {
            mv = mv.skills(s.to_vec());
        }
        Ok(Box::new(mv))
    },
};

/// Segmentation majority vote's parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentationMajorityVote {
    skills: Option<Vec<f64>>,
}

/// What segmentation majority vote infers.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSegmentationMajorityVote {
    /// Each task's mask.
    pub masks: Vec<Vec<bool>>,
}

impl SegmentationMajorityVote {
    /// Every worker weighing 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Each worker's weight (by worker index).
    pub fn skills(mut self, skills: Vec<f64>) -> Self {
        self.skills = Some(skills);
        self
    }
}

impl Segmenter for SegmentationMajorityVote {
    type Fitted = FittedSegmentationMajorityVote;

    fn fit(&self, data: &Segmentations) -> Result<Self::Fitted> {
        if let Some(s) = self.skills.as_ref().filter(|s| s.len() != data.n_workers()) {
            return Err(Error::Invalid {
                what: "skills",
                message: format!("{} skills for {} workers", s.len(), data.n_workers()),
            });
        }
        let masks = (0..data.n_tasks())
            .into_par_iter()
            .map(|t| {
                let rows = data.rows_of(t);
                let (h, w) = data.shape(t);
                let Some(skills) = &self.skills else {
                    // Unweighted: whole votes, counted (the same comparison, exactly).
                    let mut votes = vec![0u32; h * w];
                    for &r in rows {
                        for (acc, &m) in votes.iter_mut().zip(data.mask(r)) {
                            *acc += u32::from(m);
                        }
                    }
                    let n = rows.len() as u32;
                    return votes.iter().map(|&v| 2 * v >= n).collect();
                };
                let mut score = vec![0.0; h * w];
                let mut total = 0.0;
                for &r in rows {
                    let skill = skills[data.worker[r] as usize];
                    total += skill;
                    for (acc, &m) in score.iter_mut().zip(data.mask(r)) {
                        *acc += if m { skill } else { 0.0 };
                    }
                }
                score
                    .iter()
                    .map(|&s| 2.0 * s - total >= 0.0)
                    .collect::<Vec<bool>>()
            })
            .collect();
        Ok(FittedSegmentationMajorityVote { masks })
    }
}

impl FittedSegmentation for FittedSegmentationMajorityVote {
    fn masks(&self) -> &[Vec<bool>] {
        &self.masks
    }
}
