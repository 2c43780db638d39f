//! `mclmr data stats|validate`: load a dataset and print its statistics card (or JSON), or
//! check it and say `ok` with its sizes; loader notes go to stderr as warnings.

use super::DataCommand;
use crate::data::stats::{thousands, DataStats};
use crate::data::{load_dataset, Dataset};
use crate::error::{Error, Result};

/// Runs a `data` subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Stats { dir, load, json } => {
            let ds = load_dataset(&dir, &load.load_options())?;
            let stats = DataStats::compute(&ds);
            if json {
                let text = serde_json::to_string_pretty(&stats)
                    .map_err(|e| Error::Other(format!("cannot write JSON: {e}")))?;
                println!("{text}");
            } else {
                print!("{}", stats.card());
            }
            Ok(())
        }
        DataCommand::Validate { dir, load } => {
            let ds = load_dataset(&dir, &load.load_options())?;
            println!("{}", summary(&ds));
            for note in &ds.notes {
                eprintln!("note: {note}");
            }
            Ok(())
        }
    }
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
