//! Every bad-input fixture under `tests/fixtures/bad/<case>/` makes `mclmr data validate` exit
//! with status 2 and a message naming the problem (never a panic, status 101); the good
//! fixtures load, and the same events in every layout give the identical dataset.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mclmr::data::{load_dataset, Dataset, LoadOptions};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs `mclmr data validate <path> [extra…]` and returns (status, stderr).
fn validate(path: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("mclmr")
        .expect("binary built")
        .args(["data", "validate"])
        .arg(path)
        .args(extra)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts exit status 2 and that stderr contains every phrase.
fn fails_with(path: &Path, extra: &[&str], phrases: &[&str]) {
    let (code, err) = validate(path, extra);
    assert_eq!(code, 2, "{}: status {code}, stderr:\n{err}", path.display());
    for p in phrases {
        assert!(
            err.contains(p),
            "{}: stderr lacks `{p}`:\n{err}",
            path.display()
        );
    }
    assert!(
        err.contains("fix:"),
        "{}: no fix in:\n{err}",
        path.display()
    );
}

macro_rules! bad_case {
    ($name:ident, $dir:literal, [$($phrase:literal),+ $(,)?]) => {
        #[test]
        fn $name() {
            fails_with(&fixture(concat!("bad/", $dir)), &[], &[$($phrase),+]);
        }
    };
}

bad_case!(
    comma_separator,
    "comma_separator",
    [
        "buy.txt:3",
        "separator `,`",
        "expected whitespace-separated `user item`"
    ]
);
bad_case!(
    semicolon_separator,
    "semicolon_separator",
    ["buy.txt:1", "separator `;`"]
);
bad_case!(
    missing_column,
    "missing_column",
    ["buy.txt:2", "missing item column", "`2`"]
);
bad_case!(
    extra_columns,
    "extra_columns",
    ["view.txt:10", "extra columns", "user-lines"]
);
bad_case!(
    non_numeric_user,
    "non_numeric_user",
    ["buy.txt:1", "non-numeric user id", "`user`"]
);
bad_case!(
    non_numeric_item,
    "non_numeric_item",
    ["buy.txt:2", "non-numeric item id", "`b7`"]
);
bad_case!(
    negative_id,
    "negative_id",
    ["buy.txt:2", "negative user id", "`-2`"]
);
bad_case!(
    huge_id,
    "huge_id",
    ["buy.txt:2", "item id larger than 4294967295"]
);
bad_case!(
    empty_behavior_file,
    "empty_behavior_file",
    ["view.txt", "holds no `user item` pair"]
);
bad_case!(
    empty_test,
    "empty_test",
    ["test.txt", "holds no `user item` pair"]
);
bad_case!(non_utf8, "non_utf8", ["buy.txt:2", "not UTF-8"]);
bad_case!(
    missing_target,
    "missing_target",
    ["missing target behavior", "train.txt"]
);
bad_case!(
    missing_test,
    "missing_test",
    ["missing test split", "test.txt"]
);
bad_case!(
    unknown_behavior,
    "unknown_behavior",
    ["behavior has no file", "`fav`", "buy, view"]
);
bad_case!(
    unknown_config_key,
    "unknown_config_key",
    ["dataset.toml:2", "unknown field", "colour"]
);
bad_case!(
    bad_config_value,
    "bad_config_value",
    ["dataset.toml:1", "maybe"]
);
bad_case!(
    count_both_bases,
    "count_both_bases",
    ["view.txt:2", "id 0 and the top id both appear"]
);
bad_case!(
    count_out_of_range,
    "count_out_of_range",
    [
        "view.txt:4",
        "item id outside the range declared in count.txt (1..=2)",
        "`7`"
    ]
);
bad_case!(
    count_invalid,
    "count_invalid",
    ["count.txt", "invalid count.txt"]
);
bad_case!(
    id_base_conflict,
    "id_base_conflict",
    ["view.txt:2", "id_base = 0"]
);
bad_case!(
    cold_test,
    "cold_test",
    [
        "test.txt:2",
        "user has no training interaction",
        "`9 2`",
        "cold_test = \"drop\""
    ]
);
bad_case!(
    events_file_missing,
    "events_file_missing",
    ["nope.csv", "event log does not exist"]
);
bad_case!(
    csv_missing_column,
    "csv_missing_column",
    [
        "events.csv:1",
        "missing column",
        "`behavior`",
        "columns found: user, item, action"
    ]
);
bad_case!(
    csv_duplicate_header,
    "csv_duplicate_header",
    ["events.csv:1", "duplicate column name", "`user`"]
);
bad_case!(
    csv_ragged,
    "csv_ragged",
    [
        "events.csv:4",
        "ragged row: 3 fields where the header has 4"
    ]
);
bad_case!(
    csv_unknown_behavior,
    "csv_unknown_behavior",
    [
        "events.csv:3",
        "unknown behavior value",
        "`like`",
        "view, pv, click, collect, cart, buy"
    ]
);
bad_case!(
    csv_missing_id,
    "csv_missing_id",
    ["events.csv:3", "missing user id"]
);
bad_case!(
    csv_bad_split,
    "csv_bad_split",
    ["events.csv:4", "bad value in split column", "`tst`"]
);
bad_case!(
    csv_no_test,
    "csv_no_test",
    ["missing test split", "split = \"ratio\""]
);
bad_case!(csv_empty, "csv_empty", ["empty event log"]);
bad_case!(
    truncated_last_line,
    "truncated_last_line",
    [
        "buy.txt:4",
        "missing item column on the last line, which has no line end",
        "looks truncated",
        "`12`",
        "copy or download the file again"
    ]
);
// `buy.txt` is a directory: the I/O error names the path, the OS reason and the fix.
bad_case!(
    behavior_file_is_a_directory,
    "behavior_is_dir",
    [
        "behavior_is_dir/buy.txt: a directory where a file is expected",
        "(OS: Is a directory, error 21)",
        "fix: put the file itself at this path"
    ]
);
bad_case!(csv_non_utf8, "csv_non_utf8", ["events.csv:3", "not UTF-8"]);

#[test]
fn path_that_does_not_exist() {
    fails_with(
        &fixture("bad/no_such_dir"),
        &[],
        &["dataset path does not exist"],
    );
}

#[test]
fn a_pair_file_where_a_directory_is_expected() {
    fails_with(
        &fixture("bad/not_a_dir/buy.txt"),
        &[],
        &["not a dataset", "pass the directory"],
    );
}

#[test]
fn behavior_flag_naming_a_missing_behavior() {
    fails_with(
        &fixture("good/tiny_pairs"),
        &["--behaviors", "view,fav,buy"],
        &["`fav`", "cart, view"],
    );
}

#[test]
fn config_flag_pointing_nowhere() {
    fails_with(
        &fixture("good/tiny_pairs"),
        &["--data-config", "/nonexistent/x.toml"],
        &["x.toml", "file does not exist"],
    );
}

#[test]
fn parquet_with_float_ids_names_the_column_and_type() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("user".into(), &[1.5f64, 2.0]),
        Column::new("item".into(), &[1i64, 2]),
        Column::new("behavior".into(), &["buy", "buy"]),
    ])
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    fails_with(
        &path,
        &[],
        &[
            "events.parquet",
            "column `user` has type f64",
            "integer or string",
        ],
    );
}

#[test]
fn no_bad_fixture_panics_and_all_exit_2() {
    let mut n = 0;
    for entry in std::fs::read_dir(fixture("bad")).unwrap() {
        let path = entry.unwrap().path();
        let (code, err) = validate(&path, &[]);
        assert_ne!(code, 101, "{} panicked:\n{err}", path.display());
        assert_eq!(code, 2, "{}: status {code}:\n{err}", path.display());
        n += 1;
    }
    assert!(n >= 30, "only {n} bad fixtures");
}

fn load(rel: &Path) -> Dataset {
    load_dataset(rel, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
}

fn assert_same(a: &Dataset, b: &Dataset) {
    assert_eq!(a.user_ids, b.user_ids);
    assert_eq!(a.item_ids, b.item_ids);
    assert_eq!(a.behaviors, b.behaviors);
    assert_eq!(a.valid, b.valid);
    assert_eq!(a.test, b.test);
    assert_eq!(a.fingerprint(), b.fingerprint());
}

#[test]
fn same_events_in_every_layout_give_the_same_dataset() {
    let pairs = load(&fixture("good/tiny_pairs"));
    assert_eq!(pairs.behavior_names(), vec!["view", "cart", "buy"]);
    assert_eq!(pairs.n_users(), 4);
    assert_eq!(pairs.n_items(), 6);
    assert_eq!(pairs.behaviors[1].duplicates(), 1);
    assert!(
        pairs
            .notes
            .iter()
            .any(|n| n.contains("cart.txt: 1 duplicate pairs")),
        "{:?}",
        pairs.notes
    );

    let lines = load(&fixture("good/tiny_userlines"));
    assert_same(&pairs, &lines);

    let csv = load(&fixture("good/tiny_events.csv"));
    assert_same(&pairs, &csv);

    // The same log as Parquet, with integer id columns.
    use polars::prelude::*;
    let mut df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(fixture("good/tiny_events.csv")))
        .unwrap()
        .finish()
        .unwrap();
    for c in ["user", "item"] {
        let ints = df.column(c).unwrap().cast(&DataType::Int64).unwrap();
        df.with_column(ints).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny_events.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let parquet = load(&path);
    assert_same(&pairs, &parquet);
}

#[test]
fn leave_one_out_split_of_a_tsv_log_with_string_ids() {
    let ds = load(&fixture("good/loo_events"));
    assert_eq!(ds.name, "loo");
    assert_eq!(ds.user_ids, vec!["alice", "bob", "carol"]);
    assert_eq!(ds.item_ids, vec!["A", "B", "C", "D"]);
    assert_eq!(ds.behavior_names(), vec!["click", "purchase"]);
    let (a, b, c) = (
        ds.user_index("alice").unwrap(),
        ds.user_index("bob").unwrap(),
        ds.user_index("carol").unwrap(),
    );
    let item = |s: &str| ds.item_index(s).unwrap();
    // alice: B@3 A@5 D@7 C@9 -> test C, valid D (D is cold: dropped). bob: two items, A@1 B@2
    // -> test B, no valid. carol: C, A, B tied -> file order.
    assert_eq!(
        ds.test,
        vec![(a, item("C")), (b, item("B")), (c, item("B"))]
    );
    assert_eq!(ds.valid, vec![(c, item("A"))]);
    assert_eq!(ds.target_train().len(), 4);
    assert!(
        ds.notes.iter().any(|n| n.contains("1 pairs dropped")),
        "{:?}",
        ds.notes
    );
}

#[test]
fn count_txt_with_id_zero_is_zero_based() {
    let ds = load(&fixture("good/count_zero"));
    assert_eq!(ds.user_ids, vec!["0", "1", "2", "3"]);
    assert_eq!(ds.item_ids, vec!["0", "1", "2"]);
    assert_eq!(ds.test, vec![(1, 1)]);
}

#[test]
fn validate_prints_ok_and_stats_json_has_the_shape() {
    let out = Command::cargo_bin("mclmr")
        .unwrap()
        .args(["data", "validate"])
        .arg(fixture("good/tiny_pairs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("ok: tiny_pairs: 4 users, 6 items"),
        "{stdout}"
    );
    let out = Command::cargo_bin("mclmr")
        .unwrap()
        .args(["data", "stats", "--json"])
        .arg(fixture("good/tiny_pairs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["users"], 4);
    assert_eq!(v["behaviors"]["cart"], 4);
    assert_eq!(v["splits"]["train"], 5);
    assert_eq!(v["splits"]["valid"], 2);
    assert_eq!(v["splits"]["test"], 4);
}

/// The real benchmarks in ../shared/data (skipped when absent): `cargo test --release -- --ignored`.
#[test]
#[ignore]
fn real_benchmarks_match_their_readmes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !root.exists() {
        return;
    }
    let stats = |name: &str| mclmr::data::stats::DataStats::compute(&load(&root.join(name)));
    let t = stats("taobao");
    assert_eq!((t.users, t.items), (15449, 11953));
    assert_eq!(
        t.behaviors.0,
        vec![
            ("view".into(), 873954),
            ("cart".into(), 195476),
            ("buy".into(), 92180)
        ]
    );
    assert_eq!((t.splits.train, t.splits.test), (76731, 15449));
    let m = stats("tmall");
    assert_eq!((m.users, m.items), (41738, 11953));
    assert_eq!(
        m.behaviors.0,
        vec![
            ("collect".into(), 221514),
            ("cart".into(), 1996),
            ("buy".into(), 181428)
        ]
    );
    assert_eq!((m.splits.valid, m.splits.test), (74158 - 580, 31572));
    let b = stats("beibei");
    assert_eq!((b.users, b.items), (21716, 7977));
    assert_eq!(
        b.behaviors.0,
        vec![("cart".into(), 642622), ("buy".into(), 282860)]
    );
    assert_eq!(b.splits.test, 21716);
}

#[test]
fn cold_test_pairs_can_be_dropped() {
    let ds = load(&fixture("good/cold_drop"));
    assert_eq!(ds.test.len(), 1);
    assert!(
        ds.notes
            .iter()
            .any(|n| n.contains("test.txt: 1 pairs dropped")),
        "{:?}",
        ds.notes
    );
}

#[test]
fn csv_with_bom_crlf_quotes_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let text =
        "\u{feff}\"user\",\"item\",behavior,split\r\n\"u 1\",A,view,\r\n\r\nu2,A,buy,train\r\n\
                u2,B,view,\r\n\"u 1\",B,buy,train\r\n\"u 1\",A,buy,test\r\n";
    std::fs::write(&path, text).unwrap();
    let ds = load(&path);
    assert_eq!(ds.user_ids, vec!["u 1", "u2"]);
    assert_eq!(ds.test, vec![(0, 0)]);
    // A later error still names the right line despite the blank one.
    std::fs::write(&path, text.replace("u2,B,view,", "u2,B,like,")).unwrap();
    fails_with(&path, &[], &["log.csv:5", "`like`"]);
}

#[test]
fn parquet_with_string_ids_and_leave_one_out() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("user".into(), &["x", "x", "x", "x", "y"]),
        Column::new("item".into(), &["i1", "i2", "i3", "i1", "i2"]),
        Column::new("behavior".into(), &["buy", "buy", "buy", "cart", "buy"]),
        Column::new("timestamp".into(), &[3i64, 2, 1, 0, 5]),
    ])
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let ds = load(&path);
    assert_eq!(ds.behavior_names(), vec!["cart", "buy"]);
    // x bought i3@1, i2@2, i1@3: test i1, valid i2.
    assert_eq!(ds.test, vec![(0, 0)]);
    assert_eq!(ds.valid, vec![(0, 1)]);
    assert_eq!(ds.target_train().pairs, vec![(0, 2), (1, 1)]);
}

/// The original-id pairs of behavior `b` (weakest → target) of a dataset.
fn named(ds: &Dataset, b: usize) -> Vec<(String, String)> {
    ds.behaviors[b]
        .pairs
        .iter()
        .map(|&(u, i)| {
            (
                ds.user_ids[u as usize].clone(),
                ds.item_ids[i as usize].clone(),
            )
        })
        .collect()
}

fn pairs_of(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|&(u, i)| (u.to_string(), i.to_string()))
        .collect()
}

#[test]
fn a_complete_last_line_without_a_line_end_is_accepted() {
    let ds = load(&fixture("good/no_final_newline"));
    assert_eq!(
        named(&ds, 1),
        pairs_of(&[("1", "2"), ("2", "3"), ("3", "1"), ("3", "3")])
    );
    assert_eq!(named(&ds, 0).last(), Some(&("3".into(), "1".into())));
    assert_eq!(ds.test.len(), 3);
    let (code, err) = validate(&fixture("good/no_final_newline"), &[]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn tabs_and_spaces_mixed_as_separators_are_accepted() {
    let ds = load(&fixture("good/mixed_separators"));
    assert_eq!(ds.behavior_names(), vec!["view", "buy"]);
    assert_eq!(
        named(&ds, 0),
        pairs_of(&[("1", "1"), ("1", "2"), ("2", "2"), ("2", "3"), ("3", "1")])
    );
    assert_eq!(
        named(&ds, 1),
        pairs_of(&[("1", "2"), ("2", "3"), ("3", "1"), ("3", "3")])
    );
    // The same data with single spaces is the same dataset.
    let clean = tempfile::tempdir().unwrap();
    for f in ["view.txt", "buy.txt", "test.txt"] {
        let text = std::fs::read_to_string(fixture("good/mixed_separators").join(f)).unwrap();
        let tidy: String = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        std::fs::write(clean.path().join(f), tidy).unwrap();
    }
    assert_same(&ds, &load(clean.path()));
}

/// Every file rewritten with a byte-order mark and CRLF line ends.
fn bom_crlf_copy(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
        let out = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        std::fs::write(dir.path().join(path.file_name().unwrap()), out).unwrap();
    }
    dir
}

#[test]
fn bom_and_crlf_in_pair_and_user_line_files_give_the_same_dataset() {
    for case in [
        "good/tiny_pairs",
        "good/tiny_userlines",
        "good/one_behavior",
    ] {
        let clean = load(&fixture(case));
        let copy = bom_crlf_copy(&fixture(case));
        assert_same(&clean, &load(copy.path()));
        assert!(
            std::fs::read(copy.path().join("test.txt"))
                .unwrap()
                .starts_with(b"\xEF\xBB\xBF1 1\r\n"),
            "{case}: the copy is not BOM + CRLF"
        );
    }
}

#[test]
fn only_the_target_behavior_loads() {
    let ds = load(&fixture("good/one_behavior"));
    assert_eq!(ds.behavior_names(), vec!["buy"]);
    assert_eq!((ds.n_users(), ds.n_items()), (4, 4));
    assert_eq!(ds.target_train().len(), 12);
    assert_eq!(ds.test.len(), 4);
}

/// As root (CI, this machine) `chmod 000` does not stop reading: then the file must still load;
/// otherwise the error names the file, the OS reason and the fix.
#[cfg(unix)]
#[test]
fn an_unreadable_file_is_named_with_the_os_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for f in ["view.txt", "cart.txt", "buy.txt", "test.txt"] {
        std::fs::copy(fixture("good/tiny_pairs").join(f), dir.path().join(f)).unwrap();
    }
    let buy = dir.path().join("buy.txt");
    std::fs::set_permissions(&buy, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, err) = validate(dir.path(), &[]);
    if std::fs::File::open(&buy).is_ok() {
        assert_eq!(code, 0, "readable despite chmod 000 (root), yet:\n{err}");
    } else {
        assert_eq!(code, 2, "{err}");
        for p in [
            "buy.txt: file is not readable (OS: Permission denied, error 13)",
            "fix: make it readable for this user (chmod a+r)",
        ] {
            assert!(err.contains(p), "lacks `{p}`:\n{err}");
        }
    }
    std::fs::set_permissions(&buy, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Writes a three-column Parquet log and returns its path (in `dir`).
fn parquet_log(dir: &Path, columns: Vec<polars::prelude::Column>) -> PathBuf {
    use polars::prelude::*;
    let path = dir.join("events.parquet");
    let mut df = DataFrame::new_infer_height(columns).unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    path
}

#[test]
fn parquet_with_a_boolean_user_or_integer_behavior_column() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = parquet_log(
        dir.path(),
        vec![
            Column::new("user".into(), &[true, false]),
            Column::new("item".into(), &[1i64, 2]),
            Column::new("behavior".into(), &["buy", "buy"]),
        ],
    );
    fails_with(
        &path,
        &[],
        &[
            "events.parquet",
            "column `user` has type bool",
            "integer or string user ids",
        ],
    );
    // Integer behavior codes are read as their text: unknown unless listed.
    let path = parquet_log(
        dir.path(),
        vec![
            Column::new("user".into(), &[1i64, 1, 2, 2, 2, 1, 1, 2]),
            Column::new("item".into(), &[1i64, 2, 1, 2, 3, 3, 3, 3]),
            Column::new("behavior".into(), &[1i32, 2, 1, 2, 2, 2, 1, 1]),
            Column::new(
                "split".into(),
                &["", "train", "", "train", "test", "test", "", ""],
            ),
        ],
    );
    fails_with(
        &path,
        &[],
        &[
            "events.parquet:1",
            "unknown behavior value",
            "`1`",
            "behaviors = [...]",
        ],
    );
    let ds = load_dataset(
        &path,
        &LoadOptions {
            behaviors: Some(vec!["1".into(), "2".into()]),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(ds.behavior_names(), vec!["1", "2"]);
    assert_eq!(ds.test.len(), 2);
}

/// Every `dataset.toml` key of the event-log reader, given a bad value, stops `data validate`
/// with status 2 and a message naming the key and the fix.
#[test]
fn event_log_keys_with_bad_values_name_the_key_and_the_fix() {
    let log =
        "user,item,behavior,timestamp\n1,1,view,1\n1,2,buy,2\n1,3,buy,3\n1,2,view,3\n1,3,view,3\n";
    let cases: &[(&str, &[&str])] = &[
        ("[events]\nheader = false\n", &["header = false needs `columns`", "columns = ["]),
        ("[events]\nheader = \"no\"\n", &["invalid dataset config", "header"]),
        (
            "[events]\nheader = false\ncolumns = [\"user\", \"user\", \"behavior\", \"timestamp\"]\n",
            &["columns", "listed twice", "list every column of the file once"],
        ),
        (
            "[events]\ncolumns = [\"user\", \"item\", \"behavior\", \"timestamp\"]\n",
            &["columns is for a file without a header row", "set header = false"],
        ),
        (
            "[events]\nheader = false\ncolumns = [\"user\", \"item\", \"behavior\"]\n",
            &["events.csv:1", "ragged row: 4 fields where the columns list has 3", "bad_rows = \"skip\""],
        ),
        ("[events]\nbad_rows = \"ignore\"\n", &["unknown variant `ignore`", "bad_rows"]),
        ("[events]\nfile = \"logs_*.csv\"\n", &["no file matches the event-log glob", "logs_*.csv", "fix `file`"]),
        ("[events.rename]\npv = \"\"\n", &["[events.rename]: empty behavior value or name", "pv = \"view\""]),
        (
            "[events]\nignore_behaviors = [\"view\"]\n[events.rename]\nview = \"pv\"\n",
            &["`view` is both renamed and ignored", "ignore_behaviors"],
        ),
        ("[events]\nignore_behaviors = [\"\"]\n", &["ignore_behaviors holds an empty value"]),
        (
            "behaviors = [\"view\", \"buy\"]\n[events]\nignore_behaviors = [\"view\"]\n",
            &["behavior has no events in the log", "`view`"],
        ),
        ("[events]\nitem_columns = [\"brand\"]\n", &["missing column", "`brand`", "item_columns"]),
        ("[events]\nsplit = \"time\"\n", &["split = \"time\" needs [events] test_from", "test_from = 0.9"]),
        ("[events]\nsplit = \"time\"\ntest_from = 1.5\n", &["test_from as a fraction must lie strictly between 0 and 1"]),
        ("[events]\nsplit = \"time\"\ntest_from = \"yesterday\"\n", &["test_from is not a date-time", "`yesterday`"]),
        (
            "[events]\nsplit = \"time\"\ntest_from = 0.5\nvalid_from = 0.7\n",
            &["valid_from must come before test_from"],
        ),
        ("[events]\ntest_from = 0.5\n", &["only apply to split = \"time\"", "set split = \"time\""]),
        ("items = \"items.csv\"\n", &["item metadata file does not exist", "fix `items`"]),
        ("items = \"meta/shop.csv\"\n", &["item metadata file has no `item` column", "name the id column `item`"]),
        ("split = \"time\"\n", &["unknown field `split`", "[events]"]),
    ];
    for (toml, phrases) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("events.csv"), log).unwrap();
        std::fs::create_dir(dir.path().join("meta")).unwrap();
        std::fs::write(dir.path().join("meta/shop.csv"), "id,name\n1,mug\n").unwrap();
        std::fs::write(dir.path().join("dataset.toml"), toml).unwrap();
        let (code, err) = validate(dir.path(), &[]);
        assert_eq!(code, 2, "{toml}: status {code}:\n{err}");
        for p in *phrases {
            assert!(err.contains(p), "{toml}: stderr lacks `{p}`:\n{err}");
        }
        assert!(err.contains("fix:"), "{toml}: no fix in:\n{err}");
    }
}
