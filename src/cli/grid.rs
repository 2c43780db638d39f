//! `mclmr grid`: trains and evaluates every run of an experiment grid described in TOML and
//! appends one JSON row per run to a JSON-lines file; `--report` turns the rows into the Markdown
//! tables of docs/RESULTS.md (mean ± std over seeds).
//!
//! Every step runs as a child `mclmr train --json` / `mclmr eval --json`, so each row's peak RSS
//! is that run's own and a crash in one run does not end the grid. Runs already in the output
//! file are skipped, so an interrupted grid continues where it stopped.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::BackboneKind;

/// `mclmr grid` arguments.
#[derive(Debug, Args)]
pub struct GridArgs {
    /// Grid spec (TOML): dataset, config, seeds, backbones, variants, rules and ablations
    /// (see `grids/`)
    pub spec: PathBuf,
    /// Output rows (JSON lines; runs already there are skipped) [default: results/<name>.jsonl]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the Markdown tables of the rows already in the output instead of running
    #[arg(long)]
    pub report: bool,
    /// List the runs (and whether they are done) without running anything
    #[arg(long)]
    pub dry_run: bool,
    /// Keep each run's checkpoint next to the output (`<out>.models/`); by default they are
    /// deleted once evaluated
    #[arg(long)]
    pub keep_models: bool,
    /// Only the runs whose id contains this text
    #[arg(long)]
    pub only: Option<String>,
    /// Device for training and evaluation (`cpu`, `cuda` or `cuda:N`), recorded in each row;
    /// the report counts the runs made on a GPU and keeps their cost apart
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// A grid spec. Paths are relative to the current directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// Names the output file and every row.
    name: String,
    /// Dataset directory or event log (or `datasets`, for several).
    #[serde(default)]
    data: Option<PathBuf>,
    /// Several datasets, each run on every backbone, variant, seed and rule; row ids start with
    /// the dataset's name and the report has one section per dataset.
    #[serde(default)]
    datasets: Vec<GridDataset>,
    /// Model/training config every run starts from (defaults when absent).
    #[serde(default)]
    config: Option<PathBuf>,
    /// Dataset config passed as `--data-config`.
    #[serde(default)]
    data_config: Option<PathBuf>,
    /// `--behaviors`.
    #[serde(default)]
    behaviors: Option<Vec<String>>,
    /// `--valid` (holdout, keep, skip).
    #[serde(default)]
    valid: Option<String>,
    /// Seeds; every learned run is repeated for each.
    #[serde(default = "default_seeds")]
    seeds: Vec<u64>,
    /// Learned backbones (mf, lightgcn, cascade).
    #[serde(default)]
    backbones: Vec<String>,
    /// `plain` and/or `mclmr`.
    #[serde(default = "default_variants")]
    variants: Vec<String>,
    /// Baselines, evaluated once each (they have no seed): the rules (variant `rule`) and
    /// `ease` (variant `closed-form`).
    #[serde(default)]
    rules: Vec<String>,
    /// Overrides `train.epochs` for every run.
    #[serde(default)]
    epochs: Option<usize>,
    /// Extra +MCLMR variants: a name and config values to set (dotted keys).
    #[serde(default)]
    ablation: Vec<Ablation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridDataset {
    name: String,
    data: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ablation {
    name: String,
    #[serde(default)]
    set: toml::Table,
}

fn default_seeds() -> Vec<u64> {
    vec![42]
}

fn default_variants() -> Vec<String> {
    vec!["plain".into(), "mclmr".into()]
}

/// One run of the grid.
#[derive(Debug, Clone)]
struct Run {
    id: String,
    backbone: String,
    variant: String,
    seed: Option<u64>,
    plain: bool,
    set: toml::Table,
    data: PathBuf,
    /// The dataset's name when the spec lists `datasets`.
    dataset: Option<String>,
}

fn load_spec(path: &Path) -> Result<Spec> {
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
        match r.parse::<BackboneKind>() {
            Ok(k) if k.is_rule() || k == BackboneKind::Ease => {}
            _ => {
                return Err(Error::bad_data(
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
                ))
            }
        }
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

/// The datasets of a spec as `(name, path)`: `datasets`, or `data` without a name.
fn datasets(spec: &Spec) -> Vec<(Option<String>, PathBuf)> {
    match &spec.data {
        Some(d) => vec![(None, d.clone())],
        None => (spec.datasets.iter())
            .map(|d| (Some(d.name.clone()), d.data.clone()))
            .collect(),
    }
}

/// The grid variant of EASE (a baseline with a fit, whose cost is reported).
const CLOSED_FORM: &str = "closed-form";

/// True for the rows of the baselines (rules and EASE).
fn is_baseline(variant: &str) -> bool {
    variant == "rule" || variant == CLOSED_FORM
}

fn runs(spec: &Spec) -> Vec<Run> {
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
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
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
fn run_config(spec: &Spec, run: &Run) -> Result<String> {
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

fn data_args(spec: &Spec, run: &Run) -> Vec<String> {
    let mut a = vec!["--data".to_string(), run.data.display().to_string()];
    if let Some(b) = &spec.behaviors {
        a.extend(["--behaviors".into(), b.join(",")]);
    }
    if let Some(c) = &spec.data_config {
        a.extend(["--data-config".into(), c.display().to_string()]);
    }
    if let Some(v) = &spec.valid {
        a.extend(["--valid".into(), v.clone()]);
    }
    a
}

/// Runs this binary with `args` and parses the JSON it prints on its last stdout line.
fn child_json(args: &[String]) -> std::result::Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the mclmr binary: {e}"))?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start mclmr: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(4).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "`mclmr {}` exited with {}: {}",
            args.first().map(String::as_str).unwrap_or(""),
            out.status.code().unwrap_or(-1),
            tail.join(" | ")
        ));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("unreadable JSON from mclmr: {e}"))
}

fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn done_ids(out: &Path) -> HashSet<String> {
    let Ok(text) = std::fs::read_to_string(out) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["status"] == "ok")
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

fn read_rows(out: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(out).map_err(|e| Error::io(out, e))?;
    let mut rows = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(l).map_err(|e| {
            Error::bad_data(
                out,
                Some(i + 1),
                format!("unreadable result row: {e}"),
                l,
                "delete the line (its run is then redone)",
            )
        })?;
        if v["status"] == "ok" {
            rows.push(v);
        }
    }
    Ok(rows)
}

fn append_row(out: &Path, row: &Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(|e| Error::io(out, e))?;
    // One write of the whole line, then fsync: a crash leaves whole rows only.
    let line = format!("{row}\n");
    f.write_all(line.as_bytes())
        .and_then(|_| f.sync_data())
        .map_err(|e| Error::io(out, e))
}

/// `mclmr grid`
pub fn run(args: GridArgs) -> Result<()> {
    let spec = load_spec(&args.spec)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("{}.jsonl", spec.name)));
    if args.report {
        print!("{}", report_all(&spec, &read_rows(&out)?));
        return Ok(());
    }
    let all = runs(&spec);
    let selected: Vec<&Run> = all
        .iter()
        .filter(|r| args.only.as_ref().is_none_or(|o| r.id.contains(o.as_str())))
        .collect();
    let done = done_ids(&out);
    if args.dry_run {
        for r in &selected {
            let state = if done.contains(&r.id) {
                "done"
            } else {
                "to run"
            };
            println!("{:<40} {state}", r.id);
        }
        return Ok(());
    }
    crate::cli::model_cmd::parse_device(&args.device)?;
    if let Some((_, data)) = datasets(&spec).into_iter().find(|(_, d)| !d.exists()) {
        return Err(Error::bad_data(
            &args.spec,
            None,
            "a dataset of the grid does not exist",
            data.display().to_string(),
            "create it first (generated data: run the script named at the top of the spec, e.g. \
             scripts/make_exposure_data.sh), or fix the path",
        ));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let models = PathBuf::from(format!("{}.models", out.display()));
    std::fs::create_dir_all(&models).map_err(|e| Error::io(&models, e))?;
    let todo: Vec<&&Run> = selected.iter().filter(|r| !done.contains(&r.id)).collect();
    eprintln!(
        "grid {}: {} runs, {} already in {}, {} to run",
        spec.name,
        selected.len(),
        selected.len() - todo.len(),
        out.display(),
        todo.len()
    );
    let mut failed = 0;
    for (k, r) in todo.iter().enumerate() {
        let stem = models.join(file_safe(&r.id));
        let model = stem.with_extension("safetensors");
        let cfg = stem.with_extension("toml");
        let text = run_config(&spec, r)?;
        std::fs::write(&cfg, text).map_err(|e| Error::io(&cfg, e))?;
        let mut train = vec!["train".to_string()];
        train.extend(data_args(&spec, r));
        train.extend(["--backbone".into(), r.backbone.clone()]);
        if r.plain {
            train.push("--plain".into());
        }
        train.extend([
            "--config".into(),
            cfg.display().to_string(),
            "--out".into(),
            model.display().to_string(),
            "--device".into(),
            args.device.clone(),
            "--json".into(),
            "-q".into(),
        ]);
        let mut eval = vec!["eval".to_string(), "--model".into()];
        eval.push(model.display().to_string());
        eval.extend(data_args(&spec, r));
        eval.extend(["--device".into(), args.device.clone(), "--json".into()]);
        eprintln!("[{}/{}] {}", k + 1, todo.len(), r.id);
        let result = child_json(&train).and_then(|t| child_json(&eval).map(|e| (t, e)));
        let mut row = json!({
            "id": r.id,
            "grid": spec.name,
            "data": r.data.display().to_string(),
            "dataset": r.dataset,
            "backbone": r.backbone,
            "variant": r.variant,
            "seed": r.seed,
            "set": r.set,
            "device": args.device,
        });
        match result {
            Ok((t, e)) => {
                eprintln!(
                    "    do HR@10 {:.4} NDCG@10 {:.4}  raw HR@10 {:.4} NDCG@10 {:.4}  ({} epochs, {:.0}s)",
                    e["do"]["HR@10"].as_f64().unwrap_or(f64::NAN),
                    e["do"]["NDCG@10"].as_f64().unwrap_or(f64::NAN),
                    e["raw"]["HR@10"].as_f64().unwrap_or(f64::NAN),
                    e["raw"]["NDCG@10"].as_f64().unwrap_or(f64::NAN),
                    t["epochs_run"],
                    t["seconds"].as_f64().unwrap_or(0.0)
                );
                row["status"] = json!("ok");
                row["train"] = t;
                row["eval"] = e;
            }
            Err(msg) => {
                eprintln!("    failed: {msg}");
                failed += 1;
                row["status"] = json!("failed");
                row["error"] = json!(msg);
            }
        }
        append_row(&out, &row)?;
        if !args.keep_models {
            let _ = std::fs::remove_file(&model);
        }
    }
    if failed > 0 {
        return Err(Error::Other(format!(
            "{failed} run(s) failed; their rows in {} say why (rerun the grid to retry them)",
            out.display()
        )));
    }
    Ok(())
}

/// The report of every dataset of the spec: one section per dataset when it lists `datasets`.
fn report_all(spec: &Spec, rows: &[Value]) -> String {
    let mut s = String::new();
    for (dataset, data) in datasets(spec) {
        let mine: Vec<Value> = (rows.iter())
            .filter(|r| dataset.is_none() || r["dataset"].as_str() == dataset.as_deref())
            .cloned()
            .collect();
        if let Some(name) = &dataset {
            s.push_str(&format!("### {name} (`{}`)\n\n", data.display()));
        }
        s.push_str(&report(&spec.name, &data, &mine));
    }
    s
}

fn mean_std(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    if xs.len() < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

fn fmt_ms(xs: &[f64]) -> String {
    match mean_std(xs) {
        (m, Some(s)) => format!("{m:.4} ± {s:.4}"),
        (m, None) => format!("{m:.4}"),
    }
}

/// The device a row was trained on (rows written before `--device` existed ran on the CPU).
fn device_of(row: &Value) -> &str {
    row["device"].as_str().unwrap_or("cpu")
}

/// The seed count of a group, with how many of its runs were made on a GPU.
fn seeds_cell(rows: &[&Value]) -> String {
    let gpu = rows.iter().filter(|r| device_of(r) != "cpu").count();
    match gpu {
        0 => rows.len().to_string(),
        k => format!("{} ({k} on GPU)", rows.len()),
    }
}

fn metric(rows: &[&Value], path: &[&str]) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| {
            let mut v = *r;
            for p in path {
                v = &v[*p];
            }
            v.as_f64()
        })
        .collect()
}

/// The Markdown tables for a grid's rows: accuracy (do and raw), gain over plain, cost, bias,
/// and the interventional test when the data has one.
fn report(name: &str, data: &Path, rows: &[Value]) -> String {
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut by: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for r in rows {
        let key = (
            r["backbone"].as_str().unwrap_or("").to_string(),
            r["variant"].as_str().unwrap_or("").to_string(),
        );
        if !groups.contains(&key) {
            groups.push(key.clone());
        }
        by.entry(key).or_default().push(r);
    }
    // Learned runs first (in the order they ran), then the baselines.
    groups.sort_by_key(|g| is_baseline(&g.1));
    let mut s = String::new();
    s.push_str(&format!(
        "Grid `{}` on `{}`: {} runs. `do` is the deconfounded ranking, `raw` the biased one \
         (the same for plain backbones and rules); mean ± std over seeds.\n\n",
        name,
        data.display(),
        rows.len()
    ));
    s.push_str("| backbone | variant | seeds | HR@10 | NDCG@10 | HR@20 | NDCG@20 | raw HR@10 | raw NDCG@10 | gain HR@10 / NDCG@10 vs plain |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for key in &groups {
        let rs = &by[key];
        let plain = by.get(&(key.0.clone(), "plain".to_string()));
        let gain = match plain {
            Some(p) if key.1 != "plain" && !is_baseline(&key.1) => {
                let g = |m: &str| {
                    let a = mean_std(&metric(rs, &["eval", "do", m])).0;
                    let b = mean_std(&metric(p, &["eval", "do", m])).0;
                    format!("{:+.1}%", 100.0 * (a - b) / b.max(1e-12))
                };
                format!("{} / {}", g("HR@10"), g("NDCG@10"))
            }
            _ => String::new(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            key.0,
            key.1,
            seeds_cell(rs),
            fmt_ms(&metric(rs, &["eval", "do", "HR@10"])),
            fmt_ms(&metric(rs, &["eval", "do", "NDCG@10"])),
            fmt_ms(&metric(rs, &["eval", "do", "HR@20"])),
            fmt_ms(&metric(rs, &["eval", "do", "NDCG@20"])),
            fmt_ms(&metric(rs, &["eval", "raw", "HR@10"])),
            fmt_ms(&metric(rs, &["eval", "raw", "NDCG@10"])),
            gain
        ));
    }
    s.push_str(
        "\n| backbone | variant | device | epochs run (best) | s / epoch | train s | peak RSS MiB |\n",
    );
    s.push_str("|---|---|---|---:|---:|---:|---:|\n");
    for key in &groups {
        if key.1 == "rule" {
            continue;
        }
        let mut devices: Vec<&str> = by[key].iter().map(|r| device_of(r)).collect();
        devices.sort_unstable();
        devices.dedup();
        for dev in devices {
            let rs: Vec<&Value> = by[key]
                .iter()
                .copied()
                .filter(|r| device_of(r) == dev)
                .collect();
            let rs = &rs;
            let m = |p: &[&str]| mean_std(&metric(rs, p)).0;
            s.push_str(&format!(
                "| {} | {} | {} | {:.1} ({:.1}) | {:.2} | {:.0} | {:.0} |\n",
                key.0,
                key.1,
                dev,
                m(&["train", "epochs_run"]),
                m(&["train", "best_epoch"]),
                m(&["train", "mean_epoch_secs"]),
                m(&["train", "seconds"]),
                metric(rs, &["train", "peak_rss_mib"])
                    .into_iter()
                    .fold(0.0, f64::max)
            ));
        }
    }
    s.push_str("\nBias of the top 10 (`do` / `raw`): mean popularity of recommended items, catalogue coverage, Gini of exposure, HR@10 on long-tail test items.\n\n");
    s.push_str("| backbone | variant | mean popularity | coverage | Gini | long-tail HR@10 |\n");
    s.push_str("|---|---|---:|---:|---:|---:|\n");
    for key in &groups {
        let rs = &by[key];
        let both = |m: &str| {
            let d = mean_std(&metric(rs, &["eval", "bias", "do", m])).0;
            let r = mean_std(&metric(rs, &["eval", "bias", "raw", m])).0;
            let digits = if m == "mean_popularity" { 1 } else { 3 };
            if (d - r).abs() < 1e-12 {
                format!("{d:.digits$}")
            } else {
                format!("{d:.digits$} / {r:.digits$}")
            }
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            key.0,
            key.1,
            both("mean_popularity"),
            both("coverage"),
            both("gini"),
            both("longtail_HR@10")
        ));
    }
    let has_iv = rows.iter().any(|r| r["eval"]["interventional"].is_object());
    if has_iv {
        s.push_str("\nInterventional test (`test_do.txt`: purchases with the confounders' direct effects removed).\n\n");
        s.push_str("| backbone | variant | do HR@10 | do NDCG@10 | raw HR@10 | raw NDCG@10 |\n");
        s.push_str("|---|---|---:|---:|---:|---:|\n");
        for key in &groups {
            let rs = &by[key];
            let f = |mode: &str, m: &str| fmt_ms(&metric(rs, &["eval", "interventional", mode, m]));
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                key.0,
                key.1,
                f("do", "HR@10"),
                f("do", "NDCG@10"),
                f("raw", "HR@10"),
                f("raw", "NDCG@10")
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_overrides_create_sections_and_refuse_values() {
        let mut t: toml::Table = toml::from_str("[mclmr]\ncausal = true\n").unwrap();
        set_dotted(&mut t, "mclmr.causal", toml::Value::Boolean(false)).unwrap();
        set_dotted(&mut t, "train.lr", toml::Value::Float(0.01)).unwrap();
        assert_eq!(t["mclmr"]["causal"].as_bool(), Some(false));
        assert_eq!(t["train"]["lr"].as_float(), Some(0.01));
        assert!(set_dotted(&mut t, "mclmr.causal.x", toml::Value::Integer(1)).is_err());
    }

    #[test]
    fn runs_cover_the_product_and_rules_once() {
        let spec: Spec = toml::from_str(
            r#"
name = "g"
data = "d"
seeds = [1, 2]
backbones = ["mf", "lightgcn"]
rules = ["rule-view-cart", "ease"]
[[ablation]]
name = "no-bcl"
set = { "mclmr.bcl" = false }
"#,
        )
        .unwrap();
        let r = runs(&spec);
        // 2 backbones × 2 seeds × (plain, mclmr, no-bcl) + 1 rule + EASE.
        assert_eq!(r.len(), 14);
        let ids: HashSet<&str> = r.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), r.len(), "ids are unique");
        assert!(ids.contains("lightgcn/no-bcl/s2"));
        assert!(ids.contains("rule-view-cart/rule") && ids.contains("ease/closed-form"));
        assert!(r.iter().filter(|r| r.plain).count() == 4);
    }

    #[test]
    fn datasets_repeat_every_run_and_prefix_the_ids() {
        let spec: Spec = toml::from_str(
            r#"
name = "g"
seeds = [1]
backbones = ["mf"]
rules = ["rule-view-cart"]
datasets = [{ name = "c0", data = "d0" }, { name = "c1", data = "d1" }]
"#,
        )
        .unwrap();
        let r = runs(&spec);
        // 2 datasets × (mf plain, mf mclmr, one rule).
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].id, "c0/mf/plain/s1");
        assert_eq!(r[5].id, "c1/rule-view-cart/rule");
        assert_eq!(r[5].data, PathBuf::from("d1"));
        assert_eq!(data_args(&spec, &r[3])[..2], ["--data", "d1"]);
        let dir = tempfile::tempdir().unwrap();
        for (text, problem) in [
            ("name = \"g\"\n", "neither given"),
            ("name = \"g\"\ndata = \"d\"\ndatasets = [{ name = \"a\", data = \"d\" }]\n", "both given"),
            ("name = \"g\"\ndatasets = [{ name = \"a\", data = \"d\" }, { name = \"a\", data = \"e\" }]\n", "duplicate dataset name"),
        ] {
            let path = dir.path().join("g.toml");
            std::fs::write(&path, text).unwrap();
            let err = load_spec(&path).expect_err(problem).to_string();
            assert!(err.contains("g.toml"), "{err}");
            assert!(err.contains(problem), "{err}");
        }
    }

    #[test]
    fn report_has_one_section_per_dataset_with_its_own_rows() {
        let spec: Spec = toml::from_str(
            "name = \"g\"\ndatasets = [{ name = \"c0\", data = \"d0\" }, { name = \"c1\", data = \"d1\" }]\n",
        )
        .unwrap();
        let row = |dataset: &str, hr: f64| {
            json!({"dataset": dataset, "backbone": "rule-view-cart", "variant": "rule",
                   "eval": {"do": {"HR@10": hr}, "raw": {"HR@10": hr}}})
        };
        let text = report_all(&spec, &[row("c0", 0.25), row("c1", 0.75), row("c1", 0.5)]);
        let (c0, c1) = text.split_once("### c1").expect("two sections");
        assert!(
            c0.starts_with("### c0 (`d0`)") && c0.contains("on `d0`: 1 runs"),
            "{text}"
        );
        assert!(c0.contains("0.2500") && !c0.contains("0.7500"), "{text}");
        assert!(
            c1.contains("on `d1`: 2 runs") && c1.contains("0.6250"),
            "{text}"
        );
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12);
        assert!((s.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[0.5]).1, None);
    }
}
