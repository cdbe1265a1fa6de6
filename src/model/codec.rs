//! A module's parameters as bytes (burn's burnpack format) and back: what a checkpoint's
//! `model.bpk`, a training state and a pickled model hold.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::error::{Error, Result};

/// Serialises a module's parameters (burnpack format).
pub fn model_bytes<M: Module>(model: &M) -> Result<Vec<u8>> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Codec {
            what: "the model",
            message: e.to_string(),
        })?;
    Ok(bytes.to_vec())
}

/// Loads parameters from burnpack `bytes` (read from `path`, named in errors) into `skeleton`.
pub fn model_from_bytes<M: Module>(path: &Path, bytes: Vec<u8>, skeleton: M) -> Result<M> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
        Error::checkpoint(
            path,
            format!("not a readable model file (truncated or corrupt?): {e}"),
        )
    })?;
    skeleton
        .try_load_record(record)
        .map_err(|e| Error::checkpoint(path, format!("does not match the model in args.json: {e}")))
}
