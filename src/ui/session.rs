//! What the explorer holds about the data and each loaded checkpoint, computed once at load:
//! per-behavior adjacency (for histories and the training-target mask), item popularity, the
//! causal graph with its backdoor verdicts, and per model its strata and background reports.

use std::path::Path;
use std::sync::Arc;

use crate::analysis::ranking::popularity;
use crate::analysis::AlignmentReport;
use crate::data::{Csr, Dataset};
use crate::eval::groups::GroupRow;
use crate::eval::EvalReport;
use crate::model::causal_graph::{BackdoorVerdict, CausalGraph};
use crate::model::strata::fit_strata;
use crate::model::strata::Strata;
use crate::model::Ranker;
use crate::train::checkpoint::LoadedModel;

use super::action::BiasResult;
use super::load::Load;

/// The causal graph as the graph screen draws it.
#[derive(Debug, Clone)]
pub struct GraphInfo {
    /// Layered layout (sources first).
    pub layers: Vec<Vec<String>>,
    /// Directed edges.
    pub edges: Vec<(String, String)>,
    /// The backdoor check of `{H, G}` for `(U, I) → Y`.
    pub verdict: BackdoorVerdict,
    /// The same check without adjustment (it must fail: the confounders open backdoor paths).
    pub unadjusted: BackdoorVerdict,
}

/// The dataset and what every screen derives from it.
pub struct DataContext {
    /// The dataset (shared with workers).
    pub data: Arc<Dataset>,
    /// Training-target interactions per item (distinct users).
    pub popularity: Vec<u32>,
    /// Distinct users per item over every behavior's training interactions.
    pub popularity_all: Vec<u32>,
    /// Per behavior, user → items with counts; the target's rows are the ranking mask.
    pub csr: Vec<Csr>,
    /// The causal graph of this dataset's behaviors.
    pub graph: GraphInfo,
    /// Held-out (observational) test items per user.
    pub test: Csr,
    /// Interventional test items per user, when the dataset has them.
    pub test_do: Option<Csr>,
}

/// Distinct users per item over every behavior (a user counted once per item).
fn popularity_all(data: &Dataset) -> Vec<u32> {
    let mut pairs: Vec<(u32, u32)> = data
        .behaviors
        .iter()
        .flat_map(|b| b.pairs.iter().map(|&(u, i)| (i, u)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut pop = vec![0u32; data.n_items()];
    for (i, _) in pairs {
        if let Some(c) = pop.get_mut(i as usize) {
            *c += 1;
        }
    }
    pop
}

/// User → items of a split (pairs in any order, repeats ignored).
fn split_csr(n_users: usize, pairs: &[(u32, u32)]) -> Csr {
    let mut p: Vec<(u32, u32)> = pairs
        .iter()
        .copied()
        .filter(|&(u, _)| (u as usize) < n_users)
        .collect();
    p.sort_unstable();
    p.dedup();
    Csr::from_sorted_pairs(n_users, &p, None)
}

impl DataContext {
    /// Builds the context (linear in the number of interactions).
    pub fn new(data: Arc<Dataset>) -> Self {
        let n = data.n_users();
        let csr = data.behaviors.iter().map(|b| b.user_csr(n)).collect();
        let names = data.behavior_names();
        let aux = &names[..names.len().saturating_sub(1)];
        let g = CausalGraph::mclmr(aux);
        let unadjusted = g
            .backdoor(&["U", "I"], &["Y"], &[])
            .unwrap_or_else(|e| BackdoorVerdict {
                holds: false,
                reason: e,
            });
        let graph = GraphInfo {
            layers: g.layers(),
            edges: g.edges(),
            verdict: g.mclmr_verdict(),
            unadjusted,
        };
        DataContext {
            test: split_csr(n, &data.test),
            test_do: data.test_do.as_deref().map(|t| split_csr(n, t)),
            popularity: popularity(&data),
            popularity_all: popularity_all(&data),
            csr,
            graph,
            data,
        }
    }

    /// Items of user `u` in behavior `b` (empty for an unknown user or behavior).
    pub fn row(&self, b: usize, u: u32) -> (&[u32], &[f32]) {
        match self.csr.get(b) {
            Some(c) if (u as usize) < c.rows() => (c.row(u as usize), c.row_vals(u as usize)),
            _ => (&[], &[]),
        }
    }

    /// `(in test, in interventional test)` for item `i` of user `u`.
    pub fn held_out(&self, u: u32, i: u32) -> (bool, bool) {
        let has = |c: &Csr| (u as usize) < c.rows() && c.contains(u as usize, i);
        (has(&self.test), self.test_do.as_ref().is_some_and(has))
    }

    /// The training-target items of `u`: never recommended.
    pub fn mask(&self, u: u32) -> &[u32] {
        self.row(self.data.target(), u).0
    }

    /// Name of the target behavior.
    pub fn target_name(&self) -> String {
        self.data.target_train().name.clone()
    }
}

/// A loaded checkpoint with the numbers the screens show about it.
pub struct ModelSlot {
    /// Identifies the slot in worker results (a replaced slot's results are dropped).
    pub id: u64,
    /// The model.
    pub model: Arc<LoadedModel>,
    /// Short name (file name).
    pub label: String,
    /// One line: backbone, MCLMR or plain, dimension, best epoch.
    pub summary: String,
    /// User habit strata (from the checkpoint; recomputed for rule baselines).
    pub user_strata: Strata,
    /// Item multi-behavior strata.
    pub item_strata: Strata,
    /// Per user stratum, `‖c^U_k‖` of the causal scorer when the model has one.
    pub user_effect: Vec<Option<f32>>,
    /// Per item stratum, `(‖c^I_k‖, β_k)` when the model has a causal scorer.
    pub item_effect: Vec<Option<(f32, f32)>>,
    /// Alignment report (computed by a worker).
    pub alignment: Load<AlignmentReport>,
    /// Full evaluation (computed by a worker on request).
    pub eval: Load<EvalReport>,
    /// Test metrics per user habit stratum, `do` and `raw` (a worker, with the evaluation).
    pub groups: Load<Vec<GroupRow>>,
    /// Bias analysis over all users (a worker, through the on-disk cache; kept for the session).
    pub bias: Load<Arc<BiasResult>>,
}

/// The file name of a path, or the whole path.
pub fn file_label(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

impl ModelSlot {
    /// Wraps a loaded model for `data`.
    pub fn new(id: u64, model: Arc<LoadedModel>, data: &Dataset) -> Self {
        let ck = &model.checkpoint;
        let (user_strata, item_strata) = match (&ck.user_strata, &ck.item_strata) {
            (Some(u), Some(i)) => (u.clone(), i.clone()),
            _ => fit_strata(data, &ck.config),
        };
        let cfg = &ck.config;
        let kind = cfg.model.backbone;
        let summary = if kind.is_rule() {
            format!("rule baseline {}", kind.name())
        } else if kind == crate::model::BackboneKind::Ease {
            format!("EASE baseline, λ = {}", cfg.ease.lambda)
        } else {
            let plus = if cfg.model.mclmr { "+MCLMR" } else { "plain" };
            let valid = ck
                .meta
                .valid_ndcg10
                .map(|v| format!(", valid NDCG@10 {v:.3}"))
                .unwrap_or_default();
            format!(
                "{} {plus}, d={}, best epoch {}{valid}",
                kind.name(),
                cfg.model.dim,
                ck.meta.best_epoch
            )
        };
        let (mut user_effect, mut item_effect) =
            (vec![None; user_strata.k], vec![None; item_strata.k]);
        if let Ranker::Neural(inf) = &model.ranker {
            if let Some(c) = &inf.causal {
                let d = inf.dim;
                let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
                for (u, &k) in user_strata.assign.iter().enumerate() {
                    if let (Some(slot @ None), Some(row)) = (
                        user_effect.get_mut(k as usize),
                        c.cu.get(u * d..(u + 1) * d),
                    ) {
                        *slot = Some(norm(row));
                    }
                }
                for (i, &k) in item_strata.assign.iter().enumerate() {
                    if let (Some(slot @ None), Some(row), Some(&b)) = (
                        item_effect.get_mut(k as usize),
                        c.ci.get(i * d..(i + 1) * d),
                        c.beta.get(i),
                    ) {
                        *slot = Some((norm(row), b));
                    }
                }
            }
        }
        ModelSlot {
            id,
            label: file_label(&model.path),
            summary,
            user_strata,
            item_strata,
            user_effect,
            item_effect,
            alignment: Load::Idle,
            eval: Load::Idle,
            bias: Load::Idle,
            groups: Load::Idle,
            model,
        }
    }

    /// The ranker.
    pub fn ranker(&self) -> &Ranker {
        &self.model.ranker
    }
}
