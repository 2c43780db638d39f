//! The exposure generator (`mclmr synth --generator exposure`): a confounded generator whose
//! mechanism differs from `synth`'s, so that a claim about `do` vs `raw` is not a claim about
//! one simulator (METHOD.md §9).
//!
//! `synth` confounds the *conversion of views* and only lets users buy what they viewed. Here
//! the confounders act on the **purchase itself** and a purchase may be any catalog item:
//!
//! - user habits `H` (bargain hunters, premium buyers, casual users) and item types `G`
//!   (discount, premium, regular items) add `γ·c(h,g)` to the purchase score, with
//!   `c(h,g) = affinity[h][g] + buy_bias[g]`, independently of preference; `γ` is the
//!   confounder strength (`--confounding`, 0 = none). The same effect, scaled by
//!   `view_confounding`, shifts exposure, and habits also differ in how much they view, cart
//!   and buy, so the confounders leave footprints in the training data;
//! - each user's purchases are one Plackett–Luce sequence over **all** items with score
//!   `buy_pref·pref + history_boost·viewed + cart_boost·carted + γ·c(h,g)`: the first ones are
//!   the training purchases, the next one `valid.txt`, the one after `test.txt` (the user's
//!   next purchase);
//! - `test_do.txt` is the next purchase under `do(H, G)`: one draw from the same remainder (all
//!   items but the training and valid purchases) with `γ·c(h,g)` replaced by its population
//!   mean `γ·Σ P(h)P(g)c(h,g)`, a constant that cancels in the draw. Views and carts, the
//!   mediators, stay as observed. With `γ = 0` the two test draws have the same distribution.
//!
//! Ground truth (types, preference factors) goes to `truth/` as in `synth`, with the oracle
//! rankings' HR@10 / NDCG@10 in `truth/README.md` and `truth/manifest.json`.

mod rank;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::model::{draw_softmax, gumbel, sigmoid, stream, World};
use super::shared::{cover, poisson, world, Base, RankScore};
use crate::error::{Error, Result};

pub use rank::Exposure;

/// Stream tags of the exposure stages (apart from `synth`'s and the routing scenario's).
const BEHAVIORS: u64 = 31;
const PURCHASES: u64 = 32;
const INTERVENTION: u64 = 33;

/// A user habit type of the exposure generator.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureHabit {
    /// Name written to `truth/user_habit.txt`.
    pub name: String,
    /// Population share.
    pub share: f64,
    /// Mean number of viewed items (Poisson, times the density).
    pub mean_views: f64,
    /// Mean number of training purchases beyond `min_train_buys` (Poisson, times the density).
    pub mean_buys: f64,
    /// Added to the cart logit of every viewed item.
    pub cart_bias: f64,
    /// `affinity[g]`: the habit × item-type effect on purchase (and, scaled, on exposure).
    pub affinity: Vec<f64>,
}

/// An item type of the exposure generator.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureKind {
    /// Name written to `truth/item_type.txt`.
    pub name: String,
    /// Catalog share.
    pub share: f64,
    /// The item type's own effect on purchase (times the confounder strength).
    pub buy_bias: f64,
}

/// Every knob of the exposure generator.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureConfig {
    /// Number of users (at least 10).
    pub users: usize,
    /// Number of items (at least 20).
    pub items: usize,
    /// Dimension of the true preference factors.
    pub dim: usize,
    /// Standard deviation of the intrinsic item quality (part of the preference).
    pub quality_std: f64,
    /// Standard deviation of the item visibility (exposure only).
    pub visibility_std: f64,
    /// Confounder strength `γ` (0 = no confounding).
    pub confounding: f64,
    /// Share of `γ·c(h,g)` that also enters the exposure score.
    pub view_confounding: f64,
    /// Added to the purchase score of a viewed item (0 = the history does not matter).
    pub history_boost: f64,
    /// Added to the purchase score of a carted item.
    pub cart_boost: f64,
    /// Multiplies every habit's mean views and mean purchases.
    pub density: f64,
    /// Preference weight in the exposure score `view_pref·pref + v_i + …`.
    pub view_pref: f64,
    /// Preference weight in the purchase score.
    pub buy_pref: f64,
    /// Intercept of the cart logit.
    pub cart_base: f64,
    /// Preference weight in the cart logit.
    pub cart_pref: f64,
    /// Floor on the number of viewed items.
    pub min_views: usize,
    /// Training purchases every user makes at least.
    pub min_train_buys: usize,
    /// User habits.
    pub habits: Vec<ExposureHabit>,
    /// Item types.
    pub kinds: Vec<ExposureKind>,
}

impl Default for ExposureConfig {
    fn default() -> Self {
        let habit = |name: &str, share, mean_views, mean_buys, cart_bias, affinity: [f64; 3]| {
            ExposureHabit {
                name: name.into(),
                share,
                mean_views,
                mean_buys,
                cart_bias,
                affinity: affinity.to_vec(),
            }
        };
        let kind = |name: &str, share, buy_bias| ExposureKind {
            name: name.into(),
            share,
            buy_bias,
        };
        ExposureConfig {
            users: 2500,
            items: 1200,
            dim: 8,
            quality_std: 0.3,
            visibility_std: 1.0,
            confounding: 1.0,
            view_confounding: 0.5,
            history_boost: 1.5,
            cart_boost: 1.0,
            density: 1.0,
            view_pref: 1.0,
            buy_pref: 1.5,
            cart_base: -1.5,
            cart_pref: 1.0,
            min_views: 3,
            min_train_buys: 2,
            habits: vec![
                habit("bargain", 0.4, 60.0, 4.0, 0.5, [2.0, -2.0, 0.0]),
                habit("premium", 0.3, 25.0, 3.0, -0.5, [-2.0, 2.0, 0.0]),
                habit("casual", 0.3, 40.0, 2.0, 0.0, [0.0, 0.0, 0.0]),
            ],
            kinds: vec![
                kind("discount", 0.3, 1.0),
                kind("premium", 0.2, -1.0),
                kind("regular", 0.5, 0.0),
            ],
        }
    }
}

impl ExposureConfig {
    /// Checks the config, with a fix for every problem.
    pub fn validate(&self) -> Result<()> {
        let min_items = (self.min_train_buys + 3).max(20);
        if self.users < 10 || self.items < min_items || self.dim == 0 || self.min_views == 0 {
            return Err(Error::bad_arg(
                "the exposure generator needs at least 10 users, 20 items, dim ≥ 1 and min_views ≥ 1",
                format!(
                    "users {}, items {}, dim {}, min_views {}",
                    self.users, self.items, self.dim, self.min_views
                ),
                format!("use --users 10 or more and --items {min_items} or more"),
            ));
        }
        let reals = [
            ("confounding", self.confounding),
            ("view_confounding", self.view_confounding),
            ("history_boost", self.history_boost),
            ("cart_boost", self.cart_boost),
            ("view_pref", self.view_pref),
            ("buy_pref", self.buy_pref),
            ("cart_base", self.cart_base),
            ("cart_pref", self.cart_pref),
        ];
        for (name, v) in reals {
            if !v.is_finite() || v.abs() > 1e3 {
                return Err(Error::bad_arg(
                    format!("exposure {name} must be a finite number of at most 1e3 in size"),
                    v.to_string(),
                    format!(
                        "set {name} to a value such as the default {}",
                        default_of(name)
                    ),
                ));
            }
        }
        let spreads = [
            ("density", self.density),
            ("quality_std", self.quality_std),
            ("visibility_std", self.visibility_std),
        ];
        for (name, v) in spreads {
            if !(v.is_finite() && (0.0..=1e3).contains(&v)) {
                return Err(Error::bad_arg(
                    format!("exposure {name} must be between 0 and 1e3"),
                    v.to_string(),
                    format!("set {name} to 0 or more (default {})", default_of(name)),
                ));
            }
        }
        super::check_mix(
            "habit",
            self.habits.iter().map(|h| (h.name.as_str(), h.share)),
        )?;
        super::check_mix(
            "item type",
            self.kinds.iter().map(|k| (k.name.as_str(), k.share)),
        )?;
        for h in &self.habits {
            let finite = [h.mean_views, h.mean_buys, h.cart_bias]
                .iter()
                .chain(&h.affinity)
                .all(|v| v.is_finite());
            if !finite
                || h.mean_views < 0.0
                || h.mean_buys < 0.0
                || h.affinity.len() != self.kinds.len()
            {
                return Err(Error::bad_arg(
                    format!(
                        "habit {} needs finite non-negative means and one affinity per item type",
                        h.name
                    ),
                    format!("{h:?}"),
                    format!(
                        "give {} affinities and mean_views, mean_buys ≥ 0",
                        self.kinds.len()
                    ),
                ));
            }
        }
        if let Some(k) = self.kinds.iter().find(|k| !k.buy_bias.is_finite()) {
            return Err(Error::bad_arg(
                format!("item type {} has a non-finite buy_bias", k.name),
                k.buy_bias.to_string(),
                "set buy_bias to a finite value",
            ));
        }
        Ok(())
    }

    /// The confounder effect `c(h,g) = affinity[h][g] + buy_bias[g]` (before `γ`).
    pub fn effect(&self, habit: usize, kind: usize) -> f64 {
        self.habits[habit].affinity[kind] + self.kinds[kind].buy_bias
    }
}

/// The default of a real knob, for error messages.
fn default_of(name: &str) -> f64 {
    let d = ExposureConfig::default();
    match name {
        "confounding" => d.confounding,
        "view_confounding" => d.view_confounding,
        "history_boost" => d.history_boost,
        "cart_boost" => d.cart_boost,
        "view_pref" => d.view_pref,
        "buy_pref" => d.buy_pref,
        "cart_base" => d.cart_base,
        "cart_pref" => d.cart_pref,
        "density" => d.density,
        "quality_std" => d.quality_std,
        _ => d.visibility_std,
    }
}

/// The generated data: 0-based pairs, sorted and duplicate-free.
#[derive(Debug, Clone)]
pub(super) struct ExposureData {
    pub world: World,
    pub view: Vec<(u32, u32)>,
    pub cart: Vec<(u32, u32)>,
    pub buy: Vec<(u32, u32)>,
    pub valid: Vec<(u32, u32)>,
    pub test: Vec<(u32, u32)>,
    pub test_do: Vec<(u32, u32)>,
    pub coverage_views: usize,
}

/// Simulates the generator (a pure function of `seed` and `cfg`).
pub(super) fn simulate(seed: u64, cfg: &ExposureConfig) -> ExposureData {
    let base = Base {
        users: cfg.users,
        items: cfg.items,
        dim: cfg.dim,
        quality_std: cfg.quality_std,
        visibility_std: cfg.visibility_std,
    };
    let user_shares: Vec<f64> = cfg.habits.iter().map(|h| h.share).collect();
    let item_shares: Vec<f64> = cfg.kinds.iter().map(|k| k.share).collect();
    let world = world(seed, base, &user_shares, &item_shares);
    let mut rng = stream(seed, BEHAVIORS);
    let mut buy_rng = stream(seed, PURCHASES);
    let mut do_rng = stream(seed, INTERVENTION);
    let n_items = cfg.items;
    let (mut view, mut cart, mut buy) = (Vec::new(), Vec::new(), Vec::new());
    let (mut valid, mut test, mut test_do) = (Vec::new(), Vec::new(), Vec::new());
    let mut prefs = vec![0.0; n_items];
    let mut viewed = vec![false; n_items];
    let mut carted = vec![false; n_items];
    for u in 0..cfg.users {
        let h = world.habit[u];
        let habit = &cfg.habits[h];
        for (i, p) in prefs.iter_mut().enumerate() {
            *p = world.pref(u, i);
        }
        let effect = |i: usize| cfg.confounding * cfg.effect(h, world.kind[i]);
        let mut keyed: Vec<(f64, usize)> = (0..n_items)
            .map(|i| {
                let s = cfg.view_pref * prefs[i]
                    + world.visibility[i]
                    + cfg.view_confounding * effect(i);
                (s + gumbel(&mut rng), i)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let n_views =
            poisson(&mut rng, cfg.density * habit.mean_views).clamp(cfg.min_views, n_items);
        viewed.fill(false);
        carted.fill(false);
        let uu = u as u32;
        for &(_, i) in &keyed[..n_views] {
            viewed[i] = true;
            view.push((uu, i as u32));
            if rng.random::<f64>()
                < sigmoid(cfg.cart_base + cfg.cart_pref * prefs[i] + habit.cart_bias)
            {
                carted[i] = true;
                cart.push((uu, i as u32));
            }
        }
        // Purchase scores without the confounder: what `do(H, G)` leaves.
        let do_score = |i: usize| {
            cfg.buy_pref * prefs[i]
                + if viewed[i] { cfg.history_boost } else { 0.0 }
                + if carted[i] { cfg.cart_boost } else { 0.0 }
        };
        let n_train = (cfg.min_train_buys + poisson(&mut buy_rng, cfg.density * habit.mean_buys))
            .min(n_items - 3);
        let mut seq: Vec<(f64, usize)> = (0..n_items)
            .map(|i| (do_score(i) + effect(i) + gumbel(&mut buy_rng), i))
            .collect();
        seq.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut bought: Vec<usize> = seq[..n_train + 1].iter().map(|&(_, i)| i).collect();
        let va = bought.pop().unwrap_or(0);
        valid.push((uu, va as u32));
        test.push((uu, seq[n_train + 1].1 as u32));
        bought.sort_unstable();
        let remainder: Vec<(usize, f64)> = (0..n_items)
            .filter(|&i| i != va && bought.binary_search(&i).is_err())
            .map(|i| (i, do_score(i)))
            .collect();
        if let Some(i) = draw_softmax(&remainder, &mut do_rng) {
            test_do.push((uu, i as u32));
        }
        buy.extend(bought.iter().map(|&i| (uu, i as u32)));
    }
    let coverage_views = cover(&world, &mut view, &[&cart, &buy]);
    for list in [&mut view, &mut cart, &mut buy] {
        list.sort_unstable();
        list.dedup();
    }
    ExposureData {
        world,
        view,
        cart,
        buy,
        valid,
        test,
        test_do,
        coverage_views,
    }
}

/// What [`generate_exposure`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureSummary {
    /// Output directory.
    pub out: PathBuf,
    /// Seed used.
    pub seed: u64,
    /// Confounder strength used.
    pub confounding: f64,
    /// Views, carts, training buys.
    pub sizes: [usize; 3],
    /// Views added so that every item occurs.
    pub coverage_views: usize,
    /// Users per habit, items per item type (config order).
    pub counts: (Vec<usize>, Vec<usize>),
    /// Measured footprints of the mechanism.
    pub exposure: Exposure,
    /// Oracle and popularity rankings on both test sets.
    pub scores: Vec<RankScore>,
}

impl fmt::Display for ExposureSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [views, carts, buys] = self.sizes;
        let e = &self.exposure;
        write!(
            f,
            "wrote the exposure generator's data to {} (seed {}, confounding {}): {} users, {} \
             items; {views} views, {carts} carts, {buys} training buys ({:.1}% of purchases \
             outside the buyer's views), {} views added so that every item occurs; mean \
             confounder effect c(h,g) of the test item {:.3} on test.txt vs {:.3} on \
             test_do.txt. HR@10 / NDCG@10:",
            self.out.display(),
            self.seed,
            self.confounding,
            self.counts.0.iter().sum::<usize>(),
            self.counts.1.iter().sum::<usize>(),
            100.0 * e.outside_views,
            self.coverage_views,
            e.effect_test,
            e.effect_do,
        )?;
        for s in &self.scores {
            write!(f, " {} on {} {:.4} / {:.4};", s.name, s.test, s.hr, s.ndcg)?;
        }
        write!(f, " ground truth in truth/README.md.")
    }
}

/// Generates the exposure data into `out`; the same seed and config give the same bytes.
pub fn generate_exposure(out: &Path, seed: u64, cfg: &ExposureConfig) -> Result<ExposureSummary> {
    cfg.validate()?;
    let data = simulate(seed, cfg);
    let (scores, exposure) = rank::calibrate(cfg, &data);
    let count = |n: usize, of: &[usize]| of.iter().filter(|&&t| t == n).count();
    let summary = ExposureSummary {
        out: out.to_path_buf(),
        seed,
        confounding: cfg.confounding,
        sizes: [data.view.len(), data.cart.len(), data.buy.len()],
        coverage_views: data.coverage_views,
        counts: (
            (0..cfg.habits.len())
                .map(|h| count(h, &data.world.habit))
                .collect(),
            (0..cfg.kinds.len())
                .map(|k| count(k, &data.world.kind))
                .collect(),
        ),
        exposure,
        scores,
    };
    write::write_all(out, seed, cfg, &data, &summary)?;
    Ok(summary)
}
