//! A large event log in the published form of Taobao's `UserBehavior.csv` (no header;
//! `user,item,category,behavior,timestamp`; behaviors `pv`, `fav`, `cart`, `buy`; unix seconds,
//! time-ordered), with the `dataset.toml` that reads it: for load-time and memory checks at
//! sizes no real file here has (`mclmr synth --event-log 10000000`). Not a causal model: items
//! are drawn from a skewed popularity, behaviors with UserBehavior's shares.

use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// `pv`, `fav`, `cart`, `buy` shares of UserBehavior (89.2 %, 3.1 %, 5.5 %, 2.3 %).
const SHARES: [(&str, f64); 4] = [
    ("pv", 0.892),
    ("fav", 0.031),
    ("cart", 0.055),
    ("buy", 0.022),
];

/// The `dataset.toml` written next to the log.
pub const EVENT_LOG_TOML: &str = r#"# Written by `mclmr synth --event-log`: a headerless UserBehavior-style log.
name = "synth-events"
behaviors = ["pv", "fav", "cart", "buy"]
cold_test = "drop"

[events]
file = "events.csv"
header = false
columns = ["user", "item", "category", "behavior", "timestamp"]
item_columns = ["category"]
"#;

/// Writes `dir/events.csv` (`rows` events over `users` users and `items` items, seeded) and
/// `dir/dataset.toml`; returns a one-line summary.
pub fn write_event_log(
    dir: &Path,
    rows: u64,
    users: usize,
    items: usize,
    seed: u64,
) -> Result<String> {
    if rows == 0 || users == 0 || items == 0 {
        return Err(Error::bad_arg(
            "an event log needs rows, users and items",
            format!("--event-log {rows} --users {users} --items {items}"),
            "give positive numbers, e.g. --event-log 10000000 --users 1000000 --items 400000",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("events.csv");
    crate::atomic::write_with(&path, |out| write_events(out, rows, users, items, seed))?;
    let toml = dir.join("dataset.toml");
    crate::atomic::write(&toml, EVENT_LOG_TOML.as_bytes())?;
    Ok(format!(
        "wrote {} ({rows} events, {users} users, {items} items, seed {seed}) and {}",
        path.display(),
        toml.display()
    ))
}

/// The seeded event rows, one `user,item,category,behavior,timestamp` line each.
fn write_events(
    out: &mut dyn Write,
    rows: u64,
    users: usize,
    items: usize,
    seed: u64,
) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start: u64 = 1_511_658_000;
    // Nine days, as in the full UserBehavior file.
    let span: u64 = 9 * 86_400;
    let categories = (items / 50).max(1) as u64;
    let mut line = Vec::with_capacity(64);
    for r in 0..rows {
        let u = rng.random_range(1..=users as u64);
        // Squaring a uniform draw gives a long-tailed popularity.
        let x: f64 = rng.random();
        let i = 1 + ((x * x) * items as f64) as u64 % items as u64;
        let c = 1 + (i.wrapping_mul(2_654_435_761) % categories);
        let p: f64 = rng.random();
        let mut acc = 0.0;
        let mut b = SHARES[0].0;
        for (name, s) in SHARES {
            acc += s;
            if p < acc {
                b = name;
                break;
            }
        }
        let t = start + r * span / rows;
        line.clear();
        writeln!(line, "{u},{i},{c},{b},{t}")?;
        out.write_all(&line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_log_loads_with_its_config() {
        let dir = tempfile::tempdir().unwrap();
        write_event_log(dir.path(), 5000, 300, 200, 3).unwrap();
        let ds = crate::data::load_dataset(dir.path(), &Default::default()).unwrap();
        assert_eq!(ds.behavior_names(), ["pv", "fav", "cart", "buy"]);
        assert!(!ds.test.is_empty());
        assert_eq!(ds.item_meta.columns, ["category"]);
        assert!(ds.item_label(0).is_some());
    }
}
