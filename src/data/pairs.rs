//! Pair files (`user item` per line) and the directory layout shared by the pair-file and
//! per-user-line benchmarks (Taobao, Tmall, Beibei): one file per auxiliary behavior, the
//! target's splits `train.txt` / `buy.txt`, `valid.txt` / `validation.txt`, `test.txt`,
//! optional `test_do.txt` and `count.txt`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::ids::{self, KeySpace};
use super::load::RawData;
use super::textscan::{self, check_utf8, fields, foreign_separator, parse_id, read_file, show};
use super::userlines;
use crate::error::{Error, Result};

/// Auxiliary behaviors recognised by file name, weakest first (the purchase funnel).
pub const AUX_FUNNEL: [&str; 5] = ["view", "pv", "click", "collect", "cart"];
/// The default target behavior.
pub const DEFAULT_TARGET: &str = "buy";
/// File stems that are splits or metadata, never behaviors.
const RESERVED: [&str; 6] = ["train", "valid", "validation", "test", "test_do", "count"];

/// The pairs of one input file before ids are made dense: raw keys (the numeric id itself, or
/// an index into interned string ids) and the 1-based line (or row) each pair came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPairs {
    /// Behavior or split name (`cart`, `valid`, …).
    pub name: String,
    /// The file the pairs were read from.
    pub file: PathBuf,
    /// `(user key, item key)` in file order, repeats included.
    pub pairs: Vec<(u32, u32)>,
    /// Line (or row) of each pair, parallel to `pairs`.
    pub lines: Vec<u32>,
}

impl RawPairs {
    /// An empty set for `name` read from `file`.
    pub fn new(name: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        RawPairs {
            name: name.into(),
            file: file.into(),
            pairs: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Appends a pair seen on `line`.
    pub fn push(&mut self, user: u32, item: u32, line: usize) {
        self.pairs.push((user, item));
        self.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
    }

    /// Errors when the file held no pair at all.
    pub fn require_nonempty(self) -> Result<Self> {
        if self.pairs.is_empty() {
            let fix = match self.name.as_str() {
                "test" => "fill it with the held-out target pairs",
                "valid" | "test_do" => "fill it with held-out target pairs, or delete it",
                _ => "fill the file, or delete it (and drop its behavior from the behavior list)",
            };
            return Err(Error::bad_data(
                &self.file,
                None,
                "file holds no `user item` pair",
                self.file.display().to_string(),
                fix,
            ));
        }
        Ok(self)
    }
}

/// Parses a pair file: one whitespace-separated `user item` per line, numeric ids, blank lines
/// allowed. Errors name the line: a foreign separator, a missing or extra column, a bad id.
pub fn parse_pairs(file: &Path, name: &str, bytes: &[u8]) -> Result<RawPairs> {
    check_utf8(file, bytes)?;
    let mut out = RawPairs::new(name, file);
    out.pairs.reserve(bytes.len() / 10);
    out.lines.reserve(bytes.len() / 10);
    let bad = |n: usize, problem: String, value: &[u8], fix: &str| {
        Error::bad_data(file, Some(n), problem, show(value), fix)
    };
    const SHAPE_FIX: &str =
        "each line must be `user item`: two numeric ids separated by spaces or a tab";
    for (n, line) in textscan::Lines::new(bytes) {
        let mut f = fields(line);
        let Some(u) = f.next() else { continue };
        if let Some(c) = foreign_separator(line) {
            return Err(bad(
                n,
                format!("separator `{c}` found: expected whitespace-separated `user item`"),
                line,
                "separate the two ids with a space or a tab (e.g. `sed 's/[,;|]/ /g'`), or use a CSV event log with a header",
            ));
        }
        let Some(i) = f.next() else {
            if textscan::is_unterminated_last_line(bytes, n) {
                return Err(bad(
                    n,
                    "missing item column on the last line, which has no line end: the file looks truncated".into(),
                    line,
                    "copy or download the file again in full (or delete the cut-off last line)",
                ));
            }
            return Err(bad(
                n,
                "missing item column: expected whitespace-separated `user item`".into(),
                line,
                SHAPE_FIX,
            ));
        };
        if f.next().is_some() {
            return Err(bad(
                n,
                "extra columns: expected exactly 2 fields `user item`".into(),
                line,
                "remove the extra columns, or set layout = \"user-lines\" in dataset.toml if each line is `user item item …`",
            ));
        }
        let u = parse_id(u).map_err(|p| bad(n, p.message("user"), u, p.fix()))?;
        let i = parse_id(i).map_err(|p| bad(n, p.message("item"), i, p.fix()))?;
        out.push(u, i, n);
    }
    out.require_nonempty()
}

/// Reads a directory of per-behavior files (pair files, or per-user line files when
/// `user_lines` says so or, if `None`, when the target's training file looks like one).
/// `behaviors` is the order weakest → target; `None` uses the funnel default.
pub fn read_split_dir(
    dir: &Path,
    behaviors: Option<&[String]>,
    user_lines: Option<bool>,
) -> Result<RawData> {
    let present = txt_stems(dir)?;
    let has = |n: &str| present.contains(n);
    let mut notes = Vec::new();
    let names = behavior_names(dir, &present, behaviors)?;
    let Some(target) = names.last().cloned() else {
        return Err(Error::bad_arg(
            "empty behavior list",
            "[]",
            "name at least the target behavior",
        ));
    };
    let file = |stem: &str| dir.join(format!("{stem}.txt"));
    let train_path = if has("train") {
        file("train")
    } else {
        file(&target)
    };
    let train_bytes = read_file(&train_path)?;
    let ul = user_lines.unwrap_or_else(|| sniff_user_lines(&train_path, &train_bytes, &mut notes));
    let parse = |path: &Path, name: &str, bytes: &[u8]| {
        if ul {
            userlines::parse_user_lines(path, name, bytes)
        } else {
            parse_pairs(path, name, bytes)
        }
    };
    let read = |name: &str, stem: &str| -> Result<RawPairs> {
        let p = file(stem);
        parse(&p, name, &read_file(&p)?)
    };
    let mut raw_behaviors = Vec::with_capacity(names.len());
    for name in &names[..names.len() - 1] {
        raw_behaviors.push(read(name, name)?);
    }
    let train = parse(&train_path, &target, &train_bytes)?;
    if has("train") && has(&target) && target != "train" {
        let other = read_file(&file(&target))?;
        if other != train_bytes {
            let o = parse(&file(&target), &target, &other)?;
            notes.extend(train_mismatch(&train, &o, &target));
        }
    }
    raw_behaviors.push(train);
    let valid = match (has("valid"), has("validation")) {
        (false, false) => None,
        (valid, validation) => Some(read_valid(valid, validation, &read, &mut notes)?),
    };
    if !has("test") {
        return Err(Error::bad_data(
            dir,
            None,
            "missing test split",
            "test.txt",
            "add test.txt with the held-out target pairs (one `user item` per line)",
        ));
    }
    let test = read("test", "test")?;
    let test_do = if has("test_do") {
        Some(read("test_do", "test_do")?)
    } else {
        None
    };
    let count = if has("count") {
        Some(ids::read_count(&file("count"))?)
    } else {
        None
    };
    Ok(RawData {
        behaviors: raw_behaviors,
        valid,
        test,
        test_do,
        users: KeySpace::Numeric,
        items: KeySpace::Numeric,
        count,
        notes,
        item_meta: None,
    })
}

/// `valid.txt`, else `validation.txt` (with a note when both exist).
fn read_valid(
    valid: bool,
    validation: bool,
    read: &dyn Fn(&str, &str) -> Result<RawPairs>,
    notes: &mut Vec<String>,
) -> Result<RawPairs> {
    if valid && validation {
        notes.push("valid.txt and validation.txt both exist: valid.txt is used".into());
    }
    read("valid", if valid { "valid" } else { "validation" })
}

/// True when the training file holds several items per line (per-user line files), with a note.
fn sniff_user_lines(train_path: &Path, bytes: &[u8], notes: &mut Vec<String>) -> bool {
    let v = userlines::sniff(bytes);
    if v {
        notes.push(format!(
            "{}: lines hold several items, read as per-user line files `user item item …` \
             (set layout = \"pairs\" in dataset.toml if this is wrong)",
            train_path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    v
}

/// The note for a `train.txt` whose pairs differ from `<target>.txt`'s (train.txt wins).
fn train_mismatch(train: &RawPairs, other: &RawPairs, target: &str) -> Option<String> {
    (sorted_set(&other.pairs) != sorted_set(&train.pairs)).then(|| {
        format!(
            "train.txt ({} pairs) and {target}.txt ({} pairs) differ: train.txt is used as \
             the training split of `{target}`",
            train.pairs.len(),
            other.pairs.len()
        )
    })
}

/// The behavior order: the given list (each must have a file; the target may use `train.txt`)
/// or the known funnel names present, then the target `buy`.
fn behavior_names(
    dir: &Path,
    present: &BTreeSet<String>,
    behaviors: Option<&[String]>,
) -> Result<Vec<String>> {
    let has = |n: &str| present.contains(n);
    let available = || {
        let mut v: Vec<&str> = present
            .iter()
            .map(String::as_str)
            .filter(|s| !RESERVED.contains(s) && !s.ends_with("_dict"))
            .collect();
        if has("train") && !has(DEFAULT_TARGET) {
            v.push("buy (train.txt)");
        }
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    if let Some(list) = behaviors {
        for (k, b) in list.iter().enumerate() {
            let is_target = k + 1 == list.len();
            if RESERVED.contains(&b.as_str()) || !(has(b) || (is_target && has("train"))) {
                return Err(Error::bad_data(
                    dir,
                    None,
                    "behavior has no file in the dataset directory",
                    b,
                    format!(
                        "behaviors available here: {}; fix the behavior list (--behaviors or \
                         dataset.toml), each name NAME read from NAME.txt",
                        available()
                    ),
                ));
            }
        }
        return Ok(list.to_vec());
    }
    let mut names: Vec<String> = AUX_FUNNEL
        .iter()
        .filter(|n| has(n))
        .map(|n| n.to_string())
        .collect();
    if !(has(DEFAULT_TARGET) || has("train")) {
        return Err(Error::bad_data(
            dir,
            None,
            "missing target behavior: neither train.txt nor buy.txt exists",
            dir.display().to_string(),
            format!(
                "add train.txt (or buy.txt) with the training target pairs, or name the target \
                 last in behaviors = [...] in dataset.toml (files here: {})",
                available()
            ),
        ));
    }
    names.push(DEFAULT_TARGET.to_string());
    Ok(names)
}

/// Stems of the `*.txt` files in `dir`.
fn txt_stems(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".txt")) {
            out.insert(stem.to_string());
        }
    }
    Ok(out)
}

/// The distinct pairs, sorted.
fn sorted_set(p: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut v = p.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<RawPairs> {
        parse_pairs(Path::new("f.txt"), "b", s)
    }

    #[test]
    fn mixed_whitespace_crlf_bom() {
        let r = parse(b"\xEF\xBB\xBF1 2\r\n\n3\t\t4 \r\n  5   6").unwrap();
        assert_eq!(r.pairs, vec![(1, 2), (3, 4), (5, 6)]);
        assert_eq!(r.lines, vec![1, 3, 4]);
    }

    #[test]
    fn errors_name_the_line() {
        let cases: [(&[u8], &str); 6] = [
            (b"1 2\n1,2\n", "f.txt:2: separator `,`"),
            (b"1;2\n", "expected whitespace-separated"),
            (b"1 2\n3\n", "f.txt:2: missing item column"),
            (b"1 2 3\n", "extra columns"),
            (b"user item\n", "f.txt:1: non-numeric user id"),
            (b"1 x\n", "non-numeric item id"),
        ];
        for (input, want) in cases {
            let e = parse(input).unwrap_err().to_string();
            assert!(e.contains(want), "{e} lacks {want}");
        }
        let e = parse(b"-1 2\n").unwrap_err().to_string();
        assert!(e.contains("negative user id"), "{e}");
        let e = parse(b"1 99999999999\n").unwrap_err().to_string();
        assert!(e.contains("item id larger than"), "{e}");
        let e = parse(b"1 2\n12").unwrap_err().to_string();
        assert!(
            e.contains("f.txt:2: missing item column on the last line"),
            "{e}"
        );
        assert!(e.contains("looks truncated"), "{e}");
        assert_eq!(parse(b"1 2\n3 4").unwrap().pairs, vec![(1, 2), (3, 4)]);
        let e = parse(b"\n \n").unwrap_err().to_string();
        assert!(e.contains("no `user item` pair"), "{e}");
    }
}
