//! The `[events]` table of `dataset.toml`: how an event log's columns, rows, behaviors and
//! split are read, and the checks `serde` cannot make.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{behavior_list_problem, SplitRule};
use crate::error::{Error, Result};

/// What to do with a CSV row whose field count differs from the header's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// Stop with an error naming the line.
    #[default]
    Error,
    /// Skip it, with a note counting such rows.
    Skip,
}

/// A cut of `split = "time"`: a date-time text or a fraction of the log's time range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TimeCut {
    /// A share of the time range, in (0, 1).
    Fraction(f64),
    /// A date-time, e.g. `2017-11-26 03:00:00`.
    At(String),
}

/// The `[events]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// The log file, relative to the dataset directory.
    pub file: Option<PathBuf>,
    /// User column.
    pub user: String,
    /// Item column.
    pub item: String,
    /// Behavior column.
    pub behavior: String,
    /// Timestamp column (optional; `timestamp` is used when present).
    pub timestamp: Option<String>,
    /// Field separator for CSV/TSV (one character, or `tab`).
    pub separator: Option<String>,
    /// False when the CSV/TSV file has no header row (then `columns` names them).
    pub header: bool,
    /// Names of a headerless file's columns, in order.
    pub columns: Option<Vec<String>>,
    /// Rows with the wrong number of fields: error or skip.
    pub bad_rows: BadRows,
    /// Raw behavior value → behavior name.
    pub rename: std::collections::BTreeMap<String, String>,
    /// Raw behavior values whose rows are dropped.
    pub ignore_behaviors: Vec<String>,
    /// Log columns that describe the item (shown next to its id).
    pub item_columns: Vec<String>,
    /// Start of the test period for [`SplitRule::Time`].
    pub test_from: Option<TimeCut>,
    /// Start of the validation period for [`SplitRule::Time`].
    pub valid_from: Option<TimeCut>,
    /// Column with train/valid/test (optional; `split` is used when present).
    pub split_column: Option<String>,
    /// Split rule for the target's events when there is no split column.
    pub split: SplitRule,
    /// Train/valid/test shares for [`SplitRule::Ratio`].
    pub ratio: [f64; 3],
    /// Seed for [`SplitRule::Ratio`].
    pub seed: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            file: None,
            user: "user".into(),
            item: "item".into(),
            behavior: "behavior".into(),
            timestamp: None,
            separator: None,
            header: true,
            columns: None,
            bad_rows: BadRows::Error,
            rename: Default::default(),
            ignore_behaviors: Vec::new(),
            item_columns: Vec::new(),
            test_from: None,
            valid_from: None,
            split_column: None,
            split: SplitRule::Loo,
            ratio: [0.8, 0.1, 0.1],
            seed: 7,
        }
    }
}

impl EventsConfig {
    /// Checks the keys that `serde` cannot: header/columns, rename, the time cuts.
    pub(super) fn check(&self, path: &Path) -> Result<()> {
        self.check_columns(path)?;
        self.check_behaviors(path)?;
        self.check_time_split(path)
    }

    /// `header` and `columns` agree, and a columns list names each column once.
    fn check_columns(&self, path: &Path) -> Result<()> {
        let bad = |problem: String, value: String, fix: &str| {
            Err(Error::bad_data(path, None, problem, value, fix))
        };
        match (&self.columns, self.header) {
            (None, false) => {
                return bad(
                    "[events] header = false needs `columns`".into(),
                    "header = false".into(),
                    "name the file's columns in order, e.g. columns = [\"user\", \"item\", \"category\", \"behavior\", \"timestamp\"]",
                )
            }
            (Some(c), true) => {
                return bad(
                    "[events] columns is for a file without a header row".into(),
                    format!("{c:?}"),
                    "set header = false (the file has no header), or remove `columns` and name the header's columns in user/item/behavior/timestamp",
                )
            }
            (Some(c), false) => {
                if let Some(p) = behavior_list_problem(c) {
                    let p = p.replace("behavior list", "columns list").replace("behavior", "column");
                    return bad(
                        format!("[events] columns: {p}"),
                        format!("{c:?}"),
                        "list every column of the file once, in order, e.g. columns = [\"user\", \"item\", \"behavior\"]",
                    );
                }
            }
            (None, true) => {}
        }
        Ok(())
    }

    /// `[events.rename]` and `ignore_behaviors` hold non-empty values and do not overlap.
    fn check_behaviors(&self, path: &Path) -> Result<()> {
        let bad = |problem: String, value: String, fix: &str| {
            Err(Error::bad_data(path, None, problem, value, fix))
        };
        for (from, to) in &self.rename {
            if to.trim().is_empty() || from.trim().is_empty() {
                return bad(
                    "[events.rename]: empty behavior value or name".into(),
                    format!("{from:?} = {to:?}"),
                    "map a raw value to a name, e.g. pv = \"view\"",
                );
            }
            if self.ignore_behaviors.contains(from) {
                return bad(
                    format!("behavior value `{from}` is both renamed and ignored"),
                    from.clone(),
                    "remove it from [events.rename] or from ignore_behaviors",
                );
            }
        }
        if let Some(v) = self.ignore_behaviors.iter().find(|v| v.trim().is_empty()) {
            return bad(
                "[events] ignore_behaviors holds an empty value".into(),
                format!("{v:?}"),
                "list raw behavior values, e.g. ignore_behaviors = [\"3\"]",
            );
        }
        Ok(())
    }

    /// `test_from` / `valid_from`: valid cuts, only with `split = "time"`, valid before test.
    fn check_time_split(&self, path: &Path) -> Result<()> {
        let bad = |problem: String, value: String, fix: &str| {
            Err(Error::bad_data(path, None, problem, value, fix))
        };
        let cut = |key: &str, c: &Option<TimeCut>| -> Result<Option<f64>> {
            match c {
                Some(TimeCut::Fraction(f)) if !(f.is_finite() && *f > 0.0 && *f < 1.0) => {
                    Err(Error::bad_data(
                        path,
                        None,
                        format!("[events] {key} as a fraction must lie strictly between 0 and 1"),
                        f.to_string(),
                        format!("e.g. {key} = 0.9 (the last tenth of the time range), or a date-time such as {key} = \"2017-11-26 03:00:00\""),
                    ))
                }
                Some(TimeCut::At(s)) => match crate::data::eventlog::parse_time(s) {
                    Some((t, _)) => Ok(Some(t)),
                    None => Err(Error::bad_data(
                        path,
                        None,
                        format!("[events] {key} is not a date-time"),
                        s.clone(),
                        format!("write it as {key} = \"2017-11-26 03:00:00\" (optionally with a zone: UTC, Z, +08:00), or as a fraction such as {key} = 0.9"),
                    )),
                },
                _ => Ok(None),
            }
        };
        let test = cut("test_from", &self.test_from)?;
        let valid = cut("valid_from", &self.valid_from)?;
        if self.split == SplitRule::Time && self.test_from.is_none() {
            return bad(
                "split = \"time\" needs [events] test_from".into(),
                "split = \"time\"".into(),
                "set test_from = 0.9 (a fraction of the time range) or test_from = \"2017-11-26 03:00:00\"",
            );
        }
        if self.split != SplitRule::Time && (self.test_from.is_some() || self.valid_from.is_some())
        {
            return bad(
                "[events] test_from / valid_from only apply to split = \"time\"".into(),
                format!("{:?}", self.split).to_lowercase(),
                "set split = \"time\", or remove test_from and valid_from",
            );
        }
        let frac = |c: &Option<TimeCut>| match c {
            Some(TimeCut::Fraction(f)) => Some(*f),
            _ => None,
        };
        let order_bad = match (test, valid) {
            (Some(t), Some(v)) => v >= t,
            _ => {
                matches!((frac(&self.test_from), frac(&self.valid_from)), (Some(t), Some(v)) if v >= t)
            }
        };
        if order_bad {
            return bad(
                "[events] valid_from must come before test_from".into(),
                format!(
                    "valid_from {:?}, test_from {:?}",
                    self.valid_from, self.test_from
                ),
                "set valid_from earlier than test_from (e.g. valid_from = 0.8, test_from = 0.9)",
            );
        }
        Ok(())
    }
}
