//! The MCLMR model (METHOD.md): one struct per block, mirroring the method; each block holds
//! its own weights, created through [`params::ParamBuilder`] under its checkpoint prefix.
//!
//! - [`strata`]: confounder features `h_u`, `g_i` and their seeded k-means strata (§1);
//! - [`causal_graph`]: the DAG and the d-separation backdoor check (§1);
//! - [`backbone`], [`graph`], [`spmm`], [`buckets`]: MF, LightGCN and cascade backbones over
//!   sparse graphs (§2);
//! - [`moe`]: adaptive aggregation with experts, gates and pair-level evidence (§3), [`route`]:
//!   the gates' routing features;
//! - [`scorer`]: observational and interventional logits (§4), [`conversion`]: the items'
//!   conversion values and the conversion evidence;
//! - [`bcl`]: the bias-aware contrastive loss (§5); [`losses`]: BPR, balance, orthogonality (§6);
//! - [`net`]: the assembled model, `objective`: one training step's loss ([`Net::loss`]),
//!   [`batch`]: what a step reads and reports; [`inference`]: ranking from trained weights;
//! - [`rule`]: the rule baselines (§7); [`ease`]: the closed-form EASE baseline (§7).

pub mod backbone;
pub mod batch;
pub mod bcl;
pub mod buckets;
pub mod causal_graph;
pub mod config;
pub mod conversion;
pub mod ease;
pub mod graph;
pub mod inference;
pub mod kind;
pub mod losses;
pub mod moe;
pub mod net;
mod objective;
pub mod params;
pub mod route;
pub mod rule;
pub mod scorer;
pub mod spmm;
pub mod strata;

pub use config::{BackboneKind, Config};
pub use ease::EaseRanker;
pub use inference::{Inference, Mode, UserRouting};
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
