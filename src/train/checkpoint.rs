//! Writing and reading checkpoint files safely: every file is written to a temporary name and
//! renamed into place, so a crash never leaves a half-written file under the real name.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Serialises a module's parameters (burnpack format).
pub fn model_bytes<M: Module>(model: &M) -> Result<Vec<u8>> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Config(format!("cannot serialise the model: {e}")))?;
    Ok(bytes.to_vec())
}

/// Saves a module's parameters to `path` atomically.
pub fn save_model<M: Module>(path: &Path, model: &M) -> Result<()> {
    write_atomic(path, &model_bytes(model)?)
}

/// Loads parameters saved by [`save_model`] into `skeleton` (a module of the same shape).
pub fn load_model<M: Module>(path: &Path, skeleton: M) -> Result<M> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::checkpoint(path, "model file not found"),
        _ => Error::io(path, e),
    })?;
    model_from_bytes(path, bytes, skeleton)
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
