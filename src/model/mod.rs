//! Models: the classifier backbones, the crowd models built on them (CoNAL, CrowdLayer,
//! Annot-Mix, MaDL, a plain classifier), what every crowd model provides ([`contract`]), what
//! a run trains ([`spec`]) and a trained model as a value ([`built`]).
//!
//! ```
//! use conal::model::{Head, LabelSource, ModelSpec, MlpConfig};
//! use conal::rng::rng;
//!
//! // The plain classifier of `--method mv` on 4 features and 3 classes, built and used.
//! let spec = ModelSpec::Classifier {
//!     classifier: MlpConfig::labelme(4, 3),
//!     labels: LabelSource::MajorityVote,
//! };
//! let device = burn::tensor::Device::flex();
//! let model = spec.init(&mut rng(0, 0), &device);
//! let x = conal::data::Matrix::new(2, 4, vec![0.0; 8])?;
//! let (p, k) = model.predict_proba(&x, 64, &device);
//! assert_eq!((p.len(), k), (6, 3));
//! # let _ = Head::Deep;
//! # Ok::<(), conal::Error>(())
//! ```

pub mod annot_mix;
pub mod built;
pub mod classifier;
pub mod codec;
pub mod conal;
pub mod contract;
pub mod crowdlayer;
pub mod device;
pub mod init;
pub mod madl;
pub mod plain;
pub mod spec;
pub mod wide;

pub use annot_mix::{AnnotMix, AnnotMixConfig};
pub use built::{AnyModel, ModelTask};
pub use classifier::{
    AffineBatchNorm, Backbone, BackboneConfig, BatchNorm, DeepConfig, DeepMlp, HiddenBackbone, Mlp,
    MlpConfig, Mode,
};
pub use conal::{Conal, ConalConfig, Confusion, FlatInput};
pub use contract::{CrowdModel, CrowdOutput, Observed, PairMix};
pub use crowdlayer::{CrowdLayer, CrowdLayerConfig, CrowdLayerKind};
pub use device::device_from_name;
pub use init::Init;
pub use madl::{Madl, MadlConfig};
pub use plain::Plain;
pub use spec::{Head, LabelSource, Method, ModelSpec};
