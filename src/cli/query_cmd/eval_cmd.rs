//! `mclmr eval`: the checkpoint's metrics (do and raw), bias, routing and interventional
//! results, as a table or JSON.

use std::path::PathBuf;

use clap::Args;

use crate::cli::model_cmd::{open, ModelOpts};
use crate::error::{Error, Result};
use crate::eval::{self, metrics::KS};
use crate::memory::peak_rss_mib;
use crate::model::Ranker;

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
    pub by: Option<crate::cli::causal_cmd::By>,
    /// With `--json`: add the `--by stratum` groups to the same object (`"groups": […]`), from
    /// one load of the model and data (what `mclmr grid` records).
    #[arg(long, requires = "json", conflicts_with = "by")]
    pub with_groups: bool,
}

/// `mclmr eval`
pub fn run_eval(args: EvalArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    if args.by.is_some() {
        return crate::cli::causal_cmd::print_groups(&model.ranker, &data, args.json);
    }
    let (report, groups) = if args.with_groups {
        let (report, groups) = eval::full_report_with_groups(&model.ranker, &data)?;
        (report, Some(groups))
    } else {
        (eval::full_report(&model.ranker, &data)?, None)
    };
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
            if let Some(g) = &groups {
                o.insert("groups".into(), serde_json::json!(g));
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
