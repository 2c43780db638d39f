//! Reading an event log's table with polars and turning its columns into keys and text, with
//! every problem reported at its line (CSV) or row (Parquet).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::{
    CsvReadOptions, DataFrame, DataType, ParquetReader, SerReader, StringChunked,
};

use crate::data::ids::KeySpace;
use crate::data::textscan::{
    check_utf8, read_file, scan_csv, scan_csv_headerless, strip_bom, CsvShape,
};
use crate::error::{Error, Result};

/// Where each row of the frame came from, for error messages: the files read (in order) and
/// the first row of each.
pub(super) struct Rows {
    pub(super) files: Vec<PathBuf>,
    pub(super) starts: Vec<usize>,
    /// Line of each row in its file (CSV), or `None` for 1-based row numbers (Parquet).
    pub(super) lines: Option<Vec<u32>>,
    /// Line of the header (CSV).
    pub(super) header: Option<usize>,
}

impl Rows {
    /// The first file (the only one of a single-file log).
    pub(super) fn file(&self) -> &Path {
        self.files.first().map_or(Path::new(""), PathBuf::as_path)
    }

    fn part(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row).saturating_sub(1)
    }

    /// The file a row came from.
    pub(super) fn file_of(&self, row: usize) -> &Path {
        self.files
            .get(self.part(row))
            .map_or(self.file(), PathBuf::as_path)
    }

    /// The row's line (CSV) or 1-based row (Parquet) in its file.
    pub(super) fn line(&self, row: usize) -> usize {
        let local = row - self.starts.get(self.part(row)).copied().unwrap_or(0);
        match &self.lines {
            Some(l) => l.get(row).map_or(local + 2, |&l| l as usize),
            None => local + 1,
        }
    }

    pub(super) fn bad(
        &self,
        row: usize,
        problem: impl Into<String>,
        value: &str,
        fix: impl Into<String>,
    ) -> Error {
        Error::bad_data(self.file_of(row), Some(self.line(row)), problem, value, fix)
    }
}

/// Interns an id column (text or integer) and returns the keys of every row.
pub(super) fn id_column(
    df: &DataFrame,
    col: &str,
    kind: &str,
    rows: &Rows,
    notes: &mut Vec<String>,
) -> Result<(KeySpace, Vec<u32>)> {
    let dtype = df
        .column(col)
        .map_err(|e| polars_err(rows.file(), e))?
        .dtype()
        .clone();
    if !(dtype == DataType::String || dtype.is_integer()) {
        return Err(Error::bad_data(
            rows.file(),
            None,
            format!("column `{col}` has type {dtype}; expected integer or string {kind} ids"),
            col,
            "store ids as integers or strings (not floats, booleans or lists)",
        ));
    }
    let vals = string_column(df, col, rows)?;
    // Fast path (no hashing): every id a canonical number, the usual case of a large log.
    if let Some((keys, floats)) = canonical_numbers(&vals) {
        if let Some((n, example)) = floats {
            notes.push(float_note(rows, n, kind, &example));
        }
        return Ok((KeySpace::Numeric, keys));
    }
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut strings: Vec<String> = Vec::new();
    let mut keys = Vec::with_capacity(vals.len());
    let (mut float_ids, mut float_example) = (0usize, String::new());
    for (row, v) in vals.iter().enumerate() {
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        // `266079.0`: a whole number written as a float by the tool that made the file.
        let v = v.map(|v| match v.strip_suffix(".0") {
            Some(w) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                if float_ids == 0 {
                    float_example = w.to_string();
                }
                float_ids += 1;
                w
            }
            _ => v,
        });
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
    if float_ids > 0 {
        notes.push(float_note(rows, float_ids, kind, &float_example));
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

fn float_note(rows: &Rows, n: usize, kind: &str, example: &str) -> String {
    format!(
        "{}: {n} {kind} ids written as whole floats (`{example}.0`) read as `{example}`",
        rows.file().display()
    )
}

/// The ids as numbers when every value is a canonical number ≤ `u32::MAX` (`266079.0` read as
/// `266079`), with the count and first example of such float-written ids; `None` otherwise.
#[allow(clippy::type_complexity)]
fn canonical_numbers(vals: &StringChunked) -> Option<(Vec<u32>, Option<(usize, String)>)> {
    let mut keys = Vec::with_capacity(vals.len());
    let mut floats: Option<(usize, String)> = None;
    for v in vals.iter() {
        let v = v?.trim();
        let w = match v.strip_suffix(".0") {
            Some(w) if !w.is_empty() => {
                let e = floats.get_or_insert_with(|| (0, w.to_string()));
                e.0 += 1;
                w
            }
            _ => v,
        };
        let b = w.as_bytes();
        if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') {
            return None;
        }
        let mut n: u64 = 0;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u64::from(d);
        }
        keys.push(u32::try_from(n).ok()?);
    }
    Some((keys, floats))
}

/// A column as text (cast when it is not).
pub(super) fn string_column(df: &DataFrame, col: &str, rows: &Rows) -> Result<StringChunked> {
    let c = df.column(col).map_err(|e| polars_err(rows.file(), e))?;
    let c = c.cast(&DataType::String).map_err(|_| {
        Error::bad_data(
            rows.file(),
            None,
            format!(
                "column `{col}` of type {} cannot be read as text",
                c.dtype()
            ),
            col,
            "store it as integers or strings",
        )
    })?;
    c.str().cloned().map_err(|e| polars_err(rows.file(), e))
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

/// A CSV/TSV file read with every column as text: the frame, each row's line, the header line.
pub(super) struct CsvTable {
    pub(super) df: DataFrame,
    pub(super) lines: Vec<u32>,
    pub(super) header: Option<usize>,
}

/// Reads a CSV/TSV file with every column as text. `columns` names the columns of a file
/// without a header row; `skip_bad` skips rows with the wrong field count (with a note).
pub(super) fn read_csv(
    file: &Path,
    sep: u8,
    columns: Option<&[String]>,
    skip_bad: bool,
    notes: &mut Vec<String>,
) -> Result<CsvTable> {
    let bytes = read_file(file)?;
    check_utf8(file, &bytes)?;
    let body = strip_bom(&bytes);
    let mut shape = match columns {
        Some(c) => scan_csv_headerless(body, sep, c.len()),
        None => scan_csv(body, sep),
    };
    let header = csv_header(file, &shape, columns)?;
    if !skip_bad {
        refuse_ragged(file, body, &shape, columns.is_some(), header.len(), sep)?;
    }
    let ragged: Vec<u32> = shape
        .ragged_records
        .iter()
        .filter_map(|&k| shape.record_lines.get(k).copied())
        .collect();
    // A clean file (LF ends, no blank lines, no BOM, nothing skipped) goes to polars as read.
    let copy = if ragged.is_empty() && body.len() == bytes.len() && shape.is_clean(body) {
        bytes
    } else {
        let c = shape.clean_copy_skipping_ragged(body);
        drop(bytes);
        c
    };
    if !ragged.is_empty() {
        let first: Vec<String> = ragged.iter().take(5).map(u32::to_string).collect();
        notes.push(format!(
            "{}: {} rows with a field count other than {} skipped (bad_rows = skip); first at line{} {}",
            file.display(),
            ragged.len(),
            header.len(),
            if ragged.len() > 1 { "s" } else { "" },
            first.join(", ")
        ));
    }
    if shape.record_lines.is_empty() {
        return Err(Error::bad_data(
            file,
            None,
            "event log has no events",
            header.join(","),
            "add events (one per line)",
        ));
    }
    if columns.is_none()
        && header
            .iter()
            .any(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    {
        notes.push(format!(
            "{}:{}: the header row `{}` looks like data; if the file has no header, set [events] header = false and columns = [...]",
            file.display(),
            shape.header_line,
            header.join(",")
        ));
    }
    let mut df = CsvReadOptions::default()
        .with_has_header(columns.is_none())
        .with_infer_schema_length(Some(0))
        .map_parse_options(|p| p.with_separator(sep))
        .into_reader_with_file_handle(Cursor::new(copy))
        .finish()
        .map_err(|e| polars_err(file, e))?;
    if let Some(c) = columns {
        df.set_column_names(c).map_err(|e| polars_err(file, e))?;
    }
    // Rows map to lines only when polars saw the same records as the scan.
    let lines = if df.height() == shape.record_lines.len() {
        shape.record_lines
    } else {
        Vec::new()
    };
    Ok(CsvTable {
        df,
        lines,
        header: columns.is_none().then_some(shape.header_line),
    })
}

/// The column names: the configured list of a headerless file, else the header's (an empty
/// file and a repeated name are errors).
fn csv_header(file: &Path, shape: &CsvShape, columns: Option<&[String]>) -> Result<Vec<String>> {
    let header: Vec<String> = match (columns, shape.header.clone()) {
        (Some(c), _) => c.to_vec(),
        (None, Some(h)) => h,
        (None, None) => {
            return Err(Error::bad_data(
                file,
                None,
                "empty event log",
                "",
                "add a header line (user, item, behavior, …) and events, or set header = false with columns = [...]",
            ))
        }
    };
    if columns.is_none() {
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
    }
    Ok(header)
}

/// The error for the first ragged row (a row whose field count differs from the header's).
fn refuse_ragged(
    file: &Path,
    body: &[u8],
    shape: &CsvShape,
    listed: bool,
    n_columns: usize,
    sep: u8,
) -> Result<()> {
    let Some((line, found)) = shape.ragged else {
        return Ok(());
    };
    let cut = if crate::data::textscan::is_unterminated_last_line(body, line) {
        " (the last line has no line end: the file looks cut short)"
    } else {
        ""
    };
    Err(Error::bad_data(
        file,
        Some(line),
        format!(
            "ragged row: {found} fields where the {} has {}{cut}",
            if listed { "columns list" } else { "header" },
            n_columns
        ),
        shape.ragged_text.clone(),
        format!(
            "give every row the {} columns (separator `{}`), or skip such rows with [events] bad_rows = \"skip\"",
            n_columns,
            char::from(sep).escape_default()
        ),
    ))
}
