//! The shape of a CSV/TSV text before polars reads it: a quote-aware scan that finds the
//! header, the first line of every record and the ragged ones, so that errors name lines and a
//! clean copy (no blank lines, LF ends, ragged records skipped on request) can be parsed.

use super::{is_blank, is_sep, show};

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
}
