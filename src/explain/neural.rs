//! The split of a neural model's score: target, expert and evidence terms, confounder logits
//! and the nearest items of the user's history.

use super::{ConfounderTerms, EvidenceTerm, ExpertTerm, Explanation, Nearest};
use crate::data::Dataset;
use crate::model::inference::{cosine, dot, Inference};

pub(super) fn explain_neural(inf: &Inference, data: &Dataset, u: u32, i: u32) -> Explanation {
    let d = inf.dim;
    let (uu, ii) = (u as usize, i as usize);
    let zu = Inference::row(&inf.z_user, uu, d);
    let zi = Inference::row(&inf.z_item, ii, d);
    let target_term = if inf.plain {
        dot(zu, zi)
    } else {
        dot(Inference::row(&inf.pt_user, uu, d), zi)
    };
    let m = inf.n_experts;
    let experts: Vec<ExpertTerm> = (0..m)
        .map(|e| {
            let gate = inf.gate_user[uu * m + e];
            let out = &inf.expert_user[(uu * m + e) * d..(uu * m + e + 1) * d];
            ExpertTerm {
                name: inf.expert_names[e].clone(),
                gate,
                term: gate * dot(out, zi),
            }
        })
        .collect();
    let evidence: Vec<EvidenceTerm> = (0..inf.n_aux)
        .map(|b| {
            let csr = &inf.aux_csr[b];
            let count = csr.value(uu, i) as u32;
            let gate = inf.evidence_gate(uu, b);
            let weight = inf.evidence_w.get(b).copied().unwrap_or(0.0);
            EvidenceTerm {
                behavior: inf.behavior_names[b].clone(),
                count,
                gate,
                weight,
                term: gate * weight * (1.0 + count as f32).ln(),
            }
        })
        .collect();
    let f = target_term
        + experts.iter().map(|e| e.term).sum::<f32>()
        + evidence.iter().map(|e| e.term).sum::<f32>();
    let (cd, cr, strata) = match &inf.causal {
        None => (None, None, None),
        Some(c) => {
            let (su, si) = (inf.user_stratum[uu], inf.item_stratum[ii]);
            let cdo = ConfounderTerms {
                user_habit: dot(&c.cu_bar, zi),
                item_distribution: dot(zu, &c.ci_bar),
                item_bias: c.beta_bar,
                conversion: 0.0,
            };
            let craw = ConfounderTerms {
                user_habit: dot(&c.cu[uu * d..(uu + 1) * d], zi),
                item_distribution: dot(zu, &c.ci[ii * d..(ii + 1) * d]),
                item_bias: c.beta[ii],
                conversion: inf.conversion_term(uu, ii),
            };
            (Some(cdo), Some(craw), Some((su, si)))
        }
    };
    let score_do = f + cd.map(|c| c.total()).unwrap_or(0.0);
    let score_raw = f + cr.map(|c| c.total()).unwrap_or(0.0);
    let nearest = data
        .behaviors
        .iter()
        .map(|b| {
            let mut scored: Vec<(u32, f32)> = b
                .user_items(u)
                .into_iter()
                .filter(|&j| j != i)
                .map(|j| (j, cosine(zi, Inference::row(&inf.z_item, j as usize, d))))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            Nearest {
                behavior: b.name.clone(),
                items: scored
                    .into_iter()
                    .take(3)
                    .map(|(j, c)| (data.item_ids[j as usize].clone(), c))
                    .collect(),
            }
        })
        .collect();
    Explanation {
        user: data.user_ids[uu].clone(),
        item: data.item_ids[ii].clone(),
        score_do,
        score_raw,
        target_term,
        experts,
        evidence,
        confounders_do: cd,
        confounders_raw: cr,
        strata,
        raw_minus_do: score_raw - score_do,
        nearest,
        item_meta: Default::default(),
    }
}
