//! A hand-written byte scanner for the whitespace-separated text layouts (pair files and
//! per-user line files).
//!
//! Why not polars or `str::lines`: the public benchmarks are a few million short lines, and
//! the loader must both be fast (Taobao's 13 MB in well under a second) and say *which line*
//! is wrong. The scanner works on the raw bytes, never allocates per line, accepts LF and CRLF
//! endings, a UTF-8 byte-order mark, and any run of spaces/tabs between fields.

use std::path::Path;

use crate::error::{Error, Result};

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

/// The shape of a CSV/TSV text, found by a quote-aware scan: the header's names, the first
/// line of every non-empty record after it, and the first record whose field count differs
/// from the header's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvShape {
    /// Header names (quotes removed, trimmed); `None` for an empty text.
    pub header: Option<Vec<String>>,
    /// 1-based line of the header (after any leading blank lines).
    pub header_line: usize,
    /// 1-based first line of each record after the header.
    pub record_lines: Vec<u32>,
    /// `(line, fields)` of the first ragged record.
    pub ragged: Option<(usize, usize)>,
    /// That record's first line, for the message.
    pub ragged_text: String,
    /// Byte range of the header and of every record (blank lines left out, `\r\n` ends
    /// excluded), so that a clean copy can be handed to a CSV parser.
    pub spans: Vec<std::ops::Range<usize>>,
    /// Index (into `record_lines`) of every ragged record.
    pub ragged_records: Vec<usize>,
}

impl CsvShape {
    /// The header and records joined by `\n`: blank lines dropped, CRLF turned into LF.
    pub fn clean_copy(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        for r in &self.spans {
            out.extend_from_slice(body.get(r.clone()).unwrap_or_default());
            out.push(b'\n');
        }
        out
    }

    /// True when the spans cover `body` exactly, one `\n` apart (no CR, blank line or BOM):
    /// then the text itself is its clean copy.
    pub fn is_clean(&self, body: &[u8]) -> bool {
        let Some(last) = self.spans.last() else {
            return false;
        };
        self.spans.first().is_some_and(|f| f.start == 0)
            && self.spans.windows(2).all(|w| w[0].end + 1 == w[1].start)
            && (last.end == body.len() || (last.end + 1 == body.len() && body[last.end] == b'\n'))
            && self
                .spans
                .iter()
                .all(|s| body.get(s.end.wrapping_sub(1)) != Some(&b'\r'))
    }

    /// The clean copy without the ragged records (and without the header when the text has
    /// none, see [`scan_csv_headerless`]); `record_lines` and `ragged_records` then describe it.
    pub fn clean_copy_skipping_ragged(&mut self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        let first = self.spans.len() - self.record_lines.len();
        let mut skip = self.ragged_records.iter().peekable();
        let mut lines = Vec::with_capacity(self.record_lines.len());
        for (k, r) in self.spans.iter().enumerate() {
            if k >= first {
                let rec = k - first;
                if skip.peek() == Some(&&rec) {
                    skip.next();
                    continue;
                }
                lines.push(self.record_lines[rec]);
            }
            out.extend_from_slice(body.get(r.clone()).unwrap_or_default());
            out.push(b'\n');
        }
        self.record_lines = lines;
        out
    }
}

/// [`scan_csv`] for a text without a header row: every record, the first included, must have
/// `columns` fields; `header` is then `None` and `spans` holds records only.
pub fn scan_csv_headerless(body: &[u8], sep: u8, columns: usize) -> CsvShape {
    scan(body, sep, Some(columns))
}

/// Scans CSV/TSV bytes (see [`CsvShape`]). Blank lines are skipped; `"` quotes may hold
/// separators and newlines; `""` inside quotes is a literal quote.
pub fn scan_csv(body: &[u8], sep: u8) -> CsvShape {
    scan(body, sep, None)
}

fn scan(body: &[u8], sep: u8, headerless: Option<usize>) -> CsvShape {
    // Without any quote every record is one line: a line-at-a-time pass (a large log's case).
    if !body.contains(&b'"') {
        return scan_unquoted(body, sep, headerless);
    }
    let mut shape = CsvShape::default();
    let mut in_header = headerless.is_none();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut start = 0usize;
    let mut fields = 1usize;
    let mut empty = true;
    let mut in_quotes = false;
    let mut field_start = 0usize;
    let mut header: Vec<String> = Vec::new();
    let mut i = 0usize;
    while i <= body.len() {
        let b = body.get(i).copied();
        if in_quotes {
            match b {
                Some(b'"') => in_quotes = false,
                Some(b'\n') => line += 1,
                None => in_quotes = false,
                _ => {}
            }
            if b.is_some() {
                i += 1;
                continue;
            }
        }
        match b {
            Some(b'"') => {
                in_quotes = true;
                empty = false;
            }
            Some(c) if c == sep => {
                if in_header {
                    header.push(csv_name(body.get(field_start..i).unwrap_or_default()));
                }
                fields += 1;
                empty = false;
                field_start = i + 1;
            }
            Some(b'\n') | None => {
                let text = body.get(start..i).unwrap_or_default();
                if !empty || !is_blank(text) {
                    let end = if text.ends_with(b"\r") { i - 1 } else { i };
                    shape.spans.push(start..end);
                    if in_header {
                        header.push(csv_name(body.get(field_start..i).unwrap_or_default()));
                        shape.header = Some(std::mem::take(&mut header));
                        shape.header_line = start_line;
                        in_header = false;
                    } else {
                        let want =
                            headerless.unwrap_or_else(|| shape.header.as_ref().map_or(0, Vec::len));
                        if fields != want {
                            if shape.ragged.is_none() {
                                shape.ragged = Some((start_line, fields));
                                let end =
                                    text.iter().position(|&c| c == b'\n').unwrap_or(text.len());
                                let first = text.get(..end).unwrap_or_default();
                                shape.ragged_text =
                                    show(first.strip_suffix(b"\r").unwrap_or(first));
                            }
                            shape.ragged_records.push(shape.record_lines.len());
                        }
                        shape
                            .record_lines
                            .push(u32::try_from(start_line).unwrap_or(u32::MAX));
                    }
                }
                line += 1;
                start_line = line;
                start = i + 1;
                field_start = i + 1;
                fields = 1;
                empty = true;
            }
            Some(c) if !is_sep(c) => empty = false,
            _ => {}
        }
        i += 1;
    }
    shape
}

/// [`scan`] of a text without quotes, line by line (the same shape, faster).
fn scan_unquoted(body: &[u8], sep: u8, headerless: Option<usize>) -> CsvShape {
    let mut shape = CsvShape::default();
    let mut want = headerless;
    let (mut start, mut line, mut fields) = (0usize, 1usize, 1usize);
    // One pass over the bytes: count separators, act at each line end (and at the end).
    for i in 0..=body.len() {
        match body.get(i) {
            Some(&b) if b == sep => {
                fields += 1;
                continue;
            }
            Some(b'\n') | None => {}
            Some(_) => continue,
        }
        let text = body.get(start..i).unwrap_or_default();
        if fields > 1 || !is_blank(text) {
            let trimmed = text.strip_suffix(b"\r").unwrap_or(text);
            shape.spans.push(start..start + trimmed.len());
            match want {
                None => {
                    let names: Vec<String> = trimmed.split(|&b| b == sep).map(csv_name).collect();
                    want = Some(names.len());
                    shape.header = Some(names);
                    shape.header_line = line;
                }
                Some(n) => {
                    if fields != n {
                        if shape.ragged.is_none() {
                            shape.ragged = Some((line, fields));
                            shape.ragged_text = show(trimmed);
                        }
                        shape.ragged_records.push(shape.record_lines.len());
                    }
                    shape
                        .record_lines
                        .push(u32::try_from(line).unwrap_or(u32::MAX));
                }
            }
        }
        start = i + 1;
        line += 1;
        fields = 1;
    }
    shape
}

/// A header name: surrounding whitespace and quotes removed.
fn csv_name(field: &[u8]) -> String {
    let s = show(field);
    let t = s.trim();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
        .to_string()
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
    fn csv_shape() {
        let s = scan_csv(
            b"\"user\",item,behavior\r\n1,2,buy\r\n\r\n\"a,b\",3,view\n",
            b',',
        );
        assert_eq!(
            s.header,
            Some(vec!["user".into(), "item".into(), "behavior".into()])
        );
        assert_eq!(s.record_lines, vec![2, 4]);
        let clean = s.clean_copy(b"\"user\",item,behavior\r\n1,2,buy\r\n\r\n\"a,b\",3,view\n");
        assert_eq!(clean, b"\"user\",item,behavior\n1,2,buy\n\"a,b\",3,view\n");
        assert_eq!(s.ragged, None);
        let s = scan_csv(b"u,i,b\n1,2,buy\n\"x\ny\",2,buy\n1,2\n", b',');
        assert_eq!(s.record_lines, vec![2, 3, 5]);
        assert_eq!(s.ragged, Some((5, 2)));
        assert_eq!(s.ragged_text, "1,2");
        let body = b"1,2,buy\r\n1,2\r\n\n3,4,pv\n5";
        let mut s = scan_csv_headerless(body, b',', 3);
        assert_eq!(
            (s.header.clone(), s.record_lines.clone()),
            (None, vec![1, 2, 4, 5])
        );
        assert_eq!(
            (s.ragged, s.ragged_records.clone()),
            (Some((2, 2)), vec![1, 3])
        );
        assert_eq!(s.clean_copy_skipping_ragged(body), b"1,2,buy\n3,4,pv\n");
        assert_eq!(s.record_lines, vec![1, 4]);
        let mut s = scan_csv(b"u,i,b\n1,2\n1,2,buy\n", b',');
        assert_eq!(
            s.clean_copy_skipping_ragged(b"u,i,b\n1,2\n1,2,buy\n"),
            b"u,i,b\n1,2,buy\n"
        );
        assert_eq!(s.record_lines, vec![3]);
        // The quote-free pass gives the same shape as the quote-aware one.
        let text: &[u8] = b"\n u,i ,b\r\n1,2,buy\r\n\n \t\n1,2\n3,4,5,6\n7,8,9";
        let mut quoted = text.to_vec();
        quoted.extend_from_slice(b"\n\"");
        let (a, b) = (scan_unquoted(text, b',', None), scan(&quoted, b',', None));
        assert_eq!(
            (&a.header, a.header_line, &a.record_lines[..]),
            (&b.header, b.header_line, &b.record_lines[..4])
        );
        assert_eq!(
            (a.ragged, &a.ragged_text, &a.ragged_records[..]),
            (b.ragged, &b.ragged_text, &b.ragged_records[..2])
        );
        assert_eq!(a.spans[..], b.spans[..5]);
        assert!(!a.is_clean(text));
        assert!(scan_csv(b"u,i\n1,2\n", b',').is_clean(b"u,i\n1,2\n"));
        assert!(scan_csv(b"u,i\n1,2", b',').is_clean(b"u,i\n1,2"));
        let s = scan_csv(b"u\ti\tb\n1\t2\tbuy\t\n", b'\t');
        assert_eq!(s.ragged, Some((2, 4)));
        assert_eq!(scan_csv(b"", b',').header, None);
        assert_eq!(scan_csv(b"\n \n", b',').header, None);
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
