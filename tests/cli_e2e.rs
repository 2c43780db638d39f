//! The headless CLI end to end on the sample data: train → eval → recommend → explain → export,
//! plus the errors a user meets first (unknown ids, wrong data for a model, bad flags).

use assert_cmd::Command;
use serde_json::Value;

fn mclmr() -> Command {
    Command::cargo_bin("mclmr").expect("binary built")
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

#[test]
fn train_eval_recommend_explain_export() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--backbone",
            "mf",
            "--epochs",
            "2",
            "--out",
            m,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json(&out.stdout);
    assert_eq!(summary["epochs_run"], 2);

    let out = mclmr()
        .args(["eval", "--model", m, "--data", "sample_data", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let e = json(&out.stdout);
    for mode in ["do", "raw"] {
        for k in ["HR@10", "NDCG@10", "Recall@20", "HR@50"] {
            let v = e[mode][k].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&v), "{mode} {k} = {v}");
        }
        assert!(e["bias"][mode]["coverage"].as_f64().is_some());
        assert!(e["interventional"][mode]["NDCG@10"].as_f64().is_some());
    }

    let out = mclmr()
        .args([
            "recommend",
            "--model",
            m,
            "--data",
            "sample_data",
            "--user",
            "7",
            "-k",
            "5",
            "--mode",
            "raw",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = json(&out.stdout);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let first = items[0]["item"].as_str().unwrap().to_string();

    let out = mclmr()
        .args([
            "explain",
            "--model",
            m,
            "--data",
            "sample_data",
            "--user",
            "7",
            "--item",
            &first,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let x = json(&out.stdout);
    let raw = x["score_raw"].as_f64().unwrap();
    let top = items[0]["score"].as_f64().unwrap();
    assert!(
        (raw - top).abs() < 1e-3,
        "explained raw score {raw} vs ranked score {top}"
    );

    for ext in ["csv", "json", "parquet"] {
        let file = dir.path().join(format!("top.{ext}"));
        let out = mclmr()
            .args([
                "export",
                "--model",
                m,
                "--data",
                "sample_data",
                "-k",
                "3",
                "--out",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::metadata(&file).unwrap().len() > 100);
    }
    let csv = std::fs::read_to_string(dir.path().join("top.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("user,rank,item"));
    assert_eq!(csv.lines().count(), 1 + 3 * 1000);

    // Errors: unknown user, wrong data for the model, unsupported export format.
    let out = mclmr()
        .args([
            "recommend",
            "--model",
            m,
            "--data",
            "sample_data",
            "--user",
            "nobody",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown user id"));
    let out = mclmr()
        .args([
            "eval",
            "--model",
            m,
            "--data",
            "sample_data",
            "--behaviors",
            "view,buy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trained on dataset"));
    let out = mclmr()
        .args([
            "export",
            "--model",
            m,
            "--data",
            "sample_data",
            "--out",
            dir.path().join("x.xlsx").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn resume_continues_a_stopped_run_and_rules_train_instantly() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            "sample_data",
            "--backbone",
            "mf",
            "--out",
            m,
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&mclmr().args(&args).output().unwrap().stdout)
    };
    assert_eq!(run(&["--epochs", "1"])["epochs_run"], 1);
    assert_eq!(run(&["--resume", "--epochs", "2"])["epochs_run"], 2);
    let rule = dir.path().join("r.safetensors");
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--backbone",
            "rule-view-cart",
            "--out",
            rule.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = mclmr()
        .args([
            "eval",
            "--model",
            rule.to_str().unwrap(),
            "--data",
            "sample_data",
            "--json",
        ])
        .output()
        .unwrap();
    let e = json(&out.stdout);
    assert_eq!(e["do"], e["raw"], "a rule has no confounder terms");
}

#[test]
fn bad_flags_and_configs_exit_2_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[train]\nlr = -1\n").unwrap();
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            "/tmp/never.safetensors",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("train.lr"));
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--backbone",
            "gru",
            "--out",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--device",
            "tpu",
            "--out",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fix:"));
    let out = mclmr().args(["config", "--default"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("backbone = \"lightgcn\""));
}

#[test]
fn sigterm_during_training_leaves_a_resumable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let exe = assert_cmd::cargo::cargo_bin("mclmr");
    let mut child = std::process::Command::new(exe)
        .args([
            "train",
            "--data",
            "sample_data",
            "--backbone",
            "lightgcn",
            "--epochs",
            "500",
            "--out",
            m,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it like a service manager would, once the first epoch has been reported.
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("epoch ") && line.contains("loss") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{seen}");
    assert!(seen.contains("--resume"), "{seen}");
    let ck =
        mclmr::train::checkpoint::Checkpoint::load(&model).expect("checkpoint written on SIGTERM");
    let resume = ck.resume.expect("resume state stored");
    assert!(resume.epoch >= 1, "some epoch finished before the signal");
    assert_eq!(ck.meta.status, "cancelled");
    // And the run continues from there.
    let next = resume.epoch + 1;
    let out = mclmr()
        .args([
            "train",
            "--data",
            "sample_data",
            "--out",
            m,
            "--resume",
            "--epochs",
            &next.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out.stdout)["epochs_run"], next);
}

#[test]
fn grid_runs_resumes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("g.toml");
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(
        &spec,
        r#"
name = "tiny"
data = "sample_data"
config = "configs/sample.toml"
seeds = [1, 2]
backbones = ["mf"]
variants = ["plain", "mclmr"]
epochs = 1
rules = ["rule-view-cart"]

[[ablation]]
name = "w/o BCL"
set = { "mclmr.bcl" = false }
"#,
    )
    .unwrap();
    let (s, r) = (spec.to_str().unwrap(), rows.to_str().unwrap());
    let out = mclmr().args(["grid", s, "--out", r]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&rows)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect();
    // 1 backbone × 2 seeds × (plain, mclmr, w/o BCL) + 1 rule.
    assert_eq!(lines.len(), 7);
    for row in &lines {
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(row["device"], "cpu", "{row}");
        let hr = row["eval"]["do"]["HR@10"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&hr));
        assert!(row["train"]["peak_rss_mib"].as_f64().unwrap() > 0.0);
    }
    let bcl = lines.iter().find(|r| r["id"] == "mf/w/o BCL/s2").unwrap();
    assert_eq!(bcl["set"]["mclmr.bcl"], false);
    assert_eq!(bcl["train"]["epochs_run"], 1);
    // Checkpoints are removed once evaluated.
    let models = dir.path().join("rows.jsonl.models");
    assert!(std::fs::read_dir(&models).unwrap().all(|e| !e
        .unwrap()
        .path()
        .to_string_lossy()
        .ends_with(".safetensors")));

    // A second run finds every run done and adds nothing.
    let out = mclmr().args(["grid", s, "--out", r]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 to run"));
    assert_eq!(std::fs::read_to_string(&rows).unwrap().lines().count(), 7);

    let out = mclmr()
        .args(["grid", s, "--out", r, "--report"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| mf | mclmr | 2 |"), "{table}");
    assert!(table.contains("| rule-view-cart | rule | 1 |"), "{table}");
    assert!(table.contains("Interventional test"), "{table}");
    assert!(table.contains("| mf | mclmr | cpu |"), "{table}");
    // Results per stratum (issue 16): every run's `eval --by stratum` groups, in the report.
    assert!(table.contains("Per item popularity bucket"), "{table}");
    assert!(table.contains("| rule-view-cart | rule | 0."), "{table}");
    assert!(table.contains("worst `do`"), "{table}");

    // A run made on a GPU is counted in its group and its cost is kept apart.
    let mut gpu = lines
        .iter()
        .find(|r| r["id"] == "mf/mclmr/s2")
        .unwrap()
        .clone();
    gpu["id"] = "mf/mclmr/s3".into();
    gpu["seed"] = 3.into();
    gpu["device"] = "cuda:0".into();
    let mut text = std::fs::read_to_string(&rows).unwrap();
    text.push_str(&format!("{gpu}\n"));
    std::fs::write(&rows, text).unwrap();
    let out = mclmr()
        .args(["grid", s, "--out", r, "--report"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| mf | mclmr | 3 (1 on GPU) |"), "{table}");
    assert!(table.contains("| mf | mclmr | cpu |"), "{table}");
    assert!(table.contains("| mf | mclmr | cuda:0 |"), "{table}");
}

#[test]
fn grid_spec_errors_name_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.toml");
    std::fs::write(
        &spec,
        "name = \"x\"\ndata = \"sample_data\"\nvariant = [\"plain\"]\n",
    )
    .unwrap();
    let out = mclmr()
        .args(["grid", spec.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3") && err.contains("unknown field"),
        "{err}"
    );
    assert!(err.contains("fix:"), "{err}");

    std::fs::write(
        &spec,
        "name = \"x\"\ndata = \"sample_data\"\nvariants = [\"fancy\"]\n",
    )
    .unwrap();
    let out = mclmr()
        .args(["grid", spec.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variant"));

    // A device that does not exist stops the grid before any run, naming the value.
    std::fs::write(
        &spec,
        "name = \"x\"\ndata = \"sample_data\"\nbackbones = [\"mf\"]\nvariants = [\"plain\"]\n",
    )
    .unwrap();
    let rows = dir.path().join("rows.jsonl");
    let out = mclmr()
        .args(["grid", spec.to_str().unwrap(), "--device", "tpu"])
        .args(["--out", rows.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("tpu"), "{}", stderr(&out));
    assert!(!rows.exists());
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory with only the target behavior's file and a test split trains every neural
/// backbone plain and +MCLMR (which says what it runs without), and the model evaluates.
#[test]
fn only_the_target_behavior_trains_plain_and_mclmr() {
    let dir = tempfile::tempdir().unwrap();
    for backbone in ["mf", "lightgcn"] {
        for plain in [true, false] {
            let model = dir.path().join(format!("{backbone}-{plain}.safetensors"));
            let m = model.to_str().unwrap();
            let mut cmd = mclmr();
            cmd.args(["train", "--data", "tests/fixtures/good/one_behavior"])
                .args(["--backbone", backbone, "--epochs", "1", "--out", m, "-q"]);
            if plain {
                cmd.arg("--plain");
            }
            let out = cmd.output().unwrap();
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{backbone} plain={plain}:\n{err}"
            );
            let noted = err.contains("has only the target behavior `buy`: MCLMR runs without");
            assert_eq!(noted, !plain, "{backbone} plain={plain}:\n{err}");
            let out = mclmr()
                .args([
                    "eval",
                    "--model",
                    m,
                    "--data",
                    "tests/fixtures/good/one_behavior",
                ])
                .arg("--json")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert!(json(&out.stdout)["do"]["HR@10"].as_f64().is_some());
        }
    }
}

/// The memory guard: a budget below the estimate stops `train` before any work, with the
/// estimate, its parts and the fix; a normal run under the detected memory still works.
#[test]
fn max_memory_below_the_estimate_fails_early_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let data = "tests/fixtures/good/tiny_pairs";
    let out = mclmr()
        .args(["train", "--data", data, "--epochs", "1", "--out", m])
        .args(["--max-memory", "1K"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for p in [
        "error: training tiny_pairs (lightgcn +MCLMR, d=64, 2 layers) needs about",
        "(runtime 16.0 MiB, ",
        "but only 1.0 KiB is available (--max-memory)",
        "fix: lower model.dim or model.layers (or train.batch_size), drop a behavior with --behaviors, or pass --max-memory SIZE to override",
    ] {
        assert!(err.contains(p), "lacks `{p}`:\n{err}");
    }
    assert!(!model.exists(), "a checkpoint was written");

    // Loading a dataset larger than the budget is refused before it is read.
    let out = mclmr()
        .args(["data", "validate", "sample_data", "--max-memory", "100K"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: loading sample_data needs about"),
        "{err}"
    );

    // Evaluation has its own estimate.
    let out = mclmr()
        .args(["train", "--data", data, "--epochs", "1", "--out", m, "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = mclmr()
        .args(["eval", "--model", m, "--data", data, "--max-memory", "2M"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: evaluating tiny_pairs (lightgcn +MCLMR"),
        "{err}"
    );
    let out = mclmr()
        .args([
            "eval",
            "--model",
            m,
            "--data",
            data,
            "--max-memory",
            "1.5GiB",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Bad sizes are a usage error naming the accepted forms.
    for bad in ["lots", "0", "-5G", "1.5x"] {
        let out = mclmr()
            .args(["data", "validate", data])
            .arg(format!("--max-memory={bad}"))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("512M, 2G, 1.5GiB"), "{bad}: {err}");
    }

    // `data stats` reports the training estimate.
    let out = mclmr()
        .args(["data", "stats", "--json", data])
        .output()
        .unwrap();
    let v = json(&out.stdout);
    let need = v["memory"]["training_bytes"].as_u64().unwrap();
    assert!((16 << 20..64 << 20).contains(&need), "{need}");
    assert!(v["memory"]["parts"]["graphs"].as_u64().is_some());
    let out = mclmr().args(["data", "stats", data]).output().unwrap();
    let card = String::from_utf8_lossy(&out.stdout);
    assert!(
        card.contains("memory: training needs about ")
            && card.contains("with the default config (lightgcn +MCLMR, d=64, 2 layers)"),
        "{card}"
    );
}

/// What CUDA runs (bucketed products and gathers, the tensor-op Adam), forced on the CPU by
/// `MCLMR_GENERIC_OPS=1`, trains every backbone +MCLMR to the same
/// model as the CPU ops: the same validation NDCG and test metrics up to float rounding.
#[test]
fn generic_ops_train_the_same_model_as_the_cpu_ops() {
    let dir = tempfile::tempdir().unwrap();
    for backbone in ["mf", "lightgcn", "cascade"] {
        let run = |generic: bool| {
            let model = dir.path().join(format!("{backbone}-{generic}.safetensors"));
            let m = model.to_str().unwrap();
            let mut cmd = mclmr();
            if generic {
                cmd.env("MCLMR_GENERIC_OPS", "1");
            }
            let out = cmd
                .args(["train", "--data", "sample_data", "--config"])
                .args([
                    "configs/sample.toml",
                    "--backbone",
                    backbone,
                    "--epochs",
                    "3",
                ])
                .args(["--out", m, "--json", "-q"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{backbone} {generic}: {}",
                stderr(&out)
            );
            let t = json(&out.stdout);
            let out = mclmr()
                .args(["eval", "--model", m, "--data", "sample_data", "--json"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            (t, json(&out.stdout))
        };
        let ((tc, ec), (tg, eg)) = (run(false), run(true));
        let close = |a: &Value, b: &Value, what: &str| {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() < 2e-3,
                "{backbone} {what}: cpu {a} vs generic {b}"
            );
        };
        close(&tc["valid_NDCG@10"], &tg["valid_NDCG@10"], "valid NDCG@10");
        for mode in ["do", "raw"] {
            for m in ["HR@10", "NDCG@10"] {
                close(&ec[mode][m], &eg[mode][m], &format!("{mode} {m}"));
            }
        }
    }
}

#[test]
fn a_closed_stdout_pipe_ends_the_command_quietly() {
    use std::process::{Command as Std, Stdio};
    // The reader goes away before the command writes (`mclmr data stats … | head -0`): the
    // command loads the data first, so its first write meets the closed pipe.
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("mclmr"))
        .args(["data", "stats", "sample_data"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
