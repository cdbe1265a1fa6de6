//! CrowdLayer (Rodrigues & Pereira, AAAI 2018): one small layer per worker on top of the
//! classifier's probabilities `p`, trained end to end on the workers' labels. CoNAL without
//! the common matrix and ω. The variants:
//!
//! | variant | worker logits | initialised to |
//! |---|---|---|
//! | MW (matrix) | `p W_r` | `W_r = I` |
//! | VW (vector) | `w_r ⊙ p` | `w_r = 1` |
//! | VB (bias) | `p + b_r` | `b_r = 0` |
//! | VW+B | `w_r ⊙ p + b_r` | `1`, `0` |
//!
//! MW also comes in a stochastic form ([`Confusion::Stochastic`]), the annotator model of
//! GeoCrowdNet (Ibrahim, Nguyen & Fu, ICLR 2023) as the Annot-Mix benchmark trains it: row k
//! of worker r's confusion is `softmax(Θ_r[k, ·])`, the distribution of the worker's label
//! given true class k (Θ_r starts at I), and the worker's label probabilities are `p P_r`
//! (computed as `logsumexp_k [log p_k + log P_r[k, z]]`).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use conal::model::{CrowdLayerConfig, CrowdLayerKind, CrowdModel, MlpConfig, Mode, Observed};
//! use rand::SeedableRng;
//!
//! let device = Device::flex();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let config = CrowdLayerConfig {
//!     kind: CrowdLayerKind::Mw,
//!     n_worker: 5,
//!     n_class: 3,
//!     confusion: Default::default(),
//! };
//! let model = config.init(MlpConfig::labelme(4, 3), &mut rng, &device);
//! let obs = Observed::new(&[0, 1], &[4, 2], &[2, 0], &device);
//! let out = model.forward(&Tensor::<2>::ones([2, 4], &device), &obs, &mut Mode::eval());
//! assert_eq!(out.worker_logits.dims(), [2, 3]);
//! ```

use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::classifier::{Backbone, BackboneConfig, Mode};
use crate::model::conal::{Confusion, rowwise_matmul, select_matrices};
use crate::model::contract::{CrowdModel, CrowdOutput, Observed, mixture_log_probs};
use crate::model::init::scaled_identities;

/// Which CrowdLayer variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrowdLayerKind {
    /// A K × K matrix per worker.
    Mw,
    /// A per-class scale per worker.
    Vw,
    /// A per-class bias per worker.
    Vb,
    /// Scale and bias.
    Vwb,
}

/// CrowdLayer configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrowdLayerConfig {
    /// Variant.
    pub kind: CrowdLayerKind,
    /// Workers R.
    pub n_worker: usize,
    /// Classes K.
    pub n_class: usize,
    /// MW's matrices as free linear maps to logits (Rodrigues & Pereira's) or as
    /// row-stochastic confusions (GeoCrowdNet's). Defaults to free.
    #[serde(default, skip_serializing_if = "is_free")]
    pub confusion: Confusion,
}

fn is_free(c: &Confusion) -> bool {
    *c == Confusion::Free
}

impl CrowdLayerConfig {
    /// Checks that the confusion form fits the variant.
    pub fn check(&self) -> crate::error::Result<()> {
        if self.confusion == Confusion::Stochastic && self.kind != CrowdLayerKind::Mw {
            return Err(crate::error::Error::param(
                "confusion",
                "stochastic",
                "needs a matrix per worker: crowdlayer-mw",
            ));
        }
        Ok(())
    }

    /// Builds the model around the classifier `classifier` describes.
    pub fn init<C: BackboneConfig>(
        &self,
        classifier: C,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> CrowdLayer<C::Model> {
        let (r, k) = (self.n_worker, self.n_class);
        let classifier = classifier.init_backbone(rng, device);
        let kind = self.kind;
        CrowdLayer {
            classifier,
            matrices: (kind == CrowdLayerKind::Mw)
                .then(|| Param::from_tensor(scaled_identities(r, k, 1.0, device))),
            scales: matches!(kind, CrowdLayerKind::Vw | CrowdLayerKind::Vwb)
                .then(|| Param::from_tensor(Tensor::ones([r, k], device))),
            biases: matches!(kind, CrowdLayerKind::Vb | CrowdLayerKind::Vwb)
                .then(|| Param::from_tensor(Tensor::zeros([r, k], device))),
            stochastic: self.confusion == Confusion::Stochastic,
        }
    }
}

/// A classifier with a CrowdLayer on top.
#[derive(Module, Debug)]
pub struct CrowdLayer<C> {
    /// The classifier.
    pub classifier: C,
    /// MW: `[R, K, K]`.
    pub matrices: Option<Param<Tensor<3>>>,
    /// VW: `[R, K]`.
    pub scales: Option<Param<Tensor<2>>>,
    /// VB: `[R, K]`.
    pub biases: Option<Param<Tensor<2>>>,
    /// MW's matrices are the logits of row-stochastic confusions.
    #[module(skip)]
    pub stochastic: bool,
}

impl<I, C: Backbone<I>> CrowdModel<I> for CrowdLayer<C> {
    fn forward(&self, input: &I, obs: &Observed, mode: &mut Mode) -> CrowdOutput {
        let class_logits = self.classifier.logits(input, mode);
        if self.stochastic
            && let Some(w) = &self.matrices
        {
            let log_p = log_softmax(class_logits.clone(), 1).select(0, obs.items.clone());
            let log_confusion = log_softmax(select_matrices(w.val(), obs.workers.clone()), 2);
            return CrowdOutput {
                class_logits,
                worker_logits: mixture_log_probs(log_p, log_confusion),
                omega: None,
                label_weights: None,
            };
        }
        let p = softmax(class_logits.clone(), 1).select(0, obs.items.clone());
        let mut h = match &self.matrices {
            Some(w) => rowwise_matmul(p, select_matrices(w.val(), obs.workers.clone())),
            None => p,
        };
        if let Some(s) = &self.scales {
            h = h * s.val().select(0, obs.workers.clone());
        }
        if let Some(b) = &self.biases {
            h = h + b.val().select(0, obs.workers.clone());
        }
        CrowdOutput {
            class_logits,
            worker_logits: h,
            omega: None,
            label_weights: None,
        }
    }

    fn class_logits(&self, input: &I, mode: &mut Mode) -> Tensor<2> {
        self.classifier.logits(input, mode)
    }

    fn penalty(&self, _lambda: f64) -> Option<Tensor<1>> {
        None
    }

    fn annotator_confusions(&self) -> Option<Tensor<3>> {
        match &self.matrices {
            Some(w) if self.stochastic => Some(softmax(w.val(), 2)),
            _ => None,
        }
    }

    /// Every worker's layer applied to each certain class (p one-hot), as probabilities:
    /// `softmax` of row k of `W_r` for MW (free or stochastic alike), of `w_r ⊙ e_k + b_r`
    /// for the vector variants.
    fn annotator_matrices(&self) -> Option<Tensor<3>> {
        if let Some(w) = &self.matrices {
            return Some(softmax(w.val(), 2));
        }
        let vectors = self.scales.as_ref().or(self.biases.as_ref())?.val();
        let [r, k] = vectors.dims();
        let device = vectors.device();
        let eye: Tensor<3> = scaled_identities(1, k, 1.0, &device).expand([r, k, k]);
        let mut h = eye;
        if let Some(s) = &self.scales {
            h = h * s.val().unsqueeze_dim::<3>(1);
        }
        if let Some(b) = &self.biases {
            h = h + b.val().unsqueeze_dim::<3>(1);
        }
        Some(softmax(h, 2))
    }
}
