//! Writes a generated dataset in the pair-file layout (1-based ids, `user item` per line, sorted,
//! LF) plus its ground truth under `truth/`. Every file is written atomically
//! ([`crate::atomic`]), so a reader never sees a half-written file.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::model::{Logs, World};
use super::{SynthConfig, SynthSummary};
use crate::error::{Error, Result};

/// The dataset config written beside the pair files (the loader rejects unknown keys).
const DATASET_TOML: &str =
    "name = \"synthetic\"\nlayout = \"pairs\"\nbehaviors = [\"view\", \"cart\", \"buy\"]\n";

/// 0-based pairs as 1-based `user item` lines.
pub(super) fn pairs_text(pairs: &[(u32, u32)]) -> String {
    let mut s = String::with_capacity(pairs.len() * 9);
    for &(u, i) in pairs {
        let _ = writeln!(s, "{} {}", u + 1, i + 1);
    }
    s
}

/// A number with 6 decimals, never `-0.000000`.
pub(super) fn fixed6(x: f64) -> String {
    let s = format!("{x:.6}");
    if s == "-0.000000" {
        "0.000000".into()
    } else {
        s
    }
}

/// `id f1 … fk` rows of a row-major factor matrix.
pub(super) fn factors_text(values: &[f64], dim: usize) -> String {
    let mut s = String::new();
    for (row, chunk) in values.chunks(dim).enumerate() {
        s.push_str(&(row + 1).to_string());
        for v in chunk {
            s.push(' ');
            s.push_str(&fixed6(*v));
        }
        s.push('\n');
    }
    s
}

/// `id type_name` rows.
pub(super) fn types_text<'a>(types: &[usize], name: impl Fn(usize) -> &'a str) -> String {
    let mut s = String::new();
    for (id, &t) in types.iter().enumerate() {
        let _ = writeln!(s, "{} {}", id + 1, name(t));
    }
    s
}

/// Writes every file of the dataset into `out`.
pub(super) fn write_all(
    out: &Path,
    seed: u64,
    cfg: &SynthConfig,
    world: &World,
    logs: &Logs,
    summary: &SynthSummary,
) -> Result<()> {
    let truth = out.join("truth");
    fs::create_dir_all(&truth).map_err(|e| Error::io(&truth, e))?;
    let files: [(&str, &[(u32, u32)]); 6] = [
        ("view.txt", &logs.view),
        ("cart.txt", &logs.cart),
        ("buy.txt", &logs.buy),
        ("valid.txt", &logs.valid),
        ("test.txt", &logs.test),
        ("test_do.txt", &logs.test_do),
    ];
    for (name, pairs) in files {
        crate::atomic::write(&out.join(name), pairs_text(pairs).as_bytes())?;
    }
    let count = format!("{{\"user\": {}, \"item\": {}}}\n", cfg.users, cfg.items);
    crate::atomic::write(&out.join("count.txt"), count.as_bytes())?;
    crate::atomic::write(&out.join("dataset.toml"), DATASET_TOML.as_bytes())?;
    let habit_name = |t: usize| cfg.habits[t].name.as_str();
    let kind_name = |t: usize| cfg.kinds[t].name.as_str();
    let quality: String = (world.quality.iter().enumerate())
        .map(|(i, q)| format!("{} {}\n", i + 1, fixed6(*q)))
        .collect();
    let visibility: String = (world.visibility.iter().enumerate())
        .map(|(i, v)| format!("{} {}\n", i + 1, fixed6(*v)))
        .collect();
    let truth_files = [
        ("user_habit.txt", types_text(&world.habit, habit_name)),
        ("item_type.txt", types_text(&world.kind, kind_name)),
        ("user_factors.txt", factors_text(&world.theta, world.dim)),
        ("item_factors.txt", factors_text(&world.phi, world.dim)),
        ("item_quality.txt", quality),
        ("item_visibility.txt", visibility),
        ("README.md", readme(seed, cfg, summary)),
    ];
    for (name, text) in truth_files {
        crate::atomic::write(&truth.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// The command that regenerates the data (other knobs are only settable from the library).
fn command(seed: u64, cfg: &SynthConfig) -> String {
    let default = SynthConfig {
        users: cfg.users,
        items: cfg.items,
        ..SynthConfig::default()
    };
    let mut c = format!(
        "mclmr synth --out <dir> --seed {seed} --users {} --items {}",
        cfg.users, cfg.items
    );
    if *cfg != default {
        c.push_str(
            "  # with non-default knobs set through `mclmr::synth::SynthConfig`, listed below",
        );
    }
    c
}

/// `truth/README.md`: every file, the generative process, the parameters and the calibration.
fn readme(seed: u64, cfg: &SynthConfig, s: &SynthSummary) -> String {
    let mut r = String::new();
    let habits: String = (cfg.habits.iter())
        .map(|h| {
            format!(
                "| {} | {:.3} | {} | {} | {} | {} |\n",
                h.name, h.share, h.mean_views, h.cart_bias, h.buy_bias, h.type_gain
            )
        })
        .collect();
    let kinds: String = (cfg.kinds.iter())
        .map(|k| {
            format!(
                "| {} | {:.3} | {} | {} | {} |\n",
                k.name, k.share, k.view_bias, k.cart_bias, k.buy_bias
            )
        })
        .collect();
    let mix = |v: &[(String, usize)]| {
        v.iter()
            .map(|(n, c)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let c = &s.calibration;
    let _ = write!(
        r,
        r#"# Confounded synthetic multi-behavior dataset (ground truth)

Generated by `mclmr synth` (METHOD.md §8) with **seed {seed}**:

    {command}

The same seed and parameters give byte-identical files.

## Files
In the dataset directory (pair-file layout: one `user item` pair per line, single space, LF,
1-based integer ids, sorted by user then item, no duplicate pairs):

| file | content |
|---|---|
| `view.txt` | viewed pairs ({views}) |
| `cart.txt` | carted pairs ({carts}); every cart is also a view |
| `buy.txt` | **training** purchases ({buys}); every purchase is also a view |
| `valid.txt` | one held-out purchase per user ({valid}), not in `buy.txt` nor `test.txt` |
| `test.txt` | **observational** test: one held-out purchase per user ({test}), not in `buy.txt` |
| `test_do.txt` | **interventional** test: one item per user ({test_do}), not in the user's `buy.txt` |
| `count.txt` | `{{"user": N, "item": M}}` |
| `dataset.toml` | name, layout and behavior order (`view`, `cart`, `buy`) for the loader |

In `truth/` (what no model may read; for checking causal claims):

| file | content |
|---|---|
| `user_habit.txt` | `user habit_name`: the user's habit type (confounder H) |
| `item_type.txt` | `item type_name`: the item's type (confounder G) |
| `user_factors.txt` | `user f1 … f{dim}`: true preference factors θ_u (6 decimals) |
| `item_factors.txt` | `item f1 … f{dim}`: true preference factors φ_i (6 decimals) |
| `item_quality.txt` | `item q`: intrinsic item quality q_i, part of the preference (6 decimals) |
| `item_visibility.txt` | `item v`: item visibility v_i, an exposure boost unrelated to preference (6 decimals) |
| `README.md` | this file |

## Generative process
1. **Types** (exact population quotas, shuffled): each user gets a habit type, each item an
   item type; mixes below. Result: {habit_mix}; {kind_mix}.
2. **True preference** `pref(u,i) = θ_u·φ_i + q_i` with θ_u, φ_i ~ N(0, I_k/√k) (variance
   1/√k per coordinate, k = {dim}, so θ·φ has unit variance) and q_i ~ N(0, {quality_std}²),
   all drawn independently of the types.
3. **Visibility**: v_i ~ N(0, {visibility_std}²), independent of preference and type
   (promotion, placement): it confounds through item popularity, which METHOD.md §1 counts in
   the item confounder g_i.
4. **Views**: user u views `n_u = max({min_views}, Poisson(mean_views[habit]))` items, sampled
   without replacement with `P ∝ exp(a·pref + v_i + gain[habit]·view_bias[type])`,
   a = {view_pref} (Gumbel-top-k, i.e. Plackett–Luce).
5. **Carts**: a viewed item is carted with probability
   `σ({cart_base} + {cart_pref}·pref + cart_bias[habit] + gain[habit]·cart_bias[type])`.
6. **Buys**: a viewed item is bought with probability
   `σ({buy_base} + {buy_pref}·pref + buy_bias[habit] + gain[habit]·buy_bias[type] + {cart_bonus}·carted)`.
7. **Top-up**: a user with fewer than {need} purchases ({min_train_buys} for training, one
   valid, one test) buys their most probable viewed items (viewing the next items in exposure
   order if needed): {topped_up} purchases were added this way.
8. **Splits**: one purchase per user, uniformly among the user's purchases, goes to `test.txt`
   and another to `valid.txt`; the rest is `buy.txt`. The held-out items keep their views and
   carts, as in the public Taobao split (its test purchases were mostly viewed before).
9. **Interventional test**: per user one purchase among the items the user viewed and did not
   buy in training, drawn with `P(i) ∝ σ(logit_do)^s` (s = {do_scale}), where `logit_do` is the
   buy logit with the habit and item-type effects on the purchase replaced by their population
   averages (the confounders' direct effects at their population mix), keeping preference and
   the cart mediator. Exposure (views, carts) is as observed: in METHOD.md's graph the
   behaviors `X_b` are mediators, and `do(H, G)` changes only what the confounders do to `Y`.
10. **Coverage**: an item nobody viewed gets one view, by the user who prefers it most:
   {coverage} views were added this way.

Habit types (H); `gain` multiplies the item-type biases, a habit × item-type interaction:

| habit | share | mean_views | cart_bias | buy_bias | gain |
|---|---:|---:|---:|---:|---:|
{habits}
Item types (G):

| type | share | view_bias | cart_bias | buy_bias |
|---|---:|---:|---:|---:|
{kinds}
## Calibration (HR@{k}, full ranking, training purchases masked)

| ranking | test.txt | test_do.txt |
|---|---:|---:|
| deconfounded oracle: viewed items by `σ(logit_do)`, then the rest by `pref` (ideal `do`) | {pt:.4} | {pd:.4} |
| confounded oracle: viewed items by the observed buy probability, then the rest by exposure (ideal `raw`) | {rt:.4} | {rd:.4} |
| training buy popularity | {ot:.4} | {od:.4} |

The confounded and popularity rankings profit from the confounders on the observational test
and lose on the interventional one: a debiased model should move towards the first row on
`test_do.txt`.
"#,
        command = command(seed, cfg),
        views = s.views,
        carts = s.carts,
        buys = s.buys,
        valid = s.valid,
        test = s.test,
        test_do = s.test_do,
        dim = cfg.dim,
        habit_mix = mix(&s.habit_counts),
        kind_mix = mix(&s.kind_counts),
        quality_std = cfg.quality_std,
        visibility_std = cfg.visibility_std,
        min_views = cfg.min_views,
        view_pref = cfg.view_pref,
        cart_base = cfg.cart_base,
        cart_pref = cfg.cart_pref,
        buy_base = cfg.buy_base,
        buy_pref = cfg.buy_pref,
        cart_bonus = cfg.cart_bonus,
        need = cfg.min_train_buys + 2,
        min_train_buys = cfg.min_train_buys,
        topped_up = s.topped_up_buys,
        do_scale = cfg.do_scale,
        coverage = s.coverage_views,
        k = c.k,
        pt = c.pref_test,
        pd = c.pref_do,
        rt = c.raw_test,
        rd = c.raw_do,
        ot = c.pop_test,
        od = c.pop_do,
    );
    r
}
