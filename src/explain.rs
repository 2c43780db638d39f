//! Why an item is recommended: the exact split of a (user, item) score (METHOD.md §3–§4).
//!
//! `f(u,i) = ⟨P^T_u, Z_i⟩ + Σ_m g_{u,m} ⟨E_m(u), Z_i⟩ + Σ_b g_{u,b} w_b x_b(u,i)`: a target
//! term, one term per expert (with the user's gate weight) and one evidence term per auxiliary
//! behavior; then the confounder terms of the `do` and `raw` logits and their difference, and
//! the items of the user's history (per behavior) closest to the item.

use serde::{Deserialize, Serialize};

mod neural;

use crate::data::Dataset;
use crate::model::Ranker;
use neural::explain_neural;

/// One expert's contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertTerm {
    /// Expert name (auxiliary behavior or `sharedN`).
    pub name: String,
    /// The user's gate weight `g_{u,m}`.
    pub gate: f32,
    /// `g_{u,m} ⟨E_m(u), Z_i⟩`.
    pub term: f32,
}

/// One auxiliary behavior's pair-level evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceTerm {
    /// Behavior name.
    pub behavior: String,
    /// Times the user did this behavior with the item.
    pub count: u32,
    /// The user's routing weight of this behavior among the per-behavior experts.
    pub gate: f32,
    /// Learned weight `w_b`.
    pub weight: f32,
    /// `g_{u,b} w_b ln(1 + count)`.
    pub term: f32,
}

/// Confounder terms of one logit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfounderTerms {
    /// `⟨c^U, Z_i⟩` (stratum effect or prior average).
    pub user_habit: f32,
    /// `⟨Z_u, c^I⟩`.
    pub item_distribution: f32,
    /// `β`.
    pub item_bias: f32,
    /// Conversion evidence `Σ_b v_b 1[x_b > 0] conv_i` (0 in `do`, where `conv`
    /// averages to 0).
    #[serde(default)]
    pub conversion: f32,
}

impl ConfounderTerms {
    /// Sum of the terms.
    pub fn total(&self) -> f32 {
        self.user_habit + self.item_distribution + self.item_bias + self.conversion
    }
}

/// Closest history items of one behavior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nearest {
    /// Behavior name.
    pub behavior: String,
    /// `(original item id, cosine of fused representations)`, best first.
    pub items: Vec<(String, f32)>,
}

/// The decomposition of one (user, item) score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Original user id.
    pub user: String,
    /// Original item id.
    pub item: String,
    /// Interventional score.
    pub score_do: f32,
    /// Observational score.
    pub score_raw: f32,
    /// `⟨P^T_u, Z_i⟩` (for a plain model the whole score; for a rule, its popularity part; for
    /// EASE the whole score `x_u · B_i`).
    pub target_term: f32,
    pub experts: Vec<ExpertTerm>,
    /// Evidence terms (for a rule: the behavior tier that ranks the item).
    pub evidence: Vec<EvidenceTerm>,
    pub confounders_do: Option<ConfounderTerms>,
    pub confounders_raw: Option<ConfounderTerms>,
    /// User habit stratum and item stratum.
    pub strata: Option<(u32, u32)>,
    /// `raw − do`: what the confounders add to this pair's observational score.
    pub raw_minus_do: f32,
    /// Closest items in the user's history per behavior (for EASE: the history items that add
    /// most to the score, `x_uj · B_ji`).
    pub nearest: Vec<Nearest>,
    /// The item's metadata (column → value), when the dataset has any.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub item_meta: std::collections::BTreeMap<String, String>,
}

/// Explains the score of item `i` for user `u` (dense indices).
pub fn explain(ranker: &Ranker, data: &Dataset, u: u32, i: u32) -> Explanation {
    let mut e = explain_scores(ranker, data, u, i);
    e.item_meta = data
        .item_meta
        .fields(i)
        .into_iter()
        .map(|(c, v)| (c.to_string(), v.to_string()))
        .collect();
    e
}

fn explain_scores(ranker: &Ranker, data: &Dataset, u: u32, i: u32) -> Explanation {
    match ranker {
        Ranker::Neural(inf) => explain_neural(inf, data, u, i),
        Ranker::Ease(ease) => {
            let score = ease.score_users(&[u])[i as usize];
            let items = ease
                .contributions(u, i)
                .into_iter()
                .take(5)
                .map(|(j, c)| (data.item_ids[j as usize].clone(), c))
                .collect();
            Explanation {
                user: data.user_ids[u as usize].clone(),
                item: data.item_ids[i as usize].clone(),
                score_do: score,
                score_raw: score,
                target_term: score,
                experts: Vec::new(),
                evidence: Vec::new(),
                confounders_do: None,
                confounders_raw: None,
                strata: None,
                raw_minus_do: 0.0,
                nearest: vec![Nearest {
                    behavior: "ease".into(),
                    items,
                }],
                item_meta: Default::default(),
            }
        }
        Ranker::Rule(rule) => {
            let score = rule.score_users(&[u])[i as usize];
            let names = data.behavior_names();
            let evidence = rule
                .order
                .iter()
                .enumerate()
                .map(|(rank, &b)| {
                    let has = rule.aux_csr[b].contains(u as usize, i);
                    EvidenceTerm {
                        behavior: names[b].clone(),
                        count: u32::from(has),
                        gate: 1.0,
                        weight: (rule.order.len() - rank) as f32,
                        term: 0.0,
                    }
                })
                .collect::<Vec<_>>();
            let pop = rule.pop[i as usize];
            let mut evidence = evidence;
            // Every auxiliary behavior the user did with the item adds its points.
            for e in evidence.iter_mut().filter(|e| e.count > 0) {
                e.term = e.weight;
            }
            Explanation {
                user: data.user_ids[u as usize].clone(),
                item: data.item_ids[i as usize].clone(),
                score_do: score,
                score_raw: score,
                target_term: pop,
                experts: Vec::new(),
                evidence,
                confounders_do: None,
                confounders_raw: None,
                strata: None,
                raw_minus_do: 0.0,
                nearest: Vec::new(),
                item_meta: Default::default(),
            }
        }
    }
}
