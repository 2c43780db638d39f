//! The routing scenario (`mclmr synth --generator routing`): ground truth for per-user routing
//! (METHOD.md §3, §9 "routing weights differ between users whose purchases follow different
//! behaviors").
//!
//! Every user has one of three **signal types**, which decides which auxiliary behavior reveals
//! the items they go on to buy (their *wanted* items):
//!
//! - `cart`: wanted items are chosen among the viewed items and carted with probability
//!   `cart_signal`, other viewed items with `cart_noise`; repeat views carry no signal;
//! - `repeat`: wanted items are chosen among the viewed items and viewed `1 + Poisson(repeat_signal)`
//!   times, other viewed items `1 + Poisson(repeat_noise)` times; carts carry no signal;
//! - `popular`: wanted items are drawn from the whole catalog by `popular_weight·v_i + buy_pref·pref`
//!   (visibility `v_i`, what makes items popular), irrespective of the history.
//!
//! The behavior that carries no signal for a type has the same expected volume as for the type
//! it does signal (same cart rate, same mean repeat count per user), so behavior shares alone do
//! not give the type away: only *which* items are carted or re-viewed does.
//! `truth/user_types.txt` gives each user's type; the rule told the true types
//! ([`oracle_type_rule`]) is scored in `truth/README.md` and `truth/manifest.json` and its top 10
//! written to `truth/oracle_top10.txt`.

mod rank;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::model::{gumbel, stream, World};
use super::shared::{cover, poisson, world, Base, RankScore};
use crate::error::{Error, Result};

pub use rank::{oracle_type_rule, RANKINGS};

/// Stream tags of the routing stages (apart from `synth`'s).
const BEHAVIORS: u64 = 21;
const SPLITS: u64 = 22;

/// Which auxiliary behavior reveals what a user buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Buys what they carted.
    Cart,
    /// Buys what they viewed repeatedly.
    Repeat,
    /// Buys popular, preferred items irrespective of their history.
    Popular,
}

impl Signal {
    /// The three types, in the order of [`RoutingConfig::shares`].
    pub const ALL: [Signal; 3] = [Signal::Cart, Signal::Repeat, Signal::Popular];

    /// The name written to `truth/user_types.txt`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Cart => "cart",
            Signal::Repeat => "repeat",
            Signal::Popular => "popular",
        }
    }
}

/// Every knob of the routing scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingConfig {
    /// Number of users (at least 10).
    pub users: usize,
    /// Number of items (at least 50).
    pub items: usize,
    /// Dimension of the true preference factors (as in `synth`).
    pub dim: usize,
    /// Standard deviation of the intrinsic item quality (part of the preference).
    pub quality_std: f64,
    /// Standard deviation of the item visibility `v_i` (exposure and popularity).
    pub visibility_std: f64,
    /// Population shares of the `cart`, `repeat` and `popular` types.
    pub shares: [f64; 3],
    /// Mean number of distinct viewed items per user (Poisson).
    pub mean_views: f64,
    /// Floor on the number of distinct viewed items.
    pub min_views: usize,
    /// Preference weight in the exposure score `view_pref·pref + v_i`.
    pub view_pref: f64,
    /// Mean number of purchases beyond the 4 every user makes (2 training, valid, test).
    pub mean_extra_buys: f64,
    /// Preference weight when a user picks the items they want.
    pub buy_pref: f64,
    /// Visibility weight of the `popular` type's choice.
    pub popular_weight: f64,
    /// Cart probability of a wanted item for the `cart` type.
    pub cart_signal: f64,
    /// Cart probability of any other viewed item for the `cart` type.
    pub cart_noise: f64,
    /// Mean extra views of a wanted item for the `repeat` type.
    pub repeat_signal: f64,
    /// Mean extra views of any other viewed item for the `repeat` type.
    pub repeat_noise: f64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            users: 2500,
            items: 1200,
            dim: 8,
            quality_std: 0.3,
            visibility_std: 1.0,
            shares: [1.0, 1.0, 1.0],
            mean_views: 40.0,
            min_views: 12,
            view_pref: 1.0,
            mean_extra_buys: 3.0,
            buy_pref: 1.5,
            popular_weight: 2.0,
            cart_signal: 0.8,
            cart_noise: 0.12,
            repeat_signal: 3.0,
            repeat_noise: 0.4,
        }
    }
}

/// Purchases every user makes at least: 2 for training, one valid, one test.
const MIN_BUYS: usize = 4;

impl RoutingConfig {
    /// Checks the config, with a fix for every problem.
    pub fn validate(&self) -> Result<()> {
        if self.users < 10 {
            return Err(Error::bad_arg(
                "too few users for the routing scenario",
                self.users.to_string(),
                "use --users 10 or more",
            ));
        }
        if self.items < 50 {
            return Err(Error::bad_arg(
                "too few items for the routing scenario",
                self.items.to_string(),
                "use --items 50 or more",
            ));
        }
        if self.dim == 0 || self.min_views < 2 * MIN_BUYS || self.min_views > self.items / 2 {
            return Err(Error::bad_arg(
                "routing dim must be positive and min_views between 8 and half the items",
                format!("dim {}, min_views {}", self.dim, self.min_views),
                "keep the defaults (dim 8, min_views 12) or use more items",
            ));
        }
        let reals = [
            ("quality_std", self.quality_std),
            ("visibility_std", self.visibility_std),
            ("mean_views", self.mean_views),
            ("mean_extra_buys", self.mean_extra_buys),
            ("repeat_signal", self.repeat_signal),
            ("repeat_noise", self.repeat_noise),
        ];
        for (name, v) in reals {
            if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                return Err(Error::bad_arg(
                    format!("routing {name} must be a number between 0 and 1e6"),
                    v.to_string(),
                    format!("set {name} to 0 or more (the density flag scales mean_views and mean_extra_buys)"),
                ));
            }
        }
        for (name, v) in [
            ("view_pref", self.view_pref),
            ("buy_pref", self.buy_pref),
            ("popular_weight", self.popular_weight),
        ] {
            if !v.is_finite() {
                return Err(Error::bad_arg(
                    format!("routing {name} must be finite"),
                    v.to_string(),
                    format!("set {name} to a finite value"),
                ));
            }
        }
        for (name, p) in [
            ("cart_signal", self.cart_signal),
            ("cart_noise", self.cart_noise),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::bad_arg(
                    format!("routing {name} is a probability"),
                    p.to_string(),
                    format!("set {name} between 0 and 1"),
                ));
            }
        }
        let ok = self.shares.iter().all(|s| s.is_finite() && *s >= 0.0);
        if !ok || self.shares.iter().sum::<f64>() <= 0.0 {
            return Err(Error::bad_arg(
                "routing type shares must be non-negative with a positive sum",
                format!("{:?}", self.shares),
                "give e.g. shares [1, 1, 1] (cart, repeat, popular)",
            ));
        }
        Ok(())
    }
}

/// The generated routing data: 0-based pairs, sorted; `view` repeats a pair once per view.
#[derive(Debug, Clone)]
pub(super) struct RoutingData {
    pub world: World,
    pub view: Vec<(u32, u32)>,
    pub cart: Vec<(u32, u32)>,
    pub buy: Vec<(u32, u32)>,
    pub valid: Vec<(u32, u32)>,
    pub test: Vec<(u32, u32)>,
    pub coverage_views: usize,
}

impl RoutingData {
    /// The signal type of user `u`.
    pub fn signal(&self, u: usize) -> Signal {
        Signal::ALL[self.world.habit[u]]
    }
}

/// Picks the `n` items of `from` with the largest `score + Gumbel` (a Plackett–Luce draw).
fn pick(
    from: &[usize],
    n: usize,
    score: impl Fn(usize) -> f64,
    rng: &mut rand::rngs::StdRng,
) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize)> = from.iter().map(|&i| (score(i) + gumbel(rng), i)).collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().take(n).map(|(_, i)| i).collect()
}

/// Simulates the scenario (a pure function of `seed` and `cfg`).
pub(super) fn simulate(seed: u64, cfg: &RoutingConfig) -> RoutingData {
    let base = Base {
        users: cfg.users,
        items: cfg.items,
        dim: cfg.dim,
        quality_std: cfg.quality_std,
        visibility_std: cfg.visibility_std,
    };
    let world = world(seed, base, &cfg.shares, &[1.0]);
    let mut rng = stream(seed, BEHAVIORS);
    let mut split_rng = stream(seed, SPLITS);
    let all: Vec<usize> = (0..cfg.items).collect();
    let (mut view, mut cart, mut buy) = (Vec::new(), Vec::new(), Vec::new());
    let (mut valid, mut test) = (Vec::new(), Vec::new());
    let mut prefs = vec![0.0; cfg.items];
    for u in 0..cfg.users {
        for (i, p) in prefs.iter_mut().enumerate() {
            *p = world.pref(u, i);
        }
        let signal = Signal::ALL[world.habit[u]];
        let n_views = poisson(&mut rng, cfg.mean_views).clamp(cfg.min_views, cfg.items);
        let viewed = pick(
            &all,
            n_views,
            |i| cfg.view_pref * prefs[i] + world.visibility[i],
            &mut rng,
        );
        let n_want = (MIN_BUYS + poisson(&mut rng, cfg.mean_extra_buys)).min(n_views / 2);
        let mut wanted = match signal {
            Signal::Cart | Signal::Repeat => {
                pick(&viewed, n_want, |i| cfg.buy_pref * prefs[i], &mut rng)
            }
            Signal::Popular => pick(
                &all,
                n_want,
                |i| cfg.popular_weight * world.visibility[i] + cfg.buy_pref * prefs[i],
                &mut rng,
            ),
        };
        wanted.sort_unstable();
        // The behavior without signal keeps the volume it has where it signals.
        let m = n_want as f64;
        let rest = n_views as f64 - m;
        let cart_rate = (m * cfg.cart_signal + rest * cfg.cart_noise) / n_views as f64;
        let repeat_rate = (m * cfg.repeat_signal + rest * cfg.repeat_noise) / n_views as f64;
        let uu = u as u32;
        for &i in &viewed {
            let is_wanted = wanted.binary_search(&i).is_ok();
            let p_cart = match (signal, is_wanted) {
                (Signal::Cart, true) => cfg.cart_signal,
                (Signal::Cart, false) => cfg.cart_noise,
                _ => cart_rate,
            };
            let extra = match (signal, is_wanted) {
                (Signal::Repeat, true) => cfg.repeat_signal,
                (Signal::Repeat, false) => cfg.repeat_noise,
                _ => repeat_rate,
            };
            if rng.random::<f64>() < p_cart {
                cart.push((uu, i as u32));
            }
            let times = 1 + poisson(&mut rng, extra);
            view.extend(std::iter::repeat_n((uu, i as u32), times));
        }
        let t = wanted.remove(split_rng.random_range(0..wanted.len()));
        let va = wanted.remove(split_rng.random_range(0..wanted.len()));
        test.push((uu, t as u32));
        valid.push((uu, va as u32));
        buy.extend(wanted.iter().map(|&i| (uu, i as u32)));
    }
    let coverage_views = cover(&world, &mut view, &[&cart, &buy]);
    for list in [&mut view, &mut cart, &mut buy] {
        list.sort_unstable();
    }
    cart.dedup();
    buy.dedup();
    RoutingData {
        world,
        view,
        cart,
        buy,
        valid,
        test,
        coverage_views,
    }
}

/// What [`generate_routing`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSummary {
    /// Output directory.
    pub out: PathBuf,
    /// Seed used.
    pub seed: u64,
    /// Users of each signal type (`cart`, `repeat`, `popular`).
    pub type_counts: [usize; 3],
    /// View lines (repeats included), distinct viewed pairs, carts, training buys.
    pub sizes: [usize; 4],
    /// Views added so that every item occurs.
    pub coverage_views: usize,
    /// The reference rankings on `test.txt`: all users first, then per type.
    pub scores: Vec<Vec<RankScore>>,
}

impl fmt::Display for RoutingSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, r, p] = self.type_counts;
        let [lines, views, carts, buys] = self.sizes;
        write!(
            f,
            "wrote the routing scenario to {} (seed {}): {c} cart, {r} repeat, {p} popular users; \
             {lines} view lines ({views} distinct pairs), {carts} carts, {buys} training buys; \
             {} views added so that every item occurs. HR@10 / NDCG@10 on test.txt:",
            self.out.display(),
            self.seed,
            self.coverage_views
        )?;
        for s in &self.scores[0] {
            write!(f, " {} {:.4} / {:.4};", s.name, s.hr, s.ndcg)?;
        }
        write!(f, " ground truth in truth/README.md.")
    }
}

/// Generates the routing scenario into `out`; the same seed and config give the same bytes.
pub fn generate_routing(out: &Path, seed: u64, cfg: &RoutingConfig) -> Result<RoutingSummary> {
    cfg.validate()?;
    let data = simulate(seed, cfg);
    let (scores, tops) = rank::calibrate(&data);
    let mut type_counts = [0; 3];
    data.world.habit.iter().for_each(|&t| type_counts[t] += 1);
    let mut distinct = data.view.clone();
    distinct.dedup();
    let summary = RoutingSummary {
        out: out.to_path_buf(),
        seed,
        type_counts,
        sizes: [
            data.view.len(),
            distinct.len(),
            data.cart.len(),
            data.buy.len(),
        ],
        coverage_views: data.coverage_views,
        scores,
    };
    write::write_all(out, seed, cfg, &data, &tops, &summary)?;
    Ok(summary)
}
