//! Training transitions: start a run from the form, cancel it, follow its progress events, and
//! on success add the new checkpoint as the comparison model and evaluate both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::runtime::DeviceSpec;
use crate::train::TrainEvent;

use super::super::action::TrainMsg;
use super::super::app::App;
use super::super::load::Load;
use super::super::session::ModelSlot;
use super::super::theme::Meaning;
use super::super::training_state::{RunProgress, TrainedInfo};
use super::super::worker::Job;
use super::{request_evaluations, select_user};

/// Starts a run with the form's settings (refused while one is running or when invalid).
pub fn start(app: &mut App) {
    if app.training_running() {
        app.status = Some((
            Meaning::Alert,
            "a training run is already in progress".into(),
        ));
        return;
    }
    let form = &app.training.form;
    let config = form.config();
    if let Err(e) = config.validate() {
        app.training.result = Load::Failed(e.to_string());
        return;
    }
    let device = if form.use_cuda {
        match DeviceSpec::open_named(&form.device_label()) {
            Ok(d) => d,
            Err(e) => {
                app.training.result = Load::Failed(e.to_string());
                return;
            }
        }
    } else {
        candle_core::Device::Cpu
    };
    let description = form.describe();
    let run = app.fresh_id();
    let cancel = Arc::new(AtomicBool::new(false));
    app.training.run_id = Some(run);
    app.training.cancel = Some(cancel.clone());
    app.training.progress = Some(RunProgress {
        description,
        epochs: config.train.epochs,
        first_epoch: 1,
        ..RunProgress::default()
    });
    app.training.result = Load::Loading {
        progress: Some(0.0),
    };
    app.status = Some((Meaning::Muted, "training started".into()));
    app.jobs.push(Job::Train {
        run,
        data: app.ctx.data.clone(),
        config: Box::new(config),
        device,
        cancel,
        save_dir: app.save_dir.clone(),
    });
}

/// Asks the running run to stop at the next batch.
pub fn cancel(app: &mut App) {
    if let (true, Some(flag)) = (app.training_running(), &app.training.cancel) {
        flag.store(true, Ordering::SeqCst);
        app.status = Some((Meaning::Alert, "cancelling at the next batch…".into()));
    }
}

/// Applies a message of run `run`; messages of other runs are ignored.
pub fn on_message(app: &mut App, run: u64, msg: TrainMsg) {
    if app.training.run_id != Some(run) {
        return;
    }
    match msg {
        TrainMsg::Event(ev) => on_event(app, ev),
        TrainMsg::Finished(Err(e)) => {
            app.training.result = Load::Failed(e.clone());
            app.training.cancel = None;
            app.status = Some((Meaning::Alert, e));
        }
        TrainMsg::Finished(Ok(t)) => {
            app.training.cancel = None;
            app.training.result = Load::Ready(TrainedInfo {
                path: t.path.clone(),
                status: t.status.clone(),
                best_epoch: t.best_epoch,
                best_valid: t.best_valid,
                note: t.note.clone(),
            });
            let id = app.fresh_id();
            let slot = ModelSlot::new(id, t.model, &app.ctx.data);
            app.status = Some((
                Meaning::Ok,
                format!("saved {}: press w to explore it", slot.label),
            ));
            app.other = Some(slot);
            request_evaluations(app);
            let u = app.user.user;
            select_user(app, u);
        }
    }
}

fn on_event(app: &mut App, ev: TrainEvent) {
    let Some(p) = app.training.progress.as_mut() else {
        return;
    };
    match ev {
        TrainEvent::Started {
            first_epoch,
            epochs,
            batches,
            params,
        } => {
            p.first_epoch = first_epoch;
            p.epochs = epochs;
            p.batches = batches;
            p.params = params;
            p.epoch = first_epoch;
            p.batch = 0;
        }
        TrainEvent::Batch {
            epoch,
            batch,
            batches,
            loss,
            eta_secs,
        } => {
            p.epoch = epoch;
            p.batch = batch;
            p.batches = batches;
            p.eta_secs = Some(eta_secs);
            let x = epoch.saturating_sub(1) as f64 + batch as f64 / batches.max(1) as f64;
            if loss.is_finite() {
                p.batch_loss.push((x, f64::from(loss)));
            }
        }
        TrainEvent::Epoch(r) => {
            p.epoch = r.epoch;
            p.batch = p.batches;
            p.reports.push(r);
        }
        TrainEvent::Stopped { reason } => p.stopped = Some(reason),
    }
    let fraction = p.fraction();
    if app.training.result.is_loading() {
        app.training.result = Load::Loading {
            progress: Some(fraction),
        };
    }
}
