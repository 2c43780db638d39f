//! The three public raw logs in their published form load with a `dataset.toml` and no edit of
//! the file: Taobao's `UserBehavior.csv` (headerless, a cut last row), REES46's `2019-Oct.csv`
//! (CRLF, `… UTC` times, `purchase`) and JD.com's monthly `JData_Action_2016*.csv` (numeric
//! behavior codes, float-written user ids, duplicates). Small copies in their shape are written
//! here; the real UserBehavior window is in `eventlog_e2e.rs`.

use std::path::Path;

use mclmr::data::{load_dataset, Dataset, LoadOptions};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn load(dir: &Path) -> Dataset {
    load_dataset(dir, &LoadOptions::default()).unwrap_or_else(|e| panic!("loads: {e}"))
}

fn has_note(ds: &Dataset, part: &str) -> bool {
    ds.notes.iter().any(|n| n.contains(part))
}

/// Rows of user `u` (1..=n): a view and a buy of items `u`, `u+1`, `u+2`, at rising times.
fn user_behavior_rows(n: u32) -> String {
    let mut s = String::new();
    let mut t = 1_511_658_000u32;
    for u in 1..=n {
        for k in 0..3 {
            let i = 100 + u + k;
            for b in ["pv", "buy"] {
                t += 7;
                s.push_str(&format!("{u},{i},{},{b},{t}\n", 9000 + i % 4));
            }
        }
    }
    s
}

#[test]
fn taobao_user_behavior_headerless_with_a_cut_last_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = user_behavior_rows(6);
    log.push_str("7,107,90"); // cut mid-row, as the circulating heads of the file are
    write(dir.path(), "UserBehavior.csv", &log);
    write(
        dir.path(),
        "dataset.toml",
        r#"behaviors = ["view", "buy"]
[events]
file = "UserBehavior.csv"
header = false
columns = ["user", "item", "category", "behavior", "timestamp"]
bad_rows = "skip"
item_columns = ["category"]
[events.rename]
pv = "view"
"#,
    );
    let ds = load(dir.path());
    assert_eq!(ds.behavior_names(), ["view", "buy"]);
    assert_eq!(ds.n_users(), 6);
    assert!(
        has_note(&ds, "1 rows with a field count other than 5 skipped"),
        "{:?}",
        ds.notes
    );
    assert!(has_note(&ds, "line 37"), "{:?}", ds.notes);
    assert!(has_note(&ds, "read as unix seconds"), "{:?}", ds.notes);
    assert!(
        has_note(&ds, "behavior `pv` read as `view`"),
        "{:?}",
        ds.notes
    );
    assert_eq!(ds.test.len(), 6, "every user's last buy is test");
    let i = ds.item_index("101").unwrap();
    assert_eq!(ds.item_label(i), Some("9001"));
    assert_eq!(ds.item_display(i), "101 (9001)");
    assert_eq!(ds.item_meta.describe(i).as_deref(), Some("category 9001"));
    // Without `bad_rows = "skip"` the cut row stops the load and the message says how to skip.
    let toml = std::fs::read_to_string(dir.path().join("dataset.toml")).unwrap();
    write(
        dir.path(),
        "dataset.toml",
        &toml.replace("bad_rows = \"skip\"\n", ""),
    );
    let e = load_dataset(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("UserBehavior.csv:37"), "{e}");
    assert!(e.contains("bad_rows = \"skip\""), "{e}");
    assert!(e.contains("looks cut short"), "{e}");
}

#[test]
fn rees46_crlf_utc_times_purchase_and_a_time_split() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from(
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\r\n",
    );
    for u in 0..8u32 {
        for k in 0..4u32 {
            let (h, item) = (u + k * 5, 1000 + (u + k) % 9);
            let kind = ["view", "cart", "purchase", "view"][k as usize];
            log.push_str(&format!(
                "2019-10-01 {h:02}:00:00 UTC,{kind},{item},2053,electronics.smartphone,brand{},9.99,{},s{u}\r\n",
                item % 3,
                500 + u
            ));
        }
    }
    for u in 0..8u32 {
        log.push_str(&format!(
            "2019-10-02 {u:02}:30:00 UTC,purchase,{},2053,electronics.smartphone,brand1,9.99,{},s{u}\r\n",
            1000 + (u + 5) % 9,
            500 + u
        ));
    }
    log.push_str("2019-10-02 23:00:00 UTC,view,10"); // cut last row
    write(dir.path(), "2019-Oct.csv", &log);
    write(
        dir.path(),
        "dataset.toml",
        r#"behaviors = ["view", "cart", "buy"]
cold_test = "drop"
[events]
file = "2019-Oct.csv"
user = "user_id"
item = "product_id"
behavior = "event_type"
timestamp = "event_time"
bad_rows = "skip"
item_columns = ["category_code", "brand"]
split = "time"
test_from = "2019-10-02 00:00:00 UTC"
[events.rename]
purchase = "buy"
"#,
    );
    let ds = load(dir.path());
    assert!(
        has_note(&ds, "date-time text with a zone"),
        "{:?}",
        ds.notes
    );
    assert!(
        has_note(&ds, "test from 2019-10-02 00:00:00 UTC (8 `buy` events)"),
        "{:?}",
        ds.notes
    );
    assert!(!ds.test.is_empty());
    let i = ds.item_index("1001").unwrap();
    assert_eq!(ds.item_label(i), Some("electronics.smartphone"));
    assert!(ds.item_meta.describe(i).unwrap().contains("brand brand"));
    // A fraction of the time range works the same way.
    let toml = std::fs::read_to_string(dir.path().join("dataset.toml")).unwrap();
    write(
        dir.path(),
        "dataset.toml",
        &toml.replace(
            "test_from = \"2019-10-02 00:00:00 UTC\"",
            "test_from = 0.75\nvalid_from = 0.5",
        ),
    );
    let ds = load(dir.path());
    assert!(has_note(&ds, "valid from"), "{:?}", ds.notes);
}

#[test]
fn jd_monthly_files_numeric_codes_float_ids_and_ignored_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (month, day) in [
        ("201602", "02-01"),
        ("201603", "03-01"),
        ("201604", "04-01"),
    ] {
        let mut log = String::from("user_id,sku_id,time,model_id,type,cate,brand\n");
        for u in 0..5u32 {
            for (k, code) in ["1", "2", "3", "4", "5", "6", "4"].iter().enumerate() {
                let sku = 70
                    + (u + k as u32 + month.len() as u32 + day.len() as u32) % 11
                    + if month == "201604" { 3 } else { 0 };
                let line = format!(
                    "{}.0,{sku},2016-{day} 0{}:00:0{k},,{code},4,214\n",
                    266_079 + u,
                    u
                );
                log.push_str(&line);
                if k == 0 {
                    log.push_str(&line); // exact duplicates
                }
            }
        }
        write(dir.path(), &format!("JData_Action_{month}.csv"), &log);
    }
    write(
        dir.path(),
        "dataset.toml",
        r#"behaviors = ["view", "cart", "collect", "buy"]
cold_test = "drop"
[events]
file = "JData_Action_2016*.csv"
user = "user_id"
item = "sku_id"
behavior = "type"
timestamp = "time"
ignore_behaviors = ["3", "6"]
item_columns = ["cate", "brand"]
[events.rename]
"1" = "view"
"2" = "cart"
"4" = "buy"
"5" = "collect"
"#,
    );
    let ds = load(dir.path());
    assert!(has_note(&ds, "read 3 files as one log, in name order: JData_Action_201602.csv (40 rows), JData_Action_201603.csv"), "{:?}", ds.notes);
    assert!(
        has_note(&ds, "15 `3` rows dropped (ignore_behaviors)"),
        "{:?}",
        ds.notes
    );
    assert!(has_note(&ds, "read as `266079`"), "{:?}", ds.notes);
    assert!(has_note(&ds, "without a zone"), "{:?}", ds.notes);
    assert!(ds.user_index("266079").is_some());
    assert_eq!(ds.behavior_names(), ["view", "cart", "collect", "buy"]);
    // An unknown code still stops the load, naming both ways out.
    let toml = std::fs::read_to_string(dir.path().join("dataset.toml")).unwrap();
    write(
        dir.path(),
        "dataset.toml",
        &toml.replace("\"3\", \"6\"", "\"3\""),
    );
    let e = load_dataset(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown behavior value") && e.contains("`6`"),
        "{e}"
    );
    assert!(
        e.contains("[events.rename]") && e.contains("ignore_behaviors"),
        "{e}"
    );
}

#[test]
fn timestamps_that_mix_formats_name_a_line_of_each() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "events.csv",
        "user,item,behavior,timestamp\n1,1,buy,1511658000\n1,2,buy,2017-11-26 01:00:00\n1,3,buy,1511658100\n",
    );
    let e = load_dataset(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("events.csv:3"), "{e}");
    assert!(
        e.contains("mixes formats: unix seconds (first at line 2)"),
        "{e}"
    );
    assert!(e.contains("(first at line 3)"), "{e}");
}

#[test]
fn leave_one_out_serves_users_with_two_target_items() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "events.csv",
        "user,item,behavior,timestamp\n4,1,view,0\n4,2,view,0\n4,3,view,0\n1,1,buy,1\n1,2,buy,2\n2,1,buy,3\n2,2,buy,4\n2,3,buy,5\n3,1,buy,6\n",
    );
    let ds = load(dir.path());
    let t: Vec<(&str, &str)> = ds
        .test
        .iter()
        .map(|&(u, i)| {
            (
                ds.user_ids[u as usize].as_str(),
                ds.item_ids[i as usize].as_str(),
            )
        })
        .collect();
    assert_eq!(t, [("1", "2"), ("2", "3")]);
    assert_eq!(
        ds.valid.len(),
        1,
        "only the user with 3 items gives a validation item"
    );
    assert!(
        has_note(&ds, "1 users with 2 items give a test item only"),
        "{:?}",
        ds.notes
    );
}

#[test]
fn an_items_file_with_duplicate_and_unknown_ids_gives_notes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "events.csv",
        "user,item,behavior\n1,1,view\n1,2,buy\n1,3,buy\n1,4,buy\n2,1,buy\n2,2,buy\n2,3,buy\n",
    );
    write(
        dir.path(),
        "items.csv",
        "item,name,price\n1,\"Red mug, large\",4.5\n2,Blue plate,3\n2,Again,1\n99,Gone,1\n",
    );
    write(
        dir.path(),
        "dataset.toml",
        "items = \"items.csv\"\ncold_test = \"drop\"\n[events]\nfile = \"events.csv\"\n",
    );
    let ds = load(dir.path());
    let i = ds.item_index("1").unwrap();
    assert_eq!(ds.item_label(i), Some("Red mug, large"));
    assert_eq!(
        ds.item_meta.describe(i).as_deref(),
        Some("name Red mug, large · price 4.5")
    );
    assert_eq!(
        ds.item_label(ds.item_index("2").unwrap()),
        Some("Blue plate")
    );
    assert_eq!(ds.item_display(ds.item_index("4").unwrap()), "4");
    assert!(has_note(&ds, "1 rows repeat an item id"), "{:?}", ds.notes);
    assert!(
        has_note(&ds, "1 items not in the dataset ignored (e.g. `99`)"),
        "{:?}",
        ds.notes
    );
    assert!(
        has_note(&ds, "2 of 4 items have no metadata"),
        "{:?}",
        ds.notes
    );
}

#[test]
fn a_dataset_given_as_dot_is_named_after_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("shop");
    std::fs::create_dir(&sub).unwrap();
    write(
        &sub,
        "events.csv",
        "user,item,behavior\n1,1,buy\n1,2,buy\n1,3,buy\n1,2,view\n1,3,view\n",
    );
    let ds = load(&sub.join("."));
    assert_eq!(ds.name, "shop");
}

#[test]
fn a_headerless_file_read_with_a_header_says_how_to_read_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "UserBehavior.csv", &user_behavior_rows(2));
    let e = load_dataset(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing column"), "{e}");
    assert!(e.contains("the first row looks like data"), "{e}");
    assert!(e.contains("header = false and columns = ["), "{e}");
}
