//! `mclmr`: causal multi-behavior recommenders (MCLMR, METHOD.md) and the tools around them.
//!
//! Layout: [`data`] loads and validates multi-behavior logs; [`synth`] generates confounded data
//! with ground truth; [`memory`] estimates what a run needs and stops it early when that is
//! more than the machine has; the binary in `main.rs` is a thin shell over [`cli`].

pub mod atomic;
pub mod cli;
pub mod data;
pub mod error;
pub mod synth;

pub use error::{Error, Result};
pub mod analysis;
pub mod eval;
pub mod explain;
pub mod memory;
pub mod model;
pub mod report;
pub mod runtime;
pub mod train;
pub mod ui;
