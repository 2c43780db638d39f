//! End-to-end checks of the engine on the shipped sample data (fixed seeds): the paper's
//! central comparison, checkpoints, explanations and resume.

use std::path::Path;

use candle_core::Device;
use mclmr::data::{load_dataset, Dataset, LoadOptions};
use mclmr::eval::{full_report, EvalReport};
use mclmr::explain::explain;
use mclmr::model::{BackboneKind, Config, Mode, Ranker};
use mclmr::train::checkpoint::{load_model, Checkpoint};
use mclmr::train::{train, Status, TrainOptions};

fn sample() -> Dataset {
    load_dataset(Path::new("sample_data"), &LoadOptions::default()).expect("sample_data loads")
}

/// The sample data's own config (configs/sample.toml) with a backbone and an epoch budget.
fn config(backbone: BackboneKind, mclmr: bool, epochs: usize) -> Config {
    let mut c = Config::from_file(Path::new("configs/sample.toml")).expect("configs/sample.toml");
    c.model.backbone = backbone;
    c.model.mclmr = mclmr;
    c.train.epochs = epochs;
    c
}

fn run(data: &Dataset, cfg: &Config) -> (EvalReport, mclmr::train::TrainOutcome) {
    let out = train(data, cfg, &Device::Cpu, TrainOptions::default()).expect("training runs");
    let ranker = Ranker::Neural(Box::new(out.net.infer().expect("inference")));
    (full_report(&ranker, data).expect("evaluation"), out)
}

#[test]
fn mclmr_beats_plain_on_every_backbone() {
    let data = sample();
    for kind in [
        BackboneKind::Mf,
        BackboneKind::LightGcn,
        BackboneKind::Cascade,
    ] {
        let (plain, _) = run(&data, &config(kind, false, 40));
        let (plus, out) = run(&data, &config(kind, true, 40));
        let (p, m) = (plain.do_["HR@10"], plus.do_["HR@10"]);
        eprintln!("{}: plain HR@10 {p:.4}, +MCLMR HR@10 {m:.4}", kind.name());
        assert!(m > p + 0.05, "{}: +MCLMR {m} vs plain {p}", kind.name());
        assert!(out.best_epoch >= 1);
        let iv = plus
            .interventional
            .as_ref()
            .expect("sample data has an interventional test set");
        let (d, r) = (iv["do"]["NDCG@10"], iv["raw"]["NDCG@10"]);
        eprintln!(
            "{}: interventional NDCG@10 do {d:.4}, raw {r:.4}",
            kind.name()
        );
        // The backdoor adjustment pays off where the confounders were randomised.
        assert!(
            d > r,
            "{}: interventional NDCG@10 do {d} vs raw {r}",
            kind.name()
        );
    }
}

#[test]
fn checkpoint_roundtrip_gives_identical_scores_and_refuses_other_data() {
    let data = sample();
    let (_, out) = run(&data, &config(BackboneKind::LightGcn, true, 2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    Checkpoint::from_outcome(&out, &data, &Device::Cpu)
        .unwrap()
        .save(&path)
        .unwrap();
    let loaded = load_model(&path, &data, &Device::Cpu).unwrap();
    let fresh = Ranker::Neural(Box::new(out.net.infer().unwrap()));
    for mode in [Mode::Do, Mode::Raw] {
        let a = fresh.score_users(&[0, 5, 17], mode).unwrap();
        let b = loaded.ranker.score_users(&[0, 5, 17], mode).unwrap();
        assert_eq!(
            a, b,
            "scores differ after a save/load round trip ({mode:?})"
        );
    }
    // The same checkpoint against a dataset with one behavior fewer is refused clearly.
    let other = load_dataset(
        Path::new("sample_data"),
        &LoadOptions {
            behaviors: Some(vec!["view".into(), "buy".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let err = load_model(&path, &other, &Device::Cpu)
        .err()
        .expect("other data is refused")
        .to_string();
    assert!(err.contains("trained on dataset"), "{err}");
    // A truncated file is refused, not half-loaded.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_model(&cut, &data, &Device::Cpu)
        .err()
        .expect("truncated file is refused")
        .to_string();
    assert!(
        err.contains("truncated") || err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn explanation_terms_add_up_to_the_ranking_scores() {
    let data = sample();
    let (_, out) = run(&data, &config(BackboneKind::Cascade, true, 2));
    let ranker = Ranker::Neural(Box::new(out.net.infer().unwrap()));
    let scores_do = ranker.score_users(&[3], Mode::Do).unwrap();
    let scores_raw = ranker.score_users(&[3], Mode::Raw).unwrap();
    for item in [0u32, 10, 99, 250] {
        let e = explain(&ranker, &data, 3, item);
        let f = e.target_term
            + e.experts.iter().map(|x| x.term).sum::<f32>()
            + e.evidence.iter().map(|x| x.term).sum::<f32>();
        let d = f + e.confounders_do.unwrap().total();
        let r = f + e.confounders_raw.unwrap().total();
        assert!(
            (d - scores_do[item as usize]).abs() < 1e-3,
            "do {d} vs {}",
            scores_do[item as usize]
        );
        assert!(
            (r - scores_raw[item as usize]).abs() < 1e-3,
            "raw {r} vs {}",
            scores_raw[item as usize]
        );
        assert!((e.raw_minus_do - (r - d)).abs() < 1e-3);
        assert_eq!(e.experts.len(), 3, "view, cart and one shared expert");
        assert_eq!(e.nearest.len(), 3, "one nearest-items group per behavior");
    }
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let data = sample();
    let cfg = config(BackboneKind::LightGcn, true, 4);
    let full = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).unwrap();
    let mut half_cfg = cfg.clone();
    half_cfg.train.epochs = 2;
    let half = train(&data, &half_cfg, &Device::Cpu, TrainOptions::default()).unwrap();
    assert_eq!(half.status, Status::Completed);
    // Through a checkpoint file, as `mclmr train --resume` does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.safetensors");
    Checkpoint::from_outcome(&half, &data, &Device::Cpu)
        .unwrap()
        .save(&path)
        .unwrap();
    let resume = Checkpoint::load(&path)
        .unwrap()
        .resume
        .expect("resume state stored");
    let rest = train(
        &data,
        &cfg,
        &Device::Cpu,
        TrainOptions {
            resume: Some(resume),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rest.best_epoch, full.best_epoch);
    let a = full.net.params.snapshot().unwrap();
    let b = rest.net.params.snapshot().unwrap();
    for (k, t) in &a {
        let x = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let y = b[k].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            x, y,
            "parameter {k} differs between resumed and uninterrupted runs"
        );
    }
}

#[test]
fn rule_baselines_rank_auxiliary_items_first() {
    let data = sample();
    let rule = Ranker::Rule(mclmr::model::RuleRanker::new(&data, false));
    let report = full_report(&rule, &data).unwrap();
    assert!(
        report.do_["HR@10"] > 0.5,
        "cart-then-view rule on sample data: {}",
        report.do_["HR@10"]
    );
    assert_eq!(report.do_, report.raw);
}

#[test]
fn exploding_learning_rate_is_detected_and_the_last_good_state_kept() {
    let data = sample();
    let mut cfg = config(BackboneKind::Mf, true, 3);
    cfg.train.lr = 1e30;
    let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).unwrap();
    match &out.status {
        Status::Diverged { epoch, batch, what } => {
            assert!(*epoch >= 1 && *batch >= 1, "{epoch} {batch}");
            assert!(what == "loss" || what == "gradient", "{what}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    // The kept parameters are finite.
    for (k, t) in out.net.params.snapshot().unwrap() {
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()), "{k} has non-finite values");
    }
}

#[test]
fn conversion_loss_fits_the_item_effect_and_leaves_the_do_ranking_alone() {
    let data = sample();
    let mut cfg = config(BackboneKind::Mf, true, 3);
    cfg.mclmr.lambda_conv = 1.0;
    let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).expect("training runs");
    let conv: Vec<f32> = out.history.iter().map(|h| h.loss.conv).collect();
    assert!(
        conv.iter().all(|c| c.is_finite() && *c > 0.0),
        "conversion loss per epoch: {conv:?}"
    );
    // A constant item effect cannot do better than 2·ln 2 on the balanced pairs.
    let chance = 2.0 * std::f32::consts::LN_2;
    assert!(
        conv[conv.len() - 1] < chance - 0.1,
        "the item effect separates bought from not bought: {conv:?}"
    );
    let net = out.net;
    let users: Vec<u32> = (0..40).collect();
    let before = net.infer().unwrap();
    let w = net
        .params
        .iter()
        .find(|(n, _)| n.as_str() == "causal.conv_w")
        .map(|(_, v)| v.clone())
        .expect("the conversion weight exists when the loss is on");
    let fitted = w.as_tensor().to_vec1::<f32>().unwrap()[0];
    w.set(&candle_core::Tensor::new(&[fitted + 3.0], &Device::Cpu).unwrap())
        .unwrap();
    let after = net.infer().unwrap();
    let diff = |mode| {
        let a = before.score_users(&users, mode).unwrap();
        let b = after.score_users(&users, mode).unwrap();
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    // The feature has mean 0 over the items, so its averaged effect is 0: the backdoor
    // ranking does not see the weight, the observational one does.
    assert!(diff(Mode::Do) < 1e-4, "do moved by {}", diff(Mode::Do));
    assert!(diff(Mode::Raw) > 0.5, "raw moved by {}", diff(Mode::Raw));
}

#[test]
fn select_raw_keeps_the_epoch_with_the_best_observational_validation() {
    let data = sample();
    let mut cfg = config(BackboneKind::Mf, true, 4);
    cfg.train.select = mclmr::model::config::SelectOn::Raw;
    let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).expect("training runs");
    let raw: Vec<f64> = out
        .history
        .iter()
        .map(|h| {
            h.valid_ndcg10_raw
                .expect("a causal model reports raw validation")
        })
        .collect();
    let best = raw
        .iter()
        .enumerate()
        .fold(0, |b, (k, v)| if *v > raw[b] { k } else { b });
    assert_eq!(
        out.best_epoch,
        best + 1,
        "raw validation per epoch: {raw:?}"
    );
    assert_eq!(out.best_valid, Some(raw[best]));
}

/// The logit that training fits equals the `raw` ranking score, and the same logit with the
/// confounder effects averaged the `do` score, for every backbone, plain and +MCLMR, with dense
/// and top-1 routing (top-1 keeps only one expert, often the shared one, which is where the
/// evidence gate of training and ranking used to differ).
#[test]
fn training_logit_equals_the_ranking_score() {
    let data = sample();
    let users: Vec<u32> = (0..40).map(|k| (k * 37 % data.n_users()) as u32).collect();
    let items: Vec<u32> = (0..40).map(|k| (k * 53 % data.n_items()) as u32).collect();
    for kind in [
        BackboneKind::Mf,
        BackboneKind::LightGcn,
        BackboneKind::Cascade,
    ] {
        for (mclmr, top_k) in [(false, 0), (true, 0), (true, 1)] {
            let mut cfg = config(kind, mclmr, 2);
            cfg.mclmr.top_k = top_k;
            let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).unwrap();
            let inference = out.net.infer().unwrap();
            for mode in [Mode::Raw, Mode::Do] {
                let logits = out.net.training_logits(&users, &items, mode).unwrap();
                let scores = inference.score_users(&users, mode).unwrap();
                for (r, (&u, &i)) in users.iter().zip(&items).enumerate() {
                    let s = scores[r * data.n_items() + i as usize];
                    assert!(
                        (s - logits[r]).abs() <= 1e-3 * (1.0 + logits[r].abs()),
                        "{} mclmr={mclmr} top_k={top_k} {}: user {u} item {i}: ranking {s} vs \
                         training {}",
                        kind.name(),
                        mode.name(),
                        logits[r]
                    );
                }
            }
        }
    }
}
