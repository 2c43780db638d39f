//! Seeded samples of nodes and node pairs. Fixed seeds make the explorer's alignment numbers
//! identical from run to run (and in snapshot tests) while bounding the work on large data.

use rand::rngs::StdRng;
use rand::seq::index;
use rand::{Rng, SeedableRng};

/// Up to `k` distinct indices below `n`, sorted, drawn with `seed` (all of them when `n ≤ k`).
pub fn nodes(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v = index::sample(&mut rng, n, k).into_vec();
    v.sort_unstable();
    v
}

/// `count` pairs `(a, b)` of distinct positions below `n` (empty when `n < 2`), drawn with `seed`.
pub fn pairs(n: usize, count: usize, seed: u64) -> Vec<(usize, usize)> {
    if n < 2 {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| {
            let a = rng.random_range(0..n);
            // Draw b from the n − 1 other positions without rejection.
            let mut b = rng.random_range(0..n - 1);
            if b >= a {
                b += 1;
            }
            (a, b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_sorted_distinct_and_reproducible() {
        let a = nodes(1000, 50, 3);
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, nodes(1000, 50, 3));
        assert_eq!(nodes(4, 10, 3), vec![0, 1, 2, 3]);
    }

    #[test]
    fn pairs_never_repeat_a_node() {
        let p = pairs(3, 500, 1);
        assert_eq!(p.len(), 500);
        assert!(p.iter().all(|&(a, b)| a != b && a < 3 && b < 3));
        assert!(pairs(1, 10, 1).is_empty());
    }
}
