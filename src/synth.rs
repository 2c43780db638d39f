//! The confounded synthetic data generator behind `sample_data/` (METHOD.md §8).
//!
//! Real logs carry no ground truth for "unbiased preference", so this module draws one: a true
//! preference `pref(u,i) = θ_u·φ_i + q_i`, user **habit types** (the confounder `H`: browsers,
//! decisive buyers, carters) and **item types** (the confounder `G`: clickbait, classics,
//! regular items) that shift exposure and conversion rates *independently of preference*, plus a
//! per-item visibility (promotion, placement) that drives popularity without being preferred.
//! The behaviors follow the funnel view → cart → buy. Two test sets are written:
//!
//! - `test.txt`, **observational**: one held-out purchase per user, drawn from the same
//!   confounded process as the training purchases;
//! - `test_do.txt`, **interventional**: one purchase per user among the items the user viewed
//!   (the mediators of METHOD.md §1 as observed), drawn with the confounders' direct effects on
//!   the purchase set to their population mix, as an experiment that randomises them would.
//!
//! A debiased (`do`) ranking should beat the biased (`raw`) one on `test_do.txt`; the summary and
//! `truth/README.md` report how an oracle deconfounded ranking, an oracle confounded ranking and
//! plain buy popularity fare on both sets (HR@10), which is the scale against which models are
//! judged.
//!
//! Everything is drawn from seeded [`rand::rngs::StdRng`] streams and written in sorted order, so
//! the same seed and config give byte-identical files.
//!
//! Two more generators share the hidden world: [`routing`] (users whose purchases follow their
//! carts, their repeat views or popularity: ground truth for per-user routing) and [`exposure`]
//! (confounding on the purchase itself, purchases outside views, a confounder-strength knob).

pub mod events;
pub mod exposure;
mod model;
mod oracle;
pub mod routing;
mod shared;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_generators;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use exposure::{generate_exposure, ExposureConfig, ExposureSummary};
pub use oracle::Calibration;
pub use routing::{generate_routing, oracle_type_rule, RoutingConfig, RoutingSummary, Signal};
pub use shared::RankScore;

/// One user habit type (a value of the confounder `H`): how much a user of this type browses
/// and how readily they convert, whatever they prefer.
#[derive(Debug, Clone, PartialEq)]
pub struct HabitType {
    /// Name written to `truth/user_habit.txt` (no whitespace).
    pub name: String,
    /// Share of the user population (shares are normalised over all habit types).
    pub share: f64,
    /// Mean number of viewed items (Poisson), before the floor [`SynthConfig::min_views`].
    pub mean_views: f64,
    /// Added to the cart logit of every viewed item.
    pub cart_bias: f64,
    /// Added to the buy logit of every viewed item.
    pub buy_bias: f64,
    /// How strongly this habit reacts to item types: multiplies the item type's view and buy
    /// biases (1 = as specified, 0 = blind to item types). A habit × item-type interaction, so
    /// that the user-side confounder also changes *which* items a user ends up buying.
    pub type_gain: f64,
}

/// One item type (a value of the confounder `G`): how exposed items of this type are and how
/// well they convert, whatever users think of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemKind {
    /// Name written to `truth/item_type.txt` (no whitespace).
    pub name: String,
    /// Share of the catalog (shares are normalised over all item types).
    pub share: f64,
    /// Added to the exposure (view) score.
    pub view_bias: f64,
    /// Added to the cart logit.
    pub cart_bias: f64,
    /// Added to the buy logit.
    pub buy_bias: f64,
}

/// Every knob of the generator; [`Default`] gives the shipped `sample_data/` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of users (at least 10).
    pub users: usize,
    /// Number of items (at least 10).
    pub items: usize,
    /// Dimension `k` of the true preference factors; each coordinate is `N(0, 1/√k)` (variance),
    /// so `θ_u·φ_i` has unit variance.
    pub dim: usize,
    /// Standard deviation of the per-item intrinsic quality `q_i` (drawn independently of type).
    pub quality_std: f64,
    /// Standard deviation of the per-item visibility `v_i`, an exposure boost drawn
    /// independently of preference and type (promotion, placement): it confounds through the
    /// item's popularity, which METHOD.md §1 counts in the item confounder `g_i`.
    pub visibility_std: f64,
    /// User habit types and their population mix.
    pub habits: Vec<HabitType>,
    /// Item types and their catalog mix.
    pub kinds: Vec<ItemKind>,
    /// Preference weight `a` in the exposure score `a·pref + view_bias`.
    pub view_pref: f64,
    /// Preference weight `b` in the cart logit.
    pub cart_pref: f64,
    /// Preference weight `c` in the buy logit.
    pub buy_pref: f64,
    /// Intercept of the cart logit.
    pub cart_base: f64,
    /// Intercept of the buy logit.
    pub buy_base: f64,
    /// Added to the buy logit when the item was carted.
    pub cart_bonus: f64,
    /// Floor on the number of viewed items per user.
    pub min_views: usize,
    /// Training purchases every user keeps after the valid and test purchases are held out
    /// (missing ones are topped up with the user's most probable purchases).
    pub min_train_buys: usize,
    /// Sharpness `s` of the interventional draw `P(i) ∝ σ(do-logit)^s` among viewed items.
    pub do_scale: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        let habit = |name: &str, share, mean_views, cart_bias, buy_bias, type_gain| HabitType {
            name: name.into(),
            share,
            mean_views,
            cart_bias,
            buy_bias,
            type_gain,
        };
        let kind = |name: &str, share, view_bias, cart_bias, buy_bias| ItemKind {
            name: name.into(),
            share,
            view_bias,
            cart_bias,
            buy_bias,
        };
        SynthConfig {
            users: 1000,
            items: 600,
            dim: 8,
            quality_std: 0.3,
            visibility_std: 1.5,
            habits: vec![
                habit("browser", 0.45, 80.0, -0.5, -1.0, 1.5),
                habit("decisive", 0.35, 30.0, -1.0, 1.0, 1.0),
                habit("carter", 0.20, 50.0, 1.5, -0.3, 1.0),
            ],
            kinds: vec![
                kind("clickbait", 0.25, 2.0, -0.5, -1.0),
                kind("classic", 0.20, -0.5, 0.5, 2.5),
                kind("regular", 0.55, 0.0, 0.0, 0.0),
            ],
            view_pref: 1.5,
            cart_pref: 1.0,
            buy_pref: 1.5,
            cart_base: -1.5,
            buy_base: -4.0,
            cart_bonus: 2.5,
            min_views: 3,
            min_train_buys: 2,
            do_scale: 2.0,
        }
    }
}

impl SynthConfig {
    /// Checks the config, with a fix for every problem.
    pub fn validate(&self) -> Result<()> {
        if self.users < 10 {
            return Err(Error::bad_arg(
                "too few users for a synthetic dataset",
                self.users.to_string(),
                "use --users 10 or more",
            ));
        }
        // Each user needs its training, valid and test purchases plus room for an
        // interventional item outside the training purchases.
        let min_items = (self.min_train_buys + 3).max(10);
        if self.items < min_items {
            return Err(Error::bad_arg(
                "too few items for a synthetic dataset",
                self.items.to_string(),
                format!("use --items {min_items} or more"),
            ));
        }
        if self.dim == 0 {
            return Err(Error::bad_arg(
                "preference dimension must be positive",
                "0",
                "set dim to 1 or more (default 8)",
            ));
        }
        if self.min_views == 0 {
            return Err(Error::bad_arg(
                "min_views must be positive",
                "0",
                "set min_views to 1 or more (default 3)",
            ));
        }
        let reals = [
            ("quality_std", self.quality_std),
            ("visibility_std", self.visibility_std),
            ("view_pref", self.view_pref),
            ("cart_pref", self.cart_pref),
            ("buy_pref", self.buy_pref),
            ("cart_base", self.cart_base),
            ("buy_base", self.buy_base),
            ("cart_bonus", self.cart_bonus),
            ("do_scale", self.do_scale),
        ];
        for (name, v) in reals {
            check_finite(name, v)?;
        }
        for (name, sd) in [
            ("quality_std", self.quality_std),
            ("visibility_std", self.visibility_std),
        ] {
            if sd < 0.0 {
                return Err(Error::bad_arg(
                    format!("{name} must not be negative"),
                    sd.to_string(),
                    "use 0 (no such term) or a positive standard deviation",
                ));
            }
        }
        check_mix(
            "habit",
            self.habits.iter().map(|h| (h.name.as_str(), h.share)),
        )?;
        check_mix(
            "item type",
            self.kinds.iter().map(|k| (k.name.as_str(), k.share)),
        )?;
        for h in &self.habits {
            for (what, v) in [
                ("mean_views", h.mean_views),
                ("cart_bias", h.cart_bias),
                ("buy_bias", h.buy_bias),
                ("type_gain", h.type_gain),
            ] {
                check_finite(&format!("habit {} {what}", h.name), v)?;
            }
            if !(h.mean_views > 0.0 && h.mean_views <= 1e6) {
                return Err(Error::bad_arg(
                    format!("habit {} has an unusable mean_views", h.name),
                    h.mean_views.to_string(),
                    "use a mean number of views between 0 (exclusive) and 1e6",
                ));
            }
        }
        for k in &self.kinds {
            for (what, v) in [
                ("view_bias", k.view_bias),
                ("cart_bias", k.cart_bias),
                ("buy_bias", k.buy_bias),
            ] {
                check_finite(&format!("item type {} {what}", k.name), v)?;
            }
        }
        Ok(())
    }
}

fn check_finite(name: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::bad_arg(
            format!("{name} must be a finite number"),
            v.to_string(),
            format!("set {name} to a finite value"),
        ))
    }
}

/// Checks a population mix: non-empty, distinct whitespace-free names, shares ≥ 0 summing > 0.
fn check_mix<'a>(what: &str, mix: impl Iterator<Item = (&'a str, f64)>) -> Result<()> {
    let mix: Vec<(&str, f64)> = mix.collect();
    if mix.is_empty() {
        return Err(Error::bad_arg(
            format!("no {what} types configured"),
            "[]",
            format!("give at least one {what} type"),
        ));
    }
    for (n, (name, share)) in mix.iter().enumerate() {
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(Error::bad_arg(
                format!("{what} type names must be non-empty and without whitespace"),
                *name,
                "rename the type, e.g. `heavy_browser`",
            ));
        }
        if mix[..n].iter().any(|(m, _)| m == name) {
            return Err(Error::bad_arg(
                format!("duplicate {what} type name"),
                *name,
                "give every type its own name",
            ));
        }
        if !(share.is_finite() && *share >= 0.0) {
            return Err(Error::bad_arg(
                format!("{what} type {name} has an unusable share"),
                share.to_string(),
                "shares must be finite and not negative",
            ));
        }
    }
    if mix.iter().map(|(_, s)| s).sum::<f64>() <= 0.0 {
        return Err(Error::bad_arg(
            format!("{what} shares sum to zero"),
            "0",
            "give at least one type a positive share",
        ));
    }
    Ok(())
}

/// What [`generate`] wrote, printed by `mclmr synth`.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    /// Output directory.
    pub out: PathBuf,
    /// Seed used.
    pub seed: u64,
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// `view.txt` pairs.
    pub views: usize,
    /// `cart.txt` pairs.
    pub carts: usize,
    /// `buy.txt` pairs (training purchases).
    pub buys: usize,
    /// `valid.txt` pairs (one per user).
    pub valid: usize,
    /// `test.txt` pairs (one per user).
    pub test: usize,
    /// `test_do.txt` pairs (one per user).
    pub test_do: usize,
    /// Purchases added by the top-up that guarantees every user enough purchases.
    pub topped_up_buys: usize,
    /// Views added so that every item appears in at least one behavior.
    pub coverage_views: usize,
    /// Users per habit type, in config order.
    pub habit_counts: Vec<(String, usize)>,
    /// Items per item type, in config order.
    pub kind_counts: Vec<(String, usize)>,
    /// Oracle and popularity HR@10 on both test sets.
    pub calibration: Calibration,
}

impl fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mix = |v: &[(String, usize)]| {
            v.iter()
                .map(|(n, c)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let c = &self.calibration;
        write!(
            f,
            "wrote a confounded synthetic dataset to {} (seed {}): {} users ({}), {} items ({}); \
             {} views, {} carts, {} training buys ({} topped up), {} valid / {} test / {} \
             interventional test pairs; {} views added so that every item occurs. HR@10 on \
             test.txt | test_do.txt: deconfounded oracle {:.3} | {:.3}, confounded oracle {:.3} \
             | {:.3}, buy popularity {:.3} | {:.3}. Ground truth and the generative process are \
             in truth/README.md.",
            self.out.display(),
            self.seed,
            self.users,
            mix(&self.habit_counts),
            self.items,
            mix(&self.kind_counts),
            self.views,
            self.carts,
            self.buys,
            self.topped_up_buys,
            self.valid,
            self.test,
            self.test_do,
            self.coverage_views,
            c.pref_test,
            c.pref_do,
            c.raw_test,
            c.raw_do,
            c.pop_test,
            c.pop_do,
        )
    }
}

/// Generates the dataset of `cfg` with `seed` and writes it into `out` (created if missing;
/// files inside are replaced atomically). The same seed and config give byte-identical files.
pub fn generate(out: &Path, seed: u64, cfg: &SynthConfig) -> Result<SynthSummary> {
    cfg.validate()?;
    let world = model::World::draw(seed, cfg);
    let logs = model::Logs::simulate(seed, cfg, &world);
    let calibration = oracle::calibrate(cfg, &world, &logs, 10);
    let count = |n: usize, of: &[usize]| of.iter().filter(|&&t| t == n).count();
    let summary = SynthSummary {
        out: out.to_path_buf(),
        seed,
        users: cfg.users,
        items: cfg.items,
        views: logs.view.len(),
        carts: logs.cart.len(),
        buys: logs.buy.len(),
        valid: logs.valid.len(),
        test: logs.test.len(),
        test_do: logs.test_do.len(),
        topped_up_buys: logs.topped_up,
        coverage_views: logs.coverage_views,
        habit_counts: (cfg.habits.iter().enumerate())
            .map(|(n, h)| (h.name.clone(), count(n, &world.habit)))
            .collect(),
        kind_counts: (cfg.kinds.iter().enumerate())
            .map(|(n, k)| (k.name.clone(), count(n, &world.kind)))
            .collect(),
        calibration,
    };
    write::write_all(out, seed, cfg, &world, &logs, &summary)?;
    Ok(summary)
}
