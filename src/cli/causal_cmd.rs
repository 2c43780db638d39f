//! `mclmr bias | whatif | report` and `mclmr eval --by stratum`: thin shells over
//! [`crate::analysis::bias`], [`crate::analysis::whatif`], [`crate::eval::groups`] and
//! [`crate::report`].

use std::path::PathBuf;

use clap::Args;

use super::model_cmd::{open, resolve_item, resolve_user, ModelOpts};
use crate::analysis::{bias, whatif};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Mode, Ranker};

/// Grouping of `mclmr eval --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// User habit strata, item strata and item popularity buckets.
    Stratum,
}

/// `mclmr bias`
#[derive(Debug, Args)]
pub struct BiasArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// List length of the exposure counts.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Items listed per table.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr whatif`
#[derive(Debug, Args)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Original user id.
    #[arg(long)]
    pub user: String,
    /// Interactions to drop, `BEHAVIOR:ITEM` (repeatable).
    #[arg(long, value_name = "BEHAVIOR:ITEM")]
    pub drop: Vec<String>,
    /// Interactions to add, `BEHAVIOR:ITEM` (repeatable).
    #[arg(long, value_name = "BEHAVIOR:ITEM")]
    pub add: Vec<String>,
    /// Item to follow (default: the first edited item).
    #[arg(long)]
    pub item: Option<String>,
    /// List length.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Ranking: `do` (default) or `raw`.
    #[arg(long, default_value = "do")]
    pub mode: Mode,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Output file: `.html` or `.md` (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// List length of the bias figures.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Users whose explanations are shown.
    #[arg(long, default_value_t = 3)]
    pub users: usize,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Other(e.to_string()))
}

/// `mclmr eval --by stratum`
pub fn print_groups(ranker: &Ranker, data: &Dataset, json: bool) -> Result<()> {
    let rows = crate::eval::groups::by_stratum(ranker, data)?;
    if json {
        println!("{}", to_json(&serde_json::json!({ "groups": rows }))?);
        return Ok(());
    }
    println!(
        "{:<14}{:>6}{:>8}{:>8}{:>12}{:>12}{:>12}{:>12}",
        "by", "group", "users", "items", "HR@10 do", "HR@10 raw", "NDCG@10 do", "NDCG@10 raw"
    );
    for r in &rows {
        let g = |m: &std::collections::BTreeMap<String, f64>, k: &str| *m.get(k).unwrap_or(&0.0);
        println!(
            "{:<14}{:>6}{:>8}{:>8}{:>12.4}{:>12.4}{:>12.4}{:>12.4}",
            r.by,
            r.group,
            r.users,
            r.items,
            g(&r.do_, "HR@10"),
            g(&r.raw, "HR@10"),
            g(&r.do_, "NDCG@10"),
            g(&r.raw, "NDCG@10")
        );
    }
    Ok(())
}

/// `mclmr bias`
pub fn run_bias(args: BiasArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let quiet = args.json;
    let a = bias::analyse(&model.ranker, &data, args.k, args.top, &|done, total| {
        if !quiet {
            eprint!("\rranking users {done}/{total}");
        }
    })?;
    if !quiet {
        eprintln!();
    }
    if args.json {
        println!("{}", to_json(&a)?);
        return Ok(());
    }
    println!(
        "bias of {} on {}: top-{} of {} users ({:.2}s)",
        args.m.model.display(),
        data.name,
        a.k,
        a.users,
        a.seconds
    );
    for (title, rows) in [
        ("most pushed (mean raw − do)", &a.most_pushed),
        ("exposure gained under raw", &a.exposure_gain),
    ] {
        println!("{title}:");
        println!(
            "  {:<12}{:>8}{:>6}{:>10}{:>8}{:>8}  meta",
            "item", "stratum", "pop", "push", "exp do", "exp raw"
        );
        for r in rows.iter() {
            let meta: Vec<String> = r.meta.iter().map(|(c, v)| format!("{c}={v}")).collect();
            let line = format!(
                "  {:<12}{:>8}{:>6}{:>+10.4}{:>8}{:>8}  {}",
                r.item,
                r.stratum,
                r.popularity,
                r.push,
                r.exposure_do,
                r.exposure_raw,
                meta.join(" ")
            );
            println!("{}", line.trim_end());
        }
    }
    println!("exposure share by popularity decile (1 = least popular):");
    for d in &a.deciles {
        println!(
            "  {:>2} (≤{:>5} buys)  do {:>6.3}  raw {:>6.3}",
            d.decile, d.max_popularity, d.share_do, d.share_raw
        );
    }
    println!("per user habit stratum: do vs raw top-K");
    for s in &a.strata {
        println!(
            "  stratum {:>2}  {:>6} users  Jaccard {:.3}  RBO {:.3}  mean push {:+.4}",
            s.stratum, s.users, s.jaccard, s.rbo, s.push
        );
    }
    Ok(())
}

/// `mclmr whatif`
pub fn run_whatif(args: WhatifArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let user = resolve_user(&data, &args.user)?;
    let mut edits = Vec::new();
    for d in &args.drop {
        edits.push(whatif::parse_edit(&data, d, false)?);
    }
    for a in &args.add {
        edits.push(whatif::parse_edit(&data, a, true)?);
    }
    if edits.is_empty() {
        return Err(Error::bad_arg(
            "nothing to change",
            "(no --drop or --add)",
            "give at least one --drop BEHAVIOR:ITEM or --add BEHAVIOR:ITEM",
        ));
    }
    let item = args
        .item
        .as_deref()
        .map(|i| resolve_item(&data, i))
        .transpose()?;
    let q = whatif::Query {
        user,
        edits,
        item,
        k: args.k,
        mode: args.mode,
    };
    let backbone = model.checkpoint.config.model.backbone;
    let w = whatif::what_if(&model.ranker, backbone, &data, &q)?;
    if args.json {
        println!("{}", to_json(&w)?);
        return Ok(());
    }
    print_whatif(&w);
    Ok(())
}

/// The text form of a what-if: changed terms, the chosen item, both top-K lists side by side.
fn print_whatif(w: &whatif::WhatIf) {
    println!(
        "what-if for user {} ({}), re-ranked in {:.1} ms",
        w.user, w.mode, w.millis
    );
    for t in &w.changed {
        println!(
            "  {} {}: count {} → {}, evidence {:+.4} → {:+.4}, conversion {:+.4} → {:+.4}",
            t.behavior,
            t.item,
            t.count.0,
            t.count.1,
            t.evidence.0,
            t.evidence.1,
            t.conversion.0,
            t.conversion.1
        );
    }
    if let Some(t) = &w.user_terms {
        let g = |v: &[f32]| {
            let parts: Vec<String> = t
                .experts
                .iter()
                .zip(v)
                .map(|(n, x)| format!("{n} {x:.3}"))
                .collect();
            parts.join(", ")
        };
        println!("  gate: {} → {}", g(&t.gate.0), g(&t.gate.1));
        if let (Some(a), Some(b)) = t.stratum {
            println!("  habit stratum: {a} → {b}");
        }
    }
    if let Some(c) = &w.item {
        let r = |x: Option<usize>| x.map_or("masked".to_string(), |r| r.to_string());
        println!(
            "  item {}: score {:.4} → {:.4}, rank {} → {}",
            c.item,
            c.score.0,
            c.score.1,
            r(c.rank.0),
            r(c.rank.1)
        );
    }
    println!("  {:>4}  {:<24}{:<24}", "rank", "before", "after");
    for r in 0..w.before.len().max(w.after.len()) {
        let cell = |l: &[whatif::Ranked]| {
            l.get(r)
                .map(|x| format!("{} ({:.3})", x.item, x.score))
                .unwrap_or_default()
        };
        println!(
            "  {:>4}  {:<24}{:<24}",
            r + 1,
            cell(&w.before),
            cell(&w.after)
        );
    }
    println!("  exact: {}", w.exact.join("; "));
    if !w.approximated.is_empty() {
        println!("  approximated: {}", w.approximated.join("; "));
    }
}

/// `mclmr report`
pub fn run_report(args: ReportArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let opts = crate::report::ReportOptions {
        k: args.k,
        users: args.users,
        model_name: args.m.model.display().to_string(),
    };
    let text = crate::report::build(&model.ranker, &data, &opts, &args.out)?;
    crate::atomic::write(&args.out, text.as_bytes())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
