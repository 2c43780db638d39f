//! Per-user line files (`user item item …`, the NGCF / Beibei layout): each line lists one
//! user's items for one behavior or split. A line with only a user id means "no items".

use std::path::Path;

use super::pairs::RawPairs;
use super::textscan::{self, check_utf8, fields, foreign_separator, parse_id, show};
use crate::error::{Error, Result};

/// How many leading non-blank lines [`sniff`] looks at.
const SNIFF_LINES: usize = 1000;

/// Guesses whether a file is in the per-user line layout: at least a quarter of its first
/// 1,000 non-blank lines have more than two fields. Why a share and not "any line": a pair
/// file with one stray 3-field line must be reported as an error at that line, not silently
/// read as a different layout; `layout = "user-lines"` in dataset.toml settles any doubt.
pub fn sniff(bytes: &[u8]) -> bool {
    let mut lines = 0usize;
    let mut wide = 0usize;
    for (_, line) in textscan::Lines::new(bytes) {
        let n = fields(line).take(3).count();
        if n == 0 {
            continue;
        }
        lines += 1;
        if n > 2 {
            wide += 1;
        }
        if lines == SNIFF_LINES {
            break;
        }
    }
    lines > 0 && wide * 4 >= lines
}

/// Parses a per-user line file into `(user, item)` pairs, one per listed item.
pub fn parse_user_lines(file: &Path, name: &str, bytes: &[u8]) -> Result<RawPairs> {
    check_utf8(file, bytes)?;
    let mut out = RawPairs::new(name, file);
    out.pairs.reserve(bytes.len() / 6);
    out.lines.reserve(bytes.len() / 6);
    for (n, line) in textscan::Lines::new(bytes) {
        let mut f = fields(line);
        let Some(u) = f.next() else { continue };
        if let Some(c) = foreign_separator(line) {
            return Err(Error::bad_data(
                file,
                Some(n),
                format!("separator `{c}` found: expected whitespace-separated `user item item …`"),
                show(line),
                "separate the ids with spaces or tabs",
            ));
        }
        let user = parse_id(u)
            .map_err(|p| Error::bad_data(file, Some(n), p.message("user"), show(u), p.fix()))?;
        for i in f {
            let item = parse_id(i)
                .map_err(|p| Error::bad_data(file, Some(n), p.message("item"), show(i), p.fix()))?;
            out.push(user, item, n);
        }
    }
    out.require_nonempty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_user_lines_but_not_pairs() {
        assert!(sniff(b"0 1 2 3\n1 4\n"));
        assert!(!sniff(b"0 1\n1 4\n"));
        let mut pairs_with_one_stray = b"1 2 3\n".to_vec();
        for _ in 0..10 {
            pairs_with_one_stray.extend_from_slice(b"1 2\n");
        }
        assert!(!sniff(&pairs_with_one_stray));
        assert!(!sniff(b""));
    }

    #[test]
    fn parses_lines_into_pairs() {
        let r = parse_user_lines(Path::new("t.txt"), "buy", b"0 5 6\r\n\n1\n2\t7\n").unwrap();
        assert_eq!(r.pairs, vec![(0, 5), (0, 6), (2, 7)]);
        assert_eq!(r.lines, vec![1, 1, 4]);
        let e = parse_user_lines(Path::new("t.txt"), "buy", b"0 5 x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.txt:1: non-numeric item id"), "{e}");
    }
}
