//! `mclmr data stats|validate`: load a dataset and print its statistics card (or JSON), or
//! check it and say `ok` with its sizes; loader notes go to stderr as warnings.

use super::DataCommand;
use crate::data::stats::{thousands, DataStats};
use crate::data::{load_dataset, Dataset};
use crate::error::{Error, Result};
use crate::memory::{self, estimate::describe, format_size, Available, Estimate, Shape};
use crate::model::Config;

/// Runs a `data` subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Stats { dir, load, json } => {
            load.check_loading(&dir)?;
            let ds = load_dataset(&dir, &load.load_options())?;
            let stats = DataStats::compute(&ds);
            let cfg = Config::default();
            let est = memory::estimate::training(&Shape::of(&ds), &cfg);
            let avail = load.budget().available();
            if json {
                let mut v = serde_json::to_value(&stats)
                    .map_err(|e| Error::Other(format!("cannot write JSON: {e}")))?;
                if let Some(obj) = v.as_object_mut() {
                    obj.insert(
                        "memory".into(),
                        serde_json::json!({
                            "training_bytes": est.total(),
                            "config": format!("{} (defaults)", describe(&cfg)),
                            "parts": est
                                .parts
                                .iter()
                                .map(|(k, b)| (k.clone(), serde_json::Value::from(*b)))
                                .collect::<serde_json::Map<_, _>>(),
                            "available_bytes": avail.map(|a| a.bytes),
                        }),
                    );
                }
                let text = serde_json::to_string_pretty(&v)
                    .map_err(|e| Error::Other(format!("cannot write JSON: {e}")))?;
                println!("{text}");
            } else {
                let card = stats.card();
                let line = memory_line(&est, &cfg, avail);
                match card.find("\nnotes:\n") {
                    Some(at) => print!("{}\n{line}{}", &card[..at], &card[at..]),
                    None => print!("{card}\n{line}"),
                }
            }
            Ok(())
        }
        DataCommand::Validate { dir, load } => {
            load.check_loading(&dir)?;
            let ds = load_dataset(&dir, &load.load_options())?;
            println!("{}", summary(&ds));
            for note in &ds.notes {
                eprintln!("note: {note}");
            }
            Ok(())
        }
    }
}

/// `memory: training needs about 503 MiB with the default config (lightgcn +MCLMR, …)`.
fn memory_line(est: &Estimate, cfg: &Config, avail: Option<Available>) -> String {
    let have = avail.map_or_else(String::new, |a| {
        format!("; {} available ({})", format_size(a.bytes), a.source)
    });
    format!(
        "memory: training needs about {} with the default config ({}){have}\n  ({})\n",
        format_size(est.total()),
        describe(cfg),
        est.breakdown()
    )
}

/// `ok: taobao: 15,449 users, 11,953 items, behaviors view 873,954 · cart … ; train … valid … test …`
fn summary(ds: &Dataset) -> String {
    let behaviors: Vec<String> = ds
        .behaviors
        .iter()
        .map(|b| format!("{} {}", b.name, thousands(b.len())))
        .collect();
    format!(
        "ok: {}: {} users, {} items, behaviors {}; valid {}, test {}{}",
        ds.name,
        thousands(ds.n_users()),
        thousands(ds.n_items()),
        behaviors.join(", "),
        thousands(ds.valid.len()),
        thousands(ds.test.len()),
        ds.test_do.as_ref().map_or(String::new(), |t| format!(
            ", test_do {}",
            thousands(t.len())
        ))
    )
}
