//! `mclmr eval | recommend | explain | export`: one checkpoint on its dataset, printed.

use std::path::PathBuf;

use clap::Args;

mod eval_cmd;

use super::model_cmd::{open, resolve_item, resolve_user, ModelOpts};
use crate::analysis::ranking::top_k_scored;
use crate::error::{Error, Result};
use crate::eval;
use crate::explain::explain;
use crate::model::Mode;
pub use eval_cmd::{run_eval, EvalArgs};

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
