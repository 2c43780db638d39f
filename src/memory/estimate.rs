//! Memory estimates of loading, training and evaluation, from the dataset's shape and the
//! model config.
//!
//! Each term follows what the code allocates; the constants are calibrated against peak RSS
//! (`/usr/bin/time -v`, release build, CPU) and round up, so the total sits a little above the
//! measurement (Taobao, lightgcn + MCLMR defaults: estimate 510 MiB, measured 434 MiB over one
//! epoch and 473 MiB over a whole run; plain 364 vs 334; d = 128: 828 vs 667; the sample data:
//! 139 vs 120 MiB; Taobao `eval` of the first model: 326 vs 288 MiB; 17 configurations in all,
//! from 1.0× to 1.24× of the measured peak). Terms, with `U = N · d · 4` bytes (`N` users +
//! items):
//!
//! - **embeddings**: the parameters × 6 (value, gradient, Adam's m and v, the last and the best
//!   snapshots kept for early stopping and resume);
//! - **graphs**: each behavior's normalised adjacency stores every interaction twice (symmetric),
//!   as column index + value (8 bytes), forward and transposed, plus the build's triplets:
//!   48 bytes per interaction;
//! - **data**: the pairs with their counts, the sampler's copies and user CSRs, the evidence CSRs:
//!   56 bytes per interaction;
//! - **representations**: per behavior, the propagated tables of one full-graph forward pass and
//!   their gradients, `(2L + 3) U` for LightGCN (more for cascade, `5 U` for MF), plus the
//!   fused tables of MCLMR's experts at validation;
//! - **batch**: the batch's gathered rows, the experts' activations and their gradients;
//! - **contrastive**: the bias-aware contrastive loss's `n × n` similarity matrices and the
//!   experts applied to its `n = min(cl_batch, batch)` nodes per side;
//! - **evaluation**: one block of 512 users' scores over all items;
//! - **runtime**: the program, its threads and allocator (16 MiB);
//! - for EASE (`model.backbone = "ease"`), the **solve**: three items × items f32 matrices (the
//!   Cholesky factor of the Gram matrix, its inverse and the inverse's workspace,
//!   `ease::solve_bytes`), and **weights**: `B` in f32 (at evaluation twice: the model's and
//!   the checksum's copy while the file is read). Taobao, 11,953 items: training estimate
//!   2.2 GiB, measured 1.7 GiB; eval 2.2 GiB, measured 1.7 GiB.

use std::path::Path;

use crate::data::Dataset;
use crate::model::{BackboneKind, Config};

const MIB: u64 = 1 << 20;
/// The program, thread stacks and allocator arenas.
const RUNTIME: u64 = 16 * MIB;
/// Users scored per evaluation block (`eval::BLOCK`).
const EVAL_BLOCK: u64 = crate::eval::BLOCK as u64;
/// Peak bytes per byte of a whitespace text file while it is parsed (measured: Taobao's 13 MB
/// of pair files peak at 44 MB with the runtime).
const TEXT_FACTOR: u64 = 3;
/// The same for CSV/TSV logs, parsed by polars with every column as text (19.5 MB: 146 MB).
const CSV_FACTOR: u64 = 8;
/// The same for Parquet, whose compressed columns expand in memory (Taobao's events as a
/// 2.5 MB Parquet file: 124 MB).
const PARQUET_FACTOR: u64 = 50;

/// An estimate: what it is for and its parts in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Estimate {
    /// `training taobao (lightgcn +MCLMR, d=64, 2 layers)`, `loading …`.
    pub what: String,
    /// Named parts, in bytes.
    pub parts: Vec<(String, u64)>,
}

impl Estimate {
    /// An estimate from named parts.
    pub fn new(what: impl Into<String>, parts: Vec<(&str, u64)>) -> Self {
        Estimate {
            what: what.into(),
            parts: parts.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|p| p.1).sum()
    }

    /// `graphs 30.0 GiB, embeddings 2.1 GiB, …`: the non-zero parts, largest first.
    pub fn breakdown(&self) -> String {
        let mut p: Vec<&(String, u64)> = self.parts.iter().filter(|p| p.1 > 0).collect();
        p.sort_by_key(|e| std::cmp::Reverse(e.1));
        p.iter()
            .map(|(k, v)| format!("{k} {}", super::format_size(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The sizes the estimates depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Dataset name, for messages.
    pub name: String,
    pub users: usize,
    pub items: usize,
    /// Training interactions per behavior, weakest → target (the target's training split).
    pub pairs: Vec<usize>,
}

impl Shape {
    /// The shape of a loaded dataset.
    pub fn of(data: &Dataset) -> Self {
        Shape {
            name: data.name.clone(),
            users: data.n_users(),
            items: data.n_items(),
            pairs: data.behaviors.iter().map(|b| b.len()).collect(),
        }
    }

    fn nodes(&self) -> u64 {
        (self.users + self.items) as u64
    }

    fn total_pairs(&self) -> u64 {
        self.pairs.iter().map(|&p| p as u64).sum()
    }

    fn n_aux(&self) -> u64 {
        self.pairs.len().saturating_sub(1) as u64
    }
}

/// `lightgcn +MCLMR, d=64, 2 layers`.
pub fn describe(cfg: &Config) -> String {
    let m = &cfg.model;
    if m.backbone == BackboneKind::Ease {
        return format!("ease, lambda={}", cfg.ease.lambda);
    }
    if m.backbone.is_rule() {
        return m.backbone.name().to_string();
    }
    let plus = if m.mclmr { " +MCLMR" } else { " plain" };
    let layers = match m.backbone {
        BackboneKind::Mf => String::new(),
        _ => format!(", {} layers", m.layers),
    };
    format!("{}{plus}, d={}{layers}", m.backbone.name(), m.dim)
}

/// Trainable parameters of a config on a shape (mirrors `Net::with_strata`).
pub fn parameters(shape: &Shape, cfg: &Config) -> u64 {
    let d = cfg.model.dim as u64;
    let b = shape.pairs.len() as u64;
    let mut p = shape.nodes() * d;
    if cfg.model.backbone == BackboneKind::Mf {
        p += b * d * d;
    }
    if cfg.model.mclmr {
        let ne = experts(shape, cfg);
        let feat = b + 1;
        p += ne * (2 * d * d + 2 * d) + 2 * ((d + feat) * ne + ne) + shape.n_aux().max(1);
        if cfg.mclmr.causal {
            let (ku, ki) = (cfg.mclmr.k_user as u64, cfg.mclmr.k_item as u64);
            p += (ku + ki) * d + ki + 2 * feat * d + feat;
        }
    }
    p
}

fn experts(shape: &Shape, cfg: &Config) -> u64 {
    (shape.n_aux() + cfg.mclmr.shared_experts as u64).max(1)
}

/// The per-node tables, in units of `U = N · d · 4` bytes: every behavior's representations
/// (forward and backward of one pass) and, with MCLMR, the fused expert outputs.
fn table_units(shape: &Shape, cfg: &Config, training: bool) -> u64 {
    let b = shape.pairs.len() as u64;
    let l = cfg.model.layers as u64;
    let per = match (cfg.model.backbone, training) {
        (BackboneKind::Mf, true) => 5 * b,
        (BackboneKind::LightGcn, true) => (2 * l + 3) * b,
        (BackboneKind::Cascade, true) => (2 * l + 3) * b + 2 * b.saturating_sub(1),
        (
            BackboneKind::RuleViewCart
            | BackboneKind::RuleCartView
            | BackboneKind::RuleConversion
            | BackboneKind::Ease,
            true,
        ) => 0,
        (_, false) => 3 * b,
    };
    let fused = if cfg.model.mclmr {
        2 * experts(shape, cfg) + 2
    } else {
        0
    };
    per + fused
}

/// Bytes per interaction of the pairs, the sampler and the evidence CSRs.
const DATA_PER_PAIR: u64 = 56;
/// Bytes per interaction of the normalised adjacencies (see the module docs).
const GRAPH_PER_PAIR: u64 = 48;

/// The estimate of `mclmr train` on `shape` with `cfg`.
pub fn training(shape: &Shape, cfg: &Config) -> Estimate {
    let what = format!("training {} ({})", shape.name, describe(cfg));
    let pairs = shape.total_pairs();
    let eval = EVAL_BLOCK.min(shape.users as u64) * shape.items as u64 * 4 * 2;
    if cfg.model.backbone == BackboneKind::Ease {
        return Estimate::new(
            what,
            vec![
                ("solve", crate::model::ease::solve_bytes(shape.items)),
                ("weights", crate::model::ease::weight_bytes(shape.items)),
                ("data", pairs * DATA_PER_PAIR),
                ("runtime", RUNTIME),
            ],
        );
    }
    if cfg.model.backbone.is_rule() {
        return Estimate::new(
            what,
            vec![
                ("data", pairs * DATA_PER_PAIR),
                ("evaluation", eval),
                ("runtime", RUNTIME),
            ],
        );
    }
    let d = cfg.model.dim as u64;
    let u = shape.nodes() * d * 4;
    let target = shape.pairs.last().copied().unwrap_or(0) as u64;
    let n = (cfg.train.batch_size as u64).min(target).max(1);
    let n_aux = shape.n_aux();
    let mut per_row = 10 * (1 + n_aux);
    if cfg.model.mclmr {
        per_row += 44 + 32 * experts(shape, cfg);
    }
    let batch = n * d * 4 * per_row;
    let m = &cfg.mclmr;
    let contrastive = if cfg.model.mclmr && m.bcl && m.lambda_cl > 0.0 && n_aux > 0 {
        let cl = m.cl_batch as u64;
        [shape.users, shape.items]
            .iter()
            .map(|&side| {
                let k = cl.min(n).min(side as u64);
                n_aux * (80 * k * d + 4 * k * k) * 4
            })
            .sum()
    } else {
        0
    };
    Estimate::new(
        what,
        vec![
            ("embeddings", parameters(shape, cfg) * 4 * 6),
            ("graphs", pairs * GRAPH_PER_PAIR),
            ("representations", table_units(shape, cfg, true) * u),
            ("batch", batch),
            ("contrastive", contrastive),
            ("data", pairs * DATA_PER_PAIR),
            ("evaluation", eval),
            ("runtime", RUNTIME),
        ],
    )
}

/// The estimate of loading a checkpoint of `checkpoint_bytes` trained with `cfg` and ranking
/// every user (`eval`, `export`; `recommend` and `explain` need the same tables).
pub fn evaluation(shape: &Shape, cfg: &Config, checkpoint_bytes: u64) -> Estimate {
    let what = format!("evaluating {} ({})", shape.name, describe(cfg));
    let pairs = shape.total_pairs();
    let eval = EVAL_BLOCK.min(shape.users as u64) * shape.items as u64 * 4 * 2;
    let kind = cfg.model.backbone;
    let neural = !kind.is_rule() && kind != BackboneKind::Ease;
    // EASE's B, once moved out of the file's tensors, and the checksum's copy at load.
    let weights = if kind == BackboneKind::Ease {
        2 * crate::model::ease::weight_bytes(shape.items)
    } else {
        0
    };
    let u = shape.nodes() * cfg.model.dim as u64 * 4;
    let (graphs, tables, params) = if neural {
        (
            pairs * GRAPH_PER_PAIR,
            table_units(shape, cfg, false) * u,
            parameters(shape, cfg) * 4,
        )
    } else {
        (0, 0, 0)
    };
    Estimate::new(
        what,
        vec![
            ("checkpoint", checkpoint_bytes * 2 + params),
            ("item weights", weights),
            ("graphs", graphs),
            ("representations", tables),
            ("data", pairs * 20),
            ("evaluation", eval),
            ("runtime", RUNTIME),
        ],
    )
}

/// The estimate of reading a dataset at `path` (a directory of pair/line files or event logs,
/// or one event log), from the sizes of the files the loader reads: the parse's own peak, the
/// runtime left out (a pre-check of file sizes; the training estimate has the whole). `None`
/// when the path cannot be listed (the loader then reports why).
pub fn loading(path: &Path) -> Option<Estimate> {
    let meta = std::fs::metadata(path).ok()?;
    let files: Vec<(std::path::PathBuf, u64)> = if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let m = e.metadata().ok()?;
                m.is_file().then(|| (e.path(), m.len()))
            })
            .collect()
    } else {
        vec![(path.to_path_buf(), meta.len())]
    };
    let (mut text, mut csv, mut parquet) = (0u64, 0u64, 0u64);
    for (p, len) in files {
        match p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
        {
            Some(e) if e == "txt" => text += len,
            Some(e) if e == "csv" || e == "tsv" => csv += len,
            Some(e) if e == "parquet" => parquet += len,
            _ => {}
        }
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Some(Estimate::new(
        format!("loading {name}"),
        vec![(
            "parsing",
            text * TEXT_FACTOR + csv * CSV_FACTOR + parquet * PARQUET_FACTOR,
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taobao() -> Shape {
        Shape {
            name: "taobao".into(),
            users: 15449,
            items: 11953,
            pairs: vec![873954, 195476, 76731],
        }
    }

    fn mib(e: &Estimate) -> u64 {
        e.total() >> 20
    }

    /// The calibration points of the module docs stay where they were measured.
    #[test]
    fn calibrated_against_measured_peaks() {
        let cfg = Config::default();
        let t = training(&taobao(), &cfg);
        // Measured peak RSS 434 MiB (lightgcn + MCLMR defaults, one epoch).
        assert!((434..=434 * 3 / 2).contains(&mib(&t)), "{t:?}");
        let mut plain = cfg.clone();
        plain.model.mclmr = false;
        assert!((334..=334 * 3 / 2).contains(&mib(&training(&taobao(), &plain))));
        let sample = Shape {
            name: "sample".into(),
            users: 1000,
            items: 600,
            pairs: vec![56540, 16253, 8872],
        };
        assert!((122..=122 * 3 / 2).contains(&mib(&training(&sample, &cfg))));
        let e = evaluation(&taobao(), &cfg, 35_683_052);
        assert!((288..=288 * 3 / 2).contains(&mib(&e)), "{e:?}");
        assert_eq!(t.what, "training taobao (lightgcn +MCLMR, d=64, 2 layers)");
    }

    #[test]
    fn more_of_anything_never_needs_less() {
        let base = taobao();
        let cfg = Config::default();
        let t0 = training(&base, &cfg).total();
        let grow: [fn(&mut Shape, &mut Config); 8] = [
            |s, _| s.users *= 2,
            |s, _| s.items *= 2,
            |s, _| s.pairs[0] *= 2,
            |s, _| s.pairs.insert(0, 1000),
            |_, c| c.model.dim *= 2,
            |_, c| c.model.layers += 1,
            |_, c| c.train.batch_size *= 4,
            |_, c| c.mclmr.cl_batch *= 2,
        ];
        for (k, g) in grow.iter().enumerate() {
            let (mut s, mut c) = (base.clone(), cfg.clone());
            g(&mut s, &mut c);
            assert!(training(&s, &c).total() > t0, "change {k} did not grow");
            assert!(
                evaluation(&s, &c, 1 << 20).total() >= evaluation(&base, &cfg, 1 << 20).total(),
                "change {k} shrank evaluation"
            );
        }
        let mut plain = cfg.clone();
        plain.model.mclmr = false;
        assert!(training(&base, &plain).total() < t0);
        let mut rule = cfg;
        rule.model.backbone = BackboneKind::RuleViewCart;
        assert!(training(&base, &rule).total() < training(&base, &plain).total());
    }

    #[test]
    fn ease_needs_three_item_square_matrices() {
        let mut cfg = Config::default();
        cfg.model.backbone = BackboneKind::Ease;
        let t = training(&taobao(), &cfg);
        let n = 11953u64;
        assert!(
            t.total() >= 16 * n * n && t.total() < 16 * n * n + 200 * MIB,
            "{t:?}"
        );
        // Measured peak RSS 1.7 GiB (`/usr/bin/time -v mclmr train --backbone ease`).
        assert!((1750..=1750 * 3 / 2).contains(&mib(&t)), "{t:?}");
        assert!(
            t.breakdown().starts_with("solve 1.6 GiB"),
            "{}",
            t.breakdown()
        );
        assert_eq!(t.what, "training taobao (ease, lambda=500)");
        // Measured 1.7 GiB for `mclmr eval` of the 571 MB checkpoint.
        let e = evaluation(&taobao(), &cfg, 571_497_884);
        assert!((1745..=1745 * 3 / 2).contains(&mib(&e)), "{e:?}");
    }

    #[test]
    fn a_single_behavior_and_tiny_data() {
        let s = Shape {
            name: "one".into(),
            users: 3,
            items: 4,
            pairs: vec![8],
        };
        let t = training(&s, &Config::default());
        assert!(t.total() < 32 * MIB, "{t:?}");
        assert!(
            t.breakdown().starts_with("runtime 16.0 MiB"),
            "{}",
            t.breakdown()
        );
    }

    #[test]
    fn loading_counts_the_files_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("buy.txt"), vec![b'1'; 1000]).unwrap();
        std::fs::write(dir.path().join("README.md"), vec![b'x'; 5000]).unwrap();
        let e = loading(dir.path()).unwrap();
        assert_eq!(e.total(), 3000);
        assert!(loading(&dir.path().join("nope")).is_none());
    }
}
