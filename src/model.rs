//! The MCLMR model (METHOD.md): one struct per block, mirroring the method.
//!
//! - [`strata`]: confounder features `h_u`, `g_i` and their seeded k-means strata (§1);
//! - [`causal_graph`]: the DAG and the d-separation backdoor check (§1);
//! - [`backbone`], [`graph`], [`spmm`]: MF, LightGCN and cascade backbones over sparse graphs (§2);
//! - [`moe`]: adaptive aggregation with experts, gates and pair-level evidence (§3), [`route`]:
//!   the gates' routing features;
//! - [`scorer`]: observational and interventional logits (§4);
//! - [`losses`]: BPR, bias-aware InfoNCE, balance (§5–§6);
//! - [`net`]: the assembled model; [`inference`]: ranking from trained parameters;
//! - [`rule`]: the rule baselines (§7); [`ease`]: the closed-form EASE baseline (§7).

pub mod backbone;
pub mod causal_graph;
pub mod config;
pub mod ease;
pub mod graph;
pub mod inference;
pub mod losses;
pub mod moe;
pub mod net;
pub mod params;
pub mod route;
pub mod rule;
pub mod scorer;
pub mod spmm;
pub mod strata;

pub use config::{BackboneKind, Config};
pub use ease::EaseRanker;
pub use inference::{Inference, Mode};
pub use net::Net;
pub use rule::RuleRanker;

use crate::error::Result;

/// Anything that can score all items for a block of users.
#[derive(Debug, Clone)]
pub enum Ranker {
    /// A trained backbone (plain or +MCLMR).
    Neural(Box<Inference>),
    /// A rule baseline.
    Rule(RuleRanker),
    /// The EASE baseline.
    Ease(EaseRanker),
}

impl Ranker {
    /// Items scored.
    pub fn n_items(&self) -> usize {
        match self {
            Ranker::Neural(i) => i.n_items,
            Ranker::Rule(r) => r.n_items,
            Ranker::Ease(e) => e.n_items,
        }
    }

    /// Scores (row-major `[users × items]`); rules and EASE ignore the mode.
    pub fn score_users(&self, users: &[u32], mode: Mode) -> Result<Vec<f32>> {
        match self {
            Ranker::Neural(i) => i.score_users(users, mode),
            Ranker::Rule(r) => Ok(r.score_users(users)),
            Ranker::Ease(e) => Ok(e.score_users(users)),
        }
    }

    /// True when `do` and `raw` rankings can differ.
    pub fn has_causal(&self) -> bool {
        matches!(self, Ranker::Neural(i) if i.causal.is_some())
    }

    /// True for the baselines without learned representations (rules, EASE).
    pub fn is_baseline(&self) -> bool {
        !matches!(self, Ranker::Neural(_))
    }
}
