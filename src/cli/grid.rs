//! `mclmr grid`: trains and evaluates every run of an experiment grid described in TOML and
//! appends one JSON row per run to a JSON-lines file; `--report` turns the rows into the Markdown
//! tables of docs/RESULTS.md (mean ± std over seeds).
//!
//! Every step runs as a child `mclmr train --json` / `mclmr eval --json`, so each row's peak RSS
//! is that run's own and a crash in one run does not end the grid. Runs already in the output
//! file are skipped, so an interrupted grid continues where it stopped.

mod report;
mod spec;
mod strata;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};

use super::child::run_json;
use super::DataOpts;
use crate::error::{Error, Result};
use crate::runtime::DeviceSpec;
use report::report_all;
use spec::{datasets, load_spec, run_config, runs, Run, Spec};

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
    #[arg(long, default_value_t)]
    pub device: DeviceSpec,
}

fn data_args(spec: &Spec, run: &Run) -> Vec<String> {
    let opts = DataOpts {
        behaviors: spec.behaviors.clone(),
        data_config: spec.data_config.clone(),
        valid: spec.valid,
        max_memory: None,
    };
    let mut a = vec!["--data".to_string(), run.data.display().to_string()];
    a.extend(opts.to_args());
    a
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

/// Trains and evaluates one run in child processes (config and checkpoint at `stem`.toml and
/// `stem`.safetensors); its row says `ok` with both JSON outputs, or `failed` with the error.
fn run_one(spec: &Spec, r: &Run, stem: &Path, device: DeviceSpec) -> Result<Value> {
    let model = stem.with_extension("safetensors");
    let cfg = stem.with_extension("toml");
    let text = run_config(spec, r)?;
    crate::atomic::write(&cfg, text.as_bytes())?;
    let mut train = vec!["train".to_string()];
    train.extend(data_args(spec, r));
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
        device.to_string(),
        "--json".into(),
        "-q".into(),
    ]);
    let mut eval = vec!["eval".to_string(), "--model".into()];
    eval.push(model.display().to_string());
    eval.extend(data_args(spec, r));
    // The groups per stratum and popularity bucket come from the same call, for the report's
    // per-group tables.
    eval.extend([
        "--device".into(),
        device.to_string(),
        "--json".into(),
        "--with-groups".into(),
    ]);
    let result = run_json(&train).and_then(|t| Ok((t, run_json(&eval)?)));
    let mut row = json!({
        "id": r.id,
        "grid": spec.name,
        "data": r.data.display().to_string(),
        "dataset": r.dataset,
        "backbone": r.backbone,
        "variant": r.variant,
        "seed": r.seed,
        "set": r.set,
        "device": device.to_string(),
    });
    match result {
        Ok((t, mut e)) => {
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
            row["groups"] = e
                .as_object_mut()
                .and_then(|o| o.remove("groups"))
                .unwrap_or(Value::Null);
            row["train"] = t;
            row["eval"] = e;
        }
        Err(msg) => {
            eprintln!("    failed: {msg}");
            row["status"] = json!("failed");
            row["error"] = json!(msg);
        }
    }
    Ok(row)
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
    args.device.open()?;
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
        eprintln!("[{}/{}] {}", k + 1, todo.len(), r.id);
        let row = run_one(&spec, r, &stem, args.device)?;
        if row["status"] != "ok" {
            failed += 1;
        }
        crate::atomic::append_line(&out, &row.to_string())?;
        if !args.keep_models {
            let _ = std::fs::remove_file(stem.with_extension("safetensors"));
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

#[cfg(test)]
mod tests {
    use super::report::*;
    use super::spec::*;
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
