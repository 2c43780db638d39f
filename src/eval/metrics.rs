//! Ranking metrics (METHOD.md §7) for one user, from a ranked list and the set of relevant
//! (held-out) items.
//!
//! - `HR@K = 1` if any relevant item is in the top K, else 0;
//! - `Recall@K = |top-K ∩ relevant| / |relevant|`;
//! - `NDCG@K = DCG@K / IDCG@K` with `DCG@K = Σ_{r ≤ K, item_r relevant} 1 / log2(r + 1)` and
//!   `IDCG@K = Σ_{r ≤ min(K, |relevant|)} 1 / log2(r + 1)` (ranks r start at 1).

/// The cut-offs reported everywhere.
pub const KS: [usize; 3] = [10, 20, 50];

/// HR, Recall and NDCG at `k` for one user.
pub fn at_k(ranked: &[u32], relevant: &[u32], k: usize) -> (f64, f64, f64) {
    if relevant.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0f64;
    for (r, item) in ranked.iter().take(k).enumerate() {
        if relevant.contains(item) {
            hits += 1;
            dcg += 1.0 / ((r + 2) as f64).log2();
        }
    }
    let idcg: f64 = (0..relevant.len().min(k))
        .map(|r| 1.0 / ((r + 2) as f64).log2())
        .sum();
    let hr = if hits > 0 { 1.0 } else { 0.0 };
    (hr, hits as f64 / relevant.len() as f64, dcg / idcg)
}

/// Gini coefficient of non-negative counts (0 = perfectly even, → 1 = concentrated):
/// `G = Σ_i (2i − n − 1) x_(i) / (n Σ x)` over the ascending order `x_(1) ≤ … ≤ x_(n)`.
pub fn gini(counts: &[u64]) -> f64 {
    let n = counts.len();
    let total: u64 = counts.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut x = counts.to_vec();
    x.sort_unstable();
    let s: f64 = x
        .iter()
        .enumerate()
        .map(|(i, &v)| (2.0 * (i + 1) as f64 - n as f64 - 1.0) * v as f64)
        .sum();
    s / (n as f64 * total as f64)
}

/// Indices of the `k` largest scores, best first, skipping `masked` items (sorted slice);
/// ties are broken by the lower item index. NaN scores rank last. The scores are visited in
/// runs of 32: once the list is full, a run with no score above the current `k`-th is skipped
/// after one vectorised comparison instead of item by item.
pub fn top_k(scores: &[f32], k: usize, masked: &[u32]) -> Vec<u32> {
    let better = |a: (f32, u32), b: (f32, u32)| -> bool {
        match (a.0.is_nan(), b.0.is_nan()) {
            (false, true) => true,
            (true, false) => false,
            _ => a.0 > b.0 || (a.0 == b.0 && a.1 < b.1) || (a.0.is_nan() && a.1 < b.1),
        }
    };
    if k == 0 {
        return Vec::new();
    }
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    let mut threshold = f32::NEG_INFINITY;
    let mut full = false;
    const RUN: usize = 32;
    for (r, run) in scores.chunks(RUN).enumerate() {
        if full && !threshold.is_nan() && !run.iter().fold(false, |a, &s| a | (s > threshold)) {
            continue;
        }
        for (j, &s) in run.iter().enumerate() {
            let enters = s > threshold;
            if full && !threshold.is_nan() && !enters {
                continue;
            }
            let i = (r * RUN + j) as u32;
            if masked.binary_search(&i).is_ok() {
                continue;
            }
            let pos = best.partition_point(|&e| better(e, (s, i)));
            best.insert(pos, (s, i));
            if best.len() > k {
                best.pop();
            }
            if best.len() == k {
                full = true;
                threshold = best[k - 1].0;
            }
        }
    }
    best.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_the_sorted_order_with_ties_to_the_lower_index_and_nan_last() {
        // Scores on a coarse grid (many ties), some NaN, masks, lengths off the run size.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for case in 0..300 {
            let n = 1 + (next() % 200) as usize;
            let nan_share = [1, 10][case % 2];
            let scores: Vec<f32> = (0..n)
                .map(|_| match next() % 20 {
                    v if v < nan_share => f32::NAN,
                    v => (v % 7) as f32 - 3.0,
                })
                .collect();
            let mut masked: Vec<u32> = (0..n as u32).filter(|_| next() % 4 == 0).collect();
            masked.dedup();
            let k = [0, 1, 3, 10, 50, 250, 2][case % 7];
            let mut want: Vec<u32> = (0..n as u32)
                .filter(|i| masked.binary_search(i).is_err())
                .collect();
            let key = |i: u32| scores[i as usize];
            want.sort_by(|&a, &b| match (key(a).is_nan(), key(b).is_nan()) {
                (false, true) => std::cmp::Ordering::Less,
                (true, false) => std::cmp::Ordering::Greater,
                (true, true) => a.cmp(&b),
                _ => key(b).total_cmp(&key(a)).then(a.cmp(&b)),
            });
            want.truncate(k);
            assert_eq!(
                top_k(&scores, k, &masked),
                want,
                "case {case}: n {n}, k {k}"
            );
        }
    }

    /// The hand-computed 3-user × 5-item fixture (items 0..4).
    /// user A: ranked [2,0,4,1,3], relevant {0}      → HR@1 0, HR@2 1, NDCG@2 = 1/log2(3) = 0.63093
    /// user B: ranked [1,3,0,2,4], relevant {1,2}    → Recall@2 = 0.5, NDCG@2 = 1/(1+1/log2 3) = 0.61315,
    ///                                                 NDCG@5 = (1 + 1/log2 5)/(1 + 1/log2 3) = 0.87722
    /// user C: ranked [4,3,2,1,0], relevant {0}      → HR@4 0, HR@5 1, NDCG@5 = 1/log2 6 = 0.38685
    #[test]
    fn hand_computed_three_by_five() {
        let a = [2u32, 0, 4, 1, 3];
        let b = [1u32, 3, 0, 2, 4];
        let c = [4u32, 3, 2, 1, 0];
        assert_eq!(at_k(&a, &[0], 1).0, 0.0);
        let (hr, rec, nd) = at_k(&a, &[0], 2);
        assert_eq!((hr, rec), (1.0, 1.0));
        assert!((nd - 0.630930).abs() < 1e-5);
        let (hr, rec, nd) = at_k(&b, &[1, 2], 2);
        assert_eq!((hr, rec), (1.0, 0.5));
        assert!((nd - 0.613147).abs() < 1e-5, "{nd}");
        let (_, rec, nd) = at_k(&b, &[1, 2], 5);
        assert_eq!(rec, 1.0);
        assert!((nd - 0.877215).abs() < 1e-5, "{nd}");
        assert_eq!(at_k(&c, &[0], 4).0, 0.0);
        let (hr, _, nd) = at_k(&c, &[0], 5);
        assert_eq!(hr, 1.0);
        assert!((nd - 0.386853).abs() < 1e-5);
        // Mean HR@2 over the three users = (1 + 1 + 0) / 3.
        let mean: f64 = [
            at_k(&a, &[0], 2).0,
            at_k(&b, &[1, 2], 2).0,
            at_k(&c, &[0], 2).0,
        ]
        .iter()
        .sum::<f64>()
            / 3.0;
        assert!((mean - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn top_k_masks_and_breaks_ties() {
        let s = [0.5f32, 0.9, 0.9, f32::NAN, 0.1, 0.7];
        assert_eq!(top_k(&s, 3, &[]), vec![1, 2, 5]);
        assert_eq!(top_k(&s, 3, &[1]), vec![2, 5, 0]);
        assert_eq!(top_k(&s, 10, &[]), vec![1, 2, 5, 0, 4, 3]);
        assert!(top_k(&s, 0, &[]).is_empty());
    }

    #[test]
    fn gini_extremes() {
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        assert!((gini(&[0, 0, 0, 8]) - 0.75).abs() < 1e-12);
        assert_eq!(gini(&[]), 0.0);
    }
}
