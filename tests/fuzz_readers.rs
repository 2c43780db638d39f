//! Property-based fuzzing of every text reader, the dataset loader and the checkpoint reader:
//! arbitrary or mutated input must give `Ok` or a typed error, never a panic. (Run longer with
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz_readers`.)

use std::path::Path;

use candle_core::Device;
use mclmr::data::config::DatasetConfig;
use mclmr::data::pairs::parse_pairs;
use mclmr::data::textscan::scan_csv;
use mclmr::data::userlines::parse_user_lines;
use mclmr::data::{load_dataset, LoadOptions};
use mclmr::train::checkpoint::Checkpoint;
use proptest::prelude::*;

/// Bytes that look like the text files readers meet: digits, separators, line ends, noise.
fn texty() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(b"0123456789".to_vec()),
            3 => prop::sample::select(b" \t\n\r,;".to_vec()),
            1 => prop::sample::select(b"-+.eE\"xA".to_vec()),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn pair_and_line_readers_never_panic(bytes in texty()) {
        let f = Path::new("fuzz.txt");
        if let Ok(p) = parse_pairs(f, "view", &bytes) {
            prop_assert_eq!(p.pairs.len(), p.lines.len());
        }
        let _ = parse_user_lines(f, "view", &bytes);
        let _ = scan_csv(&bytes, b',');
        let _ = scan_csv(&bytes, b'\t');
    }

    #[test]
    fn dataset_config_reader_never_panics(text in "[a-z_=\\[\\]\" 0-9.\\n]{0,200}") {
        let _ = DatasetConfig::from_toml(Path::new("dataset.toml"), &text);
    }

    #[test]
    fn loader_on_random_directories_never_panics(buy in texty(), test in texty(), view in texty()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("buy.txt"), &buy).unwrap();
        std::fs::write(dir.path().join("test.txt"), &test).unwrap();
        std::fs::write(dir.path().join("view.txt"), &view).unwrap();
        if let Ok(d) = load_dataset(dir.path(), &LoadOptions::default()) {
            for b in &d.behaviors {
                prop_assert!(b.pairs.iter().all(|&(u, i)| (u as usize) < d.n_users() && (i as usize) < d.n_items()));
            }
        }
    }
}

/// A small valid checkpoint, made once.
fn checkpoint_bytes() -> Vec<u8> {
    let data = load_dataset(Path::new("sample_data"), &LoadOptions::default()).unwrap();
    let ck = Checkpoint::rule(&mclmr::model::Config::default(), &data);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.safetensors");
    ck.save(&p).unwrap();
    let mut cfg = mclmr::model::Config::default();
    cfg.model.backbone = mclmr::model::BackboneKind::Mf;
    cfg.train.epochs = 1;
    let out = mclmr::train::train(&data, &cfg, &Device::Cpu, Default::default()).unwrap();
    Checkpoint::from_outcome(&out, &data, &Device::Cpu)
        .unwrap()
        .save(&p)
        .unwrap();
    std::fs::read(&p).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn checkpoint_reader_never_panics_on_mutations(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let mut bytes = BYTES.get_or_init(checkpoint_bytes).clone();
        for (at, v) in flips {
            let k = at.index(bytes.len());
            bytes[k] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        std::fs::write(&p, &bytes).unwrap();
        // Either a clean error, or (when only padding bytes changed) a checkpoint that verifies.
        let _ = Checkpoint::load(&p);
    }
}
