//! Crowd data: item features plus the sparse (item, worker, label) triples the crowd gave.
//!
//! [`CrowdData::new`] is the one place that checks shapes, ranges and emptiness; every loader
//! builds its result through it, so a value of this type is always consistent.
//!
//! ```
//! use conal::data::{Annotation, CrowdData, Matrix};
//!
//! // Three items with two features each, labelled by two workers into two classes.
//! let features = Matrix::new(3, 2, vec![0.0, 1.0, 1.0, 0.0, 0.5, 0.5]).unwrap();
//! let annotations = vec![
//!     Annotation { item: 0, worker: 0, label: 1 },
//!     Annotation { item: 1, worker: 0, label: 0 },
//!     Annotation { item: 1, worker: 1, label: 0 },
//!     Annotation { item: 2, worker: 1, label: 1 },
//! ];
//! let data = CrowdData::new(
//!     features,
//!     annotations,
//!     vec!["cat".into(), "dog".into()],
//!     vec!["w1".into(), "w2".into()],
//!     vec!["a".into(), "b".into(), "c".into()],
//!     None,
//! )
//! .unwrap();
//! assert_eq!((data.n_items(), data.n_workers(), data.n_classes()), (3, 2, 2));
//! ```

mod comparisons;
mod crowd;
mod embeddings;
mod ids;
pub mod labelme;
mod labels;
mod long_csv;
mod matrix;
pub mod music;
pub mod npy;
mod segmentations;
pub mod source;
pub mod synthetic;
pub mod table;
pub(crate) mod text;
mod texts;

pub use comparisons::{ComparisonColumns, Comparisons, Outcome, TIE_LABELS};
pub use crowd::{CrowdData, CrowdLabels, LabeledSet, TaskData};
pub use embeddings::{EmbeddingColumns, Embeddings, EmbeddingsCsv};
pub use labels::Annotation;
pub use matrix::Matrix;
pub use segmentations::{MaskColumns, Segmentations, mask_file_name, read_mask, write_mask_png};
pub(crate) use segmentations::{Patterns, numpy_sum, numpy_sum_by};
pub use texts::Texts;

/// The directory holding the shared real data sets: `$CONAL_DATA_DIR` when set, else
/// `../shared/data` relative to the crate root (where CI and developers keep them).
pub fn shared_data_dir() -> std::path::PathBuf {
    match std::env::var_os("CONAL_DATA_DIR") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}
