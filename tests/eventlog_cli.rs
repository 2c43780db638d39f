//! The command line with item metadata: `recommend` and `explain` (text and `--json`) and
//! `export` carry it; `mclmr config --dataset` prints every data-loader key.

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

/// Item metadata reaches `recommend` and `explain` (text and `--json`) and `export`.
#[test]
fn recommend_explain_and_export_carry_item_metadata() {
    use assert_cmd::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from("user,item,behavior\n");
    for u in 0..12u32 {
        for k in 0..4u32 {
            let i = (u + k) % 8;
            log.push_str(&format!("{u},{i},view\n"));
            if k < 3 {
                log.push_str(&format!("{u},{i},buy\n"));
            }
        }
    }
    write(dir.path(), "events.csv", &log);
    let items: String = (0..8).map(|i| format!("{i},Mug {i},kitchen\n")).collect();
    write(
        dir.path(),
        "items.csv",
        &format!("item,name,category\n{items}"),
    );
    write(
        dir.path(),
        "dataset.toml",
        "items = \"items.csv\"\n[events]\nfile = \"events.csv\"\n",
    );
    let d = dir.path().to_str().unwrap();
    let model = dir.path().join("r.safetensors");
    let m = model.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("mclmr")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[
        "train",
        "--data",
        d,
        "--backbone",
        "rule-view-cart",
        "--out",
        m,
    ]);
    let text = run(&[
        "recommend",
        "--model",
        m,
        "--data",
        d,
        "--user",
        "3",
        "-k",
        "3",
    ]);
    assert!(
        text.contains("name Mug ") && text.contains("category kitchen"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "recommend",
        "--model",
        m,
        "--data",
        d,
        "--user",
        "3",
        "-k",
        "3",
        "--json",
    ]))
    .unwrap();
    let first = &json["items"][0];
    let id = first["item"].as_str().unwrap();
    assert_eq!(first["meta"]["name"], format!("Mug {id}"));
    let text = run(&[
        "explain", "--model", m, "--data", d, "--user", "3", "--item", "5",
    ]);
    assert!(
        text.contains("item: name Mug 5 · category kitchen"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "explain", "--model", m, "--data", d, "--user", "3", "--item", "5", "--json",
    ]))
    .unwrap();
    assert_eq!(json["item_meta"]["category"], "kitchen");
    let csv = dir.path().join("top.csv");
    run(&[
        "export",
        "--model",
        m,
        "--data",
        d,
        "--out",
        csv.to_str().unwrap(),
        "-k",
        "2",
    ]);
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(csv.starts_with("user,rank,item,name,category\n"), "{csv}");
    assert!(csv.lines().nth(1).unwrap().ends_with(",kitchen"), "{csv}");
    let js = dir.path().join("top.json");
    run(&[
        "export",
        "--model",
        m,
        "--data",
        d,
        "--out",
        js.to_str().unwrap(),
        "-k",
        "2",
    ]);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(js).unwrap()).unwrap();
    assert_eq!(rows[0]["meta"][0]["category"], "kitchen");
}

#[test]
fn config_dataset_prints_the_reference_that_parses_to_the_defaults() {
    let out = assert_cmd::Command::cargo_bin("mclmr")
        .unwrap()
        .args(["config", "--dataset"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for key in [
        "header = ",
        "columns = ",
        "bad_rows = ",
        "ignore_behaviors = ",
        "item_columns = ",
        "test_from = ",
        "valid_from = ",
        "[events.rename]",
        "items = ",
    ] {
        assert!(text.contains(key), "`{key}` missing from:\n{text}");
    }
    let cfg = mclmr::data::DatasetConfig::from_toml(Path::new("reference"), &text).unwrap();
    assert_eq!(cfg, mclmr::data::DatasetConfig::default());
}
