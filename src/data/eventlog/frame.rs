//! Reading an event log's table with polars and turning its columns into keys and text, with
//! every problem reported at its line (CSV) or row (Parquet).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use polars::prelude::{
    CsvReadOptions, DataFrame, DataType, ParquetReader, SerReader, StringChunked,
};

use crate::data::ids::KeySpace;
use crate::data::textscan::{check_utf8, read_file, scan_csv, strip_bom};
use crate::error::{Error, Result};

/// Where each row of the frame came from, for error messages.
pub(super) struct Rows<'a> {
    pub(super) file: &'a Path,
    /// Line of each row (CSV), or `None` for 1-based row numbers (Parquet).
    pub(super) lines: Option<Vec<u32>>,
    /// Line of the header (CSV).
    pub(super) header: Option<usize>,
}

impl Rows<'_> {
    pub(super) fn line(&self, row: usize) -> usize {
        match &self.lines {
            Some(l) => l.get(row).map_or(row + 2, |&l| l as usize),
            None => row + 1,
        }
    }

    pub(super) fn bad(
        &self,
        row: usize,
        problem: impl Into<String>,
        value: &str,
        fix: impl Into<String>,
    ) -> Error {
        Error::bad_data(self.file, Some(self.line(row)), problem, value, fix)
    }
}

/// Interns an id column (text or integer) and returns the keys of every row.
pub(super) fn id_column(
    df: &DataFrame,
    col: &str,
    kind: &str,
    rows: &Rows,
) -> Result<(KeySpace, Vec<u32>)> {
    let dtype = df
        .column(col)
        .map_err(|e| polars_err(rows.file, e))?
        .dtype()
        .clone();
    if !(dtype == DataType::String || dtype.is_integer()) {
        return Err(Error::bad_data(
            rows.file,
            None,
            format!("column `{col}` has type {dtype}; expected integer or string {kind} ids"),
            col,
            "store ids as integers or strings (not floats, booleans or lists)",
        ));
    }
    let vals = string_column(df, col, rows)?;
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut strings: Vec<String> = Vec::new();
    let mut keys = Vec::with_capacity(vals.len());
    for (row, v) in vals.iter().enumerate() {
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        let v = v.ok_or_else(|| {
            rows.bad(
                row,
                format!("missing {kind} id"),
                "",
                format!("fill the `{col}` column on every row"),
            )
        })?;
        if dtype.is_integer() && v.starts_with('-') {
            return Err(rows.bad(
                row,
                format!("negative {kind} id"),
                v,
                "ids must be whole numbers ≥ 0 (or strings)",
            ));
        }
        let k = match index.get(v) {
            Some(&k) => k,
            None => {
                let k = strings.len() as u32;
                index.insert(v.to_string(), k);
                strings.push(v.to_string());
                k
            }
        };
        keys.push(k);
    }
    // Canonical numbers (no sign, no leading zero, ≤ u32::MAX) become numeric keys.
    let numeric: Option<Vec<u32>> = strings
        .iter()
        .map(|s| s.parse::<u32>().ok().filter(|v| v.to_string() == *s))
        .collect();
    Ok(match numeric {
        Some(vals) => (
            KeySpace::Numeric,
            keys.iter().map(|&k| vals[k as usize]).collect(),
        ),
        None => (KeySpace::Interned(strings), keys),
    })
}

/// A column as text (cast when it is not).
pub(super) fn string_column(df: &DataFrame, col: &str, rows: &Rows) -> Result<StringChunked> {
    let c = df.column(col).map_err(|e| polars_err(rows.file, e))?;
    let c = c.cast(&DataType::String).map_err(|_| {
        Error::bad_data(
            rows.file,
            None,
            format!(
                "column `{col}` of type {} cannot be read as text",
                c.dtype()
            ),
            col,
            "store it as integers or strings",
        )
    })?;
    c.str().cloned().map_err(|e| polars_err(rows.file, e))
}

fn polars_err(file: &Path, e: polars::prelude::PolarsError) -> Error {
    Error::bad_data(
        file,
        None,
        "cannot read the event log",
        e.to_string(),
        "check that the file is a valid CSV/TSV/Parquet table",
    )
}

pub(super) fn read_parquet(file: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    ParquetReader::new(f).finish().map_err(|e| {
        Error::bad_data(
            file,
            None,
            "cannot read Parquet file",
            e.to_string(),
            "check that the file is a complete Parquet file (or use CSV)",
        )
    })
}

/// Reads a CSV/TSV file with every column as text; returns the frame and each row's line.
pub(super) fn read_csv<'a>(file: &'a Path, sep: u8) -> Result<(DataFrame, Rows<'a>)> {
    let bytes = read_file(file)?;
    check_utf8(file, &bytes)?;
    let body = strip_bom(&bytes);
    let shape = scan_csv(body, sep);
    let Some(header) = shape.header.clone() else {
        return Err(Error::bad_data(
            file,
            None,
            "empty event log",
            "",
            "add a header line (user, item, behavior, …) and events",
        ));
    };
    for (k, h) in header.iter().enumerate() {
        if header[..k].contains(h) {
            return Err(Error::bad_data(
                file,
                Some(shape.header_line),
                "duplicate column name in the header",
                h,
                "give every column a distinct name",
            ));
        }
    }
    if let Some((line, found)) = shape.ragged {
        return Err(Error::bad_data(
            file,
            Some(line),
            format!(
                "ragged row: {found} fields where the header has {}",
                header.len()
            ),
            shape.ragged_text,
            format!(
                "give every row the {} columns of the header (separator `{}`)",
                header.len(),
                char::from(sep).escape_default()
            ),
        ));
    }
    if shape.record_lines.is_empty() {
        return Err(Error::bad_data(
            file,
            None,
            "event log has a header but no events",
            header.join(","),
            "add events below the header",
        ));
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .map_parse_options(|p| p.with_separator(sep))
        .into_reader_with_file_handle(Cursor::new(shape.clean_copy(body)))
        .finish()
        .map_err(|e| polars_err(file, e))?;
    // Rows map to lines only when polars saw the same records as the scan.
    let lines = if df.height() == shape.record_lines.len() {
        shape.record_lines
    } else {
        Vec::new()
    };
    let rows = Rows {
        file,
        lines: Some(lines),
        header: Some(shape.header_line),
    };
    Ok((df, rows))
}
