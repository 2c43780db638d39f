//! `mclmr grid --report`: the rows of a grid as the Markdown tables of docs/RESULTS.md, mean ±
//! sample std over seeds, one section per dataset.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::spec::{datasets, is_baseline, Spec};

/// The report of every dataset of the spec: one section per dataset when it lists `datasets`.
pub(super) fn report_all(spec: &Spec, rows: &[Value]) -> String {
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

pub(super) fn mean_std(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    if xs.len() < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

pub(super) fn fmt_ms(xs: &[f64]) -> String {
    match mean_std(xs) {
        (m, Some(s)) => format!("{m:.4} ± {s:.4}"),
        (m, None) => format!("{m:.4}"),
    }
}

/// The device a row was trained on (rows written before `--device` existed ran on the CPU).
pub(super) fn device_of(row: &Value) -> &str {
    row["device"].as_str().unwrap_or("cpu")
}

/// The seed count of a group, with how many of its runs were made on a GPU.
pub(super) fn seeds_cell(rows: &[&Value]) -> String {
    let gpu = rows.iter().filter(|r| device_of(r) != "cpu").count();
    match gpu {
        0 => rows.len().to_string(),
        k => format!("{} ({k} on GPU)", rows.len()),
    }
}

pub(super) fn metric(rows: &[&Value], path: &[&str]) -> Vec<f64> {
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
pub(super) fn report(name: &str, data: &Path, rows: &[Value]) -> String {
    let (groups, by) = group_rows(rows);
    let mut s = String::new();
    s.push_str(&format!(
        "Grid `{}` on `{}`: {} runs. `do` is the deconfounded ranking, `raw` the biased one \
         (the same for plain backbones and rules); mean ± std over seeds.\n\n",
        name,
        data.display(),
        rows.len()
    ));
    s.push_str(&metrics_table(&groups, &by));
    s.push_str(&cost_table(&groups, &by));
    s.push_str(&bias_table(&groups, &by));
    if rows.iter().any(|r| r["eval"]["interventional"].is_object()) {
        s.push_str(&interventional_table(&groups, &by));
    }
    s.push_str(&super::strata::strata_tables(&groups, &by));
    s
}

/// `(backbone, variant)` keys, learned runs first in the order they ran, then the baselines;
/// and the rows of each.
pub(super) type Groups<'a> = BTreeMap<(String, String), Vec<&'a Value>>;

fn group_rows(rows: &[Value]) -> (Vec<(String, String)>, Groups<'_>) {
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
    groups.sort_by_key(|g| is_baseline(&g.1));
    (groups, by)
}

/// HR/NDCG@10 and @20 of `do`, `raw` HR/NDCG@10 and the gain over the plain backbone.
fn metrics_table(groups: &[(String, String)], by: &Groups) -> String {
    let mut s = String::new();
    s.push_str("| backbone | variant | seeds | HR@10 | NDCG@10 | HR@20 | NDCG@20 | raw HR@10 | raw NDCG@10 | gain HR@10 / NDCG@10 vs plain |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for key in groups {
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
    s
}

/// Epochs, time and peak RSS per device (rules have no cost).
fn cost_table(groups: &[(String, String)], by: &Groups) -> String {
    let mut s = String::new();
    s.push_str(
        "\n| backbone | variant | device | epochs run (best) | s / epoch | train s | peak RSS MiB |\n",
    );
    s.push_str("|---|---|---|---:|---:|---:|---:|\n");
    for key in groups {
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
    s
}

/// Popularity, coverage, Gini and long-tail HR@10 of the top 10, `do` / `raw`.
fn bias_table(groups: &[(String, String)], by: &Groups) -> String {
    let mut s = String::new();
    s.push_str("\nBias of the top 10 (`do` / `raw`): mean popularity of recommended items, catalogue coverage, Gini of exposure, HR@10 on long-tail test items.\n\n");
    s.push_str("| backbone | variant | mean popularity | coverage | Gini | long-tail HR@10 |\n");
    s.push_str("|---|---|---:|---:|---:|---:|\n");
    for key in groups {
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
    s
}

/// `do` and `raw` on the interventional test.
fn interventional_table(groups: &[(String, String)], by: &Groups) -> String {
    let mut s = String::new();
    s.push_str("\nInterventional test (`test_do.txt`: purchases with the confounders' direct effects removed).\n\n");
    s.push_str("| backbone | variant | do HR@10 | do NDCG@10 | raw HR@10 | raw NDCG@10 |\n");
    s.push_str("|---|---|---:|---:|---:|---:|\n");
    for key in groups {
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
    s
}
