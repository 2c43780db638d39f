//! `mclmr eval | recommend | explain | export`: one checkpoint on its dataset, printed.

use std::path::PathBuf;

use clap::Args;

use super::model_cmd::{open, resolve_item, resolve_user, ModelOpts};
use crate::analysis::ranking::top_k_scored;
use crate::error::{Error, Result};
use crate::eval::{self, metrics::KS};
use crate::explain::explain;
use crate::memory::peak_rss_mib;
use crate::model::{Mode, Ranker};

/// `mclmr eval`
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Print JSON: {"do":{"HR@10":…},"raw":{…},"bias":{…},"interventional":{…},"routing":{…}}.
    #[arg(long)]
    pub json: bool,
    /// Also write every user's expert gates and effective evidence weights to this TSV file.
    #[arg(long, value_name = "FILE")]
    pub gates: Option<PathBuf>,
    /// Metrics per group instead: `stratum` (user habit strata, item strata, popularity buckets).
    #[arg(long, value_enum)]
    pub by: Option<super::causal_cmd::By>,
}

/// `mclmr recommend`
#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Original user id.
    #[arg(long)]
    pub user: String,
    /// Number of items.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Ranking: `do` (debiased, default) or `raw` (observational).
    #[arg(long, default_value = "do")]
    pub mode: Mode,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr explain`
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Original user id.
    #[arg(long)]
    pub user: String,
    /// Original item id.
    #[arg(long)]
    pub item: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Output file: `.csv`, `.json` or `.parquet` (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Items per user.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Ranking: `do` or `raw`.
    #[arg(long, default_value = "do")]
    pub mode: Mode,
}

/// `mclmr eval`
pub fn run_eval(args: EvalArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    if args.by.is_some() {
        return super::causal_cmd::print_groups(&model.ranker, &data, args.json);
    }
    let report = eval::full_report(&model.ranker, &data)?;
    let routing = match &model.ranker {
        Ranker::Neural(inf) => {
            if let Some(path) = &args.gates {
                crate::analysis::routing::write_gates(inf, &data, path)?;
            }
            crate::analysis::routing::summary(inf, &data)
        }
        Ranker::Rule(_) | Ranker::Ease(_) => None,
    };
    if args.json {
        let mut v = serde_json::to_value(&report).map_err(|e| Error::Other(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("peak_rss_mib".into(), serde_json::json!(peak_rss_mib()));
            if let Some(r) = &routing {
                o.insert("routing".into(), serde_json::json!(r));
            }
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "{} on {} ({} test users, {:.2}s)",
        args.m.model.display(),
        data.name,
        report.users,
        report.seconds
    );
    let mut keys = Vec::new();
    for k in KS {
        keys.extend([
            format!("HR@{k}"),
            format!("Recall@{k}"),
            format!("NDCG@{k}"),
        ]);
    }
    println!("{:<12}{:>10}{:>10}", "metric", "do", "raw");
    for k in &keys {
        println!(
            "{:<12}{:>10.4}{:>10.4}",
            k,
            report.do_.get(k).unwrap_or(&0.0),
            report.raw.get(k).unwrap_or(&0.0)
        );
    }
    for (mode, b) in &report.bias {
        println!("bias {mode:<4} mean popularity {:.1}  coverage {:.3}  gini {:.3}  long-tail HR@10 {:.4}", b.mean_popularity, b.coverage, b.gini, b.longtail_hr10);
    }
    if let Some(r) = &routing {
        println!(
            "routing over {} users (mean ± sd, 5th–95th percentile):",
            r.users
        );
        for (what, rows) in [("gate", &r.gates), ("evidence w", &r.evidence)] {
            for s in rows {
                println!(
                    "  {what:<10} {:<10} {:.3} ± {:.3}  [{:.3}, {:.3}]",
                    s.name, s.mean, s.sd, s.p5, s.p95
                );
            }
        }
    }
    if let Some(iv) = &report.interventional {
        for (mode, m) in iv {
            println!(
                "interventional {mode:<4} HR@10 {:.4}  NDCG@10 {:.4}",
                m.get("HR@10").unwrap_or(&0.0),
                m.get("NDCG@10").unwrap_or(&0.0)
            );
        }
    }
    Ok(())
}

/// `mclmr recommend`
pub fn run_recommend(args: RecommendArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let u = resolve_user(&data, &args.user)?;
    let mask = data.target_train().user_items(u);
    let list = top_k_scored(&model.ranker, u, args.mode, args.k, &mask)?;
    if args.json {
        let items: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(r, &(i, s))| {
                let mut row = serde_json::json!({"rank": r + 1, "item": data.item_ids[i as usize], "score": s});
                let meta: serde_json::Map<String, serde_json::Value> = data
                    .item_meta
                    .fields(i)
                    .into_iter()
                    .map(|(c, v)| (c.to_string(), serde_json::Value::from(v)))
                    .collect();
                if !meta.is_empty() {
                    row["meta"] = serde_json::Value::Object(meta);
                }
                row
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"user": args.user, "mode": args.mode.name(), "items": items})
        );
    } else {
        println!(
            "top {} for user {} ({}):",
            args.k,
            args.user,
            args.mode.name()
        );
        for (r, (i, s)) in list.iter().enumerate() {
            let meta = data.item_meta.describe(*i).unwrap_or_default();
            let line = format!(
                "{:>4}  {:<12} {:>9.4}  {meta}",
                r + 1,
                data.item_ids[*i as usize],
                s
            );
            println!("{}", line.trim_end());
        }
    }
    Ok(())
}

/// `mclmr explain`
pub fn run_explain(args: ExplainArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let u = resolve_user(&data, &args.user)?;
    let i = resolve_item(&data, &args.item)?;
    let e = explain(&model.ranker, &data, u, i);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&e).map_err(|e| Error::Other(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "user {} · item {}: do {:.4}, raw {:.4} (raw − do {:+.4})",
        e.user, e.item, e.score_do, e.score_raw, e.raw_minus_do
    );
    if let Some(m) = data.item_meta.describe(i) {
        println!("  item: {m}");
    }
    println!("  target term            {:+.4}", e.target_term);
    for x in &e.experts {
        println!("  expert {:<12} g={:.3} {:+.4}", x.name, x.gate, x.term);
    }
    for x in &e.evidence {
        println!(
            "  evidence {:<10} n={} g={:.3} w={:.3} {:+.4}",
            x.behavior, x.count, x.gate, x.weight, x.term
        );
    }
    if let (Some(d), Some(r), Some((su, si))) = (e.confounders_do, e.confounders_raw, e.strata) {
        println!("  confounders (habit stratum {su}, item stratum {si}):   do        raw");
        println!(
            "    user habit           {:+.4}   {:+.4}",
            d.user_habit, r.user_habit
        );
        println!(
            "    item distribution    {:+.4}   {:+.4}",
            d.item_distribution, r.item_distribution
        );
        println!(
            "    item bias            {:+.4}   {:+.4}",
            d.item_bias, r.item_bias
        );
        println!(
            "    conversion evidence  {:+.4}   {:+.4}",
            d.conversion, r.conversion
        );
    }
    for n in &e.nearest {
        let items: Vec<String> = n
            .items
            .iter()
            .map(|(id, c)| format!("{id} ({c:.2})"))
            .collect();
        println!("  nearest {:<10} {}", n.behavior, items.join(", "));
    }
    Ok(())
}

/// `mclmr export`
pub fn run_export(args: ExportArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let mask = data.target_train().user_csr(data.n_users());
    let lists = eval::rank_users(&model.ranker, &users, args.mode, args.k, &mask)?;
    super::export::write_recommendations(&args.out, &data, &lists)
}
