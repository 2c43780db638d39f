//! Calibration of the exposure generator: the oracle rankings on both test sets and the
//! measured footprints of the mechanism (purchases outside views, the confounder effect that
//! the test items carry).

use super::{ExposureConfig, ExposureData};
use crate::synth::oracle::{first_per_user, hit_ndcg, per_user, top_k};
use crate::synth::shared::RankScore;

/// Footprints of the mechanism, measured on the generated data.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// Share of all purchases (training, valid, test) that the buyer had not viewed.
    pub outside_views: f64,
    /// Mean `c(h_u, g_i)` of the `test.txt` items.
    pub effect_test: f64,
    /// Mean `c(h_u, g_i)` of the `test_do.txt` items.
    pub effect_do: f64,
    /// Share of each item type among the `test.txt` items.
    pub kinds_test: Vec<f64>,
    /// Share of each item type among the `test_do.txt` items.
    pub kinds_do: Vec<f64>,
    /// Share of `test.txt` items the user had viewed.
    pub viewed_test: f64,
    /// Share of `test_do.txt` items the user had viewed.
    pub viewed_do: f64,
}

/// The reference rankings, in report order.
pub(crate) const RANKINGS: [&str; 3] = ["deconfounded_oracle", "confounded_oracle", "popularity"];

/// Footprints of one test set: mean effect, item-type shares, viewed share.
fn footprint(
    cfg: &ExposureConfig,
    data: &ExposureData,
    pairs: &[(u32, u32)],
    views: &[Vec<u32>],
) -> (f64, Vec<f64>, f64) {
    let n = pairs.len().max(1) as f64;
    let mut kinds = vec![0.0; cfg.kinds.len()];
    let (mut effect, mut viewed) = (0.0, 0.0);
    for &(u, i) in pairs {
        let (h, g) = (data.world.habit[u as usize], data.world.kind[i as usize]);
        effect += cfg.effect(h, g);
        kinds[g] += 1.0 / n;
        if views[u as usize].binary_search(&i).is_ok() {
            viewed += 1.0;
        }
    }
    (effect / n, kinds, viewed / n)
}

/// HR@10 / NDCG@10 of [`RANKINGS`] on `test.txt` then `test_do.txt`, and the footprints.
pub(super) fn calibrate(cfg: &ExposureConfig, data: &ExposureData) -> (Vec<RankScore>, Exposure) {
    let (n_users, n_items) = (data.world.users(), data.world.items());
    let views = per_user(&data.view, n_users);
    let carts = per_user(&data.cart, n_users);
    // Masked as `mclmr eval` masks both tests: training and validation purchases.
    let masked: Vec<(u32, u32)> = data.buy.iter().chain(&data.valid).copied().collect();
    let train = per_user(&masked, n_users);
    let test = first_per_user(&data.test, n_users);
    let test_do = first_per_user(&data.test_do, n_users);
    let mut pop = vec![0.0; n_items];
    for &(_, i) in &data.buy {
        pop[i as usize] += 1.0;
    }
    // sums[ranking][test set] = (hr, ndcg, users)
    let mut sums = [[(0.0, 0.0, 0usize); 2]; 3];
    let mut deconf = vec![0.0; n_items];
    let mut conf = vec![0.0; n_items];
    for u in 0..n_users {
        let h = data.world.habit[u];
        for i in 0..n_items {
            let seen = views[u].binary_search(&(i as u32)).is_ok();
            let cart = carts[u].binary_search(&(i as u32)).is_ok();
            deconf[i] = cfg.buy_pref * data.world.pref(u, i)
                + if seen { cfg.history_boost } else { 0.0 }
                + if cart { cfg.cart_boost } else { 0.0 };
            conf[i] = deconf[i] + cfg.confounding * cfg.effect(h, data.world.kind[i]);
        }
        for (r, scores) in [&deconf, &conf, &pop].into_iter().enumerate() {
            let top = top_k(scores, &train[u], 10);
            for (s, target) in [test[u], test_do[u]].into_iter().enumerate() {
                if let Some(t) = target {
                    let (hit, ndcg) = hit_ndcg(&top, t);
                    let cell = &mut sums[r][s];
                    *cell = (cell.0 + hit, cell.1 + ndcg, cell.2 + 1);
                }
            }
        }
    }
    let mut scores = Vec::new();
    for (s, file) in ["test.txt", "test_do.txt"].into_iter().enumerate() {
        for (r, name) in RANKINGS.iter().enumerate() {
            let (hit, ndcg, n) = sums[r][s];
            scores.push(RankScore {
                name: name.to_string(),
                test: file.into(),
                hr: hit / n.max(1) as f64,
                ndcg: ndcg / n.max(1) as f64,
            });
        }
    }
    let all_buys = data.buy.iter().chain(&data.valid).chain(&data.test);
    let (mut outside, mut total) = (0usize, 0usize);
    for &(u, i) in all_buys {
        total += 1;
        if views[u as usize].binary_search(&i).is_err() {
            outside += 1;
        }
    }
    let (effect_test, kinds_test, viewed_test) = footprint(cfg, data, &data.test, &views);
    let (effect_do, kinds_do, viewed_do) = footprint(cfg, data, &data.test_do, &views);
    let exposure = Exposure {
        outside_views: outside as f64 / total.max(1) as f64,
        effect_test,
        effect_do,
        kinds_test,
        kinds_do,
        viewed_test,
        viewed_do,
    };
    (scores, exposure)
}
