//! The columns of an event log beyond the ids: the behavior of every row (renamed, ignored,
//! ordered weakest → target) and item metadata from `item_columns`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use polars::prelude::DataFrame;

use super::frame::{string_column, Rows};
use crate::data::config::EventsConfig;
use crate::data::ids::KeySpace;
use crate::data::items::RawItemMeta;
use crate::data::pairs::{AUX_FUNNEL, DEFAULT_TARGET};
use crate::error::{Error, Result};

/// The behavior of every row: the key of its raw value (`None` for an ignored value), the slot
/// in the behavior order of each key (`None` when it is left out) and the order itself.
#[allow(clippy::type_complexity)]
pub(super) fn behavior_keys(
    df: &DataFrame,
    cfg: &EventsConfig,
    behaviors: Option<&[String]>,
    rows: &Rows,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<(Vec<Option<usize>>, Vec<Option<usize>>, Vec<String>)> {
    let bvals = string_column(df, &cfg.behavior, rows)?;
    let mut index: HashMap<&str, Option<usize>> = HashMap::new();
    // Behavior names (after renaming) with the first row of each.
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut ignored: Vec<(String, usize)> = Vec::new();
    let mut bkeys = Vec::with_capacity(df.height());
    // The previous row's value and key: most rows repeat the dominant behavior.
    let mut last: Option<(&str, Option<usize>)> = None;
    for (row, v) in bvals.iter().enumerate() {
        if let (Some((lv, lk)), Some(v)) = (last, v) {
            if lv == v {
                if lk.is_none() {
                    if let Some(e) = ignored.iter_mut().find(|(s, _)| s == v.trim()) {
                        e.1 += 1;
                    }
                }
                bkeys.push(lk);
                continue;
            }
        }
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        let v = v.ok_or_else(|| {
            rows.bad(
                row,
                "missing behavior value",
                "",
                "fill the behavior column on every row (or skip such rows: bad_rows = \"skip\" skips only rows with a wrong field count)",
            )
        })?;
        let k = match index.get(v) {
            Some(&k) => k,
            None => {
                let k = if cfg.ignore_behaviors.iter().any(|i| i == v) {
                    ignored.push((v.to_string(), 0));
                    None
                } else {
                    let name = cfg.rename.get(v).map_or(v, String::as_str);
                    Some(match seen.iter().position(|(s, _)| s == name) {
                        Some(k) => k,
                        None => {
                            seen.push((name.to_string(), row));
                            seen.len() - 1
                        }
                    })
                };
                index.insert(v, k);
                k
            }
        };
        if k.is_none() {
            if let Some(e) = ignored.iter_mut().find(|(s, _)| s == v) {
                e.1 += 1;
            }
        }
        last = bvals.get(row).map(|raw| (raw, k));
        bkeys.push(k);
    }
    for (v, n) in &ignored {
        notes.push(format!(
            "{label}: {n} `{v}` rows dropped (ignore_behaviors)"
        ));
    }
    for (from, to) in &cfg.rename {
        if index.contains_key(from.as_str()) {
            notes.push(format!(
                "{label}: behavior `{from}` read as `{to}` ([events.rename])"
            ));
        }
    }
    let order = behavior_order(&seen, behaviors, rows)?;
    let slot: Vec<Option<usize>> = seen
        .iter()
        .map(|(s, _)| order.iter().position(|o| o == s))
        .collect();
    for (k, (s, _)) in seen.iter().enumerate() {
        if slot[k].is_none() {
            let n = bkeys.iter().filter(|&&b| b == Some(k)).count();
            notes.push(format!(
                "{label}: {n} `{s}` events ignored (not in the behavior list)"
            ));
        }
    }
    Ok((bkeys, slot, order))
}

/// The first non-empty value of each `item_columns` column for every item of the rows kept.
pub(super) fn item_meta_from_log(
    df: &DataFrame,
    cfg: &EventsConfig,
    items: &KeySpace,
    ikeys: &[u32],
    kept: &dyn Fn(usize) -> bool,
    rows: &Rows,
) -> Result<RawItemMeta> {
    let cols: Vec<_> = cfg
        .item_columns
        .iter()
        .map(|c| string_column(df, c, rows))
        .collect::<Result<_>>()?;
    // First row of every item (a multiplicative hash: 10 M rows of u32 keys), then the values
    // of that row; an empty value is filled from a later row of the item, if any.
    let mut first: HashMap<u32, usize, BuildHasherDefault<MulHash>> = HashMap::default();
    for (r, &k) in ikeys.iter().enumerate() {
        if kept(r) {
            first.entry(k).or_insert(r);
        }
    }
    let value = |c: usize, r: usize| -> String {
        cols[c]
            .get(r)
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    let mut first: HashMap<u32, Vec<String>> = first
        .into_iter()
        .map(|(k, r)| (k, (0..cols.len()).map(|c| value(c, r)).collect()))
        .collect();
    if first.values().any(|v| v.iter().any(String::is_empty)) {
        for (r, &k) in ikeys.iter().enumerate() {
            if let Some(e) = first.get_mut(&k) {
                for (c, slot) in e.iter_mut().enumerate() {
                    if slot.is_empty() {
                        *slot = value(c, r);
                    }
                }
            }
        }
    }
    let by_id = first
        .into_iter()
        .map(|(k, v)| {
            let id = match items {
                KeySpace::Numeric => k.to_string(),
                KeySpace::Interned(s) => s.get(k as usize).cloned().unwrap_or_default(),
            };
            (id, v)
        })
        .collect();
    Ok(RawItemMeta {
        columns: cfg.item_columns.clone(),
        by_id,
        source: format!("[events] item_columns of {}", rows.file().display()),
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
                    rows.file(),
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
                    "configured behaviors: {}; add it to behaviors = [...], name it with [events.rename] (\"{s}\" = \"cart\"), or drop its rows with [events] ignore_behaviors = [\"{s}\"]",
                    list.join(", ")
                ),
            ));
        }
        return Ok(list.to_vec());
    }
    if let Some((s, row)) = seen.iter().find(|(s, _)| !known(s)) {
        return Err(rows.bad(*row, "unknown behavior value", s, format!(
            "known behaviors: view, pv, click, collect, cart, buy; list yours weakest → target in dataset.toml: behaviors = [...] (values here: {values}), name it with [events.rename] (\"{s}\" = \"view\"), or drop its rows with [events] ignore_behaviors = [\"{s}\"]"
        )));
    }
    let mut order: Vec<String> = AUX_FUNNEL
        .iter()
        .filter(|n| seen.iter().any(|(s, _)| s == *n))
        .map(|s| s.to_string())
        .collect();
    if !seen.iter().any(|(s, _)| s == DEFAULT_TARGET) {
        return Err(Error::bad_data(
            rows.file(),
            None,
            "missing target behavior: no `buy` event",
            values,
            "name the target last in dataset.toml: behaviors = [..., \"purchase\"], or rename it: [events.rename] purchase = \"buy\"",
        ));
    }
    order.push(DEFAULT_TARGET.to_string());
    Ok(order)
}

/// A multiplicative hash for `u32` keys (Fibonacci hashing): far cheaper than SipHash on the
/// per-row maps of a large log, whose keys are ids, not attacker-chosen text.
#[derive(Default, Clone, Copy)]
struct MulHash(u64);

impl Hasher for MulHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = (u64::from(v) ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
