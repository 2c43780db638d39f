//! The explorer's single state ([`App`], STYLE.md 1). It is built once from a dataset and a
//! checkpoint; afterwards only [`crate::ui::update::update`] changes it, and the views read it.
//! Work that must not block the UI is queued in [`App::jobs`] and launched by the runner.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;

use crate::data::{load_dataset, prepare_for_training, Dataset, LoadOptions};
use crate::error::{Error, Result};
use crate::explain::Explanation;
use crate::model::{BackboneKind, Config};
use crate::runtime::DeviceSpec;
use crate::train::checkpoint::{load_model, restore, Checkpoint, LoadedModel};

use super::action::Screen;
use super::load::Load;
use super::session::{DataContext, ModelSlot};
use super::theme::Meaning;
use super::training_state::TrainingState;
use super::user_view::UserView;
use super::whatif_view::WhatIfState;
use super::worker::Job;

/// The checkpoint `mclmr` opens without arguments (run from the repository root).
pub const DEFAULT_MODEL: &str = "assets/model.safetensors";
/// The dataset `mclmr` opens without arguments.
pub const DEFAULT_DATA: &str = "sample_data";

/// How the explorer is opened (`mclmr explore` flags).
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    /// Checkpoint to explore.
    pub model: PathBuf,
    /// Dataset it was trained on.
    pub data: PathBuf,
    /// Loader options (behavior order, dataset config, validation policy).
    pub load: LoadOptions,
    /// Device for retraining.
    pub device: DeviceSpec,
    /// Where retrained checkpoints go (default: next to the model, else a temporary directory).
    pub save_dir: Option<PathBuf>,
    /// Show timing figures in the status bar from the start (`T` toggles them; keep them off
    /// in snapshot tests so that the rendered text is stable).
    pub show_timings: bool,
    /// Directory of the Bias screen's cache files (default: next to each checkpoint).
    pub cache_dir: Option<PathBuf>,
}

impl ExploreOptions {
    /// `model` on `data`, with the default loader options and device.
    pub fn new(model: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        ExploreOptions {
            model: model.into(),
            data: data.into(),
            load: LoadOptions::default(),
            device: DeviceSpec::default(),
            save_dir: None,
            show_timings: false,
            cache_dir: None,
        }
    }
}

impl Default for ExploreOptions {
    /// What `mclmr` without arguments opens: the shipped model on the sample data, on CPU.
    fn default() -> Self {
        ExploreOptions::new(DEFAULT_MODEL, DEFAULT_DATA)
    }
}

/// The user search overlay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchState {
    /// Typed text.
    pub query: String,
    /// Matching users, best first (capped).
    pub matches: Vec<u32>,
    /// Highlighted match.
    pub sel: usize,
}

/// The selected user and the User screen's cursor.
#[derive(Debug, Clone)]
pub struct UserState {
    /// Dense user index.
    pub user: u32,
    /// Length of the top-K lists.
    pub k: usize,
    /// The user's numbers (Failed shows the scoring error in the panel).
    pub view: Load<UserView>,
    /// True when the cursor is in the `raw` list.
    pub raw_focus: bool,
    /// Cursor row in the focused list.
    pub cursor: usize,
    /// The search overlay, when open.
    pub search: Option<SearchState>,
    /// History toggles and their re-ranking.
    pub whatif: WhatIfState,
}

/// Timing figures of the last interactions (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Last user switch (both rankings, history, routing).
    pub user_switch_ms: Option<f64>,
    /// Last item switch (explanation).
    pub item_switch_ms: Option<f64>,
    /// Last frame draw.
    pub frame_ms: Option<f64>,
}

/// The explorer's state.
pub struct App {
    /// Screen shown.
    pub screen: Screen,
    /// Help overlay scroll offset, when open.
    pub help: Option<u16>,
    /// The "quit while training?" question is open.
    pub confirm_quit: bool,
    /// The runner should restore the terminal and exit.
    pub should_quit: bool,
    /// Dataset and derived structures.
    pub ctx: DataContext,
    /// The checkpoint every screen shows.
    pub active: ModelSlot,
    /// The checkpoint it is compared with (after a retrain).
    pub other: Option<ModelSlot>,
    /// User selection.
    pub user: UserState,
    /// Explanation of the selected item.
    pub why: Load<Explanation>,
    /// Selected row of the alignment table.
    pub align_row: usize,
    /// Selected row of the Bias screen's focused table.
    pub bias_row: usize,
    /// True when the Bias screen's focus is on the exposure table (else the push table).
    pub bias_exposure: bool,
    /// Directory of the bias cache files (None: next to each checkpoint).
    pub cache_dir: Option<PathBuf>,
    /// The training screen.
    pub training: TrainingState,
    /// Device for retraining.
    pub device: Device,
    /// How the device was named.
    pub device_label: String,
    /// Where retrained checkpoints go.
    pub save_dir: PathBuf,
    /// A one-line message for the status bar.
    pub status: Option<(Meaning, String)>,
    /// Recent timings.
    pub timings: Timings,
    /// Show timings in the status bar.
    pub show_timings: bool,
    /// Background work requested by `update`, launched by the runner.
    pub jobs: Vec<Job>,
    /// Ranking overlap of the selected user between the two checkpoints `(Jaccard, RBO)`.
    pub model_overlap: Option<(f64, f64)>,
    pub(crate) next_id: u64,
}

impl App {
    /// Loads the dataset and the checkpoint of `opts` (errors carry the fix, as the CLI's do).
    pub fn load(opts: &ExploreOptions) -> Result<App> {
        let device = opts.device.open()?;
        if !opts.data.exists() {
            return Err(Error::bad_arg(
                "dataset not found",
                opts.data.display().to_string(),
                format!("run `mclmr` from the repository root (it opens {DEFAULT_MODEL} on {DEFAULT_DATA}), or pass --model and --data"),
            ));
        }
        let data = prepare_for_training(load_dataset(&opts.data, &opts.load)?);
        // No checkpoint for this data (missing file, or trained on other data): open on the
        // rule baseline and offer to train one. A damaged checkpoint is still an error.
        let (model, missing) = match load_model(&opts.model, &data, &device) {
            Ok(m) => (m, None),
            Err(e) if !opts.model.exists() || matches!(e, Error::WrongDataset { .. }) => {
                let why = if opts.model.exists() {
                    format!("{} was trained on other data", opts.model.display())
                } else {
                    format!("no checkpoint at {}", opts.model.display())
                };
                let rule = Checkpoint::rule(&Config::default(), &data);
                let mut rule_cfg = rule.config.clone();
                rule_cfg.model.backbone = BackboneKind::RuleViewCart;
                let rule = Checkpoint {
                    config: rule_cfg,
                    ..rule
                };
                (restore(rule, &opts.model, &data, &device)?, Some(why))
            }
            Err(e) => return Err(e),
        };
        let save_dir = opts.save_dir.clone().unwrap_or_else(|| {
            opts.model
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        });
        let label = opts.device.to_string();
        let mut app = App::new(data, model, device, &label, save_dir);
        app.show_timings = opts.show_timings;
        app.cache_dir = opts.cache_dir.clone();
        if let Some(why) = missing {
            app.training = TrainingState::new(&Config::default(), &label);
            app.screen = Screen::Training;
            app.status = Some((
                Meaning::Alert,
                format!(
                    "{why}: showing the rule baseline rule-view-cart · press s to train a model"
                ),
            ));
        }
        Ok(app)
    }

    /// Builds the state from a loaded dataset and model; queues the alignment report.
    pub fn new(
        data: Dataset,
        model: LoadedModel,
        device: Device,
        device_label: &str,
        save_dir: PathBuf,
    ) -> App {
        let data = Arc::new(data);
        let ctx = DataContext::new(data.clone());
        let active = ModelSlot::new(1, Arc::new(model), &data);
        let training = TrainingState::new(&active.model.checkpoint.config, device_label);
        // Start on the first user with a test item: their lists can be checked against it.
        let first = data
            .test
            .first()
            .map(|p| p.0)
            .unwrap_or(0)
            .min(data.n_users().saturating_sub(1) as u32);
        let mut app = App {
            screen: Screen::Graph,
            help: None,
            confirm_quit: false,
            should_quit: false,
            ctx,
            active,
            other: None,
            user: UserState {
                user: first,
                k: 10,
                view: Load::Idle,
                raw_focus: false,
                cursor: 0,
                search: None,
                whatif: WhatIfState::default(),
            },
            why: Load::Idle,
            align_row: 0,
            bias_row: 0,
            bias_exposure: false,
            cache_dir: None,
            training,
            device,
            device_label: device_label.to_string(),
            save_dir,
            status: data.notes.first().map(|n| (Meaning::Muted, n.clone())),
            timings: Timings::default(),
            show_timings: false,
            jobs: Vec::new(),
            model_overlap: None,
            next_id: 2,
        };
        super::update::select_user(&mut app, first);
        super::update::request_alignment(&mut app);
        app
    }

    pub fn data(&self) -> &Dataset {
        &self.ctx.data
    }

    /// The selected item (from the focused list at the cursor), if any.
    pub fn selected_item(&self) -> Option<u32> {
        self.user
            .view
            .ready()
            .and_then(|v| v.item_at(self.user.raw_focus, self.user.cursor))
    }

    /// True while a training run is in progress.
    pub fn training_running(&self) -> bool {
        self.training.is_running()
    }

    /// A fresh id for a model slot or a training run.
    pub(crate) fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Takes the queued background jobs (the runner launches them).
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.jobs)
    }
}
