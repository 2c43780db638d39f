//! Issue 16 on the shipped sample data and model: `mclmr bias`, `whatif`, `eval --by stratum`
//! and `report` (JSON and files), and the exact parts checked against a full recomputation.

use assert_cmd::Command;
use serde_json::Value;

use mclmr::analysis::{bias, whatif};
use mclmr::cli::model_cmd::load_data;
use mclmr::cli::DataOpts;
use mclmr::data::prepare_for_training;
use mclmr::data::Dataset;
use mclmr::model::{Inference, Mode, Ranker};
use mclmr::train::checkpoint::{restore, Checkpoint};

const MODEL: &str = "assets/model.safetensors";
const DATA: &str = "sample_data";

fn mclmr() -> Command {
    Command::cargo_bin("mclmr").expect("binary built")
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn run_json(args: &[&str]) -> Value {
    let out = mclmr()
        .args(args)
        .args(["--model", MODEL, "--data", DATA, "--json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)
}

fn load() -> (Dataset, Box<Inference>) {
    let data = prepare_for_training(
        load_data(DATA.as_ref(), &DataOpts::default()).expect("sample data loads"),
    );
    let ck = Checkpoint::load(MODEL.as_ref()).expect("model loads");
    let m = restore(ck, MODEL.as_ref(), &data, &candle_core::Device::Cpu).expect("restores");
    match m.ranker {
        Ranker::Neural(inf) => (data, inf),
        _ => panic!("the shipped model is neural"),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn push_closed_form_equals_the_mean_of_raw_minus_do() {
    let (data, inf) = load();
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let d = inf.score_users(&users, Mode::Do).unwrap();
    let r = inf.score_users(&users, Mode::Raw).unwrap();
    let (nu, ni) = (data.n_users(), data.n_items());
    let push = bias::item_push(&inf).unwrap();
    let upush = bias::user_push(&inf).unwrap();
    for i in [0, 1, ni / 2, ni - 1] {
        let brute = (0..nu)
            .map(|u| f64::from(r[u * ni + i] - d[u * ni + i]))
            .sum::<f64>()
            / nu as f64;
        assert!(
            close(push[i], brute, 1e-4),
            "item {i}: {} vs {brute}",
            push[i]
        );
    }
    for u in [0, nu / 3, nu - 1] {
        let brute = (0..ni)
            .map(|i| f64::from(r[u * ni + i] - d[u * ni + i]))
            .sum::<f64>()
            / ni as f64;
        assert!(
            close(upush[u], brute, 1e-4),
            "user {u}: {} vs {brute}",
            upush[u]
        );
    }
}

/// The exact terms against a recomputation from the edited data: tests/whatif_exact.rs.
#[test]
fn whatif_drop_of_a_purchase_unmasks_the_item() {
    let (data, inf) = load();
    let u = 3u32;
    let bought = data.target_train().user_items(u)[0];
    let edit = whatif::Edit {
        behavior: data.target(),
        item: bought,
        add: false,
    };
    let e = whatif::edited_scores(&inf, &data, u, &[edit], Mode::Do).unwrap();
    assert!(!e.mask.contains(&bought));
}

#[test]
fn bias_json_shares_sum_to_one_and_lists_are_sorted() {
    let v = run_json(&["bias", "-k", "10", "--top", "8"]);
    let users = v["users"].as_u64().unwrap();
    assert_eq!(users, 1000);
    let deciles = v["deciles"].as_array().unwrap();
    assert_eq!(deciles.len(), 10);
    for key in ["share_do", "share_raw"] {
        let s: f64 = deciles.iter().map(|d| d[key].as_f64().unwrap()).sum();
        assert!((s - 1.0).abs() < 1e-9, "{key} sums to {s}");
    }
    let strata = v["strata"].as_array().unwrap();
    let n: u64 = strata.iter().map(|s| s["users"].as_u64().unwrap()).sum();
    assert_eq!(n, users);
    for s in strata {
        let j = s["jaccard"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&j));
    }
    let pushed = v["most_pushed"].as_array().unwrap();
    assert_eq!(pushed.len(), 8);
    let p: Vec<f64> = pushed.iter().map(|r| r["push"].as_f64().unwrap()).collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]), "{p:?}");
    let gain: Vec<i64> = v["exposure_gain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["exposure_raw"].as_i64().unwrap() - r["exposure_do"].as_i64().unwrap())
        .collect();
    assert!(gain.windows(2).all(|w| w[0] >= w[1]), "{gain:?}");
    assert!(gain[0] > 0, "raw promotes some item over do");
}

#[test]
fn whatif_json_and_its_errors() {
    let (data, _) = load();
    let user = data.user_ids[3].clone();
    let item = data.item_ids[data.behaviors[0].user_items(3)[0] as usize].clone();
    let drop = format!("view:{item}");
    let v = run_json(&["whatif", "--user", &user, "--drop", &drop, "-k", "5"]);
    assert_eq!(v["before"].as_array().unwrap().len(), 5);
    assert_eq!(v["after"].as_array().unwrap().len(), 5);
    assert_eq!(v["changed"][0]["count"], serde_json::json!([1, 0]));
    assert_eq!(v["item"]["item"], Value::from(item.clone()));
    let (before, after) = (
        v["item"]["score"][0].as_f64().unwrap(),
        v["item"]["score"][1].as_f64().unwrap(),
    );
    assert!(after < before, "dropping the view lowers the score");
    let approx = v["approximated"].as_array().unwrap();
    assert!(approx
        .iter()
        .any(|a| a.as_str().unwrap().contains("propagation")));

    for (bad, needle) in [
        ("view", "BEHAVIOR:ITEM"),
        ("like:1", "unknown behavior"),
        ("view:no-such-item", "no-such-item"),
    ] {
        let out = mclmr()
            .args(["whatif", "--model", MODEL, "--data", DATA, "--user", &user])
            .args(["--drop", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{bad}: {err}");
    }
}

#[test]
fn eval_by_stratum_groups_cover_the_test_users() {
    let v = run_json(&["eval", "--by", "stratum"]);
    let groups = v["groups"].as_array().unwrap();
    let (data, _) = load();
    let mut test_users: Vec<u32> = data.test.iter().map(|&(u, _)| u).collect();
    test_users.sort_unstable();
    test_users.dedup();
    let sum = |by: &str, key: &str| -> u64 {
        groups
            .iter()
            .filter(|g| g["by"] == by)
            .map(|g| g[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("user_stratum", "users"), test_users.len() as u64);
    assert_eq!(sum("popularity", "items"), data.test.len() as u64);
    assert_eq!(sum("item_stratum", "items"), data.test.len() as u64);
    assert_eq!(groups.iter().filter(|g| g["by"] == "popularity").count(), 5);
    for g in groups.iter().filter(|g| g["users"].as_u64().unwrap() > 0) {
        let hr = g["do"]["HR@10"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&hr));
        assert!(g["raw"]["NDCG@10"].is_number());
    }
}

#[test]
fn report_html_parses_holds_the_charts_and_no_external_assets() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let md = dir.path().join("report.md");
    for out in [&html, &md] {
        mclmr()
            .args(["report", "--model", MODEL, "--data", DATA, "--out"])
            .arg(out)
            .assert()
            .success();
    }
    let text = std::fs::read_to_string(&html).unwrap();
    let body = text.trim_start_matches("<!DOCTYPE html>");
    let mut reader = quick_xml::Reader::from_str(body);
    let mut svgs = 0;
    let mut rects = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"svg" => svgs += 1,
                    b"rect" => rects += 1,
                    b"script" | b"img" | b"link" | b"iframe" => panic!("external asset"),
                    _ => {}
                }
            }
            Ok(_) => {}
            Err(e) => panic!(
                "report.html is not well-formed at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(svgs, 3, "causal graph and two bias charts");
    assert!(rects >= 20, "bars drawn: {rects}");
    for needle in [
        "Most pushed items",
        "Explanations of sampled users",
        "NDCG@10",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    let stripped = text.replace("http://www.w3.org/", "");
    assert!(!stripped.contains("http://") && !stripped.contains("https://"));
    let m = std::fs::read_to_string(&md).unwrap();
    assert_eq!(m.matches("<svg").count(), 3);
    assert!(m.contains("| metric | do | raw |"));

    let out = mclmr()
        .args(["report", "--model", MODEL, "--data", DATA, "--out"])
        .arg(dir.path().join("report.pdf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".html or .md"));
}
