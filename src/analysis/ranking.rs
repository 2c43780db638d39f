//! One user's rankings and how two rankings of the same user differ.
//!
//! - **Jaccard** overlap of two top-K sets: `|A ∩ B| / |A ∪ B|` (1 for two empty lists);
//! - **rank-biased overlap** (Webber, Moffat & Zobel, 2010), extrapolated form for two lists
//!   truncated at the same depth `k`: with `X_d = |A_{1:d} ∩ B_{1:d}|`,
//!   `RBO = (X_k / k) p^k + ((1 − p) / p) Σ_{d=1..k} (X_d / d) p^d`; 1 for identical lists,
//!   0 for disjoint ones, and the top ranks weigh most (`p = 0.9`: the first 10 ranks carry
//!   about 86% of the weight);
//! - **rank moves**: where each item of one list sits in the other;
//! - **popularity**: training-target interactions per item, and a list's mean.

use crate::data::Dataset;
use crate::error::Result;
use crate::eval::metrics::top_k;
use crate::model::{Mode, Ranker};

/// Where an item of one list sits in another list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Ranked this many places higher than in the other list.
    Up(usize),
    /// Ranked this many places lower than in the other list.
    Down(usize),
    /// Same rank in both.
    Same,
    /// Absent from the other list.
    Absent,
}

/// For each item of `list`, its move relative to `other`.
pub fn rank_moves(list: &[u32], other: &[u32]) -> Vec<Move> {
    list.iter()
        .enumerate()
        .map(|(r, item)| match other.iter().position(|x| x == item) {
            None => Move::Absent,
            Some(o) if o > r => Move::Up(o - r),
            Some(o) if o < r => Move::Down(r - o),
            Some(_) => Move::Same,
        })
        .collect()
}

/// `|A ∩ B| / |A ∪ B|` of the two lists as sets; 1 when both are empty.
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let mut x = a.to_vec();
    let mut y = b.to_vec();
    x.sort_unstable();
    x.dedup();
    y.sort_unstable();
    y.dedup();
    let inter = x.iter().filter(|i| y.binary_search(i).is_ok()).count();
    let union = x.len() + y.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Extrapolated rank-biased overlap of `a` and `b` at depth `min(|a|, |b|)` with persistence
/// `p ∈ (0, 1)` (see the module docs); 1 when both are empty.
pub fn rbo(a: &[u32], b: &[u32], p: f64) -> f64 {
    let k = a.len().min(b.len());
    if k == 0 {
        return if a.is_empty() && b.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let (mut seen_a, mut seen_b) = (Vec::with_capacity(k), Vec::with_capacity(k));
    let mut x = 0usize;
    let mut sum = 0.0;
    let mut pd = 1.0;
    for d in 1..=k {
        let (ia, ib) = (a[d - 1], b[d - 1]);
        if ia == ib {
            x += 1;
        } else {
            if seen_b.contains(&ia) {
                x += 1;
            }
            if seen_a.contains(&ib) {
                x += 1;
            }
        }
        seen_a.push(ia);
        seen_b.push(ib);
        pd *= p;
        sum += x as f64 / d as f64 * pd;
    }
    x as f64 / k as f64 * pd + (1.0 - p) / p * sum
}

/// [`Dataset::target_popularity`], under the name the analyses use.
pub fn popularity(data: &Dataset) -> Vec<u32> {
    data.target_popularity()
}

/// Mean popularity of a list's items (0 for an empty list).
pub fn mean_popularity(items: &[u32], pop: &[u32]) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    items
        .iter()
        .map(|&i| f64::from(pop.get(i as usize).copied().unwrap_or(0)))
        .sum::<f64>()
        / items.len() as f64
}

/// The top-`k` `(item, score)` of user `u` in `mode`, skipping `masked` (sorted) items. One
/// user's scores only: this is what keeps switching users fast on large catalogs.
pub fn top_k_scored(
    ranker: &Ranker,
    u: u32,
    mode: Mode,
    k: usize,
    masked: &[u32],
) -> Result<Vec<(u32, f32)>> {
    let scores = ranker.score_users(&[u], mode)?;
    Ok(top_k(&scores, k, masked)
        .into_iter()
        .map(|i| (i, scores.get(i as usize).copied().unwrap_or(f32::NAN)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn jaccard_hand_values() {
        assert!(close(jaccard(&[1, 2, 3], &[3, 2, 1]), 1.0));
        assert!(close(jaccard(&[1, 2], &[2, 3]), 1.0 / 3.0));
        assert!(close(jaccard(&[1], &[2]), 0.0));
        assert!(close(jaccard(&[], &[]), 1.0));
    }

    #[test]
    fn rbo_hand_values() {
        assert!(close(rbo(&[1, 2, 3], &[1, 2, 3], 0.9), 1.0));
        assert!(close(rbo(&[1, 2, 3], &[4, 5, 6], 0.9), 0.0));
        // X_1 = 0, X_2 = 2, p = 0.5: (2/2)·0.25 + 1·(0 + 1·0.25) = 0.5
        assert!(close(rbo(&[1, 2], &[2, 1], 0.5), 0.5));
        // X_1 = 1, X_2 = 1, p = 0.9: 0.5·0.81 + (0.1/0.9)·(0.9 + 0.5·0.81) = 0.55
        assert!(close(rbo(&[1, 2], &[1, 3], 0.9), 0.55));
        // Top ranks weigh more: a swap at the top costs more than one at the bottom.
        let top = rbo(&[2, 1, 3, 4], &[1, 2, 3, 4], 0.9);
        let bottom = rbo(&[1, 2, 4, 3], &[1, 2, 3, 4], 0.9);
        assert!(top < bottom);
        assert!(close(rbo(&[], &[], 0.9), 1.0));
        assert!(close(rbo(&[1], &[], 0.9), 0.0));
    }

    #[test]
    fn moves_and_popularity() {
        let m = rank_moves(&[5, 6, 7, 8], &[6, 5, 9, 8]);
        assert_eq!(
            m,
            vec![Move::Up(1), Move::Down(1), Move::Absent, Move::Same]
        );
        assert!(close(mean_popularity(&[0, 2], &[4, 0, 10]), 7.0));
        assert!(close(mean_popularity(&[], &[1]), 0.0));
        assert!(close(mean_popularity(&[9], &[1]), 0.0));
    }
}
