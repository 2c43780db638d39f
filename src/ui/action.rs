//! The one message type of the explorer (STYLE.md 1): keys, mouse and resize events become
//! [`Action`]s through the keymap, workers report back with [`Action`]s, and
//! [`crate::ui::update::update`] is the only function that turns them into state changes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::bias::BiasAnalysis;
use crate::analysis::AlignmentReport;
use crate::eval::groups::GroupRow;
use crate::eval::EvalReport;
use crate::train::checkpoint::LoadedModel;
use crate::train::TrainEvent;

/// The explorer's screens, in tab order (keys `1`–`6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// The causal graph, the backdoor check and the confounders' strata.
    Graph,
    /// One user: history, habit stratum, MoE routing, `do` vs `raw` top-K.
    User,
    /// The score decomposition of the selected (user, item).
    Why,
    /// Alignment and uniformity of the behaviors' representations.
    Alignment,
    /// Retraining from the keyboard and checkpoint comparison.
    Training,
    /// Where the confounders push across the catalogue (all users).
    Bias,
}

impl Screen {
    /// All screens in tab order.
    pub const ALL: [Screen; 6] = [
        Screen::Graph,
        Screen::User,
        Screen::Why,
        Screen::Alignment,
        Screen::Training,
        Screen::Bias,
    ];

    /// Position in the tab bar (0-based).
    pub fn index(self) -> usize {
        Screen::ALL.iter().position(|&s| s == self).unwrap_or(0)
    }

    /// The screen at a (wrapping) position.
    pub fn at(i: usize) -> Screen {
        Screen::ALL[i % Screen::ALL.len()]
    }

    /// Tab title; `short` for narrow terminals.
    pub fn title(self, short: bool) -> &'static str {
        match (self, short) {
            (Screen::Graph, false) => "Causal graph",
            (Screen::Graph, true) => "Graph",
            (Screen::User, _) => "User",
            (Screen::Why, false) => "Why this item",
            (Screen::Why, true) => "Why",
            (Screen::Alignment, false) => "Alignment",
            (Screen::Alignment, true) => "Align",
            (Screen::Training, false) => "Training",
            (Screen::Training, true) => "Train",
            (Screen::Bias, _) => "Bias",
        }
    }
}

/// A finished retrain, saved and loaded for the explorer's dataset.
#[derive(Clone)]
pub struct Trained {
    /// The new model.
    pub model: Arc<LoadedModel>,
    /// Where its checkpoint was written.
    pub path: PathBuf,
    /// How training ended (`completed`, `early-stopped`).
    pub status: String,
    /// Best epoch (the saved weights).
    pub best_epoch: usize,
    /// Best validation NDCG@10.
    pub best_valid: Option<f64>,
    /// A remark for the user (e.g. why it was saved to a temporary directory).
    pub note: Option<String>,
}

impl fmt::Debug for Trained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trained")
            .field("path", &self.path)
            .field("status", &self.status)
            .field("best_epoch", &self.best_epoch)
            .field("best_valid", &self.best_valid)
            .finish()
    }
}

/// A bias analysis and how the worker obtained it.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasResult {
    /// The analysis (`mclmr bias`'s numbers).
    pub analysis: BiasAnalysis,
    /// What happened with the on-disk cache (shown under the screen).
    pub cache: CacheNote,
}

/// The on-disk cache's part in a bias analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheNote {
    /// Read from the cache file (its key matched the checkpoint's content).
    Loaded,
    /// Computed and written to the cache file.
    Written,
    /// Computed; the cache file could not be written (why).
    NotWritten(String),
}

/// What a training worker reports.
#[derive(Debug, Clone)]
pub enum TrainMsg {
    /// A progress event of the trainer.
    Event(TrainEvent),
    /// The run ended: the saved model, or why there is none.
    Finished(Result<Trained, String>),
}

/// Everything that can change the explorer's state.
#[derive(Debug, Clone)]
pub enum Action {
    /// Show a screen.
    Goto(Screen),
    /// Next screen (wraps).
    NextScreen,
    /// Previous screen (wraps).
    PrevScreen,
    /// Show or hide the key help.
    ToggleHelp,
    /// Quit (asks first while a training run is in progress).
    Quit,
    /// Answer "yes" to the open question.
    Confirm,
    /// Close the open overlay or question; on the Why screen, go back to the user.
    Back,
    /// Next user (dense index order, wraps).
    NextUser,
    /// Previous user.
    PrevUser,
    /// Open the user search.
    OpenSearch,
    /// A character typed into the search field.
    SearchInput(char),
    /// Delete the last search character.
    SearchBackspace,
    /// Jump to the highlighted search match.
    SearchSubmit,
    /// Move up in the focused list.
    Up,
    /// Move down in the focused list.
    Down,
    /// Move left (other list, or decrease a setting).
    Left,
    /// Move right (other list, or increase a setting).
    Right,
    /// Open the selection (explain the item).
    Enter,
    /// Longer top-K lists.
    MoreK,
    /// Shorter top-K lists.
    LessK,
    /// Toggle the selected on/off setting.
    Toggle,
    /// Start a training run with the settings shown.
    StartTraining,
    /// Cancel the training run at the next batch.
    CancelTraining,
    /// Evaluate both checkpoints (full ranking) for the comparison.
    Evaluate,
    /// Select the previous item of the user's history (what-if).
    PrevHistory,
    /// Select the next item of the user's history (what-if).
    NextHistory,
    /// Toggle the selected history item out of (or back into) the what-if history.
    ToggleHistory,
    /// Undo every what-if edit of the user's history.
    RestoreHistory,
    /// Make the other checkpoint the active one.
    SwapModel,
    /// Show or hide timing figures in the status bar.
    ToggleTimings,
    /// A mouse click at a cell.
    Click {
        /// Column.
        column: u16,
        /// Row.
        row: u16,
    },
    /// The terminal was resized.
    Resize(u16, u16),
    /// How long the last frame took to draw (ms).
    FrameTime(f64),
    /// A worker finished the alignment report of a model.
    AlignmentDone {
        /// The model slot's id.
        model: u64,
        /// The report or the error.
        result: Result<AlignmentReport, String>,
    },
    /// A worker finished the full evaluation of a model.
    Evaluated {
        /// The model slot's id.
        model: u64,
        /// The report or the error.
        result: Result<EvalReport, String>,
    },
    /// A worker finished the per-stratum metrics (`mclmr eval --by stratum`) of a model.
    GroupsDone {
        /// The model slot's id.
        model: u64,
        /// The rows or the error.
        result: Result<Vec<GroupRow>, String>,
    },
    /// Progress of the bias analysis of a model (users ranked so far).
    BiasProgress {
        /// The model slot's id.
        model: u64,
        /// Users ranked.
        done: usize,
        /// All users.
        total: usize,
    },
    /// A worker finished the bias analysis of a model.
    BiasDone {
        /// The model slot's id.
        model: u64,
        /// The analysis (and where it came from) or the error.
        result: Result<Arc<BiasResult>, String>,
    },
    /// A message from the training worker of run `run`.
    Train {
        /// The run it belongs to (stale runs are ignored).
        run: u64,
        /// The message.
        msg: TrainMsg,
    },
}
