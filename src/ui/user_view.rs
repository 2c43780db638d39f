//! The per-user numbers of the User screen, computed from one user's scores only (two calls of
//! `score_users(&[u], mode)` plus a top-K), which keeps a user switch in milliseconds even on
//! catalogs of tens of thousands of items.

use crate::analysis::align::node_cosines;
use crate::analysis::ranking::top_k_scored;
use crate::analysis::{jaccard, mean_popularity, rank_moves, rbo, Move, Space};
use crate::model::strata::Side;
use crate::model::{Mode, Ranker};

use super::session::{DataContext, ModelSlot};

/// Persistence of the rank-biased overlap shown everywhere.
pub const RBO_P: f64 = 0.9;

/// History items listed per behavior.
pub const HISTORY_SHOWN: usize = 40;

/// One behavior of a user's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// Behavior name.
    pub behavior: String,
    /// Distinct items.
    pub items: usize,
    /// Interactions (with repeats).
    pub events: u64,
    /// The first items (by item index) with their counts.
    pub first: Vec<(u32, u32)>,
}

/// Everything the User screen shows about one user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserView {
    /// Dense user index.
    pub user: u32,
    /// `do` top-K `(item, score)`.
    pub do_list: Vec<(u32, f32)>,
    /// `raw` top-K.
    pub raw_list: Vec<(u32, f32)>,
    /// Move of each `do` item relative to the `raw` list.
    pub do_moves: Vec<Move>,
    /// Move of each `raw` item relative to the `do` list (`Absent` = dropped by `do`).
    pub raw_moves: Vec<Move>,
    /// Jaccard overlap of the two lists.
    pub jaccard: f64,
    /// Rank-biased overlap (p = [`RBO_P`]).
    pub rbo: f64,
    /// Mean training-target popularity of the `do` list.
    pub pop_do: f64,
    /// Mean popularity of the `raw` list.
    pub pop_raw: f64,
    /// Mean popularity of all items (for scale).
    pub pop_catalog: f64,
    /// History per behavior, weakest → target.
    pub history: Vec<HistoryRow>,
    /// Habit stratum.
    pub stratum: Option<u32>,
    /// MoE routing weights `(expert, g_{u,m})` (empty for plain models and rules).
    pub gates: Vec<(String, f32)>,
    /// Cosine of each auxiliary representation with the user's `P^T`.
    pub cosines: Vec<(String, Space, f32)>,
    /// True when `do` and `raw` can differ for this model.
    pub causal: bool,
}

impl UserView {
    /// Computes the view of user `u` with lists of length `k`.
    pub fn compute(ctx: &DataContext, slot: &ModelSlot, u: u32, k: usize) -> Result<Self, String> {
        let data = &ctx.data;
        if (u as usize) >= data.n_users() {
            return Err(format!("user index {u} is out of range"));
        }
        let ranker = slot.ranker();
        let mask = ctx.mask(u);
        let do_list = top_k_scored(ranker, u, Mode::Do, k, mask).map_err(|e| e.to_string())?;
        let causal = ranker.has_causal();
        let raw_list = if causal {
            top_k_scored(ranker, u, Mode::Raw, k, mask).map_err(|e| e.to_string())?
        } else {
            do_list.clone()
        };
        let d: Vec<u32> = do_list.iter().map(|x| x.0).collect();
        let r: Vec<u32> = raw_list.iter().map(|x| x.0).collect();
        let history = data
            .behaviors
            .iter()
            .enumerate()
            .map(|(b, beh)| {
                let (items, counts) = ctx.row(b, u);
                HistoryRow {
                    behavior: beh.name.clone(),
                    items: items.len(),
                    events: counts.iter().map(|&c| c as u64).sum(),
                    first: items
                        .iter()
                        .zip(counts)
                        .take(HISTORY_SHOWN)
                        .map(|(&i, &c)| (i, c as u32))
                        .collect(),
                }
            })
            .collect();
        let (gates, cosines) = match ranker {
            Ranker::Neural(inf) => {
                let m = inf.n_experts;
                let gates = if inf.plain || m == 0 {
                    Vec::new()
                } else {
                    (0..m)
                        .filter_map(|e| {
                            let g = *inf.gate_user.get(u as usize * m + e)?;
                            Some((inf.expert_names.get(e).cloned().unwrap_or_default(), g))
                        })
                        .collect()
                };
                (gates, node_cosines(inf, Side::User, u as usize))
            }
            Ranker::Rule(_) | Ranker::Ease(_) => (Vec::new(), Vec::new()),
        };
        let pop = &ctx.popularity;
        let pop_catalog = if pop.is_empty() {
            0.0
        } else {
            pop.iter().map(|&p| f64::from(p)).sum::<f64>() / pop.len() as f64
        };
        Ok(UserView {
            user: u,
            do_moves: rank_moves(&d, &r),
            raw_moves: rank_moves(&r, &d),
            jaccard: jaccard(&d, &r),
            rbo: rbo(&d, &r, RBO_P),
            pop_do: mean_popularity(&d, pop),
            pop_raw: mean_popularity(&r, pop),
            pop_catalog,
            history,
            stratum: slot.user_strata.assign.get(u as usize).copied(),
            gates,
            cosines,
            causal,
            do_list,
            raw_list,
        })
    }

    /// The item at `cursor` of the `do` (`raw == false`) or `raw` list.
    pub fn item_at(&self, raw: bool, cursor: usize) -> Option<u32> {
        let list = if raw { &self.raw_list } else { &self.do_list };
        list.get(cursor).map(|x| x.0)
    }
}
