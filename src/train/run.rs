//! Train to a checkpoint: the one path behind `mclmr train` and the explorer's Training screen.
//! It checks the memory the run needs, trains on a worker thread while the caller receives the
//! progress events on its own thread, builds the checkpoint and saves it atomically.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use candle_core::Device;

use super::checkpoint::Checkpoint;
use super::trainer::{train, ResumeState, Status, TrainOptions, TrainOutcome};
use super::TrainEvent;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::memory::{self, Budget, Shape};
use crate::model::Config;

/// A training run to make.
pub struct TrainJob {
    pub data: Arc<Dataset>,
    pub config: Config,
    pub device: Device,
    /// Memory the run may use.
    pub budget: Budget,
    /// What the "needs more memory" error tells the user to lower (named as they set it).
    pub memory_fix: &'static str,
    /// Set to stop at the next batch.
    pub cancel: Arc<AtomicBool>,
    /// Continue from this state (`mclmr train --resume`).
    pub resume: Option<ResumeState>,
}

/// Where the checkpoint goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// This file, however the run ended: a cancelled run is continued with `--resume`.
    File(PathBuf),
    /// A new `model-<backbone>[-plain]-<n>.safetensors` in this directory, or in the temporary
    /// directory when this one is not writable; only a run that finished is saved.
    FreshIn(PathBuf),
}

/// A finished run and its checkpoint.
pub struct Saved {
    pub outcome: TrainOutcome,
    pub checkpoint: Checkpoint,
    /// Where the checkpoint was written; None when the run was not saved (see [`Destination`]).
    pub path: Option<PathBuf>,
    /// Why the checkpoint is not where it was asked to go.
    pub note: Option<String>,
}

/// Runs `job` (see the module docs); `on_event` gets every progress event, in order, before this
/// returns.
pub fn train_to_checkpoint(
    job: TrainJob,
    dest: &Destination,
    mut on_event: impl FnMut(TrainEvent),
) -> Result<Saved> {
    memory::ensure(
        &memory::estimate::training(&Shape::of(&job.data), &job.config),
        job.budget,
        job.memory_fix,
    )?;
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let (data, config, device) = (job.data.clone(), job.config.clone(), job.device.clone());
        let opts = TrainOptions {
            cancel: job.cancel,
            events: Some(tx),
            resume: job.resume,
        };
        std::thread::Builder::new()
            .name("mclmr-train".into())
            .spawn(move || train(&data, &config, &device, opts))
            .map_err(|e| Error::Other(format!("cannot start the training thread: {e}")))?
    };
    // The sender lives in the worker's options: the loop ends when training does.
    for ev in rx {
        on_event(ev);
    }
    let outcome = worker
        .join()
        .map_err(|p| Error::Other(format!("the training thread panicked: {}", panic_text(p))))??;
    let checkpoint = Checkpoint::from_outcome(&outcome, &job.data, &job.device)?;
    let (path, note) = match dest {
        Destination::File(p) => {
            checkpoint.save(p)?;
            (Some(p.clone()), None)
        }
        Destination::FreshIn(dir) => match outcome.status {
            Status::Cancelled | Status::Diverged { .. } => (None, None),
            _ => {
                let (p, note) = save_fresh(&checkpoint, dir, &job.config)?;
                (Some(p), note)
            }
        },
    };
    Ok(Saved {
        outcome,
        checkpoint,
        path,
        note,
    })
}

/// The text of a panic payload.
pub fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The first `model-<backbone>[-plain]-<n>.safetensors` in `dir` that does not exist yet.
pub fn fresh_checkpoint_path(dir: &Path, config: &Config) -> PathBuf {
    let plain = if config.model.mclmr { "" } else { "-plain" };
    let base = format!("model-{}{plain}", config.model.backbone.name());
    (1..)
        .map(|n| dir.join(format!("{base}-{n}.safetensors")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{base}.safetensors")))
}

/// Saves under a fresh name in `dir`, else in `<tmp>/mclmr-explorer` with a note saying so.
fn save_fresh(ck: &Checkpoint, dir: &Path, config: &Config) -> Result<(PathBuf, Option<String>)> {
    let path = fresh_checkpoint_path(dir, config);
    let Err(e) = ck.save(&path) else {
        return Ok((path, None));
    };
    let tmp = std::env::temp_dir().join("mclmr-explorer");
    std::fs::create_dir_all(&tmp).map_err(|e2| {
        Error::Other(format!(
            "cannot save the checkpoint ({e}) nor create {}: {e2}",
            tmp.display()
        ))
    })?;
    let path = fresh_checkpoint_path(&tmp, config);
    ck.save(&path)?;
    let note = format!(
        "{} is not writable; saved to a temporary directory",
        dir.display()
    );
    Ok((path, Some(note)))
}
