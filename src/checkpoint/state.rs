//! The per-epoch training state in a checkpoint directory: `state-<epoch>/` folders holding
//! `model.bpk`, `optimizer.bpk`, `best.bpk` and `state.json`, and a `LATEST` file naming the
//! newest complete one. A state is written to a temporary folder, renamed into place, and
//! only then does `LATEST` move to it (atomically); the older state is deleted last. A crash
//! at any point leaves `LATEST` naming a complete state.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::metrics::EpochMetrics;
use crate::train::snapshot::{BestSnapshot, Snapshot};

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

/// Saves `snapshot` into `dir` and makes it the latest state. On failure (a full disk, a
/// file-size limit) the temporary folder is removed and the previous state stays the latest.
pub fn save(dir: &Path, snapshot: &Snapshot) -> Result<()> {
    let name = format!("state-{:06}", snapshot.epoch);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = write_folder(&tmp, snapshot).and_then(|()| {
        let target = dir.join(&name);
        if target.exists() {
            // Re-running an epoch after a resume: the old copy is not the one LATEST names
            // (or it is, and is identical up to timing); replace it.
            let _ = std::fs::remove_dir_all(&target);
        }
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
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

/// Writes the state's files into the new folder `tmp`.
fn write_folder(tmp: &Path, snapshot: &Snapshot) -> Result<()> {
    std::fs::create_dir_all(tmp).map_err(|e| Error::io(tmp, e))?;
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
    let json = serde_json::to_vec(&state).map_err(|e| Error::Codec {
        what: "state.json",
        message: e.to_string(),
    })?;
    write_file(&tmp.join("state.json"), &json)
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
