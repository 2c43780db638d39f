//! Writes a generated dataset in the pair-file layout (1-based ids, `user item` per line, sorted,
//! LF) plus its ground truth under `truth/`. Every file is written atomically
//! ([`crate::atomic`]), so a reader never sees a half-written file.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::model::{Logs, World};
use super::{SynthConfig, SynthSummary};
use crate::error::{Error, Result};

mod readme;

use readme::readme;

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
