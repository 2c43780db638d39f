//! Training: sampling, the loop, progress events and checkpoints (METHOD.md §6).

pub mod checkpoint;
pub mod events;
pub mod optim;
pub mod run;
pub mod sampler;
pub mod trainer;

pub use events::{EpochReport, TrainEvent};
pub use run::{train_to_checkpoint, Destination, Saved, TrainJob};
pub use trainer::{train, ResumeState, Status, TrainOptions, TrainOutcome};
