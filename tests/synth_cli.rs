//! `mclmr synth` end to end for the routing and exposure generators: the files the loader
//! reads, the manifest, and the knobs that a generator does not have.

use assert_cmd::Command;

fn mclmr() -> Command {
    Command::cargo_bin("mclmr").expect("binary built")
}

#[test]
fn synth_generators_write_loadable_data_and_refuse_foreign_knobs() {
    let dir = tempfile::tempdir().unwrap();
    for (generator, extra) in [
        (
            "exposure",
            vec!["--confounding", "0.5", "--history-boost", "2"],
        ),
        ("routing", vec!["--density", "0.5"]),
    ] {
        let out_dir = dir.path().join(generator);
        let o = out_dir.to_str().unwrap();
        let out = mclmr()
            .args(["synth", "--generator", generator, "--out", o])
            .args(["--users", "120", "--items", "90"])
            .args(&extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{generator}: {stderr}");
        let manifest = std::fs::read_to_string(out_dir.join("truth/manifest.json")).unwrap();
        let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        assert_eq!(m["generator"], generator);
        let out = mclmr().args(["data", "validate", o]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out_dir.join("test_do.txt").exists(),
            generator == "exposure"
        );
    }
    let readme = std::fs::read_to_string(dir.path().join("exposure/truth/README.md")).unwrap();
    assert!(
        readme.contains("--confounding 0.5 --history-boost 2 --density 1"),
        "{readme}"
    );
    for (generator, flag) in [("funnel", "--density"), ("routing", "--confounding")] {
        let out = mclmr()
            .args(["synth", "--generator", generator, "--out"])
            .arg(dir.path().join("x"))
            .args([flag, "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains(generator), "{err}");
        assert!(!dir.path().join("x").exists(), "nothing written");
    }
}

#[test]
fn grid_over_missing_generated_data_says_how_to_make_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("g.toml");
    let missing = dir.path().join("not-generated");
    let text = format!(
        "name = \"g\"\nbackbones = [\"mf\"]\ndatasets = [{{ name = \"a\", data = \"{}\" }}]\n",
        missing.display()
    );
    std::fs::write(&spec, text).unwrap();
    let rows = dir.path().join("rows.jsonl");
    let out = mclmr()
        .args([
            "grid",
            spec.to_str().unwrap(),
            "--out",
            rows.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not-generated") && err.contains("make_exposure_data.sh"),
        "{err}"
    );
    assert!(!rows.exists());
}
