//! What would this user be shown had they (not) done that? (issue 16, the What-if view.)
//!
//! Edits drop or add `(behavior, item)` interactions of one user. The user's scores are
//! recomputed from the trained weights with the edited history:
//! - **exact**: the evidence terms `ĝ_{u,b} w_b ln(1 + count_b(u,i))`, the `raw` conversion
//!   evidence, the mask of training target items, and the user side of the routing and
//!   confounder terms: habit features `h_u`, routing features `r_u`, the user gate
//!   `g_u = softmax(W_g [P^T_u ‖ h_u ‖ r_u] / τ_g)` (top-k if configured), the fused
//!   `Z_u = P^T_u + Σ_m g_m E_m(u)`, the habit stratum (nearest trained centroid) and
//!   `c^U(u) = c^U_{h(u)} + h_u W_U`, hence both confounder terms of `raw` and `do`;
//! - **kept** (approximated by the trained values): the population statistics (activity
//!   scale, routing-feature means and spreads, strata centroids and priors, `do`'s averaged
//!   effects), the item side (an edited item's own `g_i`, gate, `Z_i`, `c^I(i)`), and for graph
//!   backbones the propagation (the user's `P^b`, `P^T` and expert outputs; an MF embedding
//!   does not depend on the history). [`WhatIf::approximated`] says which apply to the model.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::metrics::top_k;
use crate::model::{BackboneKind, Inference, Mode, Ranker};

/// One edit of a user's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    /// Behavior index (dataset order; the last is the target).
    pub behavior: usize,
    /// Dense item index.
    pub item: u32,
    /// True to add the interaction, false to drop it.
    pub add: bool,
}

/// Parses `BEHAVIOR:ITEM` (original item id) against the dataset.
pub fn parse_edit(data: &Dataset, s: &str, add: bool) -> Result<Edit> {
    let flag = if add { "--add" } else { "--drop" };
    let (b, it) = s.split_once(':').ok_or_else(|| {
        Error::bad_arg(
            format!("{flag} expects BEHAVIOR:ITEM"),
            s,
            "write e.g. view:123 (a behavior name, a colon, an original item id)",
        )
    })?;
    let names = data.behavior_names();
    let behavior = names.iter().position(|n| n == b).ok_or_else(|| {
        Error::bad_arg(
            format!("unknown behavior in {flag}"),
            b,
            format!("use one of {}", names.join(", ")),
        )
    })?;
    let item = data.item_index(it).ok_or_else(|| {
        Error::bad_arg(
            format!("unknown item id in {flag}"),
            it,
            "use an original item id of this dataset",
        )
    })?;
    Ok(Edit {
        behavior,
        item,
        add,
    })
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Original item id.
    pub item: String,
    /// Score in the list's mode.
    pub score: f32,
}

/// How one edited interaction changed its item's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermChange {
    /// Behavior name.
    pub behavior: String,
    /// Original item id.
    pub item: String,
    /// Interaction count before and after.
    pub count: (u32, u32),
    /// Evidence term before and after.
    pub evidence: (f32, f32),
    /// `raw` conversion-evidence term before and after.
    pub conversion: (f32, f32),
}

/// The selected item's score and rank (1-based among recommendable items; None when masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Original item id.
    pub item: String,
    /// Score before and after.
    pub score: (f32, f32),
    /// Rank before and after.
    pub rank: (Option<usize>, Option<usize>),
}

/// The result of a what-if.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    /// Original user id.
    pub user: String,
    /// Mode of the lists and the item's score.
    pub mode: String,
    /// Top-K before the edits.
    pub before: Vec<Ranked>,
    /// Top-K after the edits.
    pub after: Vec<Ranked>,
    /// The selected item.
    pub item: Option<ItemChange>,
    /// Terms that changed.
    pub changed: Vec<TermChange>,
    /// What is recomputed exactly.
    pub exact: Vec<String>,
    /// What keeps its trained value.
    pub approximated: Vec<String>,
    /// The recomputed gate, stratum and user effect (None for plain).
    #[serde(default)]
    pub user_terms: Option<UserTerms>,
    /// Milliseconds spent re-ranking.
    pub millis: f64,
}

/// The user-side quantities an edit recomputes: gate, stratum and the raw user effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTerms {
    /// Expert names, in gate order.
    pub experts: Vec<String>,
    /// User gate `g_u` before and after.
    pub gate: (Vec<f32>, Vec<f32>),
    /// Habit stratum before and after (None without the causal scorer).
    pub stratum: (Option<u32>, Option<u32>),
    /// Habit features `h_u` after (behavior shares, then activity).
    pub habit: Vec<f32>,
    /// Routing features `r_u` after (empty without them).
    pub route: Vec<f32>,
    /// Fused `Z_u` after.
    pub z: Vec<f32>,
    /// Observational user effect `c^U(u)` after (empty without the causal scorer).
    pub effect: Vec<f32>,
}

/// The user's scores and mask after the edits, the terms that changed and the recomputed
/// user-side quantities (None for the plain backbone, whose score has none of them).
#[derive(Debug, Clone)]
pub struct Edited {
    pub scores: Vec<f32>,
    pub mask: Vec<u32>,
    pub changed: Vec<TermChange>,
    pub user: Option<UserTerms>,
}

/// The user's edited history: per behavior (dataset order), item → interaction count.
fn edited_history(
    inf: &Inference,
    data: &Dataset,
    u: u32,
    edits: &[Edit],
) -> Result<Vec<std::collections::BTreeMap<u32, u32>>> {
    let target = data.target();
    let mut hist: Vec<std::collections::BTreeMap<u32, u32>> = Vec::with_capacity(target + 1);
    for b in 0..target {
        let csr = inf.aux_csr.get(b).ok_or_else(|| {
            Error::Other(format!(
                "the model has {} auxiliary behaviors, the data {target}",
                inf.aux_csr.len()
            ))
        })?;
        let row = csr.row(u as usize).iter().copied();
        hist.push(
            row.zip(csr.row_vals(u as usize).iter().map(|&c| c as u32))
                .collect(),
        );
    }
    let t = data.target_train();
    let lo = t.pairs.partition_point(|&(x, _)| x < u);
    let hi = t.pairs.partition_point(|&(x, _)| x <= u);
    hist.push((lo..hi).map(|k| (t.pairs[k].1, t.counts[k])).collect());
    for e in edits {
        let h = hist.get_mut(e.behavior).ok_or_else(|| {
            Error::Other(format!(
                "edit names behavior {} of {}",
                e.behavior,
                target + 1
            ))
        })?;
        if e.add {
            *h.entry(e.item).or_insert(0) += 1;
        } else {
            h.remove(&e.item);
        }
    }
    Ok(hist)
}

/// Gate, stratum, habit and routing features, `Z_u` and `c^U(u)` of user `u` with history
/// `hist`, from the trained weights and population statistics.
fn user_terms(
    inf: &Inference,
    routing: &crate::model::UserRouting,
    u: usize,
    hist: &[std::collections::BTreeMap<u32, u32>],
) -> UserTerms {
    let (d, m, n_aux) = (inf.dim, inf.n_experts, inf.n_aux);
    let counts: Vec<u32> = hist.iter().map(|h| h.len() as u32).collect();
    let total: u32 = counts.iter().sum();
    let mut habit = vec![0f32; counts.len() + 1];
    crate::model::strata::Features::fill_row(&mut habit, &counts, routing.activity_max);
    let route = match &routing.route {
        Some(stats) => {
            let rows: Vec<Vec<f32>> = hist[n_aux]
                .keys()
                .map(|i| {
                    (0..n_aux)
                        .map(|b| hist[b].get(i).copied().unwrap_or(0) as f32)
                        .collect()
                })
                .collect();
            stats.user_row(rows.iter().map(|r| r.as_slice()))
        }
        None => Vec::new(),
    };
    let pt = &inf.pt_user[u * d..(u + 1) * d];
    let mut x = pt.to_vec();
    x.extend_from_slice(&habit);
    x.extend_from_slice(&route);
    let gate = routing.gate(&x);
    let mut z = pt.to_vec();
    for (k, g) in gate.iter().enumerate() {
        let e = &inf.expert_user[(u * m + k) * d..(u * m + k + 1) * d];
        for (zv, ev) in z.iter_mut().zip(e) {
            *zv += g * ev;
        }
    }
    let (stratum, effect) = match &inf.causal {
        Some(c) => {
            let s = routing.strata.nearest(&habit, total);
            let mut cu = c.user_effect[s as usize * d..(s as usize + 1) * d].to_vec();
            for (f, &h) in habit.iter().enumerate() {
                for (cv, &w) in cu.iter_mut().zip(&c.user_lin[f * d..(f + 1) * d]) {
                    *cv += h * w;
                }
            }
            (Some(s), cu)
        }
        None => (None, Vec::new()),
    };
    UserTerms {
        experts: inf.expert_names.clone(),
        gate: (inf.gate_user[u * m..(u + 1) * m].to_vec(), gate),
        stratum: (inf.causal.as_ref().map(|_| inf.user_stratum[u]), stratum),
        habit,
        route,
        z,
        effect,
    }
}

/// The user's scores (all items) and mask after `edits`, the terms that changed and the
/// recomputed gate, stratum and user effect (module docs).
pub fn edited_scores(
    inf: &Inference,
    data: &Dataset,
    u: u32,
    edits: &[Edit],
    mode: Mode,
) -> Result<Edited> {
    let target = data.target();
    let names = data.behavior_names();
    let before = edited_history(inf, data, u, &[])?;
    let hist = edited_history(inf, data, u, edits)?;
    let mask: Vec<u32> = hist[target].keys().copied().collect();
    let conv = mode == Mode::Raw && !inf.conversion_w.is_empty();
    let coef = |gate: &[f32], b: usize| {
        Inference::evidence_gate_of(gate, inf.n_aux, b)
            * inf.evidence_w.get(b).copied().unwrap_or(0.0)
    };
    let cv = |b: usize, i: u32, c: u32| match inf.conversion_w.get(b) {
        Some(&v) if c > 0 => v * inf.conversion[i as usize],
        _ => 0.0,
    };
    let (scores, terms) = match &inf.user_routing {
        Some(routing) if !inf.plain => {
            let terms = user_terms(inf, routing, u as usize, &hist);
            let cu = (!terms.effect.is_empty()).then_some(terms.effect.as_slice());
            let mut scores = inf.score_vector(inf.vector_of(&terms.z, cu, mode), mode)?;
            for (b, h) in hist.iter().enumerate().take(inf.n_aux) {
                let k = coef(&terms.gate.1, b);
                for (&i, &c) in h {
                    scores[i as usize] += k * (1.0 + c as f32).ln();
                    if conv {
                        scores[i as usize] += cv(b, i, c);
                    }
                }
            }
            (scores, Some(terms))
        }
        // Plain: the score has no history term; only the mask changes.
        _ => (inf.score_users(&[u], mode)?, None),
    };
    let no_gate = (Vec::new(), Vec::new());
    let gates = terms.as_ref().map_or(&no_gate, |t| &t.gate);
    // Every edited auxiliary pair, once, with its terms before and after.
    let mut seen = std::collections::BTreeSet::new();
    let mut changed = Vec::new();
    for e in edits {
        if e.behavior == target || !seen.insert((e.behavior, e.item)) {
            continue;
        }
        let b = e.behavior;
        let old = before[b].get(&e.item).copied().unwrap_or(0);
        let new = hist[b].get(&e.item).copied().unwrap_or(0);
        let ev = |gate: &[f32], c: u32| coef(gate, b) * (1.0 + c as f32).ln();
        changed.push(TermChange {
            behavior: names[b].clone(),
            item: data.item_ids[e.item as usize].clone(),
            count: (old, new),
            evidence: (ev(&gates.0, old), ev(&gates.1, new)),
            conversion: (cv(b, e.item, old), cv(b, e.item, new)),
        });
    }
    Ok(Edited {
        scores,
        mask,
        changed,
        user: terms,
    })
}

/// 1-based rank of `i` among the unmasked items (None when masked).
pub fn rank_of(scores: &[f32], mask: &[u32], i: u32) -> Option<usize> {
    if mask.binary_search(&i).is_ok() {
        return None;
    }
    let s = scores[i as usize];
    let higher = scores
        .iter()
        .enumerate()
        .filter(|&(j, &x)| x > s && mask.binary_search(&(j as u32)).is_err())
        .count();
    Some(higher + 1)
}

/// What to ask of [`what_if`].
#[derive(Debug, Clone)]
pub struct Query {
    /// Dense user index.
    pub user: u32,
    /// The edits, applied in order.
    pub edits: Vec<Edit>,
    /// The item to follow (default: the first edited one).
    pub item: Option<u32>,
    /// List length.
    pub k: usize,
    /// Mode of the lists.
    pub mode: Mode,
}

/// Runs the what-if `q` with a model of backbone `backbone`.
pub fn what_if(
    ranker: &Ranker,
    backbone: BackboneKind,
    data: &Dataset,
    q: &Query,
) -> Result<WhatIf> {
    let (u, edits, k, mode) = (q.user, &q.edits[..], q.k, q.mode);
    let inf = match ranker {
        Ranker::Neural(inf) => inf,
        Ranker::Rule(_) | Ranker::Ease(_) => return Err(Error::Other(
            "what-if needs a trained backbone; a baseline re-ranks by its rule or closed form only"
                .into(),
        )),
    };
    let start = std::time::Instant::now();
    let before_scores = inf.score_users(&[u], mode)?;
    let before_mask = data.target_train().user_items(u);
    let Edited {
        scores: after_scores,
        mask: after_mask,
        changed,
        user: user_terms,
    } = edited_scores(inf, data, u, edits, mode)?;
    let list = |s: &[f32], m: &[u32]| -> Vec<Ranked> {
        top_k(s, k, m)
            .into_iter()
            .map(|i| Ranked {
                item: data.item_ids[i as usize].clone(),
                score: s[i as usize],
            })
            .collect()
    };
    let (before, after) = (
        list(&before_scores, &before_mask),
        list(&after_scores, &after_mask),
    );
    let item = q
        .item
        .or(edits.first().map(|e| e.item))
        .map(|i| ItemChange {
            item: data.item_ids[i as usize].clone(),
            score: (before_scores[i as usize], after_scores[i as usize]),
            rank: (
                rank_of(&before_scores, &before_mask, i),
                rank_of(&after_scores, &after_mask, i),
            ),
        });
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let mut exact = vec!["evidence terms".to_string(), "target mask".to_string()];
    if !inf.conversion_w.is_empty() {
        exact.push("conversion evidence (raw)".into());
    }
    let mut approximated = Vec::new();
    if !matches!(backbone, BackboneKind::Mf) {
        approximated.push(format!(
            "{} propagation not recomputed (the user's P^b, P^T, experts kept)",
            backbone.name()
        ));
    }
    if !inf.plain {
        exact.push("h_u".into());
        if inf.user_routing.as_ref().is_some_and(|r| r.route.is_some()) {
            exact.push("r_u".into());
        }
        exact.push("gate g_u, Z_u".into());
        if inf.causal.is_some() {
            exact.push("habit stratum".into());
            exact.push("confounder terms".into());
        }
        approximated
            .push("population statistics kept (feature scales, strata, do averages)".into());
        approximated.push("item side kept".into());
    }
    Ok(WhatIf {
        user: data.user_ids[u as usize].clone(),
        mode: mode.name().into(),
        before,
        after,
        item,
        changed,
        exact,
        approximated,
        user_terms,
        millis,
    })
}
