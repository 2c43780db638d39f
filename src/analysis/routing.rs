//! How the MoE routes across users: the spread of each expert's gate weight and of each
//! behavior's effective evidence weight `ĝ_{u,b} · w_b` over the users, and the per-user table
//! behind it. The explorer shows one user's bars; this says whether the bars differ at all.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::Result;
use crate::model::Inference;

/// Distribution of one quantity over the users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Expert or behavior name.
    pub name: String,
    /// Mean over the users.
    pub mean: f64,
    /// Standard deviation over the users.
    pub sd: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Spread {
    fn of(name: &str, mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let q = |p: f64| {
            if v.is_empty() {
                0.0
            } else {
                v[((v.len() - 1) as f64 * p).round() as usize]
            }
        };
        Spread {
            name: name.to_string(),
            mean,
            sd,
            p5: q(0.05),
            p95: q(0.95),
        }
    }
}

/// Routing of users with training interactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingSummary {
    /// Users counted.
    pub users: usize,
    /// Each expert's gate weight `g_{u,m}`.
    pub gates: Vec<Spread>,
    /// Each auxiliary behavior's effective evidence weight `ĝ_{u,b} · w_b`.
    pub evidence: Vec<Spread>,
}

fn active_users(data: &Dataset) -> Vec<usize> {
    let mut seen = vec![false; data.n_users()];
    for b in &data.behaviors {
        for &(u, _) in &b.pairs {
            seen[u as usize] = true;
        }
    }
    (0..data.n_users()).filter(|&u| seen[u]).collect()
}

/// The summary, or None for a model without experts.
pub fn summary(inf: &Inference, data: &Dataset) -> Option<RoutingSummary> {
    if inf.n_experts == 0 {
        return None;
    }
    let users = active_users(data);
    let m = inf.n_experts;
    let gates = (0..m)
        .map(|e| {
            let v = users
                .iter()
                .map(|&u| f64::from(inf.gate_user[u * m + e]))
                .collect();
            Spread::of(&inf.expert_names[e], v)
        })
        .collect();
    let evidence = (0..inf.n_aux)
        .map(|b| {
            let w = inf.evidence_w.get(b).copied().unwrap_or(0.0);
            let v = users
                .iter()
                .map(|&u| f64::from(inf.evidence_gate(u, b) * w))
                .collect();
            Spread::of(&inf.behavior_names[b], v)
        })
        .collect();
    Some(RoutingSummary {
        users: users.len(),
        gates,
        evidence,
    })
}

/// Writes one tab-separated row per user: id, each expert's gate, each behavior's effective
/// evidence weight (atomically).
pub fn write_gates(inf: &Inference, data: &Dataset, path: &Path) -> Result<()> {
    let m = inf.n_experts;
    let mut out = String::from("user");
    for e in &inf.expert_names {
        let _ = write!(out, "\tgate_{e}");
    }
    for b in &inf.behavior_names[..inf.n_aux] {
        let _ = write!(out, "\tevidence_{b}");
    }
    out.push('\n');
    for u in 0..data.n_users() {
        out.push_str(&data.user_ids[u]);
        for e in 0..m {
            let _ = write!(out, "\t{:.6}", inf.gate_user[u * m + e]);
        }
        for b in 0..inf.n_aux {
            let w = inf.evidence_w.get(b).copied().unwrap_or(0.0);
            let _ = write!(out, "\t{:.6}", inf.evidence_gate(u, b) * w);
        }
        out.push('\n');
    }
    crate::atomic::write(path, out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_known_values() {
        let s = Spread::of("x", (0..=100).map(f64::from).collect());
        assert_eq!((s.mean, s.p5, s.p95), (50.0, 5.0, 95.0));
        assert!((s.sd - (850.0f64).sqrt()).abs() < 1e-9, "{}", s.sd);
    }
}
