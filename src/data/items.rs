//! Item metadata: what an item *is* (name, category, brand, price), shown next to its id in the
//! explorer, `recommend`, `explain` and `export`. It comes from columns of the event log
//! (`[events] item_columns`) and/or a file (`items = "items.csv"`, CSV or Parquet with an
//! `item` column). An item without metadata shows its id; duplicate or unknown ids in the file
//! give a note, never an error.

use std::collections::HashMap;
use std::path::Path;

use super::eventlog::read_table;
use super::eventlog::string_values;
use crate::error::{Error, Result};

/// Metadata keyed by original item id, before ids are dense.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItemMeta {
    /// Column names.
    pub columns: Vec<String>,
    /// Values of each item, parallel to `columns` (empty text when missing).
    pub by_id: HashMap<String, Vec<String>>,
    /// Where it came from, for notes.
    pub source: String,
}

/// Metadata per dense item index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemMeta {
    /// Column names (empty: no metadata).
    pub columns: Vec<String>,
    /// Values per item, parallel to `columns`; an empty vector for an item without metadata.
    pub values: Vec<Vec<String>>,
}

/// Columns that name an item, preferred for the one-column display.
const NAME_COLUMNS: [&str; 6] = [
    "name",
    "title",
    "product_name",
    "category",
    "category_code",
    "brand",
];

impl ItemMeta {
    /// True when there is no metadata.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column shown when there is room for one: a name, else a category, else the first.
    pub fn label_column(&self) -> Option<usize> {
        NAME_COLUMNS
            .iter()
            .find_map(|n| self.columns.iter().position(|c| c.eq_ignore_ascii_case(n)))
            .or((!self.columns.is_empty()).then_some(0))
    }

    /// The label column's value of an item (`None` when empty or missing).
    pub fn label(&self, item: u32) -> Option<&str> {
        let c = self.label_column()?;
        self.values
            .get(item as usize)?
            .get(c)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `(column, value)` of every non-empty field of an item.
    pub fn fields(&self, item: u32) -> Vec<(&str, &str)> {
        let Some(v) = self.values.get(item as usize) else {
            return Vec::new();
        };
        self.columns
            .iter()
            .zip(v)
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| (c.as_str(), v.as_str()))
            .collect()
    }

    /// `category 1464116 · brand acme`, or `None` without metadata.
    pub fn describe(&self, item: u32) -> Option<String> {
        let f = self.fields(item);
        (!f.is_empty()).then(|| {
            f.iter()
                .map(|(c, v)| format!("{c} {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        })
    }

    /// Joins raw metadata onto dense items (`index`: original id → dense index).
    pub fn attach(
        raws: Vec<RawItemMeta>,
        n_items: usize,
        index: impl Fn(&str) -> Option<u32>,
        notes: &mut Vec<String>,
    ) -> ItemMeta {
        let mut meta = ItemMeta::default();
        for raw in raws {
            let offset = meta.columns.len();
            let width = offset + raw.columns.len();
            for c in &raw.columns {
                // The same column from the log and the file: the file's gets a suffix.
                let name = if meta.columns.contains(c) {
                    format!("{c}_file")
                } else {
                    c.clone()
                };
                meta.columns.push(name);
            }
            meta.values.resize(n_items, Vec::new());
            let (mut unknown, mut example) = (0usize, None);
            let mut known = 0usize;
            for (id, vals) in raw.by_id {
                match index(&id) {
                    Some(i) => {
                        let row = &mut meta.values[i as usize];
                        row.resize(width, String::new());
                        for (k, v) in vals.into_iter().enumerate() {
                            row[offset + k] = v;
                        }
                        known += 1;
                    }
                    None => {
                        unknown += 1;
                        example.get_or_insert(id);
                    }
                }
            }
            if unknown > 0 {
                notes.push(format!(
                    "{}: {unknown} items not in the dataset ignored (e.g. `{}`)",
                    raw.source,
                    example.unwrap_or_default()
                ));
            }
            if known < n_items {
                notes.push(format!(
                    "{}: {} of {n_items} items have no metadata (they show their id)",
                    raw.source,
                    n_items - known
                ));
            }
        }
        for row in &mut meta.values {
            if !row.is_empty() {
                row.resize(meta.columns.len(), String::new());
            }
        }
        meta
    }
}

/// Reads an item metadata file: CSV/TSV/Parquet with an `item` column; the first row of a
/// duplicated id wins (with a note).
pub fn read_items_file(path: &Path, notes: &mut Vec<String>) -> Result<RawItemMeta> {
    let df = read_table(path, notes)?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if !names.iter().any(|n| n == "item") {
        return Err(Error::bad_data(
            path,
            Some(1),
            "item metadata file has no `item` column",
            names.join(","),
            "name the id column `item` (the other columns, e.g. name, category, brand, price, are shown as they are), or fix `items` in dataset.toml",
        ));
    }
    let columns: Vec<String> = names.iter().filter(|n| *n != "item").cloned().collect();
    if columns.is_empty() {
        return Err(Error::bad_data(
            path,
            Some(1),
            "item metadata file has only the `item` column",
            names.join(","),
            "add the columns to show (name, category, brand, price, …)",
        ));
    }
    let ids = string_values(&df, "item", path)?;
    let cols: Vec<Vec<Option<String>>> = columns
        .iter()
        .map(|c| string_values(&df, c, path))
        .collect::<Result<_>>()?;
    let mut by_id: HashMap<String, Vec<String>> = HashMap::with_capacity(ids.len());
    let (mut dups, mut example, mut empty) = (0usize, None, 0usize);
    for (r, id) in ids.iter().enumerate() {
        let Some(id) = id.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            empty += 1;
            continue;
        };
        let id = match id.strip_suffix(".0") {
            Some(w) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => w,
            _ => id,
        };
        if by_id.contains_key(id) {
            dups += 1;
            example.get_or_insert_with(|| id.to_string());
            continue;
        }
        let vals = cols
            .iter()
            .map(|c| {
                c.get(r)
                    .cloned()
                    .flatten()
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            })
            .collect();
        by_id.insert(id.to_string(), vals);
    }
    let src = path.display().to_string();
    if dups > 0 {
        notes.push(format!(
            "{src}: {dups} rows repeat an item id already listed (e.g. `{}`); the first row of each id is used",
            example.unwrap_or_default()
        ));
    }
    if empty > 0 {
        notes.push(format!("{src}: {empty} rows without an item id ignored"));
    }
    Ok(RawItemMeta {
        columns,
        by_id,
        source: src,
    })
}
