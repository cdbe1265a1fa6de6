//! Label aggregation: inferring one label per item from the crowd's labels, without
//! features. Every method implements one contract ([`Aggregator`] over
//! [`CrowdLabels`](crate::data::CrowdLabels) → a [`FittedAggregator`]; for pairwise
//! comparisons, [`Ranker`] over [`Comparisons`](crate::data::Comparisons) → a
//! [`FittedRanking`], with bootstrap [`intervals`]; for image masks, [`Segmenter`] over
//! [`Segmentations`](crate::data::Segmentations) → a [`FittedSegmentation`]) and is listed once in the [`registry`],
//! through which the command line and the Python bindings reach it.
//!
//! ```
//! use conal::aggregate::{Aggregator, DawidSkene, FittedAggregator};
//! use conal::data::CrowdLabels;
//!
//! let data = CrowdLabels::from_strings(
//!     &["t1", "t1", "t1", "t2", "t2", "t2"],
//!     &["a", "b", "c", "a", "b", "c"],
//!     &["cat", "cat", "dog", "dog", "dog", "dog"],
//!     None,
//! )?;
//! let fitted = DawidSkene::new().fit(&data)?;
//! assert_eq!(fitted.aggregation().labels, [0, 1]); // cat, dog
//! assert_eq!(fitted.worker_confusions.len(), 3);
//! # Ok::<(), conal::Error>(())
//! ```

pub mod agreement;
pub mod bradley_terry;
pub mod closest_to_average;
pub mod contract;
pub mod dawid_skene;
pub mod glad;
pub mod gold_majority_vote;
pub mod hrrasa;
pub mod intervals;
pub mod kos;
pub mod m_msr;
pub mod mace;
pub mod majority_vote;
pub mod noisy_bradley_terry;
pub mod params;
pub mod rasa;
pub mod registry;
pub mod rover;
pub mod segmentation_em;
pub mod segmentation_majority_vote;
pub mod segmentation_rasa;
pub mod wawa;
pub mod zero_based_skill;

pub use bradley_terry::{BradleyTerry, FittedBradleyTerry, TieRule};
pub use closest_to_average::{ClosestToAverage, Distance, FittedClosest};
pub use contract::{
    Aggregation, Aggregator, Embedder, FittedAggregator, FittedEmbeddings, FittedRanking,
    FittedSegmentation, FittedTexts, Posteriors, Ranker, Segmenter, TextAggregator, Values,
};
pub use dawid_skene::{
    DawidSkene, DawidSkenePriors, FittedDawidSkene, FittedOneCoinDawidSkene, InitialErrorStrategy,
    InitialErrors, OneCoinDawidSkene,
};
pub use glad::{FittedGlad, Glad};
pub use gold_majority_vote::{FittedGoldMajorityVote, GoldMajorityVote};
pub use hrrasa::{FittedHrrasa, Hrrasa};
pub use kos::{FittedKos, Kos};
pub use m_msr::{FittedMmsr, Mmsr};
pub use mace::{FittedMace, Mace, MaceMethod};
pub use majority_vote::{FittedMajorityVote, MajorityVote, Ties};
pub use noisy_bradley_terry::{FittedNoisyBradleyTerry, NoisyBradleyTerry};
pub use params::{Params, Value};
pub use rasa::{FittedRasa, Rasa};
pub use rover::{FittedRover, Rover};
pub use segmentation_em::{FittedSegmentationEm, SegmentationEm};
pub use segmentation_majority_vote::{FittedSegmentationMajorityVote, SegmentationMajorityVote};
pub use segmentation_rasa::{FittedSegmentationRasa, SegmentationRasa};
pub use wawa::{FittedWawa, Wawa};
pub use zero_based_skill::{FittedZeroBasedSkill, ZeroBasedSkill};
