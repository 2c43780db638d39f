//! Background work (STYLE.md 3): training, full evaluation, the alignment report and the bias
//! analysis run on threads and report back with typed [`Action`]s over one channel, so the UI
//! thread only ever polls. `update` queues [`Job`]s; the runner hands them to [`Workers::launch`].
//!
//! A panic inside a job is caught and reported as that panel's failure instead of taking the
//! explorer down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use candle_core::Device;

use crate::analysis::AlignmentReport;
use crate::data::Dataset;
use crate::eval::full_report;
use crate::memory::Budget;
use crate::model::{Config, Ranker};
use crate::train::checkpoint::{restore, LoadedModel};
use crate::train::run::panic_text;
use crate::train::{train_to_checkpoint, Destination, Status, TrainJob};

use super::action::{Action, TrainMsg, Trained};

/// Nodes sampled per side by the alignment report.
pub const ALIGN_NODES: usize = 2000;
/// Histogram bins of the alignment report.
pub const ALIGN_BINS: usize = 20;
/// Seed of the alignment samples (fixed: the numbers do not change between runs).
pub const ALIGN_SEED: u64 = 7;

/// A unit of background work.
pub enum Job {
    /// Alignment/uniformity report of a model.
    Alignment {
        /// Model slot id.
        model: u64,
        loaded: Arc<LoadedModel>,
    },
    /// Full-ranking evaluation of a model.
    Evaluate {
        /// Model slot id.
        model: u64,
        loaded: Arc<LoadedModel>,
        data: Arc<Dataset>,
    },
    /// Test metrics per stratum of a model (`mclmr eval --by stratum`).
    Groups {
        /// Model slot id.
        model: u64,
        /// The model.
        loaded: Arc<LoadedModel>,
        /// The dataset.
        data: Arc<Dataset>,
    },
    /// Bias analysis of a model (all users' rankings), through the on-disk cache.
    Bias {
        /// Model slot id.
        model: u64,
        /// The model.
        loaded: Arc<LoadedModel>,
        /// The dataset.
        data: Arc<Dataset>,
        /// Directory of the cache file (None: next to the checkpoint).
        cache_dir: Option<PathBuf>,
    },
    /// A training run; the checkpoint is saved in `save_dir` and loaded for the explorer.
    Train {
        run: u64,
        data: Arc<Dataset>,
        /// Effective config.
        config: Box<Config>,
        device: Device,
        /// Set to stop at the next batch.
        cancel: Arc<AtomicBool>,
        /// Preferred directory for the checkpoint.
        save_dir: PathBuf,
    },
}

impl Job {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Alignment { .. } => "alignment",
            Job::Evaluate { .. } => "evaluation",
            Job::Bias { .. } => "bias",
            Job::Groups { .. } => "per-stratum evaluation",
            Job::Train { .. } => "training",
        }
    }
}

/// Launches jobs on threads and counts the ones still running.
#[derive(Clone)]
pub struct Workers {
    tx: Sender<Action>,
    running: Arc<AtomicUsize>,
}

/// Decrements the running count when a job thread ends, however it ends.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Workers {
    /// Workers reporting to `tx`.
    pub fn new(tx: Sender<Action>) -> Self {
        Workers {
            tx,
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Jobs still running.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Runs `job` on a new thread.
    pub fn launch(&self, job: Job) {
        self.running.fetch_add(1, Ordering::SeqCst);
        let guard = Running(self.running.clone());
        let tx = self.tx.clone();
        let name = job.name();
        let failed = failure(&job);
        let spawned = std::thread::Builder::new()
            .name(format!("mclmr-{name}"))
            .spawn(move || {
                let _guard = guard;
                run_job(job, tx);
            });
        if let Err(e) = spawned {
            // The guard moved into the closure was dropped with it; report the failure.
            let _ = self
                .tx
                .send(failed(format!("cannot start the {name} thread: {e}")));
        }
    }
}

/// The panel a job reports to, with its model slot or run id.
#[derive(Debug, Clone, Copy)]
enum Panel {
    Alignment(u64),
    Evaluation(u64),
    Bias(u64),
    Groups(u64),
    Training(u64),
}

/// The action that reports a job's failure to its panel.
fn failure(job: &Job) -> impl FnOnce(String) -> Action {
    let panel = match job {
        Job::Alignment { model, .. } => Panel::Alignment(*model),
        Job::Evaluate { model, .. } => Panel::Evaluation(*model),
        Job::Bias { model, .. } => Panel::Bias(*model),
        Job::Groups { model, .. } => Panel::Groups(*model),
        Job::Train { run, .. } => Panel::Training(*run),
    };
    move |msg| match panel {
        Panel::Alignment(model) => Action::AlignmentDone {
            model,
            result: Err(msg),
        },
        Panel::Evaluation(model) => Action::Evaluated {
            model,
            result: Err(msg),
        },
        Panel::Bias(model) => Action::BiasDone {
            model,
            result: Err(msg),
        },
        Panel::Groups(model) => Action::GroupsDone {
            model,
            result: Err(msg),
        },
        Panel::Training(run) => Action::Train {
            run,
            msg: TrainMsg::Finished(Err(msg)),
        },
    }
}

fn run_job(job: Job, tx: Sender<Action>) {
    match job {
        Job::Alignment { model, loaded } => {
            let result = catch_unwind(AssertUnwindSafe(|| match &loaded.ranker {
                Ranker::Neural(inf) => Ok(AlignmentReport::compute(
                    inf,
                    ALIGN_NODES,
                    ALIGN_BINS,
                    ALIGN_SEED,
                )),
                Ranker::Rule(_) | Ranker::Ease(_) => {
                    Err("a baseline has no learned representations to align".to_string())
                }
            }))
            .unwrap_or_else(|p| Err(format!("the alignment worker failed: {}", panic_text(p))));
            let _ = tx.send(Action::AlignmentDone { model, result });
        }
        Job::Evaluate {
            model,
            loaded,
            data,
        } => {
            let result = catch_unwind(AssertUnwindSafe(|| {
                full_report(&loaded.ranker, &data).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|p| Err(format!("the evaluation worker failed: {}", panic_text(p))));
            let _ = tx.send(Action::Evaluated { model, result });
        }
        Job::Groups {
            model,
            loaded,
            data,
        } => {
            let result = catch_unwind(AssertUnwindSafe(|| {
                crate::eval::groups::by_stratum(&loaded.ranker, &data).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|p| {
                Err(format!(
                    "the per-stratum evaluation worker failed: {}",
                    panic_text(p)
                ))
            });
            let _ = tx.send(Action::GroupsDone { model, result });
        }
        Job::Bias {
            model,
            loaded,
            data,
            cache_dir,
        } => {
            let progress = |done: usize, total: usize| {
                let _ = tx.send(Action::BiasProgress { model, done, total });
            };
            let result = catch_unwind(AssertUnwindSafe(|| {
                super::bias_cache::load_or_compute(&loaded, &data, cache_dir.as_deref(), &progress)
            }))
            .unwrap_or_else(|p| Err(format!("the bias worker failed: {}", panic_text(p))))
            .map(Arc::new);
            let _ = tx.send(Action::BiasDone { model, result });
        }
        Job::Train {
            run,
            data,
            config,
            device,
            cancel,
            save_dir,
        } => {
            let result = catch_unwind(AssertUnwindSafe(|| {
                train_and_save(run, &data, &config, &device, cancel, &save_dir, &tx)
            }))
            .unwrap_or_else(|p| Err(format!("the training worker failed: {}", panic_text(p))));
            let _ = tx.send(Action::Train {
                run,
                msg: TrainMsg::Finished(result),
            });
        }
    }
}

fn train_and_save(
    run: u64,
    data: &Arc<Dataset>,
    config: &Config,
    device: &Device,
    cancel: Arc<AtomicBool>,
    save_dir: &Path,
    tx: &Sender<Action>,
) -> Result<Trained, String> {
    let job = TrainJob {
        data: data.clone(),
        config: config.clone(),
        device: device.clone(),
        budget: Budget::Detect,
        memory_fix: "lower dim or layers (or batch_size) on this screen",
        cancel,
        resume: None,
    };
    let dest = Destination::FreshIn(save_dir.to_path_buf());
    let saved = train_to_checkpoint(job, &dest, |ev| {
        let _ = tx.send(Action::Train {
            run,
            msg: TrainMsg::Event(ev),
        });
    })
    .map_err(|e| e.to_string())?;
    let outcome = &saved.outcome;
    match &outcome.status {
        Status::Cancelled => {
            return Err(format!(
                "cancelled after {} finished epoch(s); nothing was saved",
                outcome.resume.epoch
            ))
        }
        Status::Diverged { epoch, batch, what } => {
            return Err(format!(
            "diverged: {what} not finite at epoch {epoch}, batch {batch}; lower the learning rate"
        ))
        }
        _ => {}
    }
    let path = saved
        .path
        .ok_or_else(|| "the finished run was not saved".to_string())?;
    let (status, best_epoch, best_valid) = (
        outcome.status.label(),
        outcome.best_epoch,
        outcome.best_valid,
    );
    let loaded = restore(saved.checkpoint, &path, data, device).map_err(|e| e.to_string())?;
    Ok(Trained {
        model: Arc::new(loaded),
        path,
        status,
        best_epoch,
        best_valid,
        note: saved.note,
    })
}
