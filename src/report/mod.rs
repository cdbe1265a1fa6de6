//! What a run produced, for people and scripts: the annotator report of every crowd model
//! ([`annotators`]), heatmaps of its matrices ([`plot`]), TensorBoard event files
//! ([`tensorboard`]).
//!
//! ```
//! use conal::ConalParams;
//! use conal::report::plot::{Panel, heatmaps};
//!
//! let data = conal::data::synthetic::SyntheticConfig::default().generate()?.data.train;
//! let model = ConalParams::new().recipe(conal::config::Recipe::Paper).epochs(5).fit(&data)?;
//! let report = model.annotators();
//! // One K × K matrix per annotator, rows summing to 1; their pictures in one PNG.
//! assert_eq!(report.confusions.len(), data.n_workers());
//! let panels: Vec<Panel> = (0..4)
//!     .map(|r| Panel { title: report.workers[r].clone(), matrix: report.confusions[r].clone() })
//!     .collect();
//! let dir = tempfile::tempdir().unwrap();
//! heatmaps(&dir.path().join("workers.png"), &report.classes, &panels, 2)?;
//! # Ok::<(), conal::Error>(())
//! ```

pub mod annotators;
pub mod plot;
pub mod tensorboard;
