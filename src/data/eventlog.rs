//! Generic event logs: a CSV, TSV or Parquet file with user, item and behavior columns, an
//! optional timestamp and an optional train/valid/test split column (names configurable in
//! `[events]` of dataset.toml). Read with polars; ids may be strings.
//!
//! CSV is read with every column as text so that ids are never coerced (`007` stays `007`).
//! Before polars sees the bytes, the header and record shapes are scanned (`textscan`) so that a
//! duplicate column or a ragged row is reported with its line. Ids that are all canonical
//! numbers become numeric keys, so the same events as a pair-file directory give the same
//! dataset. Without a split column, the target's pairs are split per user (see `split.rs`).

mod frame;
mod split;

use std::path::{Path, PathBuf};

use super::config::{separator_byte, EventsConfig};
use super::load::RawData;
use super::pairs::{RawPairs, AUX_FUNNEL, DEFAULT_TARGET};
use crate::error::{Error, Result};
use frame::{id_column, read_csv, read_parquet, string_column, Rows};
pub use split::{split_by_rule, Tag};
use split::{split_from_column, timestamps};

/// True for a path ending in `.csv`, `.tsv` or `.parquet` (any case).
pub fn is_event_log(path: &Path) -> bool {
    ext(path).is_some_and(|e| matches!(e.as_str(), "csv" | "tsv" | "parquet"))
}

fn ext(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Reads an event log into raw pairs per behavior and split.
pub fn read_event_log(
    file: &Path,
    cfg: &EventsConfig,
    behaviors: Option<&[String]>,
) -> Result<RawData> {
    let (df, rows) = match ext(file).as_deref() {
        Some("parquet") => (
            read_parquet(file)?,
            Rows {
                file,
                lines: None,
                header: None,
            },
        ),
        _ => {
            let tab = ext(file).as_deref() == Some("tsv");
            let sep = cfg
                .separator
                .as_deref()
                .and_then(separator_byte)
                .unwrap_or(if tab { b'\t' } else { b',' });
            read_csv(file, sep)?
        }
    };
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let missing = |col: &str| {
        Error::bad_data(
            file,
            rows.header,
            "missing column",
            col,
            format!("columns found: {}; name the right ones in dataset.toml [events] (user, item, behavior, timestamp, split_column)", names.join(", ")),
        )
    };
    let has = |c: &str| names.iter().any(|n| n == c);
    for c in [&cfg.user, &cfg.item, &cfg.behavior] {
        if !has(c) {
            return Err(missing(c));
        }
    }
    let optional = |set: &Option<String>, default: &str| match set {
        Some(c) if has(c) => Ok(Some(c.clone())),
        Some(c) => Err(missing(c)),
        None => Ok(has(default).then(|| default.to_string())),
    };
    let ts_col = optional(&cfg.timestamp, "timestamp")?;
    let split_col = optional(&cfg.split_column, "split")?;

    let (users, ukeys) = id_column(&df, &cfg.user, "user", &rows)?;
    let (items, ikeys) = id_column(&df, &cfg.item, "item", &rows)?;
    let bvals = string_column(&df, &cfg.behavior, &rows)?;
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut bkeys = Vec::with_capacity(df.height());
    for (row, v) in bvals.iter().enumerate() {
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        let v = v.ok_or_else(|| {
            rows.bad(
                row,
                "missing behavior value",
                "",
                "fill the behavior column on every row",
            )
        })?;
        let k = match seen.iter().position(|(s, _)| s == v) {
            Some(k) => k,
            None => {
                seen.push((v.to_string(), row));
                seen.len() - 1
            }
        };
        bkeys.push(k);
    }
    let order = behavior_order(&seen, behaviors, &rows)?;
    let target = order.len() - 1;
    // slot[k]: position in `order` of the k-th seen value, or None when ignored.
    let slot: Vec<Option<usize>> = seen
        .iter()
        .map(|(s, _)| order.iter().position(|o| o == s))
        .collect();
    let mut notes = Vec::new();
    for (k, (s, _)) in seen.iter().enumerate() {
        if slot[k].is_none() {
            let n = bkeys.iter().filter(|&&b| b == k).count();
            notes.push(format!(
                "{}: {n} `{s}` events ignored (not in the behavior list)",
                rows.file.display()
            ));
        }
    }
    let target_rows: Vec<usize> = (0..bkeys.len())
        .filter(|&r| slot[bkeys[r]] == Some(target))
        .collect();
    let tags = match &split_col {
        Some(c) => split_from_column(&df, c, &target_rows, &rows)?,
        None => {
            let ts = match &ts_col {
                Some(c) => Some(timestamps(&df, c, &target_rows, &rows)?),
                None => None,
            };
            let pairs: Vec<(u32, u32)> =
                target_rows.iter().map(|&r| (ukeys[r], ikeys[r])).collect();
            let (tags, note) = split_by_rule(&pairs, ts.as_deref(), cfg, &order[target]);
            notes.push(format!("{}: {note}", rows.file.display()));
            tags
        }
    };
    let mut out: Vec<RawPairs> = order
        .iter()
        .map(|b| RawPairs::new(b.clone(), file))
        .collect();
    let mut valid = RawPairs::new("valid", file);
    let mut test = RawPairs::new("test", file);
    let mut tag_of = vec![Tag::Train; bkeys.len()];
    for (&r, &t) in target_rows.iter().zip(&tags) {
        tag_of[r] = t;
    }
    for (r, &b) in bkeys.iter().enumerate() {
        let Some(s) = slot[b] else { continue };
        let dest = match tag_of[r] {
            Tag::Train => &mut out[s],
            Tag::Valid => &mut valid,
            Tag::Test => &mut test,
        };
        dest.push(ukeys[r], ikeys[r], rows.line(r));
    }
    for b in &out {
        if b.pairs.is_empty() {
            return Err(Error::bad_data(
                file,
                None,
                "behavior has no training events",
                &b.name,
                "add events of it, or drop it from the behavior list",
            ));
        }
    }
    if test.pairs.is_empty() {
        return Err(Error::bad_data(
            file,
            None,
            "missing test split: no target event was assigned to test",
            &order[target],
            "give each user at least 3 distinct target items (split = \"loo\"), use split = \"ratio\", or add a split column with train/valid/test",
        ));
    }
    Ok(RawData {
        behaviors: out,
        valid: (!valid.pairs.is_empty()).then_some(valid),
        test,
        test_do: None,
        users,
        items,
        count: None,
        notes,
    })
}

/// The behavior order: the configured list (each must occur; other values must be known funnel
/// names, which are then ignored) or the known funnel names present, target `buy`.
fn behavior_order(
    seen: &[(String, usize)],
    list: Option<&[String]>,
    rows: &Rows,
) -> Result<Vec<String>> {
    let known = |s: &str| AUX_FUNNEL.contains(&s) || s == DEFAULT_TARGET;
    let values = seen
        .iter()
        .map(|(s, _)| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(list) = list {
        for b in list {
            if !seen.iter().any(|(s, _)| s == b) {
                return Err(Error::bad_data(
                    rows.file,
                    None,
                    "behavior has no events in the log",
                    b,
                    format!("behavior values in the log: {values}; fix the behavior list"),
                ));
            }
        }
        if let Some((s, row)) = seen.iter().find(|(s, _)| !list.contains(s) && !known(s)) {
            return Err(rows.bad(
                *row,
                "unknown behavior value",
                s,
                format!(
                    "configured behaviors: {}; add it to behaviors = [...] or remove those rows",
                    list.join(", ")
                ),
            ));
        }
        return Ok(list.to_vec());
    }
    if let Some((s, row)) = seen.iter().find(|(s, _)| !known(s)) {
        return Err(rows.bad(*row, "unknown behavior value", s, format!(
            "known behaviors: view, pv, click, collect, cart, buy; list yours weakest → target in dataset.toml: behaviors = [...] (values here: {values})"
        )));
    }
    let mut order: Vec<String> = AUX_FUNNEL
        .iter()
        .filter(|n| seen.iter().any(|(s, _)| s == *n))
        .map(|s| s.to_string())
        .collect();
    if !seen.iter().any(|(s, _)| s == DEFAULT_TARGET) {
        return Err(Error::bad_data(
            rows.file,
            None,
            "missing target behavior: no `buy` event",
            values,
            "name the target last in dataset.toml: behaviors = [..., \"purchase\"]",
        ));
    }
    order.push(DEFAULT_TARGET.to_string());
    Ok(order)
}

/// The event-log file of a directory: `[events] file` (relative to the directory) or the only
/// `.csv` / `.tsv` / `.parquet` file in it.
pub fn events_file(dir: &Path, file: Option<&Path>) -> Result<PathBuf> {
    match file {
        Some(f) => {
            let p = dir.join(f);
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::bad_data(
                    &p,
                    None,
                    if p.exists() { "event log is not a file" } else { "event log does not exist" },
                    f.display().to_string(),
                    "fix `file` in the [events] table of dataset.toml (relative to the dataset directory)",
                ))
            }
        }
        None => lone_event_log(dir)?.ok_or_else(|| {
            Error::bad_data(
                dir,
                None,
                "no event log found (layout = \"events\" needs exactly one .csv/.tsv/.parquet file)",
                dir.display().to_string(),
                "name the file in dataset.toml: [events] file = \"events.csv\"",
            )
        }),
    }
}

/// The only event-log file of a directory that holds no `test.txt`, if there is exactly one.
pub fn lone_event_log(dir: &Path) -> Result<Option<PathBuf>> {
    if dir.join("test.txt").exists() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.is_file() && is_event_log(&p) {
            found.push(p);
        }
    }
    Ok(if found.len() == 1 { found.pop() } else { None })
}
