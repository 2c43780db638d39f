//! Checkpoints: safetensors weights plus a `__metadata__` map with the effective config, the
//! dataset fingerprint, seed, epochs, metrics, strata and a content checksum (STYLE.md 9).
//!
//! Writes are atomic (a temporary file in the same directory, fsync, rename). Loading checks the
//! format, the checksum (catches truncation and bit rot), the dataset fingerprint and every
//! tensor's shape, and turns each failure into [`Error::BadCheckpoint`] with a fix.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::events::EpochReport;
use super::trainer::{ResumeState, TrainOutcome};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::strata::Strata;
use crate::model::{BackboneKind, Config, EaseRanker, Net, Ranker, RuleRanker};

/// The tensor name of EASE's item-item weights `B` (`param.` + this in the file).
pub const EASE_B: &str = "ease.B";

/// Format tag stored in every checkpoint.
pub const FORMAT: &str = "mclmr-checkpoint-1";

/// Descriptive metadata of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Dataset name at training time.
    pub dataset: String,
    /// Dataset fingerprint.
    pub fingerprint: String,
    pub n_users: usize,
    pub n_items: usize,
    /// Behaviors, weakest → target.
    pub behaviors: Vec<String>,
    pub seed: u64,
    /// Best (saved) epoch.
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// How training ended.
    pub status: String,
    /// Best validation NDCG@10.
    pub valid_ndcg10: Option<f64>,
    /// Training seconds.
    pub train_secs: f64,
    /// Device used.
    pub device: String,
    /// Per-epoch history.
    pub history: Vec<EpochReport>,
}

/// Resume bookkeeping stored as JSON next to the resume tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeMeta {
    epoch: usize,
    adam_step: u64,
    has_best: bool,
    best_epoch: usize,
    best_score: f64,
    bad_evals: usize,
}

/// A checkpoint in memory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Effective configuration.
    pub config: Config,
    /// Metadata.
    pub meta: Meta,
    /// Model parameters (best epoch).
    pub params: BTreeMap<String, Tensor>,
    /// User strata (None for rules).
    pub user_strata: Option<Strata>,
    /// Item strata (None for rules).
    pub item_strata: Option<Strata>,
    /// State to resume training from.
    pub resume: Option<ResumeState>,
}

fn bad(file: &Path, problem: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::BadCheckpoint {
        file: file.to_path_buf(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// sha256 over every tensor's name, shape and f32 data, in name order (hex, 16 chars).
pub fn checksum(tensors: &BTreeMap<String, Tensor>) -> Result<String> {
    let mut h = Sha256::new();
    for (name, t) in tensors {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        for d in t.dims() {
            h.update((*d as u64).to_le_bytes());
        }
        let v = t
            .to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    Ok(h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Checkpoint {
    /// A checkpoint of a finished (or stopped) run.
    pub fn from_outcome(out: &TrainOutcome, data: &Dataset, device: &Device) -> Result<Self> {
        let net = &out.net;
        Ok(Checkpoint {
            config: net.config.clone(),
            meta: Meta {
                dataset: data.name.clone(),
                fingerprint: data.fingerprint(),
                n_users: data.n_users(),
                n_items: data.n_items(),
                behaviors: data.behavior_names(),
                seed: net.config.train.seed,
                best_epoch: out.best_epoch,
                epochs_run: out.resume.epoch,
                status: out.status.label(),
                valid_ndcg10: out.best_valid,
                train_secs: out.seconds,
                device: format!("{device:?}"),
                history: out.history.clone(),
            },
            params: net.params.snapshot()?,
            user_strata: Some(net.user_strata.clone()),
            item_strata: Some(net.item_strata.clone()),
            // A run that stopped early has nothing left to resume; keep the file small then.
            resume: (out.status != super::trainer::Status::EarlyStopped)
                .then(|| out.resume.clone()),
        })
    }

    /// A checkpoint of a rule baseline (no weights).
    pub fn rule(config: &Config, data: &Dataset) -> Self {
        Checkpoint {
            config: config.clone(),
            meta: Meta {
                dataset: data.name.clone(),
                fingerprint: data.fingerprint(),
                n_users: data.n_users(),
                n_items: data.n_items(),
                behaviors: data.behavior_names(),
                seed: config.train.seed,
                best_epoch: 0,
                epochs_run: 0,
                status: "rule".into(),
                valid_ndcg10: None,
                train_secs: 0.0,
                device: "cpu".into(),
                history: Vec::new(),
            },
            params: BTreeMap::new(),
            user_strata: None,
            item_strata: None,
            resume: None,
        }
    }

    /// A checkpoint of a fitted EASE model: its `B` (f32, row-major items × items, moved in)
    /// under [`EASE_B`]; the input `X` is rebuilt from the data and the stored `[ease]` config
    /// at load.
    pub fn ease(config: &Config, data: &Dataset, b: Vec<f32>, secs: f64) -> Result<Self> {
        let n = data.n_items();
        let b = Tensor::from_vec(b, (n, n), &Device::Cpu)?;
        let mut ck = Checkpoint::rule(config, data);
        ck.meta.status = "closed-form".into();
        ck.meta.train_secs = secs;
        ck.params.insert(EASE_B.into(), b);
        Ok(ck)
    }

    /// Serialises and writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: BTreeMap<String, Tensor> = BTreeMap::new();
        for (k, t) in &self.params {
            tensors.insert(format!("param.{k}"), t.to_device(&Device::Cpu)?);
        }
        let mut meta: HashMap<String, String> = HashMap::new();
        if let Some(r) = &self.resume {
            for (k, t) in &r.params {
                tensors.insert(format!("resume.param.{k}"), t.to_device(&Device::Cpu)?);
            }
            for (k, t) in &r.adam {
                tensors.insert(format!("resume.{k}"), t.to_device(&Device::Cpu)?);
            }
            if let Some(best) = &r.best {
                for (k, t) in best {
                    tensors.insert(format!("resume.best.{k}"), t.to_device(&Device::Cpu)?);
                }
            }
            let rm = ResumeMeta {
                epoch: r.epoch,
                adam_step: r.adam_step,
                has_best: r.best.is_some(),
                best_epoch: r.best_epoch,
                best_score: if r.best_score.is_finite() {
                    r.best_score
                } else {
                    -1.0
                },
                bad_evals: r.bad_evals,
            };
            meta.insert(
                "resume".into(),
                serde_json::to_string(&rm).map_err(|e| Error::Other(e.to_string()))?,
            );
        }
        meta.insert("format".into(), FORMAT.into());
        meta.insert("config".into(), self.config.to_toml());
        meta.insert("meta".into(), to_json(&self.meta));
        if let (Some(u), Some(i)) = (&self.user_strata, &self.item_strata) {
            meta.insert("strata_user".into(), to_json(u));
            meta.insert("strata_item".into(), to_json(i));
        }
        meta.insert("checksum".into(), checksum(&tensors)?);
        let bytes = safetensors::serialize(tensors.iter(), Some(meta))
            .map_err(|e| Error::Other(format!("cannot serialise checkpoint: {e}")))?;
        crate::atomic::write(path, &bytes)
    }

    /// Reads and verifies a checkpoint file (format, checksum, config).
    pub fn load(path: &Path) -> Result<Self> {
        let (md, tensors) = read_verified(path)?;
        let get = |k: &str| {
            md.get(k)
                .ok_or_else(|| bad(path, format!("metadata has no `{k}` entry"), FIX_CORRUPT))
        };
        let config = Config::from_stored_toml(get("config")?, path)?;
        let meta: Meta = serde_json::from_str(get("meta")?)
            .map_err(|e| bad(path, format!("bad metadata ({e})"), FIX_CORRUPT))?;
        let strata = |k: &str| -> Result<Option<Strata>> {
            md.get(k)
                .map(|s| {
                    serde_json::from_str(s)
                        .map_err(|e| bad(path, format!("bad strata metadata ({e})"), FIX_CORRUPT))
                })
                .transpose()
        };
        let user_strata = strata("strata_user")?;
        let item_strata = strata("strata_item")?;
        let resume = resume_state(&md, &tensors, &meta, path)?;
        Ok(Checkpoint {
            config,
            meta,
            params: with_prefix(&tensors, "param."),
            user_strata,
            item_strata,
            resume,
        })
    }

    /// Refuses a dataset other than the one the checkpoint was trained on.
    pub fn check_dataset(&self, path: &Path, data: &Dataset) -> Result<()> {
        let fp = data.fingerprint();
        if fp != self.meta.fingerprint {
            return Err(Error::WrongDataset {
                file: path.to_path_buf(),
                problem: format!(
                    "trained on dataset `{}` (fingerprint {}, {} users, {} items, behaviors {}) but the given data is `{}` (fingerprint {fp}, {} users, {} items, behaviors {})",
                    self.meta.dataset,
                    self.meta.fingerprint,
                    self.meta.n_users,
                    self.meta.n_items,
                    self.meta.behaviors.join(","),
                    data.name,
                    data.n_users(),
                    data.n_items(),
                    data.behavior_names().join(",")
                ),
                fix: "pass the --data directory (and --behaviors) the model was trained with, or \
                      retrain on this data"
                    .into(),
            });
        }
        Ok(())
    }
}

const FIX_CORRUPT: &str =
    "the file is truncated or not an mclmr checkpoint; copy it again or retrain with `mclmr train`";

/// The metadata and tensors of a checkpoint file whose format and checksum are right.
fn read_verified(path: &Path) -> Result<(HashMap<String, String>, BTreeMap<String, Tensor>)> {
    if path.is_dir() {
        return Err(bad(
            path,
            "is a directory, not a checkpoint file",
            "pass the .safetensors file written by `mclmr train --out`",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| {
        bad(
            path,
            format!("cannot read the safetensors header ({e})"),
            FIX_CORRUPT,
        )
    })?;
    let md = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| {
        md.get(k)
            .ok_or_else(|| bad(path, format!("metadata has no `{k}` entry"), FIX_CORRUPT))
    };
    let format = get("format")?;
    if format != FORMAT {
        return Err(bad(
            path,
            format!("unsupported checkpoint format `{format}` (expected `{FORMAT}`)"),
            "retrain the model with this version of mclmr",
        ));
    }
    let raw = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| bad(path, format!("cannot read the tensors ({e})"), FIX_CORRUPT))?;
    let tensors: BTreeMap<String, Tensor> = raw.into_iter().collect();
    if checksum(&tensors)? != *get("checksum")? {
        return Err(bad(
            path,
            "content checksum mismatch: the weights were altered or damaged",
            FIX_CORRUPT,
        ));
    }
    Ok((md, tensors))
}

/// The tensors named `<prefix><name>`, under `<name>`.
fn with_prefix(tensors: &BTreeMap<String, Tensor>, prefix: &str) -> BTreeMap<String, Tensor> {
    tensors
        .iter()
        .filter_map(|(k, t)| k.strip_prefix(prefix).map(|n| (n.to_string(), t.clone())))
        .collect()
}

/// The state `mclmr train --resume` continues from, when the checkpoint holds one.
fn resume_state(
    md: &HashMap<String, String>,
    tensors: &BTreeMap<String, Tensor>,
    meta: &Meta,
    path: &Path,
) -> Result<Option<ResumeState>> {
    let Some(s) = md.get("resume") else {
        return Ok(None);
    };
    let rm: ResumeMeta = serde_json::from_str(s)
        .map_err(|e| bad(path, format!("bad resume metadata ({e})"), FIX_CORRUPT))?;
    let adam: BTreeMap<String, Tensor> = tensors
        .iter()
        .filter_map(|(k, t)| {
            k.strip_prefix("resume.")
                .filter(|n| n.starts_with("adam."))
                .map(|n| (n.to_string(), t.clone()))
        })
        .collect();
    Ok(Some(ResumeState {
        epoch: rm.epoch,
        params: with_prefix(tensors, "resume.param."),
        adam_step: rm.adam_step,
        adam,
        best: rm.has_best.then(|| with_prefix(tensors, "resume.best.")),
        best_epoch: rm.best_epoch,
        best_score: if rm.has_best {
            rm.best_score
        } else {
            f64::NEG_INFINITY
        },
        bad_evals: rm.bad_evals,
        history: meta.history.clone(),
    }))
}

/// Compact JSON of a metadata value (these types always serialise).
fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A checkpoint turned back into something that ranks.
pub struct LoadedModel {
    pub checkpoint: Checkpoint,
    /// The network (None for rules).
    pub net: Option<Net>,
    pub ranker: Ranker,
    /// Where it came from.
    pub path: PathBuf,
}

/// Builds the model of a checkpoint (a rule or a network with its weights) for `data`.
pub fn restore(
    checkpoint: Checkpoint,
    path: &Path,
    data: &Dataset,
    device: &Device,
) -> Result<LoadedModel> {
    checkpoint.check_dataset(path, data)?;
    let kind = checkpoint.config.model.backbone;
    if kind == BackboneKind::Ease {
        let mut checkpoint = checkpoint;
        let ranker = restore_ease(&mut checkpoint, path, data)?;
        return Ok(LoadedModel {
            checkpoint,
            net: None,
            ranker: Ranker::Ease(ranker),
            path: path.to_path_buf(),
        });
    }
    if kind.is_rule() {
        let rule = match kind {
            BackboneKind::RuleConversion => RuleRanker::conversion(data),
            _ => RuleRanker::new(data, kind == BackboneKind::RuleViewCart),
        };
        return Ok(LoadedModel {
            checkpoint,
            net: None,
            ranker: Ranker::Rule(rule),
            path: path.to_path_buf(),
        });
    }
    let (us, is) = match (&checkpoint.user_strata, &checkpoint.item_strata) {
        (Some(u), Some(i)) => (u.clone(), i.clone()),
        _ => {
            return Err(bad(
                path,
                "a neural checkpoint without strata metadata",
                "retrain the model with `mclmr train`",
            ))
        }
    };
    let mut net = Net::with_strata(&checkpoint.config, data, device, us, is)?;
    net.params.load(&checkpoint.params).map_err(|e| {
        bad(
            path,
            format!("weights do not fit the model its config describes: {e}"),
            "retrain the model with this version of mclmr",
        )
    })?;
    let ranker = Ranker::Neural(Box::new(net.infer()?));
    Ok(LoadedModel {
        checkpoint,
        net: Some(net),
        ranker,
        path: path.to_path_buf(),
    })
}

/// EASE from its checkpoint. `B` moves out of `checkpoint.params` so that it is held once.
fn restore_ease(checkpoint: &mut Checkpoint, path: &Path, data: &Dataset) -> Result<EaseRanker> {
    let n = data.n_items();
    let fix = "retrain it with `mclmr train --backbone ease`";
    let b = checkpoint
        .params
        .remove(EASE_B)
        .ok_or_else(|| bad(path, format!("an EASE checkpoint without `{EASE_B}`"), fix))?;
    if b.dims() != [n, n] {
        return Err(bad(
            path,
            format!("`{EASE_B}` has shape {:?}, not {n} × {n} items", b.dims()),
            fix,
        ));
    }
    let b = b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    EaseRanker::with_weights(data, &checkpoint.config.ease, b)
}

/// Loads a checkpoint file and restores it for `data`.
pub fn load_model(path: &Path, data: &Dataset, device: &Device) -> Result<LoadedModel> {
    let ck = Checkpoint::load(path)?;
    restore(ck, path, data, device)
}
