//! Pieces shared by the routing and exposure generators: the hidden world (drawn exactly as
//! `synth` draws it), Poisson counts, item coverage and the truth files every generator writes.

use rand::rngs::StdRng;
use rand_distr::{Distribution, Poisson};

use super::model::World;
use super::write::{factors_text, fixed6};
use super::{HabitType, ItemKind, SynthConfig};

/// Sizes and spreads of the hidden world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Base {
    pub users: usize,
    pub items: usize,
    pub dim: usize,
    pub quality_std: f64,
    pub visibility_std: f64,
}

/// Draws the preference factors, quality, visibility and the user and item types (exact
/// quotas of `user_shares` and `item_shares`) with `synth`'s own streams.
pub(super) fn world(seed: u64, base: Base, user_shares: &[f64], item_shares: &[f64]) -> World {
    let habits = (user_shares.iter().enumerate())
        .map(|(n, &share)| HabitType {
            name: format!("t{n}"),
            share,
            mean_views: 1.0,
            cart_bias: 0.0,
            buy_bias: 0.0,
            type_gain: 0.0,
        })
        .collect();
    let kinds = (item_shares.iter().enumerate())
        .map(|(n, &share)| ItemKind {
            name: format!("k{n}"),
            share,
            view_bias: 0.0,
            cart_bias: 0.0,
            buy_bias: 0.0,
        })
        .collect();
    let cfg = SynthConfig {
        users: base.users,
        items: base.items,
        dim: base.dim,
        quality_std: base.quality_std,
        visibility_std: base.visibility_std,
        habits,
        kinds,
        ..SynthConfig::default()
    };
    World::draw(seed, &cfg)
}

/// A Poisson count (0 for a mean that is not positive).
pub(super) fn poisson(rng: &mut StdRng, mean: f64) -> usize {
    match Poisson::new(mean) {
        Ok(d) if mean > 0.0 => d.sample(rng) as usize,
        _ => 0,
    }
}

/// Gives every item that occurs in none of `lists` one view (pushed onto `view`), by the user
/// who prefers it most, so that no test item is cold. Returns how many views were added.
pub(super) fn cover(world: &World, view: &mut Vec<(u32, u32)>, lists: &[&[(u32, u32)]]) -> usize {
    let mut seen = vec![false; world.items()];
    for &(_, i) in view.iter().chain(lists.iter().flat_map(|l| l.iter())) {
        seen[i as usize] = true;
    }
    let mut added = 0;
    for i in (0..world.items()).filter(|&i| !seen[i]) {
        let best = (0..world.users())
            .map(|u| (u, world.pref(u, i)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((u, _)) = best {
            view.push((u as u32, i as u32));
            added += 1;
        }
    }
    added
}

/// The truth files about preference: factors, quality and visibility.
pub(super) fn preference_files(world: &World) -> Vec<(&'static str, String)> {
    let per_item = |v: &[f64]| -> String {
        (v.iter().enumerate())
            .map(|(i, x)| format!("{} {}\n", i + 1, fixed6(*x)))
            .collect()
    };
    vec![
        ("user_factors.txt", factors_text(&world.theta, world.dim)),
        ("item_factors.txt", factors_text(&world.phi, world.dim)),
        ("item_quality.txt", per_item(&world.quality)),
        ("item_visibility.txt", per_item(&world.visibility)),
    ]
}

/// `k` and the HR@k / NDCG@k of one reference ranking on one test set.
#[derive(Debug, Clone, PartialEq)]
pub struct RankScore {
    /// Ranking name, as in the manifest.
    pub name: String,
    /// Test file the figures are on.
    pub test: String,
    /// HR@10 (fraction of users with a test item).
    pub hr: f64,
    /// NDCG@10.
    pub ndcg: f64,
}
