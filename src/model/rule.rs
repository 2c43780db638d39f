//! Rule baselines (METHOD.md §7): rank the user's auxiliary-behavior items first, then every
//! other item, each group by target popularity. An item earns `B−1−r` points for each auxiliary
//! behavior of rank `r` in the rule's order that the user did with it, so on Taobao
//! `rule-view-cart` ranks viewed-and-carted items, then viewed-only, then carted-only, then the
//! rest ("viewed, then carted, then popular"), and `rule-cart-view` starts from carted items.
//! With Taobao's 92,180 buys kept in training this reproduces METHOD §7's 0.3041 / 0.1511 and
//! 0.2729 / 0.1372 (HR@10 / NDCG@10); a strictly tiered variant (first behavior only) gives
//! 0.2776 for view-cart.
//!
//! `rule-conversion` keeps the tiers of `rule-view-cart` and orders the items inside each tier
//! (and outside every tier) by their training buy share `(b + 0.5) / (t + 5)`: `b` target
//! training pairs of the item, `t` its training pairs over every behavior. That is the ordering
//! of `scripts/tier_signals.py` (ties by item index, i.e. by id), 0.3585 / 0.1758 on Taobao
//! with all buys kept (METHOD §7).

use crate::data::{Csr, Dataset};

/// A backbone-free ranking rule.
#[derive(Debug, Clone)]
pub struct RuleRanker {
    /// Auxiliary behavior indices in priority order.
    pub order: Vec<usize>,
    /// Auxiliary interactions (user → items).
    pub aux_csr: Vec<Csr>,
    /// Within-tier score in `[0, 1)`: for the popularity rules `ln(1+n_i) / ln(2+max n)` of
    /// the target training pairs; for `rule-conversion` `1 − r_i / n` with `r_i` the item's
    /// position in the order of buy share (descending, ties by index).
    pub pop: Vec<f32>,
    pub n_items: usize,
}

impl RuleRanker {
    /// Builds the rule; `weakest_first` selects `rule-view-cart`.
    pub fn new(data: &Dataset, weakest_first: bool) -> Self {
        let n_aux = data.n_behaviors() - 1;
        let mut order: Vec<usize> = (0..n_aux).collect();
        if !weakest_first {
            order.reverse();
        }
        let mut counts = vec![0u32; data.n_items()];
        for &(_, i) in &data.target_train().pairs {
            counts[i as usize] += 1;
        }
        let max = counts.iter().copied().max().unwrap_or(0) as f32;
        let pop = counts
            .iter()
            .map(|&c| (1.0 + c as f32).ln() / (2.0 + max).ln())
            .collect();
        RuleRanker {
            order,
            aux_csr: data.behaviors[..n_aux]
                .iter()
                .map(|b| b.user_csr(data.n_users()))
                .collect(),
            pop,
            n_items: data.n_items(),
        }
    }

    /// `rule-conversion`: the tiers of `rule-view-cart`, ordered inside by buy share.
    pub fn conversion(data: &Dataset) -> Self {
        let mut rule = RuleRanker::new(data, true);
        let share = buy_share(data);
        let mut order: Vec<usize> = (0..share.len()).collect();
        order.sort_by(|&a, &b| share[b].total_cmp(&share[a]).then(a.cmp(&b)));
        let n = order.len().max(1) as f64;
        for (rank, &i) in order.iter().enumerate() {
            // Exact in f32 next to the tier points for catalogues up to about 2 million items.
            rule.pop[i] = (1.0 - rank as f64 / n) as f32;
        }
        rule
    }

    /// Scores of every item for each user (row-major).
    pub fn score_users(&self, users: &[u32]) -> Vec<f32> {
        let n = self.n_items;
        let tiers = self.order.len() as f32;
        let mut out = Vec::with_capacity(users.len() * n);
        for &u in users {
            let start = out.len();
            out.extend_from_slice(&self.pop);
            let row = &mut out[start..];
            for (rank, &b) in self.order.iter().enumerate() {
                for &i in self.aux_csr[b].row(u as usize) {
                    row[i as usize] += tiers - rank as f32;
                }
            }
        }
        out
    }
}

/// Each item's training buy share `(b + 0.5) / (t + 5)`: `b` its target training pairs, `t` its
/// training pairs over every behavior (the target included).
pub fn buy_share(data: &Dataset) -> Vec<f64> {
    let mut all = vec![0u64; data.n_items()];
    for b in &data.behaviors {
        for &(_, i) in &b.pairs {
            all[i as usize] += 1;
        }
    }
    let mut buys = vec![0u64; data.n_items()];
    for &(_, i) in &data.target_train().pairs {
        buys[i as usize] += 1;
    }
    buys.iter()
        .zip(&all)
        .map(|(&b, &t)| smoothed_share(b as f64, t as f64))
        .collect()
}

/// The smoothed buy share `(b + 0.5) / (t + 5)` of an item with `b` target training pairs out
/// of `t` training pairs over every behavior (also the conversion evidence's rank value).
pub fn smoothed_share(b: f64, t: f64) -> f64 {
    (b + 0.5) / (t + 5.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Interactions;
    use crate::eval::metrics::top_k;

    /// 4 users × 6 items. Item 1 is bought twice but viewed and carted by everyone (buy share
    /// 2.5/15); item 3 is bought once out of 3 interactions (1.5/8).
    fn data() -> Dataset {
        let ids = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        let view = vec![(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (2, 1), (3, 1)];
        let cart = vec![(0, 1), (0, 3), (1, 1), (2, 1), (3, 1)];
        let buy = vec![(1, 0), (1, 2), (0, 5), (1, 5), (1, 3), (2, 1), (3, 1)];
        Dataset::from_parts(
            "t".into(),
            "t".into(),
            ids(4),
            ids(6),
            vec![
                Interactions::from_raw("view", view),
                Interactions::from_raw("cart", cart),
                Interactions::from_raw("buy", buy),
            ],
            Vec::new(),
            Vec::new(),
            None,
            Vec::new(),
        )
    }

    #[test]
    fn buy_share_is_smoothed_conversion() {
        let s = buy_share(&data());
        let want = [
            1.5 / 6.0,
            2.5 / 15.0,
            1.5 / 7.0,
            1.5 / 8.0,
            0.5 / 6.0,
            2.5 / 7.0,
        ];
        for (i, (a, b)) in s.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-12, "item {i}: {a} vs {b}");
        }
    }

    #[test]
    fn conversion_orders_tiers_then_buy_share() {
        let d = data();
        let rule = RuleRanker::conversion(&d);
        let scores = rule.score_users(&[0]);
        // User 0: viewed+carted {1, 3}, viewed only {2, 4}, the rest {0, 5}; bought 5 (masked).
        // Inside the tiers by buy share: 3 (0.1875) before 1 (0.167), 2 (0.214) before 4
        // (0.083); outside, 0.
        assert_eq!(top_k(&scores, 6, &[5]), vec![3, 1, 2, 4, 0]);
        // The popularity rule has the same tiers but puts 1 (2 buys) before 3 (1 buy).
        let pop = RuleRanker::new(&d, true).score_users(&[0]);
        assert_eq!(top_k(&pop, 6, &[5]), vec![1, 3, 2, 4, 0]);
        // Without the tiers the order is the buy share alone.
        assert_eq!(top_k(&rule.pop, 6, &[]), vec![5, 0, 2, 3, 1, 4]);
    }
}
