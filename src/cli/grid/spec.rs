//! The grid spec (TOML) and the runs it describes: every dataset × backbone × variant × seed,
//! each rule and closed-form baseline once, and each ablation; a run's config is the spec's
//! config with the run's dotted-key overrides.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::ValidPolicy;
use crate::error::{Error, Result};
use crate::model::BackboneKind;

/// A grid spec. Paths are relative to the current directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Spec {
    /// Names the output file and every row.
    pub(super) name: String,
    /// Dataset directory or event log (or `datasets`, for several).
    #[serde(default)]
    pub(super) data: Option<PathBuf>,
    /// Several datasets, each run on every backbone, variant, seed and rule; row ids start with
    /// the dataset's name and the report has one section per dataset.
    #[serde(default)]
    pub(super) datasets: Vec<GridDataset>,
    /// Model/training config every run starts from (defaults when absent).
    #[serde(default)]
    pub(super) config: Option<PathBuf>,
    /// Dataset config passed as `--data-config`.
    #[serde(default)]
    pub(super) data_config: Option<PathBuf>,
    /// `--behaviors`.
    #[serde(default)]
    pub(super) behaviors: Option<Vec<String>>,
    /// `--valid` (holdout, keep, skip).
    #[serde(default)]
    pub(super) valid: Option<ValidPolicy>,
    /// Seeds; every learned run is repeated for each.
    #[serde(default = "default_seeds")]
    pub(super) seeds: Vec<u64>,
    /// Learned backbones (mf, lightgcn, cascade).
    #[serde(default)]
    pub(super) backbones: Vec<String>,
    /// `plain` and/or `mclmr`.
    #[serde(default = "default_variants")]
    pub(super) variants: Vec<String>,
    /// Baselines, evaluated once each (they have no seed): the rules (variant `rule`) and
    /// `ease` (variant `closed-form`).
    #[serde(default)]
    pub(super) rules: Vec<String>,
    /// Overrides `train.epochs` for every run.
    #[serde(default)]
    pub(super) epochs: Option<usize>,
    /// Extra +MCLMR variants: a name and config values to set (dotted keys).
    #[serde(default)]
    pub(super) ablation: Vec<Ablation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GridDataset {
    pub(super) name: String,
    pub(super) data: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Ablation {
    pub(super) name: String,
    #[serde(default)]
    pub(super) set: toml::Table,
}

pub(super) fn default_seeds() -> Vec<u64> {
    vec![42]
}

pub(super) fn default_variants() -> Vec<String> {
    vec!["plain".into(), "mclmr".into()]
}

/// One run of the grid.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) id: String,
    pub(super) backbone: String,
    pub(super) variant: String,
    pub(super) seed: Option<u64>,
    pub(super) plain: bool,
    pub(super) set: toml::Table,
    pub(super) data: PathBuf,
    /// The dataset's name when the spec lists `datasets`.
    pub(super) dataset: Option<String>,
}

pub(super) fn load_spec(path: &Path) -> Result<Spec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let spec: Spec = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| {
            text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        Error::bad_data(
            path,
            line,
            format!("invalid grid spec: {}", e.message()),
            text.lines().nth(line.unwrap_or(1) - 1).unwrap_or(""),
            "see grids/taobao.toml for the keys a grid spec takes",
        )
    })?;
    for r in &spec.rules {
        check_baseline(path, r)?;
    }
    for v in &spec.variants {
        if v != "plain" && v != "mclmr" {
            return Err(Error::bad_data(
                path,
                None,
                "unknown variant",
                v,
                "variants are `plain` and `mclmr`; use [[ablation]] for others",
            ));
        }
    }
    if spec.data.is_some() != spec.datasets.is_empty() {
        return Err(Error::bad_data(
            path,
            None,
            "a grid spec needs either `data` or `datasets`",
            if spec.data.is_some() {
                "both given"
            } else {
                "neither given"
            },
            "give data = \"DIR\", or datasets = [{ name = \"a\", data = \"DIR\" }, …]",
        ));
    }
    let mut names = HashSet::new();
    if let Some(d) = spec
        .datasets
        .iter()
        .find(|d| !names.insert(d.name.as_str()))
    {
        return Err(Error::bad_data(
            path,
            None,
            "duplicate dataset name",
            &d.name,
            "give every entry of `datasets` its own name",
        ));
    }
    if spec.seeds.is_empty() && !spec.backbones.is_empty() {
        return Err(Error::bad_data(
            path,
            None,
            "no seed",
            "seeds = []",
            "give at least one seed, e.g. seeds = [42]",
        ));
    }
    Ok(spec)
}

/// A `rules` entry must name a rule baseline or `ease`.
fn check_baseline(path: &Path, r: &str) -> Result<()> {
    match r.parse::<BackboneKind>() {
        Ok(k) if k.is_rule() || k == BackboneKind::Ease => Ok(()),
        _ => Err(Error::bad_data(
            path,
            None,
            "unknown baseline in `rules`",
            r,
            format!(
                "rules takes {}; learned backbones go in `backbones`",
                BackboneKind::ALL
                    .iter()
                    .filter(|k| k.is_rule() || **k == BackboneKind::Ease)
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The datasets of a spec as `(name, path)`: `datasets`, or `data` without a name.
pub(super) fn datasets(spec: &Spec) -> Vec<(Option<String>, PathBuf)> {
    match &spec.data {
        Some(d) => vec![(None, d.clone())],
        None => (spec.datasets.iter())
            .map(|d| (Some(d.name.clone()), d.data.clone()))
            .collect(),
    }
}

/// The grid variant of EASE (a baseline with a fit, whose cost is reported).
pub(super) const CLOSED_FORM: &str = "closed-form";

/// True for the rows of the baselines (rules and EASE).
pub(super) fn is_baseline(variant: &str) -> bool {
    variant == "rule" || variant == CLOSED_FORM
}

pub(super) fn runs(spec: &Spec) -> Vec<Run> {
    let mut out = Vec::new();
    for (dataset, data) in datasets(spec) {
        let prefix = dataset
            .as_ref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let run = |id: String, backbone: &str, variant: &str, seed, plain, set: &toml::Table| Run {
            id: format!("{prefix}{id}"),
            backbone: backbone.to_string(),
            variant: variant.to_string(),
            seed,
            plain,
            set: set.clone(),
            data: data.clone(),
            dataset: dataset.clone(),
        };
        let none = toml::Table::new();
        for bb in &spec.backbones {
            for &seed in &spec.seeds {
                for v in &spec.variants {
                    out.push(run(
                        format!("{bb}/{v}/s{seed}"),
                        bb,
                        v,
                        Some(seed),
                        v == "plain",
                        &none,
                    ));
                }
                for a in &spec.ablation {
                    let id = format!("{bb}/{}/s{seed}", a.name);
                    out.push(run(id, bb, &a.name, Some(seed), false, &a.set));
                }
            }
        }
        for r in &spec.rules {
            let variant = if r == BackboneKind::Ease.name() {
                CLOSED_FORM
            } else {
                "rule"
            };
            out.push(run(
                format!("{r}/{variant}"),
                r,
                variant,
                None,
                false,
                &none,
            ));
        }
    }
    out
}

/// Sets `a.b.c = value` in a TOML table, creating the intermediate tables.
pub(super) fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut cur = table;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(Error::bad_arg(
                    "grid override names a value, not a section",
                    key,
                    "use keys such as `mclmr.causal` or `train.lr`",
                ))
            }
        };
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// The config file of one run: the spec's config with the run's overrides, seed and epochs.
pub(super) fn run_config(spec: &Spec, run: &Run) -> Result<String> {
    let mut table = match &spec.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            toml::from_str::<toml::Table>(&text).map_err(|e| {
                Error::bad_data(
                    p,
                    None,
                    "invalid config",
                    e.message(),
                    "fix the TOML syntax",
                )
            })?
        }
        None => toml::Table::new(),
    };
    for (k, v) in &run.set {
        set_dotted(&mut table, k, v.clone())?;
    }
    if let Some(seed) = run.seed {
        set_dotted(&mut table, "train.seed", toml::Value::Integer(seed as i64))?;
    }
    if let Some(e) = spec.epochs {
        set_dotted(&mut table, "train.epochs", toml::Value::Integer(e as i64))?;
    }
    toml::to_string(&table).map_err(|e| Error::Other(e.to_string()))
}
