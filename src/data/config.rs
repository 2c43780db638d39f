//! The dataset config, `dataset.toml` in the dataset directory (or `--data-config FILE`).
//!
//! Every key is optional; [`DEFAULT_DATASET_TOML`] is the commented reference compiled into the
//! binary. Unknown keys are errors naming the key (a typo must not be ignored silently).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

mod events;

pub use events::{BadRows, EventsConfig, TimeCut};

use super::textscan::{check_utf8, read_file, strip_bom};
use crate::error::{Error, Result};

/// The commented reference config: every key with its default.
pub const DEFAULT_DATASET_TOML: &str = r#"# dataset.toml: how mclmr reads this directory. Every key is optional.

# Display name (default: the directory name).
# name = "taobao"

# "pairs" (`user item` per line), "user-lines" (`user item item ...`) or "events" (CSV/TSV/
# Parquet log). Default: "events" when [events] is present, else sniffed from train.txt/buy.txt.
# layout = "pairs"

# Behavior order, weakest -> target; each NAME is read from NAME.txt (or from the log's
# behavior column). Default: view|pv|click, collect, cart present, then buy.
# behaviors = ["view", "cart", "buy"]

# Validation pairs that are also training target pairs: "holdout" (remove them from
# training), "keep" (train on them too) or "skip" (ignore the validation split).
# valid = "holdout"

# Test pairs whose user or item has no training interaction: "error" or "drop".
# cold_test = "error"

# Base of the ids when count.txt declares the universe and the data does not show it (0 or 1).
# id_base = 1

# Item metadata file for any layout (CSV or Parquet, relative to this directory): an `item`
# column plus any others (name, category, brand, price, ...), shown next to item ids in the
# explorer, `recommend`, `explain` and `export`.
# items = "items.csv"

# [events]
# file = "events.csv"        # .csv, .tsv or .parquet, relative to this directory; a glob
#                            # ("JData_Action_2016*.csv") reads the matching files, in name
#                            # order, as one log
# header = true              # false: the file has no header row; name its columns in `columns`
# columns = ["user", "item", "category", "behavior", "timestamp"]  # with header = false
# user = "user"              # column names
# item = "item"
# behavior = "behavior"
# timestamp = "timestamp"    # optional: unix seconds or milliseconds, or date-time text
#                            # ("2019-10-01 00:00:00 UTC", "2016-01-31 23:59:02", ISO 8601)
# separator = ","            # CSV/TSV only; default from the extension
# bad_rows = "error"         # "error" or "skip": rows with the wrong number of fields (a cut
#                            # last row) stop the load, or are skipped and counted in a note
# ignore_behaviors = []      # raw behavior values whose rows are dropped (e.g. ["3"])
# item_columns = []          # log columns that describe the item (e.g. ["category", "brand"])
# split_column = "split"     # optional column with train/valid/test (default: `split` if present)
# split = "loo"              # "loo" (last target item per user -> test, the one before -> valid;
#                            # users with 2 items give only a test item), "ratio", or "time"
#                            # (global cut: target events from `test_from` on are test)
# test_from = 0.9            # split = "time": a date-time ("2017-11-26 03:00:00") or a fraction
#                            # of the log's time range
# valid_from = 0.8           # split = "time", optional: start of the validation window
# ratio = [0.8, 0.1, 0.1]    # train/valid/test shares for split = "ratio"
# seed = 7                   # shuffling seed for split = "ratio"
#
# [events.rename]            # raw behavior value -> behavior name (before `behaviors` applies)
# pv = "view"
"#;

/// What to do with validation pairs that are also target training pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidPolicy {
    /// Remove them from the training target pairs (a true hold-out).
    #[default]
    Holdout,
    /// Leave training as is (validation is then not held out).
    Keep,
    /// Ignore the validation split.
    Skip,
}

impl ValidPolicy {
    /// The name `--valid` and `dataset.toml` take.
    pub fn name(self) -> &'static str {
        match self {
            ValidPolicy::Holdout => "holdout",
            ValidPolicy::Keep => "keep",
            ValidPolicy::Skip => "skip",
        }
    }
}

impl FromStr for ValidPolicy {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "holdout" => Ok(ValidPolicy::Holdout),
            "keep" => Ok(ValidPolicy::Keep),
            "skip" => Ok(ValidPolicy::Skip),
            _ => Err(format!(
                "unknown valid policy `{s}`: use holdout, keep or skip"
            )),
        }
    }
}

/// What to do with test pairs whose user or item has no training interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColdTest {
    /// Stop with an error naming the first such line.
    #[default]
    Error,
    /// Drop them, with a note.
    Drop,
}

/// The input layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One `user item` pair per line, one file per behavior/split.
    Pairs,
    /// `user item item …` per line, one file per behavior/split.
    UserLines,
    /// A CSV/TSV/Parquet event log.
    Events,
}

/// How an event log's target events are split when there is no split column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitRule {
    /// Leave-one-out by time: last target item per user is test, the one before valid.
    #[default]
    Loo,
    /// Random per-user shares `ratio` with `seed`.
    Ratio,
    /// A global cut in time: target events from `test_from` on are test (`valid_from` on, valid).
    Time,
}

/// `dataset.toml` (see [`DEFAULT_DATASET_TOML`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Display name.
    pub name: Option<String>,
    /// Input layout (default: detected).
    pub layout: Option<Layout>,
    /// Behavior order, weakest → target.
    pub behaviors: Option<Vec<String>>,
    /// Validation policy.
    pub valid: Option<ValidPolicy>,
    /// Cold test pairs policy.
    pub cold_test: Option<ColdTest>,
    /// Id base (0 or 1) when `count.txt` is present and the data does not show it.
    pub id_base: Option<u8>,
    /// Item metadata file (CSV or Parquet with an `item` column), relative to the dataset.
    pub items: Option<PathBuf>,
    /// Event-log settings.
    pub events: Option<EventsConfig>,
    /// The file this config was read from (not a TOML key).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl DatasetConfig {
    /// Reads and checks a config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = read_file(path)?;
        check_utf8(path, &bytes)?;
        let text = String::from_utf8_lossy(strip_bom(&bytes)).into_owned();
        let mut cfg = Self::from_toml(path, &text)?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses and checks config text; `path` is only used in error messages.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self> {
        let cfg: DatasetConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let line = text.get(..span.start).map(|s| s.matches('\n').count() + 1);
            let value = text.get(span).unwrap_or_default().to_string();
            Error::bad_data(
                path,
                line,
                format!("invalid dataset config: {}", e.message().trim()),
                value,
                "fix or remove it (keys: name, layout, behaviors, valid, cold_test, id_base, items, [events] file, header, columns, user, item, behavior, timestamp, separator, bad_rows, ignore_behaviors, item_columns, split_column, split, test_from, valid_from, ratio, seed, [events.rename])",
            )
        })?;
        cfg.check(path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |problem: &str, value: String, fix: &str| {
            Err(Error::bad_data(path, None, problem, value, fix))
        };
        if let Some(b) = self.id_base {
            if b > 1 {
                return bad(
                    "id_base must be 0 or 1",
                    b.to_string(),
                    "set id_base = 0 or id_base = 1",
                );
            }
        }
        if let Some(list) = &self.behaviors {
            if let Some(err) = behavior_list_problem(list) {
                return bad(
                    &err,
                    format!("{list:?}"),
                    "list distinct non-empty names, weakest → target",
                );
            }
        }
        if let Some(ev) = &self.events {
            if ev.ratio.iter().any(|r| !r.is_finite() || *r < 0.0)
                || ev.ratio.iter().sum::<f64>() <= 0.0
            {
                return bad(
                    "ratio must hold three non-negative shares with a positive sum",
                    format!("{:?}", ev.ratio),
                    "e.g. ratio = [0.8, 0.1, 0.1]",
                );
            }
            ev.check(path)?;
            if let Some(s) = &ev.separator {
                if separator_byte(s).is_none() {
                    return bad(
                        "separator must be one ASCII character or `tab`",
                        s.clone(),
                        "e.g. separator = \",\" or separator = \"tab\"",
                    );
                }
            }
        }
        Ok(())
    }
}

/// Why a behavior list is unusable, if it is.
pub fn behavior_list_problem(list: &[String]) -> Option<String> {
    if list.is_empty() {
        return Some("the behavior list is empty".into());
    }
    if let Some(b) = list.iter().find(|b| b.trim().is_empty()) {
        return Some(format!("empty behavior name `{b}`"));
    }
    for (k, b) in list.iter().enumerate() {
        if list[..k].contains(b) {
            return Some(format!("behavior `{b}` is listed twice"));
        }
    }
    None
}

/// The byte of a separator setting (`","`, `";"`, `"\t"`, `"tab"`).
pub fn separator_byte(s: &str) -> Option<u8> {
    match s {
        "tab" | "\\t" => Some(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => s.bytes().next(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DatasetConfig> {
        DatasetConfig::from_toml(Path::new("dataset.toml"), s)
    }

    #[test]
    fn reference_config_parses_and_uncommented_keys_too() {
        assert_eq!(
            parse(DEFAULT_DATASET_TOML).unwrap(),
            DatasetConfig::default()
        );
        // Uncomment every `# key = value` line (and `# [events]`), dropping inline comments.
        let uncommented: String = DEFAULT_DATASET_TOML
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with("[events")
                    || l.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
            })
            .map(|l| l.split("  #").next().unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        // The keys that go together: a headerless file with its columns, a time split.
        let uncommented = uncommented
            .replace("header = true", "header = false")
            .replace("split = \"loo\"", "split = \"time\"");
        let cfg = parse(&uncommented).unwrap();
        assert_eq!(cfg.layout, Some(Layout::Pairs));
        let ev = cfg.events.unwrap();
        assert_eq!(ev.split, SplitRule::Time);
        assert_eq!(ev.rename.get("pv").map(String::as_str), Some("view"));
        assert_eq!(ev.test_from, Some(TimeCut::Fraction(0.9)));
        assert_eq!(cfg.items, Some(PathBuf::from("items.csv")));
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse("name = \"x\"\ncolour = 3\n").unwrap_err().to_string();
        assert!(e.contains("dataset.toml:2"), "{e}");
        assert!(e.contains("colour"), "{e}");
        let e = parse("[events]\nusr = \"u\"\n").unwrap_err().to_string();
        assert!(e.contains("usr"), "{e}");
    }

    #[test]
    fn bad_values() {
        assert!(parse("valid = \"maybe\"").is_err());
        assert!(parse("id_base = 2")
            .unwrap_err()
            .to_string()
            .contains("id_base"));
        assert!(parse("behaviors = [\"a\", \"a\"]")
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(parse("[events]\nratio = [0.0, 0.0, 0.0]").is_err());
        assert!(parse("[events]\nseparator = \"ab\"").is_err());
        assert_eq!("KEEP".parse::<ValidPolicy>(), Ok(ValidPolicy::Keep));
        assert!("x".parse::<ValidPolicy>().is_err());
    }
}
