//! What would this user be shown had they (not) done that? (issue 16, the What-if view.)
//!
//! Edits drop or add `(behavior, item)` interactions of one user. The user's scores are
//! recomputed from the trained representations with the edited history:
//! - **exact**: the evidence terms `ĝ_{u,b} w_b ln(1 + count_b(u,i))` and the `raw` conversion
//!   evidence `v_b 1[count_b(u,i) > 0] conv_i` of the edited items, and the mask of training
//!   target items (dropping a target interaction makes the item recommendable again);
//! - **not recomputed** (approximated by the trained values): the backbone propagation (graph
//!   backbones; an MF embedding does not depend on the history), the routing gates `g_{u,m}`
//!   (computed at training time from the history's routing features) and the user's habit
//!   stratum. [`WhatIf::approximated`] says which of these apply to the model.

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
    /// Milliseconds spent re-ranking.
    pub millis: f64,
}

/// The user's scores (all items) and mask after `edits`, and the terms that changed.
pub fn edited_scores(
    inf: &Inference,
    data: &Dataset,
    u: u32,
    edits: &[Edit],
    mode: Mode,
) -> Result<(Vec<f32>, Vec<u32>, Vec<TermChange>)> {
    let mut scores = inf.score_users(&[u], mode)?;
    let mut mask = data.target_train().user_items(u);
    let target = data.target();
    let names = data.behavior_names();
    let mut changed = Vec::new();
    // Counts after the earlier edits of the same list, so repeated edits compose.
    let mut counts: std::collections::BTreeMap<(usize, u32), u32> = Default::default();
    for e in edits {
        if e.behavior == target {
            match (e.add, mask.binary_search(&e.item)) {
                (true, Err(p)) => mask.insert(p, e.item),
                (false, Ok(p)) => {
                    mask.remove(p);
                }
                _ => {}
            }
            continue;
        }
        let b = e.behavior;
        let csr = &inf.aux_csr[b];
        let trained = csr
            .row(u as usize)
            .binary_search(&e.item)
            .map(|k| csr.row_vals(u as usize)[k] as u32)
            .unwrap_or(0);
        let old = *counts.get(&(b, e.item)).unwrap_or(&trained);
        let new = if e.add { old + 1 } else { 0 };
        counts.insert((b, e.item), new);
        let coef = inf.evidence_gate(u as usize, b) * inf.evidence_w.get(b).copied().unwrap_or(0.0);
        let ev = |c: u32| coef * (1.0 + c as f32).ln();
        let cv = |c: u32| match inf.conversion_w.get(b) {
            Some(&v) if c > 0 => v * inf.conversion[e.item as usize],
            _ => 0.0,
        };
        let i = e.item as usize;
        scores[i] += ev(new) - ev(old);
        if mode == Mode::Raw {
            scores[i] += cv(new) - cv(old);
        }
        changed.push(TermChange {
            behavior: names[b].clone(),
            item: data.item_ids[i].clone(),
            count: (old, new),
            evidence: (ev(old), ev(new)),
            conversion: (cv(old), cv(new)),
        });
    }
    Ok((scores, mask, changed))
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
    let (after_scores, after_mask, changed) = edited_scores(inf, data, u, edits, mode)?;
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
            "{} propagation not recomputed (trained representations kept)",
            backbone.name()
        ));
    }
    if !inf.plain {
        approximated.push("routing gates not recomputed (trained gates kept)".into());
    }
    if inf.causal.is_some() {
        approximated.push("user habit stratum not reassigned".into());
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
        millis,
    })
}
