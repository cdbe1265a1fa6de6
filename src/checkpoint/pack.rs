//! A whole checkpoint directory as one byte string and back: what pickling a fitted model
//! (Python's `pickle`, `joblib`, `copy.deepcopy`, Dask and Spark shipping it to workers)
//! stores. The files are those of the directory, in one container: a magic line, a JSON
//! header (the run's `args.json`, and per model its `args.json`, `metrics.jsonl`,
//! `workers.json` and the length of its `model.bpk`), then the models' bytes.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{ModelFiles, WorkerStats};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;

/// The container's first bytes (and its version).
const MAGIC: &[u8; 8] = b"CONALFM1";

#[derive(Serialize, Deserialize)]
struct Header {
    config: RunConfig,
    members: Vec<MemberHeader>,
}

#[derive(Serialize, Deserialize)]
struct MemberHeader {
    config: RunConfig,
    history: Vec<EpochMetrics>,
    worker_stats: Option<WorkerStats>,
    model_bytes: usize,
}

/// The run `config` and its models' files as one byte string.
pub fn pack(config: &RunConfig, members: &[ModelFiles]) -> Result<Vec<u8>> {
    let header = Header {
        config: config.clone(),
        members: members
            .iter()
            .map(|m| MemberHeader {
                config: m.config.clone(),
                history: m.history.clone(),
                worker_stats: m.worker_stats.clone(),
                model_bytes: m.model.len(),
            })
            .collect(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| Error::Codec {
        what: "a packed model's header",
        message: e.to_string(),
    })?;
    let models: usize = members.iter().map(|m| m.model.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + json.len() + models);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for m in members {
        out.extend_from_slice(&m.model);
    }
    Ok(out)
}

/// The run and its models' files from [`pack`]'s bytes.
pub fn unpack(bytes: &[u8]) -> Result<(RunConfig, Vec<ModelFiles>)> {
    let bad = |message: String| Error::Codec {
        what: "a packed model",
        message,
    };
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| bad("not a conal model (no CONALFM1 header)".into()))?;
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| bad("truncated header".into()))?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|e| bad(e.to_string()))?;
    if rest.len() < len {
        return Err(bad("truncated header".into()));
    }
    let (json, mut rest) = rest.split_at(len);
    let header: Header = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    header.config.check().map_err(|e| bad(e.to_string()))?;
    let mut members = Vec::with_capacity(header.members.len());
    for m in header.members {
        if rest.len() < m.model_bytes {
            return Err(bad("truncated model bytes".into()));
        }
        let (model, tail) = rest.split_at(m.model_bytes);
        rest = tail;
        m.config.check().map_err(|e| bad(e.to_string()))?;
        members.push(ModelFiles {
            config: m.config,
            model: model.to_vec(),
            history: m.history,
            worker_stats: m.worker_stats,
        });
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the last model", rest.len())));
    }
    Ok((header.config, members))
}
