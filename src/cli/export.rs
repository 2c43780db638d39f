//! Exports of top-K lists (CSV, Parquet through polars; JSON through serde), written
//! atomically so an interrupted export never leaves half a file.

use std::path::Path;

use polars::prelude::*;

use crate::data::Dataset;
use crate::error::{Error, Result};

/// Writes `user, rank, item` rows (original ids) for every user's list, plus one column per
/// item metadata column (JSON: a `meta` list parallel to `items`).
pub fn write_recommendations(out: &Path, data: &Dataset, lists: &[Vec<u32>]) -> Result<()> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = match ext.as_str() {
        "json" => json_bytes(data, lists)?,
        "csv" | "parquet" => table_bytes(data, lists, ext == "csv")?,
        _ => {
            return Err(Error::bad_arg(
                "unsupported export format",
                out.display().to_string(),
                "name the output file .csv, .json or .parquet",
            ))
        }
    };
    crate::atomic::write(out, &bytes)?;
    eprintln!(
        "wrote {} recommendations for {} users to {}",
        items_len(lists),
        lists.len(),
        out.display()
    );
    Ok(())
}

/// `[{"user": …, "items": […], "meta": [{column: value}, …]}, …]` (`meta` with item metadata).
fn json_bytes(data: &Dataset, lists: &[Vec<u32>]) -> Result<Vec<u8>> {
    let meta = &data.item_meta;
    let rows: Vec<_> = lists
        .iter()
        .enumerate()
        .map(|(u, l)| {
            let mut row = serde_json::json!({"user": data.user_ids[u], "items": l.iter().map(|&i| data.item_ids[i as usize].clone()).collect::<Vec<_>>()});
            if !meta.is_empty() {
                let m: Vec<serde_json::Value> = l
                    .iter()
                    .map(|&i| {
                        serde_json::Value::Object(
                            meta.fields(i)
                                .into_iter()
                                .map(|(c, v)| (c.to_string(), serde_json::Value::from(v)))
                                .collect(),
                        )
                    })
                    .collect();
                row["meta"] = serde_json::Value::Array(m);
            }
            row
        })
        .collect();
    serde_json::to_vec(&rows).map_err(|e| Error::Other(e.to_string()))
}

/// `user, rank, item` and the metadata columns as CSV (`csv`) or Parquet.
fn table_bytes(data: &Dataset, lists: &[Vec<u32>], csv: bool) -> Result<Vec<u8>> {
    let mut users = Vec::new();
    let mut ranks = Vec::new();
    let mut items = Vec::new();
    let meta = &data.item_meta;
    let mut extra: Vec<Vec<String>> = vec![Vec::new(); meta.columns.len()];
    for (u, list) in lists.iter().enumerate() {
        for (r, &i) in list.iter().enumerate() {
            users.push(data.user_ids[u].clone());
            ranks.push(r as u32 + 1);
            items.push(data.item_ids[i as usize].clone());
            let vals = meta.values.get(i as usize);
            for (c, col) in extra.iter_mut().enumerate() {
                col.push(vals.and_then(|v| v.get(c)).cloned().unwrap_or_default());
            }
        }
    }
    let pe = |e: PolarsError| Error::Other(format!("export failed: {e}"));
    let mut cols = vec![
        Column::new("user".into(), users),
        Column::new("rank".into(), ranks),
        Column::new("item".into(), items),
    ];
    for (name, vals) in meta.columns.iter().zip(extra) {
        // A metadata column named like a fixed one gets a prefix.
        let name = if ["user", "rank", "item"].contains(&name.as_str()) {
            format!("item_{name}")
        } else {
            name.clone()
        };
        cols.push(Column::new(name.into(), vals));
    }
    let mut df = DataFrame::new_infer_height(cols).map_err(pe)?;
    let mut buf = Vec::new();
    if csv {
        CsvWriter::new(&mut buf).finish(&mut df).map_err(pe)?;
    } else {
        ParquetWriter::new(&mut buf).finish(&mut df).map_err(pe)?;
    }
    Ok(buf)
}

fn items_len(lists: &[Vec<u32>]) -> usize {
    lists.iter().map(Vec::len).sum()
}
