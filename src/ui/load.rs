//! The load state every background-filled panel carries (STYLE.md 4): it starts idle, shows a
//! progress while a worker computes, then holds the result or the error text that the panel
//! displays in place of its content.

/// Where a panel's content stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load<T> {
    /// Nothing requested yet.
    #[default]
    Idle,
    /// A worker is computing it; `progress` in `[0, 1]` when known.
    Loading {
        /// Share done, when the worker reports one.
        progress: Option<f64>,
    },
    /// The result.
    Ready(T),
    /// The error to show in the panel, with what to do about it.
    Failed(String),
}

impl<T> Load<T> {
    /// The result, when ready.
    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(t) => Some(t),
            _ => None,
        }
    }

    /// True while a worker is computing.
    pub fn is_loading(&self) -> bool {
        matches!(self, Load::Loading { .. })
    }

    /// True when nothing was requested yet or the last attempt failed (worth (re)starting).
    pub fn needs_start(&self) -> bool {
        matches!(self, Load::Idle | Load::Failed(_))
    }

    /// A loading state without known progress.
    pub fn loading() -> Self {
        Load::Loading { progress: None }
    }

    /// Converts a worker's result.
    pub fn from_result(r: Result<T, String>) -> Self {
        match r {
            Ok(t) => Load::Ready(t),
            Err(e) => Load::Failed(e),
        }
    }
}
