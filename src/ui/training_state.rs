//! State of the Training screen: the settings form (backbone, plain/+MCLMR, the four MCLMR
//! switches, epochs, learning rate, dimension, device), the live progress of the current run and
//! its outcome. Only plain data and pure helpers live here; the transitions are in
//! [`crate::ui::update`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::model::{BackboneKind, Config};
use crate::train::EpochReport;

use super::load::Load;

/// A setting of the form, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Backbone kind.
    Backbone,
    /// +MCLMR or plain.
    Mclmr,
    /// Causal scorer and intervention.
    Causal,
    /// Learned MoE gates.
    Moe,
    /// Bias-aware contrastive loss.
    Bcl,
    /// Pair-level evidence.
    Evidence,
    /// Maximum epochs.
    Epochs,
    /// Learning rate.
    Lr,
    /// Embedding size.
    Dim,
    /// CPU or the CUDA device given on the command line.
    Device,
}

impl Field {
    /// All fields in display order.
    pub const ALL: [Field; 10] = [
        Field::Backbone,
        Field::Mclmr,
        Field::Causal,
        Field::Moe,
        Field::Bcl,
        Field::Evidence,
        Field::Epochs,
        Field::Lr,
        Field::Dim,
        Field::Device,
    ];

    /// Label shown in the form.
    pub fn label(self) -> &'static str {
        match self {
            Field::Backbone => "backbone",
            Field::Mclmr => "MCLMR",
            Field::Causal => "causal",
            Field::Moe => "moe",
            Field::Bcl => "bcl",
            Field::Evidence => "evidence",
            Field::Epochs => "epochs",
            Field::Lr => "lr",
            Field::Dim => "dim",
            Field::Device => "device",
        }
    }
}

const BACKBONES: [BackboneKind; 3] = [
    BackboneKind::Mf,
    BackboneKind::LightGcn,
    BackboneKind::Cascade,
];
const EPOCHS: [usize; 11] = [1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500];
const LRS: [f64; 10] = [1e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 5e-2];
const DIMS: [usize; 8] = [8, 16, 32, 48, 64, 96, 128, 256];

/// The next value of a ladder above (`dir > 0`) or below `cur`, or `cur` at the end.
fn step<T: PartialOrd + Copy>(ladder: &[T], cur: T, dir: i32) -> T {
    if dir > 0 {
        ladder.iter().copied().find(|&v| v > cur).unwrap_or(cur)
    } else {
        ladder
            .iter()
            .rev()
            .copied()
            .find(|&v| v < cur)
            .unwrap_or(cur)
    }
}

/// The settings of the next run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainForm {
    /// Config the form starts from (the active model's); untouched keys keep its values.
    pub base: Config,
    /// Backbone.
    pub backbone: BackboneKind,
    /// +MCLMR (false = plain backbone).
    pub mclmr: bool,
    /// Causal switch.
    pub causal: bool,
    /// MoE switch.
    pub moe: bool,
    /// BCL switch.
    pub bcl: bool,
    /// Evidence switch.
    pub evidence: bool,
    /// Maximum epochs.
    pub epochs: usize,
    /// Learning rate.
    pub lr: f64,
    /// Embedding size.
    pub dim: usize,
    /// Train on the CUDA device named on the command line.
    pub use_cuda: bool,
    /// The CUDA device named on the command line, if any.
    pub cuda_label: Option<String>,
    /// Selected field.
    pub field: usize,
}

impl TrainForm {
    /// The form preset from a model's config.
    pub fn from_config(cfg: &Config, device_label: &str) -> Self {
        let backbone = if !BACKBONES.contains(&cfg.model.backbone) {
            BackboneKind::Mf
        } else {
            cfg.model.backbone
        };
        let cuda_label = device_label
            .starts_with("cuda")
            .then(|| device_label.to_string());
        TrainForm {
            base: cfg.clone(),
            backbone,
            mclmr: cfg.model.mclmr,
            causal: cfg.mclmr.causal,
            moe: cfg.mclmr.moe,
            bcl: cfg.mclmr.bcl,
            evidence: cfg.mclmr.evidence,
            epochs: cfg.train.epochs,
            lr: cfg.train.lr,
            dim: cfg.model.dim,
            use_cuda: cuda_label.is_some(),
            cuda_label,
            field: 0,
        }
    }

    /// The selected field.
    pub fn selected(&self) -> Field {
        Field::ALL[self.field.min(Field::ALL.len() - 1)]
    }

    /// True when a field has no effect with the current settings (MCLMR switches of a plain run).
    pub fn inactive(&self, f: Field) -> bool {
        matches!(f, Field::Causal | Field::Moe | Field::Bcl | Field::Evidence) && !self.mclmr
            || f == Field::Device && self.cuda_label.is_none()
    }

    /// A field's value as shown.
    pub fn value(&self, f: Field) -> String {
        let on = |b: bool| if b { "on" } else { "off" }.to_string();
        match f {
            Field::Backbone => self.backbone.name().into(),
            Field::Mclmr => if self.mclmr { "+MCLMR" } else { "plain" }.into(),
            Field::Causal => on(self.causal),
            Field::Moe => on(self.moe),
            Field::Bcl => on(self.bcl),
            Field::Evidence => on(self.evidence),
            Field::Epochs => self.epochs.to_string(),
            Field::Lr => format!("{}", self.lr),
            Field::Dim => self.dim.to_string(),
            Field::Device => self.device_label(),
        }
    }

    /// `cpu` or the CUDA device.
    pub fn device_label(&self) -> String {
        match (&self.cuda_label, self.use_cuda) {
            (Some(c), true) => c.clone(),
            _ => "cpu".into(),
        }
    }

    /// Changes the selected field one step (`dir` = ±1); on/off fields flip.
    pub fn adjust(&mut self, dir: i32) {
        match self.selected() {
            Field::Backbone => {
                let i = BACKBONES
                    .iter()
                    .position(|&b| b == self.backbone)
                    .unwrap_or(0) as i32;
                let n = BACKBONES.len() as i32;
                self.backbone = BACKBONES[((i + dir).rem_euclid(n)) as usize];
            }
            Field::Epochs => self.epochs = step(&EPOCHS, self.epochs, dir),
            Field::Lr => self.lr = step(&LRS, self.lr, dir),
            Field::Dim => self.dim = step(&DIMS, self.dim, dir),
            _ => self.toggle(),
        }
    }

    /// Flips the selected on/off field (others step forward).
    pub fn toggle(&mut self) {
        match self.selected() {
            Field::Mclmr => self.mclmr = !self.mclmr,
            Field::Causal => self.causal = !self.causal,
            Field::Moe => self.moe = !self.moe,
            Field::Bcl => self.bcl = !self.bcl,
            Field::Evidence => self.evidence = !self.evidence,
            Field::Device => self.use_cuda = self.cuda_label.is_some() && !self.use_cuda,
            _ => self.adjust(1),
        }
    }

    /// The config of the run: the base config with the form's values.
    pub fn config(&self) -> Config {
        let mut c = self.base.clone();
        c.model.backbone = self.backbone;
        c.model.mclmr = self.mclmr;
        c.model.dim = self.dim;
        c.mclmr.causal = self.causal;
        c.mclmr.moe = self.moe;
        c.mclmr.bcl = self.bcl;
        c.mclmr.evidence = self.evidence;
        c.train.epochs = self.epochs;
        c.train.lr = self.lr;
        c
    }

    /// One line describing the run.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} {}",
            self.backbone.name(),
            if self.mclmr { "+MCLMR" } else { "plain" }
        );
        if self.mclmr {
            let off: Vec<&str> = [
                ("causal", self.causal),
                ("moe", self.moe),
                ("bcl", self.bcl),
                ("evidence", self.evidence),
            ]
            .iter()
            .filter(|x| !x.1)
            .map(|x| x.0)
            .collect();
            if !off.is_empty() {
                s.push_str(&format!(" w/o {}", off.join(",")));
            }
        }
        format!(
            "{s}, ≤{} epochs, lr {}, d={}, {}",
            self.epochs,
            self.lr,
            self.dim,
            self.device_label()
        )
    }
}

/// Live progress of a run (kept after it ends, for the charts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunProgress {
    /// What was started.
    pub description: String,
    /// First epoch of the run.
    pub first_epoch: usize,
    /// Last epoch allowed.
    pub epochs: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Trainable scalars.
    pub params: usize,
    /// Current epoch.
    pub epoch: usize,
    /// Current batch.
    pub batch: usize,
    /// Estimated seconds left (upper bound).
    pub eta_secs: Option<f64>,
    /// Batch losses `(fractional epoch, loss)`.
    pub batch_loss: Vec<(f64, f64)>,
    /// Finished epochs.
    pub reports: Vec<EpochReport>,
    /// Why the trainer stopped.
    pub stopped: Option<String>,
}

impl RunProgress {
    /// Share of the run's batches done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        let total = (self.epochs + 1).saturating_sub(self.first_epoch.max(1)) * self.batches;
        if total == 0 {
            return 0.0;
        }
        let done = self.epoch.saturating_sub(self.first_epoch.max(1)) * self.batches + self.batch;
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }

    /// Share of the current epoch done.
    pub fn epoch_fraction(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            (self.batch as f64 / self.batches as f64).clamp(0.0, 1.0)
        }
    }
}

/// The result of a finished run, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedInfo {
    /// Where the checkpoint went.
    pub path: PathBuf,
    /// How training ended.
    pub status: String,
    /// Best epoch.
    pub best_epoch: usize,
    /// Best validation NDCG@10.
    pub best_valid: Option<f64>,
    /// A remark (e.g. saved to a temporary directory).
    pub note: Option<String>,
}

/// The Training screen's state.
#[derive(Debug, Clone)]
pub struct TrainingState {
    /// Settings of the next run.
    pub form: TrainForm,
    /// The run whose events are accepted.
    pub run_id: Option<u64>,
    /// Cancel flag of the running run.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Progress of the latest run.
    pub progress: Option<RunProgress>,
    /// Idle, Loading{progress} while running, Ready after a saved run, Failed otherwise.
    pub result: Load<TrainedInfo>,
}

impl TrainingState {
    /// The initial state, preset from the active model's config.
    pub fn new(cfg: &Config, device_label: &str) -> Self {
        TrainingState {
            form: TrainForm::from_config(cfg, device_label),
            run_id: None,
            cancel: None,
            progress: None,
            result: Load::Idle,
        }
    }

    /// True while a run is in progress.
    pub fn is_running(&self) -> bool {
        self.result.is_loading()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_step_and_stop_at_the_ends() {
        assert_eq!(step(&EPOCHS, 20, -1), 10);
        assert_eq!(step(&EPOCHS, 7, 1), 10);
        assert_eq!(step(&EPOCHS, 1, -1), 1);
        assert_eq!(step(&EPOCHS, 500, 1), 500);
    }

    #[test]
    fn form_round_trips_into_a_valid_config() {
        let mut f = TrainForm::from_config(&Config::default(), "cpu");
        f.adjust(1); // lightgcn → cascade
        assert_eq!(f.backbone, BackboneKind::Cascade);
        f.field = 1;
        f.toggle();
        assert!(!f.mclmr);
        assert!(f.inactive(Field::Bcl));
        assert!(f.inactive(Field::Device));
        let c = f.config();
        assert_eq!(c.model.backbone, BackboneKind::Cascade);
        assert!(!c.model.mclmr);
        c.validate().unwrap();
        assert!(f.describe().starts_with("cascade plain"));
    }

    #[test]
    fn progress_fraction() {
        let p = RunProgress {
            first_epoch: 1,
            epochs: 4,
            batches: 10,
            epoch: 2,
            batch: 5,
            ..Default::default()
        };
        assert!((p.fraction() - 15.0 / 40.0).abs() < 1e-12);
        assert!((p.epoch_fraction() - 0.5).abs() < 1e-12);
        assert_eq!(RunProgress::default().fraction(), 0.0);
    }
}
