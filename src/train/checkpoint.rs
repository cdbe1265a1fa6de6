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

/// The per-epoch training state in a checkpoint directory: `state-<epoch>/` folders holding
/// `model.bpk`, `optimizer.bpk`, `best.bpk` and `state.json`, and a `LATEST` file naming the
/// newest complete one. A state is written to a temporary folder, renamed into place, and
/// only then does `LATEST` move to it (atomically); the older state is deleted last. A crash
/// at any point leaves `LATEST` naming a complete state.
pub mod state {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Serialize};

    use super::write_atomic;
    use crate::error::{Error, Result};
    use crate::train::EpochMetrics;
    use crate::train::trainer::{BestSnapshot, Snapshot};

    /// Name of the pointer file.
    pub const LATEST: &str = "LATEST";

    #[derive(Serialize, Deserialize)]
    struct StateFile {
        epoch: usize,
        best_epoch: Option<usize>,
        best_score: Option<f64>,
        history: Vec<EpochMetrics>,
    }

    fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        f.write_all(bytes).map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))
    }

    /// Saves `snapshot` into `dir` and makes it the latest state.
    pub fn save(dir: &Path, snapshot: &Snapshot) -> Result<()> {
        let name = format!("state-{:06}", snapshot.epoch);
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        write_file(&tmp.join("model.bpk"), &snapshot.model)?;
        write_file(&tmp.join("optimizer.bpk"), &snapshot.optimizer)?;
        if let Some(b) = &snapshot.best {
            write_file(&tmp.join("best.bpk"), &b.model)?;
        }
        if let Some(e) = &snapshot.ema {
            write_file(&tmp.join("ema.bpk"), e)?;
        }
        let state = StateFile {
            epoch: snapshot.epoch,
            best_epoch: snapshot.best.as_ref().map(|b| b.epoch),
            best_score: snapshot.best.as_ref().map(|b| b.score),
            history: snapshot.history.clone(),
        };
        let json = serde_json::to_vec(&state).map_err(|e| Error::Config(e.to_string()))?;
        write_file(&tmp.join("state.json"), &json)?;
        let target = dir.join(&name);
        if target.exists() {
            // Re-running an epoch after a resume: the old copy is not the one LATEST names
            // (or it is, and is identical up to timing); replace it.
            let _ = std::fs::remove_dir_all(&target);
        }
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        let previous = std::fs::read_to_string(dir.join(LATEST)).ok();
        write_atomic(&dir.join(LATEST), name.as_bytes())?;
        if let Some(prev) = previous {
            let prev = prev.trim();
            if prev != name && prev.starts_with("state-") {
                let _ = std::fs::remove_dir_all(dir.join(prev));
            }
        }
        Ok(())
    }

    /// Reads the latest state of `dir`: `None` if there is none; an error naming the file if
    /// it is damaged.
    pub fn load(dir: &Path) -> Result<Option<(Snapshot, PathBuf)>> {
        let pointer = dir.join(LATEST);
        let name = match std::fs::read_to_string(&pointer) {
            Ok(n) => n.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&pointer, e)),
        };
        if !name.starts_with("state-") || name.contains('/') {
            return Err(Error::checkpoint(
                &pointer,
                format!("names {name:?}, not a state folder"),
            ));
        }
        let state_dir = dir.join(&name);
        let read = |file: &str| -> Result<Vec<u8>> {
            let path = state_dir.join(file);
            std::fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::checkpoint(&path, "missing"),
                _ => Error::io(&path, e),
            })
        };
        let state_path = state_dir.join("state.json");
        let state: StateFile = serde_json::from_slice(&read("state.json")?)
            .map_err(|e| Error::checkpoint(&state_path, format!("unreadable: {e}")))?;
        let best = match (state.best_epoch, state.best_score) {
            (Some(epoch), Some(score)) => Some(BestSnapshot {
                epoch,
                score,
                model: read("best.bpk")?,
            }),
            _ => None,
        };
        let ema = if state_dir.join("ema.bpk").is_file() {
            Some(read("ema.bpk")?)
        } else {
            None
        };
        Ok(Some((
            Snapshot {
                epoch: state.epoch,
                model: read("model.bpk")?,
                optimizer: read("optimizer.bpk")?,
                best,
                history: state.history,
                ema,
            },
            state_dir,
        )))
    }

    /// Removes the training state of `dir` (after the run completed).
    pub fn clear(dir: &Path) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("state-") || n.starts_with(".state-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let _ = std::fs::remove_file(dir.join(LATEST));
    }
}
