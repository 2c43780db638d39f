//! Library-level computations behind the explorer's screens, kept apart from any drawing code
//! so that they can be tested against hand-checkable values and reused by other front ends.
//!
//! - [`align`]: alignment and uniformity of behavior representations (Wang & Isola, 2020),
//!   same-node vs other-node cosine histograms, per-node cosines;
//! - [`ranking`]: one user's top-K lists, rank moves between two lists, Jaccard overlap,
//!   rank-biased overlap, list popularity;
//! - [`bias`]: where the confounders push across the catalogue, exposure by popularity, `do`
//!   versus `raw` overlap per user stratum;
//! - [`whatif`]: one user's ranking after editing their history;
//! - [`routing`]: the spread of the MoE gates and evidence weights over the users;
//! - [`sample`]: seeded node and pair samples, so that the screens stay fast and their numbers
//!   reproducible on large catalogs.

pub mod align;
pub mod bias;
pub mod ranking;
pub mod routing;
pub mod sample;
pub mod whatif;

pub use align::{AlignRow, AlignmentReport, Space};
pub use ranking::{jaccard, mean_popularity, rank_moves, rbo, Move};
