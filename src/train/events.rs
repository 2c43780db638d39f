//! Typed progress events sent by the trainer to whoever watches (CLI progress bar, explorer).

use serde::{Deserialize, Serialize};

use crate::model::batch::LossParts;

/// One epoch's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean loss parts over the epoch's batches.
    pub loss: LossParts,
    /// Validation NDCG@10 (`do`) when evaluated this epoch.
    pub valid_ndcg10: Option<f64>,
    /// Validation HR@10 (`do`) when evaluated this epoch.
    pub valid_hr10: Option<f64>,
    /// Validation NDCG@10 of the observational (`raw`) ranking, for models with a causal part.
    #[serde(default)]
    pub valid_ndcg10_raw: Option<f64>,
    /// Best epoch so far.
    pub best_epoch: usize,
    /// Seconds of training in this epoch (without evaluation).
    pub train_secs: f64,
    /// Seconds of validation.
    pub eval_secs: f64,
}

/// What the trainer reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// Training starts.
    Started {
        /// First epoch to run (1-based; > 1 when resuming).
        first_epoch: usize,
        /// Last epoch allowed.
        epochs: usize,
        /// Batches per epoch.
        batches: usize,
        /// Trainable scalars.
        params: usize,
    },
    /// A batch finished.
    Batch {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch (1-based).
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Loss of this batch.
        loss: f32,
        /// Estimated seconds left for the whole run (upper bound: all epochs).
        eta_secs: f64,
    },
    /// An epoch finished.
    Epoch(EpochReport),
    /// Training stopped (the summary follows as the trainer's return value).
    Stopped {
        /// Why it stopped.
        reason: String,
    },
}
