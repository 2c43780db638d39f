//! Generic event logs: CSV, TSV or Parquet files with user, item and behavior columns, an
//! optional timestamp and an optional train/valid/test split column (names configurable in
//! `[events]` of dataset.toml). Read with polars; ids may be strings.
//!
//! CSV is read with every column as text so that ids are never coerced (`007` stays `007`).
//! Before polars sees the bytes, the header and record shapes are scanned (`textscan`) so that a
//! duplicate column or a ragged row is reported with its line (or skipped: `bad_rows = "skip"`).
//! A file without a header gets its names from `columns`; a glob reads several files as one
//! log (`files.rs`). Raw behavior values are renamed or dropped (`[events.rename]`,
//! `ignore_behaviors`) before the behavior order applies. Ids that are all canonical numbers
//! become numeric keys, so the same events as a pair-file directory give the same dataset.
//! Without a split column, the target's pairs are split per user or by a global time cut (see
//! `split.rs`; timestamps in `time.rs`).

mod columns;
mod files;
mod frame;
mod split;
mod time;

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

use super::config::{separator_byte, BadRows, EventsConfig, SplitRule};
use super::load::RawData;
use super::pairs::RawPairs;
use crate::error::{Error, Result};
use columns::{behavior_keys, item_meta_from_log};
pub use files::{events_files, lone_event_log};
use frame::{id_column, read_csv, read_parquet, string_column, Rows};
pub use split::{split_by_rule, Tag};
use split::{split_by_time, split_from_column, timestamps};
pub use time::{format_time, parse_time, TimeFormat};

/// True for a path ending in `.csv`, `.tsv` or `.parquet` (any case).
pub fn is_event_log(path: &Path) -> bool {
    ext(path).is_some_and(|e| matches!(e.as_str(), "csv" | "tsv" | "parquet"))
}

fn ext(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Reads the files of a log (one, or the matches of a glob, in name order) into one frame.
fn read_frames(
    files: &[PathBuf],
    cfg: &EventsConfig,
    notes: &mut Vec<String>,
) -> Result<(DataFrame, Rows)> {
    let mut df: Option<DataFrame> = None;
    let mut rows = Rows {
        files: files.to_vec(),
        starts: Vec::new(),
        lines: Some(Vec::new()),
        header: None,
    };
    let mut sizes = Vec::new();
    for file in files {
        let (part, lines, header) = read_part(file, cfg, notes)?;
        let start = df.as_ref().map_or(0, DataFrame::height);
        rows.starts.push(start);
        rows.header = rows.header.or(header);
        sizes.push(format!(
            "{} ({} rows)",
            file.file_name().map_or_else(
                || file.display().to_string(),
                |f| f.to_string_lossy().into_owned()
            ),
            part.height()
        ));
        rows.lines = match (rows.lines.take(), lines) {
            // Line numbers are kept only while every file has them for every row.
            (Some(mut all), Some(l)) if all.len() == start && l.len() == part.height() => {
                all.extend(l);
                Some(all)
            }
            _ => None,
        };
        df = Some(match df {
            None => part,
            Some(acc) => append_part(acc, &part, file, header, &files[0])?,
        });
    }
    if files.len() > 1 {
        notes.push(format!(
            "read {} files as one log, in name order: {}",
            files.len(),
            sizes.join(", ")
        ));
    }
    let mut df = df.ok_or_else(|| Error::Other("internal: an event log without files".into()))?;
    if files.len() > 1 {
        df.rechunk_mut();
    }
    // A log of Parquet files has row numbers; line numbers stay only for all-CSV logs.
    if rows.lines.as_ref().is_some_and(|l| l.len() != df.height()) {
        rows.lines = None;
    }
    Ok((df, rows))
}

/// One file of the log: its frame, the line of each row (CSV) and the header's line.
fn read_part(
    file: &Path,
    cfg: &EventsConfig,
    notes: &mut Vec<String>,
) -> Result<(DataFrame, Option<Vec<u32>>, Option<usize>)> {
    Ok(match ext(file).as_deref() {
        Some("parquet") => (read_parquet(file)?, None, None),
        _ => {
            let tab = ext(file).as_deref() == Some("tsv");
            let sep = cfg
                .separator
                .as_deref()
                .and_then(separator_byte)
                .unwrap_or(if tab { b'\t' } else { b',' });
            let cols = if cfg.header {
                None
            } else {
                cfg.columns.as_deref()
            };
            let t = read_csv(file, sep, cols, cfg.bad_rows == BadRows::Skip, notes)?;
            (t.df, Some(t.lines), t.header)
        }
    })
}

/// `acc` with the rows of `part` (a later file of the log) below; both need the same columns.
fn append_part(
    mut acc: DataFrame,
    part: &DataFrame,
    file: &Path,
    header: Option<usize>,
    first: &Path,
) -> Result<DataFrame> {
    let a: Vec<String> = acc
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let b: Vec<String> = part
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if a != b {
        return Err(Error::bad_data(
            file,
            header,
            "the files of the log have different columns",
            b.join(","),
            format!(
                "give every file matched by [events] file the columns of {} ({})",
                first.display(),
                a.join(",")
            ),
        ));
    }
    acc.vstack_mut(part).map_err(|e| {
        Error::bad_data(
            file,
            None,
            "the files of the log have different column types",
            e.to_string(),
            "store the same columns with the same types in every file",
        )
    })?;
    Ok(acc)
}

/// Reads a plain CSV/TSV (header row, separator from the extension) or Parquet table, every
/// CSV column as text: for side files such as item metadata.
pub fn read_table(file: &Path, notes: &mut Vec<String>) -> Result<DataFrame> {
    match ext(file).as_deref() {
        Some("parquet") => read_parquet(file),
        Some("csv" | "tsv") => {
            let sep = if ext(file).as_deref() == Some("tsv") {
                b'\t'
            } else {
                b','
            };
            Ok(read_csv(file, sep, None, false, notes)?.df)
        }
        _ => Err(Error::bad_data(
            file,
            None,
            "not a table file",
            file.display().to_string(),
            "give a .csv, .tsv or .parquet file",
        )),
    }
}

/// A column's values as text (`None` for nulls).
pub fn string_values(df: &DataFrame, col: &str, file: &Path) -> Result<Vec<Option<String>>> {
    let rows = Rows {
        files: vec![file.to_path_buf()],
        starts: vec![0],
        lines: None,
        header: None,
    };
    let c = string_column(df, col, &rows)?;
    Ok(c.iter().map(|v| v.map(str::to_string)).collect())
}

/// Reads an event log (its files, read as one) into raw pairs per behavior and split.
/// `source` names the log in the pairs (the file, or the glob of several).
pub fn read_event_log(
    files: &[PathBuf],
    source: &Path,
    cfg: &EventsConfig,
    behaviors: Option<&[String]>,
) -> Result<RawData> {
    let mut notes = Vec::new();
    let (df, rows) = read_frames(files, cfg, &mut notes)?;
    let label = source.display().to_string();
    let (ts_col, split_col) = find_columns(&df, cfg, &rows)?;
    let (users, ukeys) = id_column(&df, &cfg.user, "user", &rows, &mut notes)?;
    let (items, ikeys) = id_column(&df, &cfg.item, "item", &rows, &mut notes)?;
    let (bkeys, slot, order) = behavior_keys(&df, cfg, behaviors, &rows, &label, &mut notes)?;
    let target = order.len() - 1;
    let is_target = |r: usize| bkeys[r].and_then(|k| slot[k]) == Some(target);
    let log = LogColumns {
        df: &df,
        rows: &rows,
        label: &label,
        ukeys: &ukeys,
        ikeys: &ikeys,
        target_name: &order[target],
    };
    let (tag_of, dropped) = assign_splits(
        &log,
        cfg,
        ts_col.as_deref(),
        split_col.as_deref(),
        &is_target,
        &mut notes,
    )?;
    let row_slot = |r: usize| bkeys[r].and_then(|b| slot[b]).filter(|_| !dropped[r]);
    let (out, valid, test) = route_rows(&log, source, &order, &row_slot, &tag_of)?;
    let item_meta = if cfg.item_columns.is_empty() {
        None
    } else {
        let kept = |r: usize| row_slot(r).is_some();
        Some(item_meta_from_log(&df, cfg, &items, &ikeys, &kept, &rows)?)
    };
    Ok(RawData {
        behaviors: out,
        valid: (!valid.pairs.is_empty()).then_some(valid),
        test,
        test_do: None,
        users,
        items,
        count: None,
        notes,
        item_meta,
    })
}

/// What the split and routing steps read of a loaded log.
struct LogColumns<'a> {
    df: &'a DataFrame,
    rows: &'a Rows,
    label: &'a str,
    ukeys: &'a [u32],
    ikeys: &'a [u32],
    target_name: &'a str,
}

/// Checks that the user, item, behavior and item-metadata columns exist; returns the timestamp
/// and split columns, each when the log has it (or the config names it).
fn find_columns(
    df: &DataFrame,
    cfg: &EventsConfig,
    rows: &Rows,
) -> Result<(Option<String>, Option<String>)> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let looks_like_data = cfg.header
        && names
            .iter()
            .any(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    let missing = |col: &str| {
        let hint = if looks_like_data {
            "; the first row looks like data: if the file has no header, set header = false and columns = [\"user\", \"item\", …] (the file's columns in order)"
        } else {
            ""
        };
        Error::bad_data(
            rows.file(),
            rows.header,
            "missing column",
            col,
            format!("columns found: {}; name the right ones in dataset.toml [events] (user, item, behavior, timestamp, split_column, item_columns){hint}", names.join(", ")),
        )
    };
    let has = |c: &str| names.iter().any(|n| n == c);
    for c in [&cfg.user, &cfg.item, &cfg.behavior]
        .into_iter()
        .chain(&cfg.item_columns)
    {
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
    if cfg.split == SplitRule::Time && ts_col.is_none() {
        return Err(missing(cfg.timestamp.as_deref().unwrap_or("timestamp")));
    }
    Ok((ts_col, split_col))
}

/// Train / valid / test of every row (only target rows leave train) and the rows a time split
/// drops, by the split column, `split = "time"` or the per-user rule.
fn assign_splits(
    log: &LogColumns,
    cfg: &EventsConfig,
    ts_col: Option<&str>,
    split_col: Option<&str>,
    is_target: &dyn Fn(usize) -> bool,
    notes: &mut Vec<String>,
) -> Result<(Vec<Tag>, Vec<bool>)> {
    let (df, rows, label) = (log.df, log.rows, log.label);
    let n = df.height();
    let target_rows: Vec<usize> = (0..n).filter(|&r| is_target(r)).collect();
    let mut tag_of = vec![Tag::Train; n];
    let mut dropped = vec![false; n];
    match (split_col, cfg.split) {
        (Some(c), _) => {
            let tags = split_from_column(df, c, &target_rows, rows)?;
            for (&r, &t) in target_rows.iter().zip(&tags) {
                tag_of[r] = t;
            }
        }
        (None, SplitRule::Time) => {
            let col = ts_col.unwrap_or("timestamp");
            let (ts, note) = timestamps(df, col, None, rows, true)?;
            notes.push(format!("{label}: {note}"));
            let note = split_by_time(
                &ts,
                is_target,
                cfg,
                log.target_name,
                &mut tag_of,
                &mut dropped,
            )?;
            notes.push(format!("{label}: {note}"));
        }
        (None, _) => {
            let ts = match ts_col {
                Some(c) => {
                    let (ts, note) = timestamps(df, c, Some(&target_rows), rows, false)?;
                    notes.push(format!("{label}: {note}"));
                    Some(ts)
                }
                None => None,
            };
            let pairs: Vec<(u32, u32)> = target_rows
                .iter()
                .map(|&r| (log.ukeys[r], log.ikeys[r]))
                .collect();
            let (tags, note) = split_by_rule(&pairs, ts.as_deref(), cfg, log.target_name);
            notes.push(format!("{label}: {note}"));
            for (&r, &t) in target_rows.iter().zip(&tags) {
                tag_of[r] = t;
            }
        }
    }
    Ok((tag_of, dropped))
}

/// The rows sorted into each behavior's training pairs and the valid and test pairs; a behavior
/// without training events or a log without test events is an error.
fn route_rows(
    log: &LogColumns,
    source: &Path,
    order: &[String],
    row_slot: &dyn Fn(usize) -> Option<usize>,
    tag_of: &[Tag],
) -> Result<(Vec<RawPairs>, RawPairs, RawPairs)> {
    let mut out: Vec<RawPairs> = order
        .iter()
        .map(|b| RawPairs::new(b.clone(), source))
        .collect();
    let mut valid = RawPairs::new("valid", source);
    let mut test = RawPairs::new("test", source);
    for (r, tag) in tag_of.iter().enumerate() {
        let Some(s) = row_slot(r) else {
            continue;
        };
        let dest = match tag {
            Tag::Train => &mut out[s],
            Tag::Valid => &mut valid,
            Tag::Test => &mut test,
        };
        dest.push(log.ukeys[r], log.ikeys[r], log.rows.line(r));
    }
    for b in &out {
        if b.pairs.is_empty() {
            return Err(Error::bad_data(
                source,
                None,
                "behavior has no training events",
                &b.name,
                "add events of it, or drop it from the behavior list",
            ));
        }
    }
    if test.pairs.is_empty() {
        return Err(Error::bad_data(
            source,
            None,
            "missing test split: no target event was assigned to test",
            log.target_name,
            "give users at least 2 distinct target items (split = \"loo\"), use split = \"ratio\" or split = \"time\" with test_from, or add a split column with train/valid/test",
        ));
    }
    Ok((out, valid, test))
}
