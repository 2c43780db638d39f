//! The reference rankings of the routing scenario: the rule told each user's true signal type
//! and the type-blind rules it must beat.

use super::{RoutingData, Signal};
use crate::synth::oracle::{hit_ndcg, per_user, top_k};
use crate::synth::shared::RankScore;

/// Scores of every item for one user under the rule that knows the user's signal type: the
/// items of that behavior first (`cart`: carted items, then the other viewed items; `repeat`:
/// viewed items by how often they were viewed; `popular`: none), then popularity. `views` is `(item, times viewed)`, `carts`
/// the carted items (sorted) and `popularity` a per-item score in `[0, 1)`.
pub fn oracle_type_rule(
    signal: Signal,
    views: &[(u32, u32)],
    carts: &[u32],
    popularity: &[f64],
) -> Vec<f64> {
    let mut s = popularity.to_vec();
    match signal {
        Signal::Cart => {
            carts.iter().for_each(|&i| s[i as usize] += 2.0);
            views.iter().for_each(|&(i, _)| s[i as usize] += 1.0);
        }
        Signal::Repeat => views
            .iter()
            .for_each(|&(i, c)| s[i as usize] += f64::from(c)),
        Signal::Popular => {}
    }
    s
}

/// `ln(1 + n_i) / ln(2 + max n)` of the training purchases, in `[0, 1)`.
fn popularity(buy: &[(u32, u32)], items: usize) -> Vec<f64> {
    let mut n = vec![0.0f64; items];
    for &(_, i) in buy {
        n[i as usize] += 1.0;
    }
    let max = n.iter().copied().fold(0.0, f64::max);
    n.iter()
        .map(|c| (1.0 + c).ln() / (2.0 + max).ln())
        .collect()
}

/// The reference rankings, in report order.
pub const RANKINGS: [&str; 5] = [
    "oracle_type_rule",
    "cart_rule",
    "repeat_rule",
    "popularity",
    "view_cart_rule",
];

/// HR@10 / NDCG@10 on `test.txt` of every ranking in [`RANKINGS`], over all users (`[0]`) and
/// per signal type (`[1 + t]`); also returns the oracle's top 10 of every user.
pub(super) fn calibrate(data: &RoutingData) -> (Vec<Vec<RankScore>>, Vec<Vec<u32>>) {
    let (n_users, n_items) = (data.world.users(), data.world.items());
    let pop = popularity(&data.buy, n_items);
    // Masked as `mclmr eval` masks the test: training and validation purchases.
    let masked: Vec<(u32, u32)> = data.buy.iter().chain(&data.valid).copied().collect();
    let train = per_user(&masked, n_users);
    let carts = per_user(&data.cart, n_users);
    let mut views: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_users];
    for &(u, i) in &data.view {
        let row = &mut views[u as usize];
        match row.last_mut() {
            Some((j, c)) if *j == i => *c += 1,
            _ => row.push((i, 1)),
        }
    }
    // sums[group][ranking] = (hr, ndcg, users)
    let mut sums = vec![vec![(0.0, 0.0, 0usize); RANKINGS.len()]; 4];
    let mut tops = Vec::with_capacity(n_users);
    for &(u, target) in &data.test {
        let u = u as usize;
        let signal = data.signal(u);
        let rule = |s: Signal| oracle_type_rule(s, &views[u], &carts[u], &pop);
        let mut view_cart = pop.clone();
        views[u]
            .iter()
            .for_each(|&(i, _)| view_cart[i as usize] += 2.0);
        carts[u].iter().for_each(|&i| view_cart[i as usize] += 1.0);
        let scores = [
            rule(signal),
            rule(Signal::Cart),
            rule(Signal::Repeat),
            rule(Signal::Popular),
            view_cart,
        ];
        for (r, s) in scores.iter().enumerate() {
            let top = top_k(s, &train[u], 10);
            let (h, n) = hit_ndcg(&top, target);
            for g in [0, 1 + data.world.habit[u]] {
                let cell = &mut sums[g][r];
                *cell = (cell.0 + h, cell.1 + n, cell.2 + 1);
            }
            if r == 0 {
                tops.push(top);
            }
        }
    }
    let table = sums
        .iter()
        .map(|row| {
            (RANKINGS.iter().zip(row))
                .map(|(name, &(h, n, c))| RankScore {
                    name: name.to_string(),
                    test: "test.txt".into(),
                    hr: h / (c.max(1) as f64),
                    ndcg: n / (c.max(1) as f64),
                })
                .collect()
        })
        .collect();
    (table, tops)
}
