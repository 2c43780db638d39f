//! The training loop (METHOD.md §6): Adam over seeded batches, validation NDCG@10 (`do`) for
//! early stopping with the best epoch kept, typed progress events, cooperative cancel at batch
//! boundaries, non-finite loss/gradient detection, and exact resume from an epoch boundary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};

use super::events::{EpochReport, TrainEvent};
use super::optim::Adam;
use super::sampler::{epoch_rng, Sampler};
use crate::data::{Dataset, Interactions};
use crate::error::{Error, Result};
use crate::eval::{evaluate, EvalTask, Split};
use crate::model::batch::LossParts;
use crate::model::config::SelectOn;
use crate::model::{Config, Mode, Net, Ranker};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Validation stopped improving for `patience` evaluations.
    EarlyStopped,
    /// The epoch budget was used up.
    Completed,
    /// Cancelled (Ctrl-C, SIGTERM, explorer); resumable from the last finished epoch.
    Cancelled,
    /// A loss or gradient became NaN/Inf.
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch (1-based).
        batch: usize,
        /// `loss` or `gradient`.
        what: String,
    },
}

impl Status {
    /// Short label.
    pub fn label(&self) -> String {
        match self {
            Status::EarlyStopped => "early-stopped".into(),
            Status::Completed => "completed".into(),
            Status::Cancelled => "cancelled".into(),
            Status::Diverged { epoch, batch, what } => {
                format!("diverged ({what} at epoch {epoch}, batch {batch})")
            }
        }
    }
}

/// Everything needed to continue a run exactly where it stopped (an epoch boundary).
#[derive(Debug, Clone)]
pub struct ResumeState {
    /// Last finished epoch.
    pub epoch: usize,
    /// Parameters after that epoch.
    pub params: BTreeMap<String, Tensor>,
    /// Adam steps taken.
    pub adam_step: u64,
    /// Adam moments.
    pub adam: BTreeMap<String, Tensor>,
    /// Best parameters so far (None when no validation ran).
    pub best: Option<BTreeMap<String, Tensor>>,
    /// Best epoch.
    pub best_epoch: usize,
    /// Best validation NDCG@10.
    pub best_score: f64,
    /// Evaluations without improvement.
    pub bad_evals: usize,
    /// Epoch reports so far.
    pub history: Vec<EpochReport>,
}

/// What a run produced.
pub struct TrainOutcome {
    /// The model holding the best parameters (the last ones when there was no validation).
    pub net: Net,
    /// How it ended.
    pub status: Status,
    /// Best epoch (0 when no epoch finished).
    pub best_epoch: usize,
    /// Best validation NDCG@10.
    pub best_valid: Option<f64>,
    /// Epoch reports.
    pub history: Vec<EpochReport>,
    /// State to resume from.
    pub resume: ResumeState,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Options of a run.
#[derive(Default)]
pub struct TrainOptions {
    /// Set to true to stop at the next batch boundary.
    pub cancel: Arc<AtomicBool>,
    /// Progress receiver.
    pub events: Option<Sender<TrainEvent>>,
    /// Continue from this state.
    pub resume: Option<ResumeState>,
}

/// When the dataset has no validation split, holds out one random training target item of up
/// to 5,000 users with at least 3 of them (seeded) and says so. Returns None when it has one.
pub fn carve_validation(data: &Dataset, seed: u64) -> Option<Dataset> {
    if !data.valid.is_empty() {
        return None;
    }
    let t = data.target_train();
    let csr = t.user_csr(data.n_users());
    let mut eligible: Vec<u32> = (0..data.n_users() as u32)
        .filter(|&u| csr.row(u as usize).len() >= 3)
        .collect();
    let mut rng = epoch_rng(seed, usize::MAX);
    use rand::seq::SliceRandom;
    use rand::Rng;
    eligible.shuffle(&mut rng);
    eligible.truncate(5000);
    eligible.sort_unstable();
    let mut held: Vec<(u32, u32)> = eligible
        .iter()
        .map(|&u| {
            let row = csr.row(u as usize);
            (u, row[rng.random_range(0..row.len())])
        })
        .collect();
    held.sort_unstable();
    if held.is_empty() {
        return None;
    }
    let mut out = data.clone();
    let keep: Vec<(u32, u32)> = t
        .pairs
        .iter()
        .zip(&t.counts)
        .flat_map(|(&p, &c)| {
            if held.binary_search(&p).is_ok() {
                Vec::new()
            } else {
                vec![p; c as usize]
            }
        })
        .collect();
    let target = out.target();
    out.behaviors[target] = Interactions::from_raw(t.name.clone(), keep);
    out.notes.push(format!(
        "no validation split: held out one training {} of {} users for early stopping",
        t.name,
        held.len()
    ));
    out.valid = held;
    Some(out)
}

/// What a run on `data` with `config` does differently from the usual, for the user: with only
/// the target behavior, MCLMR has no behavior experts, evidence terms or contrastive loss, and
/// the rule baselines rank by target popularity alone.
pub fn setup_notes(data: &Dataset, config: &Config) -> Vec<String> {
    if data.n_behaviors() > 1 {
        return Vec::new();
    }
    let target = &data.target_train().name;
    let only = format!("{} has only the target behavior `{target}`", data.name);
    if config.model.backbone.is_rule() {
        vec![format!(
            "{only}: the rule `{}` ranks by `{target}` popularity alone",
            config.model.backbone.name()
        )]
    } else if config.model.mclmr {
        let shared = config.mclmr.shared_experts.max(1);
        vec![format!(
            "{only}: MCLMR runs without behavior experts, evidence terms and the contrastive \
             loss (its MoE keeps {shared} shared expert(s); the confounder terms stay); the \
             matching baseline is --plain"
        )]
    } else {
        Vec::new()
    }
}

fn send(events: &Option<Sender<TrainEvent>>, ev: TrainEvent) {
    if let Some(tx) = events {
        let _ = tx.send(ev);
    }
}

/// Validation NDCG@10 and HR@10 of the `do` ranking, and NDCG@10 of `raw` when it differs.
pub fn validate(net: &Net, task: &EvalTask) -> Result<(f64, f64, Option<f64>)> {
    let ranker = Ranker::Neural(Box::new(net.infer()?));
    let r = evaluate(&ranker, task, Mode::Do)?;
    let raw = if ranker.has_causal() {
        evaluate(&ranker, task, Mode::Raw)?
            .metrics
            .get("NDCG@10")
            .copied()
    } else {
        None
    };
    let get = |k: &str| r.metrics.get(k).copied().unwrap_or(0.0);
    Ok((get("NDCG@10"), get("HR@10"), raw))
}

/// Trains a model on `data` (see the module docs).
pub fn train(
    data: &Dataset,
    config: &Config,
    device: &Device,
    opts: TrainOptions,
) -> Result<TrainOutcome> {
    let start = Instant::now();
    let tc = &config.train;
    let mut net = Net::new(config, data, device)?;
    let mut adam = Adam::new(tc.lr).with_small_lr(tc.lr_small);
    // The model decides whether it has the conversion term; the sampler only follows.
    let sampler = Sampler::new(data, tc.hard_negatives, tc.seed)
        .with_conversion(net.wants_interacted_not_bought());
    if sampler.is_empty() {
        return Err(Error::bad_arg(
            "dataset",
            &data.name,
            "the target behavior has no training pair",
        ));
    }
    let mut state = match opts.resume {
        Some(s) => {
            net.params
                .load(&s.params)
                .map_err(|e| Error::Other(format!("cannot resume: {e}")))?;
            adam.restore(s.adam_step, &s.adam, device)?;
            s
        }
        None => ResumeState {
            epoch: 0,
            params: net.params.snapshot()?,
            adam_step: 0,
            adam: BTreeMap::new(),
            best: None,
            best_epoch: 0,
            best_score: f64::NEG_INFINITY,
            bad_evals: 0,
            history: Vec::new(),
        },
    };
    let valid_task =
        (!data.valid.is_empty()).then(|| EvalTask::new(data, Split::Valid, Some(tc.valid_users)));
    let batches_per_epoch = sampler.batches(tc.batch_size);
    let first = state.epoch + 1;
    send(
        &opts.events,
        TrainEvent::Started {
            first_epoch: first,
            epochs: tc.epochs,
            batches: batches_per_epoch,
            params: net.params.count(),
        },
    );
    let mut status = Status::Completed;
    let mut epoch_secs: Vec<f64> = Vec::new();
    'epochs: for epoch in first..=tc.epochs {
        let t0 = Instant::now();
        let batches = sampler.epoch(epoch, tc.batch_size);
        let mut sum = LossParts::default();
        let every = (batches.len() / 50).max(1);
        for (b, batch) in batches.iter().enumerate() {
            if opts.cancel.load(Ordering::Relaxed) {
                status = Status::Cancelled;
                break 'epochs;
            }
            let (loss, parts) = net.loss(batch)?;
            if !parts.total.is_finite() {
                status = Status::Diverged {
                    epoch,
                    batch: b + 1,
                    what: "loss".into(),
                };
                break 'epochs;
            }
            let grads = loss.backward()?;
            if !adam.step(&net.params, &grads)? {
                status = Status::Diverged {
                    epoch,
                    batch: b + 1,
                    what: "gradient".into(),
                };
                break 'epochs;
            }
            sum.total += parts.total;
            sum.target += parts.target;
            sum.aux += parts.aux;
            sum.cl += parts.cl;
            sum.bal += parts.bal;
            sum.conv += parts.conv;
            sum.tier += parts.tier;
            sum.orth += parts.orth;
            sum.reg += parts.reg;
            if (b + 1) % every == 0 || b + 1 == batches.len() {
                let done = (epoch - first) as f64 + (b + 1) as f64 / batches.len() as f64;
                let per_epoch = start.elapsed().as_secs_f64() / done.max(1e-9);
                let left = (tc.epochs - epoch) as f64 + 1.0 - (b + 1) as f64 / batches.len() as f64;
                send(
                    &opts.events,
                    TrainEvent::Batch {
                        epoch,
                        batch: b + 1,
                        batches: batches.len(),
                        loss: parts.total,
                        eta_secs: per_epoch * left,
                    },
                );
            }
        }
        let nb = batches.len().max(1) as f32;
        let mean = LossParts {
            total: sum.total / nb,
            target: sum.target / nb,
            aux: sum.aux / nb,
            cl: sum.cl / nb,
            bal: sum.bal / nb,
            conv: sum.conv / nb,
            tier: sum.tier / nb,
            orth: sum.orth / nb,
            reg: sum.reg / nb,
        };
        let train_secs = t0.elapsed().as_secs_f64();
        epoch_secs.push(train_secs);
        let t1 = Instant::now();
        let mut report = EpochReport {
            epoch,
            loss: mean,
            valid_ndcg10: None,
            valid_hr10: None,
            valid_ndcg10_raw: None,
            best_epoch: state.best_epoch,
            train_secs,
            eval_secs: 0.0,
        };
        let mut stop = false;
        match &valid_task {
            Some(task) if epoch % tc.eval_every == 0 || epoch == tc.epochs => {
                let (ndcg, hr, raw) = validate(&net, task)?;
                report.valid_ndcg10 = Some(ndcg);
                report.valid_hr10 = Some(hr);
                report.valid_ndcg10_raw = raw;
                let score = match tc.select {
                    SelectOn::Raw => raw.unwrap_or(ndcg),
                    SelectOn::Do => ndcg,
                };
                if score > state.best_score {
                    state.best_score = score;
                    state.best_epoch = epoch;
                    state.best = Some(net.params.snapshot()?);
                    state.bad_evals = 0;
                } else {
                    state.bad_evals += 1;
                    stop = state.bad_evals >= tc.patience.max(1);
                }
            }
            Some(_) => {}
            None => state.best_epoch = epoch,
        }
        report.best_epoch = state.best_epoch;
        report.eval_secs = t1.elapsed().as_secs_f64();
        state.epoch = epoch;
        state.params = net.params.snapshot()?;
        state.adam_step = adam.step;
        state.adam = adam.state();
        state.history.push(report.clone());
        send(&opts.events, TrainEvent::Epoch(report));
        if stop {
            status = Status::EarlyStopped;
            break;
        }
    }
    send(
        &opts.events,
        TrainEvent::Stopped {
            reason: status.label(),
        },
    );
    // The returned model holds the best parameters (or the last finished epoch's).
    let final_params = state.best.clone().unwrap_or_else(|| state.params.clone());
    net.params.load(&final_params).map_err(Error::Other)?;
    let best_valid = state.best_score.is_finite().then_some(state.best_score);
    Ok(TrainOutcome {
        net,
        best_epoch: state.best_epoch,
        best_valid,
        history: state.history.clone(),
        status,
        resume: state,
        seconds: start.elapsed().as_secs_f64(),
    })
}
