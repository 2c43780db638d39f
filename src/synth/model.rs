//! The generative model itself (METHOD.md §8): the hidden world (preference factors, habit and
//! item types) and the behavior logs simulated from it. Pure functions of `(seed, config)`; the
//! writer lives in `write.rs`.
//!
//! Each stage draws from its own seeded stream, so a change in one stage (say, the
//! interventional draw) leaves the others' draws as they were.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson};

use super::SynthConfig;

/// Stream tags: one independent [`StdRng`] per stage.
const TYPES: u64 = 1;
const FACTORS: u64 = 2;
const BEHAVIORS: u64 = 3;
const SPLITS: u64 = 4;
const INTERVENTION: u64 = 5;

/// The seeded random stream of one stage.
pub(super) fn stream(seed: u64, tag: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Logistic function.
pub(super) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The hidden truth: who is which type and who likes what.
#[derive(Debug, Clone)]
pub(super) struct World {
    /// Preference dimension `k`.
    pub dim: usize,
    /// Habit type index of each user.
    pub habit: Vec<usize>,
    /// Item type index of each item.
    pub kind: Vec<usize>,
    /// User factors `θ`, row-major `users × dim`.
    pub theta: Vec<f64>,
    /// Item factors `φ`, row-major `items × dim`.
    pub phi: Vec<f64>,
    /// Intrinsic item quality `q_i` (part of the preference).
    pub quality: Vec<f64>,
    /// Item visibility `v_i`: an exposure boost unrelated to preference (promotion, placement).
    pub visibility: Vec<f64>,
}

impl World {
    /// Draws the types (exact population quotas, shuffled) and the factors.
    pub fn draw(seed: u64, cfg: &SynthConfig) -> Self {
        let mut rng = stream(seed, TYPES);
        let habit = quota_types(
            &cfg.habits.iter().map(|h| h.share).collect::<Vec<_>>(),
            cfg.users,
            &mut rng,
        );
        let kind = quota_types(
            &cfg.kinds.iter().map(|k| k.share).collect::<Vec<_>>(),
            cfg.items,
            &mut rng,
        );
        let mut rng = stream(seed, FACTORS);
        // Variance 1/√k per coordinate, so θ·φ has unit variance.
        let sd = (cfg.dim as f64).powf(-0.25);
        let mut normal = |n: usize, sd: f64| -> Vec<f64> {
            match Normal::new(0.0, sd) {
                Ok(d) => (0..n).map(|_| d.sample(&mut rng)).collect(),
                Err(_) => vec![0.0; n],
            }
        };
        let theta = normal(cfg.users * cfg.dim, sd);
        let phi = normal(cfg.items * cfg.dim, sd);
        let quality = normal(cfg.items, cfg.quality_std);
        let visibility = normal(cfg.items, cfg.visibility_std);
        World {
            dim: cfg.dim,
            habit,
            kind,
            theta,
            phi,
            quality,
            visibility,
        }
    }

    /// Number of users.
    pub fn users(&self) -> usize {
        self.habit.len()
    }

    /// Number of items.
    pub fn items(&self) -> usize {
        self.kind.len()
    }

    /// The true preference `θ_u·φ_i + q_i`.
    pub fn pref(&self, u: usize, i: usize) -> f64 {
        let t = &self.theta[u * self.dim..(u + 1) * self.dim];
        let p = &self.phi[i * self.dim..(i + 1) * self.dim];
        t.iter().zip(p).map(|(a, b)| a * b).sum::<f64>() + self.quality[i]
    }

    /// Exposure score of `(u,i)` (log of the unnormalised view weight).
    pub fn view_score(&self, cfg: &SynthConfig, u: usize, i: usize, pref: f64) -> f64 {
        let h = &cfg.habits[self.habit[u]];
        cfg.view_pref * pref + self.visibility[i] + h.type_gain * cfg.kinds[self.kind[i]].view_bias
    }

    /// Cart logit of a viewed `(u,i)`.
    pub fn cart_logit(&self, cfg: &SynthConfig, u: usize, i: usize, pref: f64) -> f64 {
        let h = &cfg.habits[self.habit[u]];
        let k = &cfg.kinds[self.kind[i]];
        cfg.cart_base + cfg.cart_pref * pref + h.cart_bias + h.type_gain * k.cart_bias
    }

    /// Buy logit of a viewed `(u,i)`, given whether it was carted.
    pub fn buy_logit(&self, cfg: &SynthConfig, u: usize, i: usize, pref: f64, carted: bool) -> f64 {
        let h = &cfg.habits[self.habit[u]];
        let k = &cfg.kinds[self.kind[i]];
        let bonus = if carted { cfg.cart_bonus } else { 0.0 };
        cfg.buy_base + cfg.buy_pref * pref + h.buy_bias + h.type_gain * k.buy_bias + bonus
    }

    /// Buy logit of a viewed `(u,i)` with the confounders at their population mix: the habit
    /// and item-type effects on the purchase (`H→Y`, `G→Y`) replaced by their population
    /// averages, preference and the mediators (was it carted) kept.
    pub fn do_buy_logit(&self, cfg: &SynthConfig, pref: f64, carted: bool) -> f64 {
        let share_h: f64 = cfg.habits.iter().map(|h| h.share).sum::<f64>().max(1e-12);
        let share_k: f64 = cfg.kinds.iter().map(|k| k.share).sum::<f64>().max(1e-12);
        let habit_bias: f64 =
            cfg.habits.iter().map(|h| h.share * h.buy_bias).sum::<f64>() / share_h;
        let gain: f64 = cfg
            .habits
            .iter()
            .map(|h| h.share * h.type_gain)
            .sum::<f64>()
            / share_h;
        let kind_bias: f64 = cfg.kinds.iter().map(|k| k.share * k.buy_bias).sum::<f64>() / share_k;
        let bonus = if carted { cfg.cart_bonus } else { 0.0 };
        cfg.buy_base + cfg.buy_pref * pref + habit_bias + gain * kind_bias + bonus
    }

    /// Log of the observational purchase propensity of `(u,i)` up to a per-user constant:
    /// exposure score plus `ln P(buy | view)` with the cart marginalised out.
    pub fn log_propensity(&self, cfg: &SynthConfig, u: usize, i: usize) -> f64 {
        let pref = self.pref(u, i);
        let pc = sigmoid(self.cart_logit(cfg, u, i, pref));
        let pb = pc * sigmoid(self.buy_logit(cfg, u, i, pref, true))
            + (1.0 - pc) * sigmoid(self.buy_logit(cfg, u, i, pref, false));
        self.view_score(cfg, u, i, pref) + pb.max(1e-300).ln()
    }
}

/// Assigns `n` nodes to types with exact quotas (largest remainder), then shuffles.
pub(super) fn quota_types(shares: &[f64], n: usize, rng: &mut StdRng) -> Vec<usize> {
    let total: f64 = shares.iter().sum();
    let exact: Vec<f64> = shares.iter().map(|s| s / total * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest fractional part first; ties by type order.
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    // The floors leave fewer than `shares.len()` nodes unassigned.
    let missing = n.saturating_sub(counts.iter().sum::<usize>());
    for k in 0..missing {
        counts[order[k % order.len()]] += 1;
    }
    let mut types: Vec<usize> = (0..shares.len())
        .flat_map(|t| std::iter::repeat_n(t, counts[t]))
        .collect();
    types.truncate(n);
    // Fisher–Yates with the seeded stream.
    for j in (1..types.len()).rev() {
        let k = rng.random_range(0..=j);
        types.swap(j, k);
    }
    types
}

/// A standard Gumbel draw (`-ln(-ln U)`), clamped away from the poles.
pub(super) fn gumbel(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12);
    -(-u.ln()).ln()
}

/// Draws an index with probability proportional to `exp(logits[j])` (None if empty).
pub(super) fn draw_softmax(logits: &[(usize, f64)], rng: &mut StdRng) -> Option<usize> {
    let max = logits
        .iter()
        .map(|&(_, l)| l)
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = logits.iter().map(|&(_, l)| (l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.random::<f64>() * total;
    for (&(i, _), w) in logits.iter().zip(&weights) {
        if target < *w {
            return Some(i);
        }
        target -= w;
    }
    logits.last().map(|&(i, _)| i)
}

/// The simulated logs; every pair list is 0-based, sorted and duplicate-free.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Logs {
    /// Viewed pairs.
    pub view: Vec<(u32, u32)>,
    /// Carted pairs (a subset of `view`).
    pub cart: Vec<(u32, u32)>,
    /// Training purchases (a subset of `view`).
    pub buy: Vec<(u32, u32)>,
    /// One held-out purchase per user for validation.
    pub valid: Vec<(u32, u32)>,
    /// One held-out purchase per user for the observational test.
    pub test: Vec<(u32, u32)>,
    /// One interventional item per user.
    pub test_do: Vec<(u32, u32)>,
    /// Purchases added by the top-up.
    pub topped_up: usize,
    /// Views added for item coverage.
    pub coverage_views: usize,
}

impl Logs {
    /// Runs the funnel for every user, holds out valid and test purchases, draws the
    /// interventional test set and makes sure every item occurs.
    pub fn simulate(seed: u64, cfg: &SynthConfig, world: &World) -> Self {
        let (n_users, n_items) = (world.users(), world.items());
        let mut rng = stream(seed, BEHAVIORS);
        let mut split_rng = stream(seed, SPLITS);
        let mut do_rng = stream(seed, INTERVENTION);
        let poisson: Vec<Option<Poisson<f64>>> = (cfg.habits.iter())
            .map(|h| Poisson::new(h.mean_views).ok())
            .collect();
        let need = cfg.min_train_buys + 2;
        let mut logs = Logs {
            view: Vec::new(),
            cart: Vec::new(),
            buy: Vec::new(),
            valid: Vec::with_capacity(n_users),
            test: Vec::with_capacity(n_users),
            test_do: Vec::with_capacity(n_users),
            topped_up: 0,
            coverage_views: 0,
        };
        let mut prefs = vec![0.0; n_items];
        for u in 0..n_users {
            for (i, p) in prefs.iter_mut().enumerate() {
                *p = world.pref(u, i);
            }
            // Views: Plackett–Luce without replacement via Gumbel keys on the exposure score.
            let mut keyed: Vec<(f64, usize)> = (0..n_items)
                .map(|i| (world.view_score(cfg, u, i, prefs[i]) + gumbel(&mut rng), i))
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
            let drawn = poisson[world.habit[u]]
                .as_ref()
                .map_or(0.0, |d| d.sample(&mut rng));
            let mut n_views = (drawn as usize).max(cfg.min_views).min(n_items);
            let mut carted = vec![false; n_views];
            let mut bought = vec![false; n_views];
            for (v, &i) in order[..n_views].iter().enumerate() {
                carted[v] = rng.random::<f64>() < sigmoid(world.cart_logit(cfg, u, i, prefs[i]));
                let logit = world.buy_logit(cfg, u, i, prefs[i], carted[v]);
                bought[v] = rng.random::<f64>() < sigmoid(logit);
            }
            // Top-up: the user's most probable purchases among viewed items, viewing the next
            // items in exposure order when every viewed item is already bought.
            let mut n_bought = bought.iter().filter(|&&b| b).count();
            while n_bought < need {
                if n_bought == n_views {
                    n_views += 1;
                    carted.push(false);
                    bought.push(false);
                }
                let best = (0..n_views)
                    .filter(|&v| !bought[v])
                    .map(|v| {
                        let i = order[v];
                        (v, world.buy_logit(cfg, u, i, prefs[i], carted[v]))
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                let Some((v, _)) = best else { break };
                bought[v] = true;
                n_bought += 1;
                logs.topped_up += 1;
            }
            let uu = u as u32;
            let mut buys: Vec<u32> = Vec::with_capacity(n_bought);
            for v in 0..n_views {
                let i = order[v] as u32;
                logs.view.push((uu, i));
                if carted[v] {
                    logs.cart.push((uu, i));
                }
                if bought[v] {
                    buys.push(i);
                }
            }
            // Hold-outs: uniformly among the confounded purchases.
            buys.sort_unstable();
            let t = buys.remove(split_rng.random_range(0..buys.len()));
            let va = buys.remove(split_rng.random_range(0..buys.len()));
            logs.test.push((uu, t));
            logs.valid.push((uu, va));
            // Interventional draw: the user's exposure (views, carts: the mediators) as
            // observed, the confounders' direct effects on the purchase at their population
            // mix; one purchase among the viewed items not bought in training, P ∝ σ(logit).
            let candidates: Vec<(usize, f64)> = (0..n_views)
                .filter(|&v| buys.binary_search(&(order[v] as u32)).is_err())
                .map(|v| {
                    let i = order[v];
                    let logit = world.do_buy_logit(cfg, prefs[i], carted[v]);
                    (i, sigmoid(logit).max(1e-300).ln() * cfg.do_scale)
                })
                .collect();
            if let Some(i) = draw_softmax(&candidates, &mut do_rng) {
                logs.test_do.push((uu, i as u32));
            }
            logs.buy.extend(buys.iter().map(|&i| (uu, i)));
        }
        logs.cover_items(world);
        for list in [&mut logs.view, &mut logs.cart, &mut logs.buy] {
            list.sort_unstable();
            list.dedup();
        }
        logs
    }

    /// Gives every item that nobody viewed one view, by the user who prefers it most.
    fn cover_items(&mut self, world: &World) {
        let mut seen = vec![false; world.items()];
        for &(_, i) in &self.view {
            seen[i as usize] = true;
        }
        for (i, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
            let best = (0..world.users())
                .map(|u| (u, world.pref(u, i)))
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            if let Some((u, _)) = best {
                self.view.push((u as u32, i as u32));
                self.coverage_views += 1;
            }
        }
    }
}
