//! A crowd model as a value: one enum over the concrete burn modules of every method and
//! head ([`AnyModel`]), made by the one builder that knows them all ([`ModelSpec::init`]) and
//! read back from a checkpoint's bytes once ([`AnyModel::decode`]). Training, prediction and
//! the annotator report all take the value; nothing rebuilds or decodes a model per call.
//!
//! Code that needs the concrete module type (the generic training loop) visits it with a
//! [`ModelTask`]; the result goes back into the enum with `into()`.

use std::path::Path;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use crate::data::Matrix;
use crate::error::Result;
use crate::model::classifier::{BackboneConfig, DeepConfig, DeepMlp, HiddenBackbone, Mlp, Mode};
use crate::model::codec::{model_bytes, model_from_bytes};
use crate::model::contract::{CrowdModel, Observed};
use crate::model::init::number_params;
use crate::model::spec::{Method, ModelSpec};
use crate::model::{AnnotMix, Conal, CrowdLayer, Madl, Plain};
use crate::rng::{rng, stream};

/// A K × K matrix as rows.
pub type Matrix2 = Vec<Vec<f32>>;

/// Every crowd model conal trains, with either classifier head: the one-hidden-layer MLP of
/// the CoNAL authors ([`Mlp`]) or the Annot-Mix benchmark's deep head ([`DeepMlp`]).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum AnyModel {
    /// CoNAL on the MLP head.
    Conal(Conal<Mlp>),
    /// CoNAL on the deep head.
    ConalDeep(Conal<DeepMlp>),
    /// CrowdLayer on the MLP head.
    CrowdLayer(CrowdLayer<Mlp>),
    /// CrowdLayer on the deep head.
    CrowdLayerDeep(CrowdLayer<DeepMlp>),
    /// Annot-Mix on the MLP head.
    AnnotMix(AnnotMix<Mlp>),
    /// Annot-Mix on the deep head.
    AnnotMixDeep(AnnotMix<DeepMlp>),
    /// MaDL on the MLP head.
    Madl(Madl<Mlp>),
    /// MaDL on the deep head.
    MadlDeep(Madl<DeepMlp>),
    /// The MLP head alone (trained on one label per item).
    Plain(Plain<Mlp>),
    /// The deep head alone.
    PlainDeep(Plain<DeepMlp>),
}

/// `$body` with `$m` bound to the concrete module inside `$model`.
macro_rules! dispatch {
    ($model:expr, $m:ident => $body:expr) => {
        match $model {
            AnyModel::Conal($m) => $body,
            AnyModel::ConalDeep($m) => $body,
            AnyModel::CrowdLayer($m) => $body,
            AnyModel::CrowdLayerDeep($m) => $body,
            AnyModel::AnnotMix($m) => $body,
            AnyModel::AnnotMixDeep($m) => $body,
            AnyModel::Madl($m) => $body,
            AnyModel::MadlDeep($m) => $body,
            AnyModel::Plain($m) => $body,
            AnyModel::PlainDeep($m) => $body,
        }
    };
}

macro_rules! into_any {
    ($($variant:ident: $ty:ty),* $(,)?) => {
        $(impl From<$ty> for AnyModel {
            fn from(m: $ty) -> Self {
                AnyModel::$variant(m)
            }
        })*
    };
}

into_any!(
    Conal: Conal<Mlp>,
    ConalDeep: Conal<DeepMlp>,
    CrowdLayer: CrowdLayer<Mlp>,
    CrowdLayerDeep: CrowdLayer<DeepMlp>,
    AnnotMix: AnnotMix<Mlp>,
    AnnotMixDeep: AnnotMix<DeepMlp>,
    Madl: Madl<Mlp>,
    MadlDeep: Madl<DeepMlp>,
    Plain: Plain<Mlp>,
    PlainDeep: Plain<DeepMlp>,
);

/// Something to do with the concrete module inside an [`AnyModel`] (see [`AnyModel::run`]).
pub trait ModelTask {
    /// The result.
    type Output;
    /// Does it; `model.into()` gives the value back.
    fn run<M: CrowdModel<Tensor<2>> + Into<AnyModel>>(self, model: M) -> Self::Output;
}

impl ModelSpec {
    /// Builds the module this spec describes on `device`, drawing its weights from `rng`
    /// (the classifier first), parameters numbered in traversal order so that a seed's
    /// checkpoint files are byte-identical from run to run.
    pub fn init(&self, rng: &mut ChaCha8Rng, device: &Device) -> AnyModel {
        // The deep head is its own module type, so every model is built for either.
        let classifier = self.classifier().clone();
        if classifier.is_deep() {
            self.init_on(DeepConfig(classifier), rng, device)
        } else {
            self.init_on(classifier, rng, device)
        }
    }

    /// [`ModelSpec::init`] with the classifier built from `backbone`.
    fn init_on<B>(&self, backbone: B, rng: &mut ChaCha8Rng, device: &Device) -> AnyModel
    where
        B: BackboneConfig,
        B::Model: HiddenBackbone<Tensor<2>>,
        Conal<B::Model>: Into<AnyModel>,
        CrowdLayer<B::Model>: Into<AnyModel>,
        AnnotMix<B::Model>: Into<AnyModel>,
        Madl<B::Model>: Into<AnyModel>,
        Plain<B::Model>: Into<AnyModel>,
    {
        match self {
            ModelSpec::Conal { conal, .. } => {
                number_params(conal.init(backbone, rng, device)).into()
            }
            ModelSpec::AnnotMix { annot_mix, .. } => {
                number_params(annot_mix.init(backbone, rng, device)).into()
            }
            ModelSpec::Madl { madl, .. } => number_params(madl.init(backbone, rng, device)).into(),
            ModelSpec::CrowdLayer { crowd_layer, .. } => {
                number_params(crowd_layer.init(backbone, rng, device)).into()
            }
            ModelSpec::Classifier { .. } => number_params(Plain {
                classifier: backbone.init_backbone(rng, device),
            })
            .into(),
        }
    }
}

impl AnyModel {
    /// The model `spec` describes with the parameters of `bytes` (a `model.bpk`, read from
    /// `path`, which errors name), on `device`.
    pub fn decode(spec: &ModelSpec, bytes: Vec<u8>, path: &Path, device: &Device) -> Result<Self> {
        // The skeleton's random weights are all replaced by the saved ones.
        let skeleton = spec.init(&mut rng(0, stream::INIT), device);
        dispatch!(skeleton, m => model_from_bytes(path, bytes, m).map(Into::into))
    }

    /// The parameters as bytes (burnpack: a checkpoint's `model.bpk`).
    pub fn encode(&self) -> Result<Vec<u8>> {
        dispatch!(self, m => model_bytes(m))
    }

    /// Runs `task` on the concrete module.
    pub fn run<T: ModelTask>(self, task: T) -> T::Output {
        dispatch!(self, m => task.run(m))
    }

    /// The method this model implements.
    pub fn method_family(&self) -> &'static str {
        match self {
            AnyModel::Conal(_) | AnyModel::ConalDeep(_) => Method::Conal.name(),
            AnyModel::CrowdLayer(_) | AnyModel::CrowdLayerDeep(_) => "crowdlayer",
            AnyModel::AnnotMix(_) | AnyModel::AnnotMixDeep(_) => Method::AnnotMix.name(),
            AnyModel::Madl(_) | AnyModel::MadlDeep(_) => Method::Madl.name(),
            AnyModel::Plain(_) | AnyModel::PlainDeep(_) => "classifier",
        }
    }

    /// Whether the model explains each worker's labels ([`CrowdModel::has_noise_model`]).
    pub fn has_noise_model(&self) -> bool {
        dispatch!(self, m => CrowdModel::<Tensor<2>>::has_noise_model(m))
    }

    /// Class probabilities for the rows of `features`, `batch_size` rows at a time on
    /// `device`, in evaluation mode: (row-major values, K).
    pub fn predict_proba(
        &self,
        features: &Matrix,
        batch_size: usize,
        device: &Device,
    ) -> (Vec<f32>, usize) {
        let d = features.cols();
        let (mut out, mut k) = (Vec::with_capacity(features.rows() * 2), 0);
        let step = batch_size.max(1);
        let mut start = 0;
        while start < features.rows() {
            let end = (start + step).min(features.rows());
            let rows = &features.as_slice()[start * d..end * d];
            let x =
                Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [end - start, d]), device);
            let logits = dispatch!(self, m => m.class_logits(&x, &mut Mode::eval()));
            let (p, kk) = probabilities(logits);
            out.extend(p);
            k = kk;
            start = end;
        }
        (out, k)
    }

    /// Each annotator's confusion as probabilities, `[R][K][K]`, for models whose confusions
    /// do not depend on the item ([`CrowdModel::annotator_matrices`]).
    pub fn annotator_matrices(&self) -> Option<Vec<Vec<Vec<f64>>>> {
        let t = dispatch!(self, m => CrowdModel::<Tensor<2>>::annotator_matrices(m))?;
        Some(tensor3_rows(t))
    }

    /// The confusion of each observed (item, annotator) pair, `[M, K, K]` probabilities, for
    /// models whose confusions depend on the item ([`CrowdModel::pair_confusions`]).
    pub fn pair_confusions(&self, input: &Tensor<2>, obs: &Observed) -> Option<Tensor<3>> {
        dispatch!(self, m => CrowdModel::<Tensor<2>>::pair_confusions(m, input, obs))
    }

    /// CoNAL's raw matrices: the common W_g (K × K) and the individual W_r (R × K × K), as
    /// the model computes a worker's label logits `p W`.
    pub fn conal_matrices(&self) -> Option<(Matrix2, Vec<Matrix2>)> {
        let (common, individual) = match self {
            AnyModel::Conal(m) => (m.common.val(), m.individual.val()),
            AnyModel::ConalDeep(m) => (m.common.val(), m.individual.val()),
            _ => return None,
        };
        Some((tensor2_rows(common), tensor3_rows(individual)))
    }

    /// CrowdLayer MW's raw matrices W_r (R × K × K); `None` for other models and variants.
    pub fn crowd_layer_matrices(&self) -> Option<Vec<Vec<Vec<f32>>>> {
        let w = match self {
            AnyModel::CrowdLayer(m) => m.matrices.as_ref()?.val(),
            AnyModel::CrowdLayerDeep(m) => m.matrices.as_ref()?.val(),
            _ => return None,
        };
        Some(tensor3_rows(w))
    }
}

/// Row-wise softmax of `[n, K]` logits, copied to the host: (values row-major, K).
pub fn probabilities(logits: Tensor<2>) -> (Vec<f32>, usize) {
    let [_, k] = logits.dims();
    let data = softmax(logits, 1).into_data();
    (
        data.try_into_vec::<f32>()
            .expect("float tensors are f32 on every backend we build"),
        k,
    )
}

/// A `[a, b]` tensor as rows.
fn tensor2_rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, b] = t.dims();
    let values: Vec<f32> = t.into_data().try_into_vec().unwrap_or_default();
    values.chunks(b.max(1)).map(<[f32]>::to_vec).collect()
}

/// A `[a, b, c]` tensor as nested rows, in the value type `T` (f32 or f64).
fn tensor3_rows<T: From<f32>>(t: Tensor<3>) -> Vec<Vec<Vec<T>>> {
    let [_, b, c] = t.dims();
    let values: Vec<f32> = t.into_data().try_into_vec().unwrap_or_default();
    values
        .chunks((b * c).max(1))
        .map(|m| {
            m.chunks(c.max(1))
                .map(|row| row.iter().map(|&v| T::from(v)).collect())
                .collect()
        })
        .collect()
}
