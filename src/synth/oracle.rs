//! Calibration of the generated data: HR@K of three reference rankings on the observational
//! (`test.txt`) and interventional (`test_do.txt`) test sets, masking each user's training
//! purchases (METHOD.md §7 protocol).
//!
//! - **deconfounded** (the ideal `do` ranking): the user's viewed items by the purchase
//!   probability with the confounders at their population mix (preference and the cart
//!   mediator only), then the other items by true preference;
//! - **confounded** (the ideal `raw` ranking): the user's viewed items by the observational
//!   purchase probability (habit and item-type effects included), then the other items by the
//!   exposure propensity;
//! - **buy popularity** (training purchases per item, ties to the lower id): the classic biased
//!   baseline.
//!
//! Strong confounding shows as the confounded ranking winning on `test.txt` and losing on
//! `test_do.txt`, where the deconfounded one wins.

use super::model::{sigmoid, Logs, World};
use super::SynthConfig;

/// HR@K of the reference rankings on both test sets (fractions of users in `[0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Cutoff `K`.
    pub k: usize,
    /// Deconfounded ranking on `test.txt`.
    pub pref_test: f64,
    /// Deconfounded ranking on `test_do.txt`.
    pub pref_do: f64,
    /// Confounded ranking on `test.txt`.
    pub raw_test: f64,
    /// Confounded ranking on `test_do.txt`.
    pub raw_do: f64,
    /// Training buy popularity on `test.txt`.
    pub pop_test: f64,
    /// Training buy popularity on `test_do.txt`.
    pub pop_do: f64,
}

/// Computes [`Calibration`] at cutoff `k`.
pub(super) fn calibrate(cfg: &SynthConfig, world: &World, logs: &Logs, k: usize) -> Calibration {
    let (n_users, n_items) = (world.users(), world.items());
    let mut popularity = vec![0.0; n_items];
    for &(_, i) in &logs.buy {
        popularity[i as usize] += 1.0;
    }
    let train = per_user(&logs.buy, n_users);
    let viewed = per_user(&logs.view, n_users);
    let carted = per_user(&logs.cart, n_users);
    let test = first_per_user(&logs.test, n_users);
    let test_do = first_per_user(&logs.test_do, n_users);
    let mut hits = [0usize; 6];
    let mut scores = vec![0.0; n_items];
    for u in 0..n_users {
        let seen = |i: usize| viewed[u].binary_search(&(i as u32)).is_ok();
        let cart = |i: usize| carted[u].binary_search(&(i as u32)).is_ok();
        // Viewed items first (offset 1e6), each group by its own score.
        let deconfounded = |i: usize| {
            let p = world.pref(u, i);
            if seen(i) {
                1e6 + sigmoid(world.do_buy_logit(cfg, p, cart(i)))
                    .max(1e-300)
                    .ln()
            } else {
                p
            }
        };
        let confounded = |i: usize| {
            let p = world.pref(u, i);
            if seen(i) {
                1e6 + sigmoid(world.buy_logit(cfg, u, i, p, cart(i)))
                    .max(1e-300)
                    .ln()
            } else {
                world.log_propensity(cfg, u, i)
            }
        };
        let rankers: [&dyn Fn(usize) -> f64; 3] = [&deconfounded, &confounded, &|i| popularity[i]];
        for (r, score) in rankers.iter().enumerate() {
            for (i, s) in scores.iter_mut().enumerate() {
                *s = score(i);
            }
            let top = top_k(&scores, &train[u], k);
            for (s, target) in [test[u], test_do[u]].into_iter().enumerate() {
                if target.is_some_and(|t| top.contains(&t)) {
                    hits[2 * r + s] += 1;
                }
            }
        }
    }
    let rate = |j: usize, of: &[Option<u32>]| {
        let n = of.iter().filter(|t| t.is_some()).count();
        if n == 0 {
            0.0
        } else {
            hits[j] as f64 / n as f64
        }
    };
    Calibration {
        k,
        pref_test: rate(0, &test),
        pref_do: rate(1, &test_do),
        raw_test: rate(2, &test),
        raw_do: rate(3, &test_do),
        pop_test: rate(4, &test),
        pop_do: rate(5, &test_do),
    }
}

/// Sorted items of each user.
pub(super) fn per_user(pairs: &[(u32, u32)], n_users: usize) -> Vec<Vec<u32>> {
    let mut rows = vec![Vec::new(); n_users];
    for &(u, i) in pairs {
        rows[u as usize].push(i);
    }
    for r in &mut rows {
        r.sort_unstable();
    }
    rows
}

/// The (single) item of each user, if any.
pub(super) fn first_per_user(pairs: &[(u32, u32)], n_users: usize) -> Vec<Option<u32>> {
    let mut rows = vec![None; n_users];
    for &(u, i) in pairs {
        rows[u as usize].get_or_insert(i);
    }
    rows
}

/// The `k` best-scored items outside `masked` (sorted), ties to the lower item id.
pub(super) fn top_k(scores: &[f64], masked: &[u32], k: usize) -> Vec<u32> {
    let mut ranked: Vec<u32> = (0..scores.len() as u32)
        .filter(|i| masked.binary_search(i).is_err())
        .collect();
    ranked.sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    ranked.truncate(k);
    ranked
}

/// HR and NDCG of one held-out `target` against a top-K list (`1/log2(rank + 2)`, rank from 0).
pub(super) fn hit_ndcg(top: &[u32], target: u32) -> (f64, f64) {
    match top.iter().position(|&i| i == target) {
        Some(r) => (1.0, 1.0 / (r as f64 + 2.0).log2()),
        None => (0.0, 0.0),
    }
}
