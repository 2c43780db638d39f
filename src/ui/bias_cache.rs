//! The Bias screen's numbers for one checkpoint: [`analysis::bias::analyse`] (the function of
//! `mclmr bias`), cached on disk next to the checkpoint as `<file>.bias.json`.
//!
//! The cache entry is keyed by a sha256 over what the analysis depends on: the checkpoint's
//! weights (their content checksum, computed from the loaded tensors, not the file, so a file
//! rewritten while the explorer runs cannot pass for the model in memory), its configuration
//! and strata, the dataset fingerprint, `K` and the table length. A retrained checkpoint, even
//! one written over the same file, has another key and is recomputed; an unreadable or damaged
//! cache file is recomputed and replaced. Writes are atomic (temporary file, rename).
//!
//! [`analysis::bias::analyse`]: crate::analysis::bias::analyse

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::bias::{analyse, BiasAnalysis};
use crate::data::Dataset;
use crate::train::checkpoint::{checksum, LoadedModel};

use super::action::{BiasResult, CacheNote};

/// List length of the exposure counts (as `mclmr bias`'s default).
pub const BIAS_K: usize = 10;
/// Items kept per table.
pub const BIAS_TOP: usize = 50;
/// Bumped when the cached layout or the analysis changes meaning.
const CACHE_VERSION: &str = "mclmr-bias-cache-1";

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    analysis: BiasAnalysis,
}

/// `<dir>/<checkpoint file name>.bias.json`; `dir` defaults to the checkpoint's directory.
pub fn cache_path(model: &Path, dir: Option<&Path>) -> PathBuf {
    let name = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| {
        model
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    });
    dir.join(format!("{name}.bias.json"))
}

/// The cache key of `model`'s analysis on `data` (hex sha256).
pub fn cache_key(
    model: &LoadedModel,
    data: &Dataset,
    k: usize,
    top: usize,
) -> Result<String, String> {
    let ck = &model.checkpoint;
    let mut h = Sha256::new();
    h.update(CACHE_VERSION.as_bytes());
    h.update(checksum(&ck.params).map_err(|e| e.to_string())?.as_bytes());
    h.update(serde_json::to_vec(&ck.config).map_err(|e| e.to_string())?);
    for s in [&ck.user_strata, &ck.item_strata].into_iter().flatten() {
        h.update((s.assign.len() as u64).to_le_bytes());
        for a in &s.assign {
            h.update(a.to_le_bytes());
        }
    }
    h.update(data.fingerprint().as_bytes());
    h.update((k as u64).to_le_bytes());
    h.update((top as u64).to_le_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn read(path: &Path, key: &str) -> Option<BiasAnalysis> {
    let text = std::fs::read(path).ok()?;
    let e: Entry = serde_json::from_slice(&text).ok()?;
    (e.key == key).then_some(e.analysis)
}

/// The analysis of `model` on `data`: from the cache when its key matches, else computed
/// (`progress(done, total)` per block of users) and written to the cache.
pub fn load_or_compute(
    model: &LoadedModel,
    data: &Dataset,
    dir: Option<&Path>,
    progress: &dyn Fn(usize, usize),
) -> Result<BiasResult, String> {
    let path = cache_path(&model.path, dir);
    let key = cache_key(model, data, BIAS_K, BIAS_TOP)?;
    if let Some(analysis) = read(&path, &key) {
        return Ok(BiasResult {
            analysis,
            cache: CacheNote::Loaded,
        });
    }
    let analysis =
        analyse(&model.ranker, data, BIAS_K, BIAS_TOP, progress).map_err(|e| e.to_string())?;
    let entry = Entry { key, analysis };
    let cache = match serde_json::to_vec(&entry)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::atomic::write(&path, &b).map_err(|e| e.to_string()))
    {
        Ok(()) => CacheNote::Written,
        Err(e) => CacheNote::NotWritten(format!("{}: {e}", path.display())),
    };
    Ok(BiasResult {
        analysis: entry.analysis,
        cache,
    })
}
