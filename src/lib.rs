//! # conal — learning from crowds
//!
//! Train a classifier when each training item was labelled by a few of many noisy annotators
//! ("workers") and the true label is unknown. The core is CoNAL (Chu, Ma & Wang, AAAI 2021):
//! the classifier's `p(true class | x)` goes through a **common** confusion matrix shared by
//! all workers and an **individual** one per worker, mixed per (item, worker) by a weight ω from
//! a small auxiliary network; training maximises the likelihood of the labels the workers gave.
//!
//! The data flow: files → [`data::CrowdData`] → batches ([`train::Inputs`]) → model
//! ([`model::Conal`]) → loss ([`loss`]) → optimiser ([`train::Trainer`]) → checkpoint and
//! reports ([`run`]).
//!
//! ```
//! use burn::tensor::Device;
//! use conal::data::synthetic::SyntheticConfig;
//! use conal::model::{ConalConfig, MlpConfig};
//! use conal::progress::Silent;
//! use conal::train::eval::{accuracy, argmax_rows, predict};
//! use conal::train::{Selection, TrainConfig, TrainData, Trainer};
//!
//! // A generated crowd: 2,000 items, 30 workers, 6 classes.
//! let demo = SyntheticConfig::default().generate()?;
//! let (crowd, test) = (&demo.data.train, demo.data.test.as_ref().unwrap());
//! let (d, r, k) = (crowd.n_features(), crowd.n_workers(), crowd.n_classes());
//!
//! let device = Device::flex().autodiff();
//! let mut rng = conal::train::trainer::rng(0, 0);
//! let model = ConalConfig::labelme(d, r, k).init(MlpConfig::labelme(d, k), &mut rng, &device);
//! let data = TrainData { inputs: &crowd.features, annotations: &crowd.annotations, weights: None, valid: None, test: None };
//! let config = TrainConfig { epochs: 20, batch_size: 256, select: Selection::CrowdHoldout, ..TrainConfig::default() };
//! let fitted = Trainer::new(model, &data, config, &device)?.fit(&crowd.features, &mut Silent)?;
//!
//! let (p, k) = predict(&fitted.model, &test.features, 1024, &Device::flex());
//! let acc = accuracy(&argmax_rows(&p, k), &test.truth);
//! assert!(acc > 0.6, "test accuracy {acc}");
//! // The learned confusions: W_g is K × K, one W_r per worker.
//! assert_eq!(fitted.model.individual.dims(), [r, k, k]);
//! # Ok::<(), conal::Error>(())
//! ```

pub mod aggregate;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod estimator;
pub mod experiment;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run;
pub mod spec;
pub mod train;

pub use error::{DataError, Error, Result};
pub use estimator::{
    ClassifierParams, ConalParams, CrowdLayerParams, FittedClassifier, FittedConal,
    FittedCrowdLayer,
};
