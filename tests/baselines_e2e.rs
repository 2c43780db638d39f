//! The baselines a user would pick instead of a learned model, end to end on the sample data:
//! `rule-conversion` and `ease` through train → eval → recommend → explain, the grid's
//! baseline rows, EASE's refusal of a catalogue too large for the memory, and its config errors.

use assert_cmd::Command;
use serde_json::Value;

fn mclmr() -> Command {
    Command::cargo_bin("mclmr").expect("binary built")
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `mclmr train --data sample_data --backbone KIND --out M --json` plus `extra`.
fn train(kind: &str, model: &str, extra: &[&str]) -> std::process::Output {
    mclmr()
        .args(["train", "--data", "sample_data", "--backbone", kind])
        .args(["--out", model, "--json"])
        .args(extra)
        .output()
        .unwrap()
}

fn eval(model: &str) -> Value {
    let out = mclmr()
        .args(["eval", "--model", model, "--data", "sample_data", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out.stdout)
}

#[test]
fn both_baselines_train_evaluate_recommend_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let mut hr = Vec::new();
    for kind in ["rule-view-cart", "rule-conversion", "ease"] {
        let model = dir.path().join(format!("{kind}.safetensors"));
        let m = model.to_str().unwrap();
        let out = train(kind, m, &[]);
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        let summary = json(&out.stdout);
        let status = if kind == "ease" {
            "closed-form"
        } else {
            "rule"
        };
        assert_eq!(summary["status"], status);
        let e = eval(m);
        for k in ["HR@10", "NDCG@10", "Recall@20", "HR@50"] {
            let v = e["do"][k].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&v), "{kind} {k} = {v}");
            // Baselines have one ranking: raw is do.
            assert_eq!(e["do"][k], e["raw"][k], "{kind} {k}");
        }
        hr.push(e["do"]["HR@10"].as_f64().unwrap());

        let out = mclmr()
            .args(["recommend", "--model", m, "--data", "sample_data"])
            .args(["--user", "7", "-k", "5", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        let r = json(&out.stdout);
        let items = r["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        let first = items[0]["item"].as_str().unwrap().to_string();

        let out = mclmr()
            .args(["explain", "--model", m, "--data", "sample_data"])
            .args(["--user", "7", "--item", &first, "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        let x = json(&out.stdout);
        let score = items[0]["score"].as_f64().unwrap();
        assert!(
            (x["score_do"].as_f64().unwrap() - score).abs() < 1e-4,
            "{x}"
        );
        if kind == "ease" {
            // The score is the sum of the history items' contributions x_uj · B_ji.
            assert_eq!(x["nearest"][0]["behavior"], "ease", "{x}");
            assert!(!x["nearest"][0]["items"].as_array().unwrap().is_empty());
        }
    }
    // Three different rankings (the conversion order and EASE are not the popularity rule's).
    assert!(hr[0] != hr[1] || hr[0] != hr[2], "{hr:?}");
}

#[test]
fn ease_checkpoint_is_self_describing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("e.toml");
    std::fs::write(&cfg, "[ease]\nlambda = 50.0\nweights = [1.0, 1.0, 8.0]\n").unwrap();
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    let out = train(
        "ease",
        a.to_str().unwrap(),
        &["--config", cfg.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = train("ease", b.to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The stored [ease] section and B give the figures of their own fit, not the defaults'.
    let (ea, eb) = (eval(a.to_str().unwrap()), eval(b.to_str().unwrap()));
    assert_ne!(ea["do"], eb["do"]);
    // The same fit again gives the same figures (the solve is deterministic).
    let out = train("ease", b.to_str().unwrap(), &[]);
    assert!(out.status.success());
    assert_eq!(eval(b.to_str().unwrap())["do"], eb["do"]);
}

/// A saved EASE checkpoint scores exactly as the fit it came from, with its own `[ease]` config
/// (here not the defaults): `B` from the file, `X` rebuilt from the data and the stored weights.
#[test]
fn ease_checkpoint_round_trip_scores_as_the_fit() {
    use mclmr::model::{Config, EaseRanker, Mode};
    use mclmr::train::checkpoint::{load_model, Checkpoint};
    let data = mclmr::data::load_dataset(
        std::path::Path::new("sample_data"),
        &mclmr::data::LoadOptions::default(),
    )
    .unwrap();
    let mut cfg = Config::default();
    cfg.model.backbone = mclmr::model::BackboneKind::Ease;
    cfg.ease.lambda = 20.0;
    cfg.ease.weights = vec![1.0, 1.0, 8.0];
    let fit = EaseRanker::fit(&data, &cfg.ease).unwrap();
    let users: Vec<u32> = (0..50).collect();
    let want = fit.score_users(&users);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.safetensors");
    Checkpoint::ease(&cfg, &data, fit.b, 1.0)
        .unwrap()
        .save(&path)
        .unwrap();
    let loaded = load_model(&path, &data, &candle_core::Device::Cpu).unwrap();
    assert_eq!(loaded.checkpoint.config.ease, cfg.ease);
    assert_eq!(loaded.checkpoint.meta.status, "closed-form");
    let got = loaded.ranker.score_users(&users, Mode::Do).unwrap();
    assert_eq!(got, want);
}

#[test]
fn ease_refuses_a_catalogue_too_large_for_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    // 600 items: the solve needs 3 × 600² × 4 bytes = 4.1 MiB, the whole run about 26 MiB.
    let out = train("ease", m, &["--max-memory", "20M"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for part in [
        "training synthetic (ease, lambda=500) needs about",
        "solve 4.1 MiB",
        "but only 20.0 MiB is available (--max-memory)",
        "use it on a smaller catalogue",
        "or pass --max-memory SIZE to override",
    ] {
        assert!(err.contains(part), "missing `{part}` in: {err}");
    }
    assert!(!model.exists());
    // With enough memory the same command runs.
    let out = train("ease", m, &["--max-memory", "256M"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn ease_config_errors_name_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let cfg = dir.path().join("e.toml");
    for (text, key) in [
        ("[ease]\nweights = [1.0, 4.0]\n", "ease.weights"),
        ("[ease]\nlambda = -3.0\n", "ease.lambda"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let out = train(
            "ease",
            model.to_str().unwrap(),
            &["--config", cfg.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(key) && err.contains("fix:"), "{err}");
    }
}

#[test]
fn grids_run_the_baselines_once_and_report_their_cost() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("g.toml");
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(
        &spec,
        "name = \"b\"\ndata = \"sample_data\"\nseeds = [1, 2]\nrules = [\"rule-conversion\", \"ease\"]\n",
    )
    .unwrap();
    let (s, r) = (spec.to_str().unwrap(), rows.to_str().unwrap());
    let out = mclmr().args(["grid", s, "--out", r]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = std::fs::read_to_string(&rows)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes())["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["rule-conversion/rule", "ease/closed-form"]);
    let out = mclmr()
        .args(["grid", s, "--out", r, "--report"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| rule-conversion | rule | 1 |"), "{table}");
    assert!(table.contains("| ease | closed-form | 1 |"), "{table}");
    // EASE's fit has a cost worth a row; a rule's has none.
    assert!(table.contains("| ease | closed-form | cpu |"), "{table}");
    assert!(
        !table.contains("| rule-conversion | rule | cpu |"),
        "{table}"
    );

    std::fs::write(
        &spec,
        "name = \"b\"\ndata = \"sample_data\"\nrules = [\"mf\"]\n",
    )
    .unwrap();
    let out = mclmr().args(["grid", s, "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("mf") && err.contains("rule-conversion, ease"),
        "{err}"
    );
}
