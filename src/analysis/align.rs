//! How well each auxiliary behavior's representation agrees with the target's (METHOD.md §5).
//!
//! With `x̂ = x / ‖x‖` (a zero vector stays zero):
//! - **alignment** (Wang & Isola, 2020) of two views of the same nodes:
//!   `A = mean_n ‖â_n − b̂_n‖²`, from 0 (identical directions) to 4 (opposite);
//! - **uniformity** of one set: `Un = ln mean_{(i,j)} exp(−2 ‖x̂_i − x̂_j‖²)` over random pairs of
//!   distinct nodes, from 0 (all collapsed to one point) down to −8 (every pair opposite); lower
//!   means the representations spread over the sphere;
//! - the distribution of **same-node** cosines `cos(a_n, b_n)` against **other-node** cosines
//!   `cos(a_i, b_j)`, `i ≠ j`: a behavior that carries the target's information has the first
//!   shifted right of the second.
//!
//! Two spaces are measured: the backbone's `P^b` against `P^T` (before the MoE), and the expert
//! output `E_b(P^b)` against `P^T`, the pair that bias-aware contrastive learning pulls together.
//! Nodes and pairs are seeded samples ([`super::sample`]) so the report is fast and reproducible.

use crate::model::inference::{cosine, Inference};
use crate::model::strata::Side;

use super::sample;

/// Which representation of an auxiliary behavior is compared with the target's `P^T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// The backbone's `P^b`.
    Backbone,
    /// The behavior expert's output `E_b(P^b)` (the space bias-aware contrastive learning acts on).
    Expert,
}

impl Space {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Space::Backbone => "backbone P^b",
            Space::Expert => "expert E_b(P^b)",
        }
    }
}

/// The measurements of one (side, behavior, space).
#[derive(Debug, Clone, PartialEq)]
pub struct AlignRow {
    /// Users or items.
    pub side: Side,
    /// Auxiliary behavior name.
    pub behavior: String,
    /// Representation compared with `P^T`.
    pub space: Space,
    /// Alignment with `P^T` (0 best, 4 worst).
    pub alignment: f64,
    /// Uniformity of this representation (lower = more spread).
    pub uniformity: f64,
    /// Uniformity of `P^T` on the same sample.
    pub uniformity_target: f64,
    /// Mean same-node cosine.
    pub mean_same: f64,
    /// Mean other-node cosine.
    pub mean_other: f64,
    /// Histogram of same-node cosines over `[-1, 1]`.
    pub hist_same: Vec<u32>,
    /// Histogram of other-node cosines over `[-1, 1]`.
    pub hist_other: Vec<u32>,
}

/// The alignment screen's numbers for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignmentReport {
    /// One row per side × auxiliary behavior × space.
    pub rows: Vec<AlignRow>,
    /// Users in the sample.
    pub users_sampled: usize,
    /// Items in the sample.
    pub items_sampled: usize,
    /// Histogram bins over `[-1, 1]`.
    pub bins: usize,
}

/// `x / ‖x‖`, or zeros for a zero vector.
pub fn unit(x: &[f32]) -> Vec<f32> {
    let n = x.iter().map(|v| v * v).sum::<f32>().sqrt();
    if n == 0.0 {
        vec![0.0; x.len()]
    } else {
        x.iter().map(|v| v / n).collect()
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y) * f64::from(x - y))
        .sum()
}

/// Alignment `mean_n ‖â_n − b̂_n‖²` of paired rows (`a[n]` with `b[n]`); 0 for no rows.
pub fn alignment(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| sq_dist(&unit(x), &unit(y)))
        .sum::<f64>()
        / n as f64
}

/// Uniformity `ln mean_{(i,j) ∈ pairs} exp(−2 ‖x̂_i − x̂_j‖²)`; 0 when there is no pair.
pub fn uniformity(x: &[Vec<f32>], pairs: &[(usize, usize)]) -> f64 {
    let units: Vec<Vec<f32>> = x.iter().map(|r| unit(r)).collect();
    let terms: Vec<f64> = pairs
        .iter()
        .filter(|&&(i, j)| i < units.len() && j < units.len())
        .map(|&(i, j)| -2.0 * sq_dist(&units[i], &units[j]))
        .collect();
    if terms.is_empty() {
        return 0.0;
    }
    // log-mean-exp, shifted by the maximum for stability.
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + (terms.iter().map(|t| (t - m).exp()).sum::<f64>() / terms.len() as f64).ln()
}

/// Counts of `values` in `bins` equal bins over `[-1, 1]` (values outside are clamped).
pub fn histogram(values: &[f32], bins: usize) -> Vec<u32> {
    let mut h = vec![0u32; bins];
    if bins == 0 {
        return h;
    }
    for &v in values {
        if v.is_nan() {
            continue;
        }
        let pos = ((f64::from(v) + 1.0) / 2.0 * bins as f64).floor();
        let k = (pos.max(0.0) as usize).min(bins - 1);
        h[k] += 1;
    }
    h
}

fn mean(v: &[f32]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64
    }
}

/// Row `node` of the target representation `P^T` of a side.
fn target_row(inf: &Inference, side: Side, node: usize) -> &[f32] {
    let d = inf.dim;
    match side {
        Side::User => &inf.pt_user[node * d..(node + 1) * d],
        Side::Item => &inf.pt_item[node * d..(node + 1) * d],
    }
}

/// Row `node` of auxiliary behavior `b` in `space`, when the model has it.
fn aux_row(inf: &Inference, side: Side, space: Space, b: usize, node: usize) -> Option<&[f32]> {
    let d = inf.dim;
    match space {
        Space::Backbone => {
            let offset = match side {
                Side::User => node,
                Side::Item => inf.n_users + node,
            };
            inf.reps.get(b)?.get(offset * d..(offset + 1) * d)
        }
        Space::Expert => {
            let m = inf.n_experts;
            if inf.plain || b >= m {
                return None;
            }
            let table = match side {
                Side::User => &inf.expert_user,
                Side::Item => &inf.expert_item,
            };
            table.get((node * m + b) * d..(node * m + b + 1) * d)
        }
    }
}

/// The spaces a model can be measured in.
pub fn spaces(inf: &Inference) -> Vec<Space> {
    if inf.plain || inf.n_experts == 0 {
        vec![Space::Backbone]
    } else {
        vec![Space::Backbone, Space::Expert]
    }
}

/// Per auxiliary behavior and space, the cosine between a node's representation and its `P^T`:
/// `(behavior, space, cosine)`.
pub fn node_cosines(inf: &Inference, side: Side, node: usize) -> Vec<(String, Space, f32)> {
    let n = match side {
        Side::User => inf.n_users,
        Side::Item => inf.n_items,
    };
    if node >= n {
        return Vec::new();
    }
    let t = target_row(inf, side, node);
    let mut out = Vec::new();
    for b in 0..inf.n_aux {
        for space in spaces(inf) {
            if let Some(r) = aux_row(inf, side, space, b, node) {
                out.push((inf.behavior_names[b].clone(), space, cosine(r, t)));
            }
        }
    }
    out
}

impl AlignmentReport {
    /// Measures every side × auxiliary behavior × space on at most `max_nodes` sampled nodes per
    /// side and `4 × max_nodes` random pairs, with `bins` histogram bins; fully determined by
    /// `seed`.
    pub fn compute(inf: &Inference, max_nodes: usize, bins: usize, seed: u64) -> Self {
        let mut rows = Vec::new();
        let mut sampled = [0usize; 2];
        for (s, side) in [Side::User, Side::Item].into_iter().enumerate() {
            let n = match side {
                Side::User => inf.n_users,
                Side::Item => inf.n_items,
            };
            let nodes = sample::nodes(n, max_nodes, seed.wrapping_add(s as u64));
            sampled[s] = nodes.len();
            let pairs = sample::pairs(
                nodes.len(),
                4 * nodes.len(),
                seed.wrapping_add(10 + s as u64),
            );
            let target: Vec<Vec<f32>> = nodes
                .iter()
                .map(|&v| target_row(inf, side, v).to_vec())
                .collect();
            let uniformity_target = uniformity(&target, &pairs);
            for b in 0..inf.n_aux {
                for space in spaces(inf) {
                    let aux: Option<Vec<Vec<f32>>> = nodes
                        .iter()
                        .map(|&v| aux_row(inf, side, space, b, v).map(<[f32]>::to_vec))
                        .collect();
                    let Some(aux) = aux else { continue };
                    let same: Vec<f32> =
                        aux.iter().zip(&target).map(|(a, t)| cosine(a, t)).collect();
                    let other: Vec<f32> = pairs
                        .iter()
                        .map(|&(i, j)| cosine(&aux[i], &target[j]))
                        .collect();
                    rows.push(AlignRow {
                        side,
                        behavior: inf.behavior_names.get(b).cloned().unwrap_or_default(),
                        space,
                        alignment: alignment(&aux, &target),
                        uniformity: uniformity(&aux, &pairs),
                        uniformity_target,
                        mean_same: mean(&same),
                        mean_other: mean(&other),
                        hist_same: histogram(&same, bins),
                        hist_other: histogram(&other, bins),
                    });
                }
            }
        }
        AlignmentReport {
            rows,
            users_sampled: sampled[0],
            items_sampled: sampled[1],
            bins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn alignment_hand_values() {
        // Same direction (different length): 0. Orthogonal: ‖(1,0) − (0,1)‖² = 2. Opposite: 4.
        assert!(close(alignment(&[vec![2.0, 0.0]], &[vec![1.0, 0.0]]), 0.0));
        assert!(close(alignment(&[vec![1.0, 0.0]], &[vec![0.0, 3.0]]), 2.0));
        assert!(close(alignment(&[vec![1.0, 0.0]], &[vec![-1.0, 0.0]]), 4.0));
        // Mean of the three.
        let a = [vec![2.0, 0.0], vec![1.0, 0.0], vec![1.0, 0.0]];
        let b = [vec![1.0, 0.0], vec![0.0, 3.0], vec![-1.0, 0.0]];
        assert!(close(alignment(&a, &b), 2.0));
        assert!(close(alignment(&[], &[]), 0.0));
    }

    #[test]
    fn uniformity_hand_values() {
        let x = [
            vec![1.0, 0.0],
            vec![5.0, 0.0],
            vec![0.0, 1.0],
            vec![-1.0, 0.0],
        ];
        // Collapsed pair: ln e^0 = 0; orthogonal: −2·2 = −4; opposite: −2·4 = −8.
        assert!(close(uniformity(&x, &[(0, 1)]), 0.0));
        assert!(close(uniformity(&x, &[(0, 2)]), -4.0));
        assert!(close(uniformity(&x, &[(0, 3)]), -8.0));
        // ln((e^0 + e^−4) / 2)
        let want = ((1.0 + (-4.0f64).exp()) / 2.0).ln();
        assert!(close(uniformity(&x, &[(0, 1), (0, 2)]), want));
        assert!(close(uniformity(&x, &[]), 0.0));
    }

    #[test]
    fn histogram_edges_and_clamping() {
        let h = histogram(&[-1.0, -0.99, 0.0, 0.49, 0.5, 1.0, 7.0, f32::NAN], 4);
        // bins: [-1,-.5) [-.5,0) [0,.5) [.5,1]
        assert_eq!(h, vec![2, 0, 2, 3]);
        assert!(histogram(&[0.3], 0).is_empty());
    }

    #[test]
    fn report_on_a_tiny_model() {
        // 2 users, 2 items, d = 2, one auxiliary behavior equal to the target for users and
        // opposite to it for items; no experts (plain).
        let users = [1.0, 0.0, 0.0, 1.0];
        let items = [1.0, 1.0, -1.0, 1.0];
        let neg: Vec<f32> = items.iter().map(|x| -x).collect();
        let mut aux = users.to_vec();
        aux.extend(&neg);
        let mut target = users.to_vec();
        target.extend(items);
        let inf = Inference {
            n_users: 2,
            n_items: 2,
            dim: 2,
            n_aux: 1,
            plain: true,
            behavior_names: vec!["view".into(), "buy".into()],
            reps: vec![aux, target],
            pt_user: users.to_vec(),
            pt_item: items.to_vec(),
            ..Inference::default()
        };
        let r = AlignmentReport::compute(&inf, 10, 4, 1);
        assert_eq!((r.users_sampled, r.items_sampled, r.rows.len()), (2, 2, 2));
        let (u, i) = (&r.rows[0], &r.rows[1]);
        assert_eq!((u.side, i.side), (Side::User, Side::Item));
        assert!(close(u.alignment, 0.0) && close(u.mean_same, 1.0));
        assert!(close(i.alignment, 4.0) && close(i.mean_same, -1.0));
        // The two users are orthogonal: every other-node pair has cosine 0 and distance² 2.
        assert!(close(u.mean_other, 0.0) && close(u.uniformity, -4.0));
        assert_eq!(u.hist_same, vec![0, 0, 0, 2]);
        assert_eq!(i.hist_same, vec![2, 0, 0, 0]);
        assert_eq!(node_cosines(&inf, Side::User, 1).len(), 1);
        assert!(node_cosines(&inf, Side::User, 5).is_empty());
    }

    #[test]
    fn unit_keeps_zero() {
        assert_eq!(unit(&[0.0, 0.0]), vec![0.0, 0.0]);
        assert_eq!(unit(&[3.0, 4.0]), vec![0.6, 0.8]);
    }
}
