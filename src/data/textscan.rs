//! A hand-written byte scanner for the whitespace-separated text layouts (pair files and
//! per-user line files).
//!
//! Why not polars or `str::lines`: the public benchmarks are a few million short lines, and
//! the loader must both be fast (Taobao's 13 MB in well under a second) and say *which line*
//! is wrong. The scanner works on the raw bytes, never allocates per line, accepts LF and CRLF
//! endings, a UTF-8 byte-order mark, and any run of spaces/tabs between fields.

mod csv_shape;

use std::path::Path;

use crate::error::{Error, Result};

pub use csv_shape::{scan_csv, scan_csv_headerless, CsvShape};

/// The UTF-8 byte-order mark some editors put at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a whole file. A missing, unreadable or directory path is a bad-data error naming
/// the path, the OS reason and a fix; other I/O failures are [`Error::Io`] on that path.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::ErrorKind;
    std::fs::read(path).map_err(|e| {
        let (problem, fix) = match e.kind() {
            ErrorKind::NotFound => ("file does not exist", "check the path"),
            ErrorKind::PermissionDenied => (
                "file is not readable",
                "make it readable for this user (chmod a+r), or run as its owner",
            ),
            ErrorKind::IsADirectory => (
                "a directory where a file is expected",
                "put the file itself at this path: in a dataset directory every NAME.txt is \
                 read as a file, so rename or move this directory",
            ),
            _ => return Error::io(path, e),
        };
        Error::bad_data(
            path,
            None,
            format!("{problem} ({})", os_reason(&e)),
            path.display().to_string(),
            fix,
        )
    })
}

/// The OS's words for an I/O error: `Is a directory, os error 21`.
pub fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            let words = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text);
            format!("OS: {words}, error {code}")
        }
        None => text,
    }
}

/// True when line `n` (1-based) is the last line of `bytes` and has no line end: the usual
/// sign of a file cut short by an interrupted copy or download.
pub fn is_unterminated_last_line(bytes: &[u8], n: usize) -> bool {
    !bytes.is_empty()
        && !bytes.ends_with(b"\n")
        && bytes.iter().filter(|&&b| b == b'\n').count() + 1 == n
}

/// Strips a leading UTF-8 byte-order mark, if any.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Checks that `bytes` are valid UTF-8; otherwise reports the 1-based line of the first bad
/// byte with a lossy excerpt of that line.
pub fn check_utf8(file: &Path, bytes: &[u8]) -> Result<()> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = e.valid_up_to();
            let before = bytes.get(..at).unwrap_or(bytes);
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let rest = bytes.get(start..).unwrap_or_default();
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let excerpt = String::from_utf8_lossy(rest.get(..end).unwrap_or_default());
            Err(Error::bad_data(
                file,
                Some(line),
                "bytes that are not UTF-8",
                excerpt,
                "save the file as UTF-8 text (pair files hold ASCII digits and whitespace only)",
            ))
        }
    }
}

/// Iterator over the lines of a buffer: yields `(line_number, line)` with 1-based line numbers,
/// the `\n` removed and one trailing `\r` removed. A final line without `\n` is yielded too.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `bytes` (a leading byte-order mark is skipped).
    pub fn new(bytes: &'a [u8]) -> Self {
        Lines {
            rest: strip_bom(bytes),
            line: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        self.line += 1;
        let (mut line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(p) => (&self.rest[..p], &self.rest[p + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        Some((self.line, line))
    }
}

/// True for the bytes that separate fields: space, tab, CR, vertical tab and form feed.
#[inline]
pub fn is_sep(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0x0b
}

/// The fields of one line, split on runs of ASCII whitespace (leading/trailing runs ignored).
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_sep(b)).filter(|f| !f.is_empty())
}

/// True when the line holds nothing but whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| is_sep(b))
}

/// A separator that is not whitespace (`,`, `;` or `|`) found in a line, if any: the usual sign
/// that a CSV file was given where a whitespace-separated file was expected.
pub fn foreign_separator(line: &[u8]) -> Option<char> {
    line.iter()
        .find(|&&b| b == b',' || b == b';' || b == b'|')
        .map(|&b| char::from(b))
}

/// Parses an unsigned decimal integer made only of ASCII digits; `None` on anything else or on
/// overflow.
#[inline]
pub fn parse_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in field {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Why a field could not be read as a numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Letters or other symbols.
    NonNumeric,
    /// A minus sign followed by digits.
    Negative,
    /// Digits, but more than `u32::MAX`.
    TooLarge,
}

impl IdProblem {
    /// The message for a `kind` (`user` or `item`) id.
    pub fn message(self, kind: &str) -> String {
        match self {
            IdProblem::NonNumeric => format!("non-numeric {kind} id"),
            IdProblem::Negative => format!("negative {kind} id"),
            IdProblem::TooLarge => format!("{kind} id larger than {}", u32::MAX),
        }
    }

    /// How to fix it.
    pub fn fix(self) -> &'static str {
        match self {
            IdProblem::NonNumeric => {
                "pair and user-line files hold numeric ids only: remove header or comment lines, \
                 or convert the data to a CSV event log (ids may be strings there)"
            }
            IdProblem::Negative | IdProblem::TooLarge => {
                "ids must be whole numbers from 0 to 4294967295; re-index the ids"
            }
        }
    }
}

/// Parses a numeric id (`0..=u32::MAX`) from a field.
#[inline]
pub fn parse_id(field: &[u8]) -> std::result::Result<u32, IdProblem> {
    match parse_u64(field) {
        Some(v) => u32::try_from(v).map_err(|_| IdProblem::TooLarge),
        None if field.iter().all(u8::is_ascii_digit) && !field.is_empty() => {
            Err(IdProblem::TooLarge)
        }
        None => match field.strip_prefix(b"-") {
            Some(d) if !d.is_empty() && d.iter().all(u8::is_ascii_digit) => {
                Err(IdProblem::Negative)
            }
            _ => Err(IdProblem::NonNumeric),
        },
    }
}

/// The field as text for an error message.
pub fn show(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &[u8]) -> Vec<(usize, Vec<String>)> {
        Lines::new(bytes)
            .map(|(n, l)| (n, fields(l).map(show).collect()))
            .collect()
    }

    #[test]
    fn lf_crlf_tabs_and_trailing_spaces() {
        let got = collect(b"1 2\r\n3\t4  \n 5 \t 6\r\n\n7 8");
        let want = vec![
            (1, vec!["1".into(), "2".into()]),
            (2, vec!["3".into(), "4".into()]),
            (3, vec!["5".into(), "6".into()]),
            (4, vec![]),
            (5, vec!["7".into(), "8".into()]),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn bom_is_skipped_and_lines_start_at_one() {
        let got = collect(b"\xEF\xBB\xBF10 20\n");
        assert_eq!(got, vec![(1, vec!["10".into(), "20".into()])]);
    }

    #[test]
    fn blank_lines_and_empty_input() {
        assert!(Lines::new(b"").next().is_none());
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" 1"));
        let lines: Vec<_> = Lines::new(b"\n\n").collect();
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_id(b"4294967295"), Ok(u32::MAX));
        assert_eq!(parse_id(b"4294967296"), Err(IdProblem::TooLarge));
        assert_eq!(
            parse_id(b"123456789012345678901234"),
            Err(IdProblem::TooLarge)
        );
        assert_eq!(parse_id(b"-3"), Err(IdProblem::Negative));
        assert_eq!(parse_id(b"-"), Err(IdProblem::NonNumeric));
        assert_eq!(parse_id(b"u1"), Err(IdProblem::NonNumeric));
    }

    #[test]
    fn unterminated_last_line_and_os_reasons() {
        assert!(is_unterminated_last_line(b"1 2\n12", 2));
        assert!(!is_unterminated_last_line(b"1 2\n12\n", 2));
        assert!(!is_unterminated_last_line(b"1 2\n12", 1));
        assert!(!is_unterminated_last_line(b"", 1));
        let dir = std::env::temp_dir();
        let e = read_file(&dir).unwrap_err().to_string();
        assert!(
            e.contains("a directory where a file is expected (OS: "),
            "{e}"
        );
        assert!(e.contains("fix: put the file itself"), "{e}");
        let e = read_file(&dir.join("mclmr-no-such-file.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("file does not exist (OS: No such file or directory, error 2)"),
            "{e}"
        );
    }

    #[test]
    fn separators_and_utf8() {
        assert_eq!(foreign_separator(b"1,2"), Some(','));
        assert_eq!(foreign_separator(b"1;2"), Some(';'));
        assert_eq!(foreign_separator(b"1 2"), None);
        let p = Path::new("x.txt");
        assert!(check_utf8(p, b"1 2\n").is_ok());
        let e = check_utf8(p, b"1 2\n3 \xff\n").unwrap_err().to_string();
        assert!(e.contains("x.txt:2"), "{e}");
        assert!(e.contains("not UTF-8"), "{e}");
    }
}
