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
use super::sampler::Sampler;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{evaluate, EvalTask, Split};
use crate::model::batch::LossParts;
use crate::model::config::{SelectOn, TrainSection};
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
    mut opts: TrainOptions,
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
    let mut state = initial_state(&mut net, &mut adam, opts.resume.take(), device)?;
    let valid_task =
        (!data.valid.is_empty()).then(|| EvalTask::new(data, Split::Valid, Some(tc.valid_users)));
    let first = state.epoch + 1;
    send(
        &opts.events,
        TrainEvent::Started {
            first_epoch: first,
            epochs: tc.epochs,
            batches: sampler.batches(tc.batch_size),
            params: net.params.count(),
        },
    );
    let mut status = Status::Completed;
    let eta = Eta {
        start,
        first,
        epochs: tc.epochs,
        batch_size: tc.batch_size,
    };
    for epoch in first..=tc.epochs {
        let t0 = Instant::now();
        let steps = run_epoch(&mut net, &mut adam, &sampler, epoch, &opts, eta);
        let loss = match steps? {
            Ok(loss) => loss,
            Err(stopped) => {
                status = stopped;
                break;
            }
        };
        let train_secs = t0.elapsed().as_secs_f64();
        let ended = EpochEnd {
            epoch,
            loss,
            train_secs,
        };
        let stop = close_epoch(
            &net,
            &adam,
            valid_task.as_ref(),
            tc,
            &mut state,
            ended,
            &opts,
        )?;
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
    finish(net, state, status, start)
}

/// The outcome of a run: the model with the best parameters (or the last finished epoch's).
fn finish(
    mut net: Net,
    state: ResumeState,
    status: Status,
    start: Instant,
) -> Result<TrainOutcome> {
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

/// An epoch whose steps all ran.
struct EpochEnd {
    epoch: usize,
    loss: LossParts,
    train_secs: f64,
}

/// Validates when due, records the epoch in `state` (weights, Adam moments, report) and sends
/// its report; returns true when early stopping ends the run.
fn close_epoch(
    net: &Net,
    adam: &Adam,
    valid_task: Option<&EvalTask>,
    tc: &TrainSection,
    state: &mut ResumeState,
    end: EpochEnd,
    opts: &TrainOptions,
) -> Result<bool> {
    let EpochEnd {
        epoch,
        loss,
        train_secs,
    } = end;
    let t1 = Instant::now();
    let mut report = EpochReport {
        epoch,
        loss,
        valid_ndcg10: None,
        valid_hr10: None,
        valid_ndcg10_raw: None,
        best_epoch: state.best_epoch,
        train_secs,
        eval_secs: 0.0,
    };
    let stop = match valid_task {
        Some(task) if epoch % tc.eval_every == 0 || epoch == tc.epochs => {
            validate_epoch(net, task, tc, state, &mut report)?
        }
        Some(_) => false,
        None => {
            state.best_epoch = epoch;
            false
        }
    };
    report.best_epoch = state.best_epoch;
    report.eval_secs = t1.elapsed().as_secs_f64();
    state.epoch = epoch;
    state.params = net.params.snapshot()?;
    state.adam_step = adam.step;
    state.adam = adam.state();
    state.history.push(report.clone());
    send(&opts.events, TrainEvent::Epoch(report));
    Ok(stop)
}

/// The state a run starts from: the resumed one (its weights and Adam moments loaded into
/// `net` and `adam`), or a fresh one.
fn initial_state(
    net: &mut Net,
    adam: &mut Adam,
    resume: Option<ResumeState>,
    device: &Device,
) -> Result<ResumeState> {
    match resume {
        Some(s) => {
            net.params
                .load(&s.params)
                .map_err(|e| Error::Other(format!("cannot resume: {e}")))?;
            adam.restore(s.adam_step, &s.adam, device)?;
            Ok(s)
        }
        None => Ok(ResumeState {
            epoch: 0,
            params: net.params.snapshot()?,
            adam_step: 0,
            adam: BTreeMap::new(),
            best: None,
            best_epoch: 0,
            best_score: f64::NEG_INFINITY,
            bad_evals: 0,
            history: Vec::new(),
        }),
    }
}

/// The run's shape: the epoch's batches and the remaining-time estimate of its batch events.
#[derive(Clone, Copy)]
struct Eta {
    start: Instant,
    first: usize,
    epochs: usize,
    batch_size: usize,
}

impl Eta {
    /// Seconds left after batch `b` (1-based) of `n` in `epoch`, at the pace so far.
    fn secs_left(&self, epoch: usize, b: usize, n: usize) -> f64 {
        let done = (epoch - self.first) as f64 + b as f64 / n as f64;
        let per_epoch = self.start.elapsed().as_secs_f64() / done.max(1e-9);
        let left = (self.epochs - epoch) as f64 + 1.0 - b as f64 / n as f64;
        per_epoch * left
    }
}

/// One epoch of optimisation steps: its mean loss parts, or the status that stopped it
/// (cancelled, or diverged at a batch).
fn run_epoch(
    net: &mut Net,
    adam: &mut Adam,
    sampler: &Sampler,
    epoch: usize,
    opts: &TrainOptions,
    eta: Eta,
) -> Result<std::result::Result<LossParts, Status>> {
    let batches = sampler.epoch(epoch, eta.batch_size);
    let mut sum = LossParts::default();
    let every = (batches.len() / 50).max(1);
    let diverged = |b: usize, what: &str| Status::Diverged {
        epoch,
        batch: b + 1,
        what: what.into(),
    };
    for (b, batch) in batches.iter().enumerate() {
        if opts.cancel.load(Ordering::Relaxed) {
            return Ok(Err(Status::Cancelled));
        }
        let (loss, parts) = net.loss(batch)?;
        if !parts.total.is_finite() {
            return Ok(Err(diverged(b, "loss")));
        }
        let grads = loss.backward()?;
        if !adam.step(&net.params, &grads)? {
            return Ok(Err(diverged(b, "gradient")));
        }
        add_parts(&mut sum, &parts);
        if (b + 1) % every == 0 || b + 1 == batches.len() {
            send(
                &opts.events,
                TrainEvent::Batch {
                    epoch,
                    batch: b + 1,
                    batches: batches.len(),
                    loss: parts.total,
                    eta_secs: eta.secs_left(epoch, b + 1, batches.len()),
                },
            );
        }
    }
    Ok(Ok(mean_parts(&sum, batches.len().max(1) as f32)))
}

fn add_parts(sum: &mut LossParts, p: &LossParts) {
    sum.total += p.total;
    sum.target += p.target;
    sum.aux += p.aux;
    sum.cl += p.cl;
    sum.bal += p.bal;
    sum.conv += p.conv;
    sum.tier += p.tier;
    sum.orth += p.orth;
    sum.reg += p.reg;
}

fn mean_parts(sum: &LossParts, n: f32) -> LossParts {
    LossParts {
        total: sum.total / n,
        target: sum.target / n,
        aux: sum.aux / n,
        cl: sum.cl / n,
        bal: sum.bal / n,
        conv: sum.conv / n,
        tier: sum.tier / n,
        orth: sum.orth / n,
        reg: sum.reg / n,
    }
}

/// Validates after an epoch: fills the report's metrics, keeps the best weights by the selected
/// ranking and returns true when patience has run out.
fn validate_epoch(
    net: &Net,
    task: &EvalTask,
    tc: &TrainSection,
    state: &mut ResumeState,
    report: &mut EpochReport,
) -> Result<bool> {
    let (ndcg, hr, raw) = validate(net, task)?;
    report.valid_ndcg10 = Some(ndcg);
    report.valid_hr10 = Some(hr);
    report.valid_ndcg10_raw = raw;
    let score = match tc.select {
        SelectOn::Raw => raw.unwrap_or(ndcg),
        SelectOn::Do => ndcg,
    };
    if score > state.best_score {
        state.best_score = score;
        state.best_epoch = report.epoch;
        state.best = Some(net.params.snapshot()?);
        state.bad_evals = 0;
        Ok(false)
    } else {
        state.bad_evals += 1;
        Ok(state.bad_evals >= tc.patience.max(1))
    }
}
