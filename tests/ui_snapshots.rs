//! The explorer end to end, headless: snapshot tests of every screen and overlay at 120×40 and
//! 80×24 (fixed `TestBackend`, injected keys, the shipped model on the sample data), a flow test
//! that selects a user and an item, retrains from the keyboard and compares the checkpoints, a
//! seeded random-key test that must never panic at any size, and the speed checks.
//!
//! Snapshots depend on `assets/model.safetensors` and `sample_data/`: after retraining the
//! shipped model, refresh them with `INSTA_UPDATE=always cargo test --release --test ui_snapshots`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use candle_core::Device;
use mclmr::eval::full_report;
use mclmr::train::checkpoint::load_model;
use mclmr::train::{EpochReport, TrainEvent};
use mclmr::ui::action::{TrainMsg, Trained};
use mclmr::ui::keymap::{self, BINDINGS};
use mclmr::ui::{bench, Action, App, Driver, ExploreOptions, Screen};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SETTLE: Duration = Duration::from_secs(120);

fn options(save_dir: &Path) -> ExploreOptions {
    let mut o = ExploreOptions::new("assets/model.safetensors", "sample_data");
    o.save_dir = Some(save_dir.to_path_buf());
    o.show_timings = false;
    o.cache_dir = Some(save_dir.to_path_buf());
    o
}

/// A settled driver on the shipped model; its retrained checkpoints go to a temporary directory.
fn driver() -> (Driver, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::load(&options(dir.path())).expect("the shipped model loads");
    let mut d = Driver::new(app);
    assert!(d.settle(SETTLE), "background jobs finish");
    (d, dir)
}

fn screen(d: &Driver, w: u16, h: u16) -> String {
    d.render(w, h).backend().to_string()
}

fn both_sizes(d: &Driver, name: &str) {
    insta::assert_snapshot!(format!("{name}_120x40"), screen(d, 120, 40));
    insta::assert_snapshot!(format!("{name}_80x24"), screen(d, 80, 24));
}

#[test]
fn graph_screen() {
    let (d, _dir) = driver();
    assert_eq!(d.app.screen, Screen::Graph);
    both_sizes(&d, "graph");
}

#[test]
fn user_screen() {
    let (mut d, _dir) = driver();
    d.keys("2");
    d.key(KeyCode::Down);
    both_sizes(&d, "user");
    d.key(KeyCode::Right);
    d.keys("+");
    insta::assert_snapshot!("user_raw_focus_k20_120x40", screen(&d, 120, 40));
}

#[test]
fn user_search_overlay() {
    let (mut d, _dir) = driver();
    d.keys("/12");
    insta::assert_snapshot!("user_search_120x40", screen(&d, 120, 40));
    d.key(KeyCode::Enter);
    assert_eq!(d.app.data().user_ids[d.app.user.user as usize], "12");
    assert!(d.app.user.search.is_none());
}

#[test]
fn why_screen() {
    let (mut d, _dir) = driver();
    d.keys("2");
    d.key(KeyCode::Down);
    d.key(KeyCode::Down);
    d.key(KeyCode::Enter);
    assert_eq!(d.app.screen, Screen::Why);
    assert!(d.app.why.ready().is_some());
    both_sizes(&d, "why");
}

#[test]
fn alignment_screen() {
    let (mut d, _dir) = driver();
    d.keys("4");
    assert!(d.settle(SETTLE));
    d.key(KeyCode::Down);
    both_sizes(&d, "alignment");
}

#[test]
fn help_overlay_and_small_terminal() {
    let (mut d, _dir) = driver();
    d.keys("2?");
    assert!(d.app.help.is_some());
    both_sizes(&d, "help_user");
    d.key(KeyCode::Esc);
    assert!(d.app.help.is_none());
    insta::assert_snapshot!("too_small_60x20", screen(&d, 60, 20));
}

/// Screen 6 shows `mclmr bias`'s numbers (the same function), computed on a worker, then read
/// back from the cache file by the next session; a cache entry with another key (a retrained
/// or replaced checkpoint) or a damaged file is recomputed.
#[test]
fn bias_screen_and_its_cache() {
    use mclmr::ui::action::CacheNote;
    let (mut d, dir) = driver();
    d.keys("6");
    assert_eq!(d.app.screen, Screen::Bias);
    assert!(d.app.active.bias.is_loading(), "computed on a worker");
    assert!(d.settle(SETTLE));
    let first = d.app.active.bias.ready().expect("analysed").clone();
    assert_eq!(first.cache, CacheNote::Written);
    let direct =
        mclmr::analysis::bias::analyse(d.app.active.ranker(), d.app.data(), 10, 50, &|_, _| {})
            .expect("mclmr bias's function");
    let strip = |mut a: mclmr::analysis::bias::BiasAnalysis| {
        a.seconds = 0.0;
        a
    };
    assert_eq!(strip(first.analysis.clone()), strip(direct));
    both_sizes(&d, "bias");
    d.key(KeyCode::Right);
    d.key(KeyCode::Down);
    assert!(d.app.bias_exposure && d.app.bias_row == 1);
    insta::assert_snapshot!("bias_exposure_focus_120x40", screen(&d, 120, 40));

    let file =
        mclmr::ui::bias_cache::cache_path(Path::new("assets/model.safetensors"), Some(dir.path()));
    assert!(file.exists(), "{} written", file.display());
    let reopen = || {
        let mut d = Driver::new(App::load(&options(dir.path())).expect("loads"));
        d.keys("6");
        assert!(d.settle(SETTLE));
        d.app.active.bias.ready().expect("analysed").clone()
    };
    let second = reopen();
    assert_eq!(second.cache, CacheNote::Loaded);
    // JSON keeps every digit shown; parsing may round a float's last bit.
    same_numbers(
        &serde_json::to_value(&second.analysis).expect("json"),
        &serde_json::to_value(&first.analysis).expect("json"),
    );
    // Another checkpoint's entry under this name is not used: it is recomputed and replaced.
    let text = std::fs::read_to_string(&file).expect("cache file");
    let key = serde_json::from_str::<serde_json::Value>(&text).expect("json")["key"]
        .as_str()
        .expect("a key")
        .to_string();
    std::fs::write(&file, text.replace(&key, "0123")).expect("write");
    assert_eq!(reopen().cache, CacheNote::Written);
    std::fs::write(&file, "{ damaged").expect("write");
    let third = reopen();
    assert_eq!(third.cache, CacheNote::Written);
    assert_eq!(strip(third.analysis.clone()), strip(first.analysis.clone()));
    // A cache directory that cannot exist (under a file): computed anyway, and said so.
    let mut o = options(dir.path());
    o.cache_dir = Some(file.join("sub"));
    let mut d = Driver::new(App::load(&o).expect("loads"));
    d.keys("6");
    assert!(d.settle(SETTLE));
    let r = d.app.active.bias.ready().expect("analysed");
    assert!(
        matches!(&r.cache, CacheNote::NotWritten(why) if why.contains("sub")),
        "{:?}",
        r.cache
    );
    let status = d.app.status.clone().map(|s| s.1).unwrap_or_default();
    assert!(status.contains("bias cache not written"), "{status}");
}

/// Equal JSON values, numbers within 1e-12 (relative).
fn same_numbers(a: &serde_json::Value, b: &serde_json::Value) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64().expect("f64"), y.as_f64().expect("f64"));
            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} vs {y}");
        }
        (V::Array(x), V::Array(y)) => {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).for_each(|(x, y)| same_numbers(x, y));
        }
        (V::Object(x), V::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
            x.iter().for_each(|(k, v)| same_numbers(v, &y[k]));
        }
        _ => assert_eq!(a, b),
    }
}

/// History toggles on the User and Why screens re-rank through `mclmr whatif`'s function and
/// say what is approximated; toggling back restores the lists.
#[test]
fn whatif_toggles_on_the_user_and_why_screens() {
    let (mut d, _dir) = driver();
    d.keys("2");
    d.key(KeyCode::Down);
    let item = d.app.selected_item().expect("the second do item");
    // The history entry of that item in an auxiliary behavior (it was carted, say).
    let view = d.app.user.view.ready().expect("user view");
    let entry = mclmr::ui::whatif_view::history_items(view)
        .iter()
        .position(|&(b, i, _)| i == item && b != d.app.data().target())
        .expect("the item is in the user's history");
    for _ in 0..entry {
        d.keys("]");
    }
    assert_eq!(d.app.user.whatif.cursor, entry);
    d.keys("x");
    let (b, i) = d.app.user.whatif.dropped[0];
    assert_eq!(i, item);
    let w = d.app.user.whatif.result.ready().expect("re-ranked").clone();
    let q = mclmr::analysis::whatif::Query {
        user: d.app.user.user,
        edits: vec![mclmr::analysis::whatif::Edit {
            behavior: b,
            item: i,
            add: false,
        }],
        item: d.app.selected_item(),
        k: d.app.user.k,
        mode: mclmr::model::Mode::Do,
    };
    let backbone = d.app.active.model.checkpoint.config.model.backbone;
    let mut direct =
        mclmr::analysis::whatif::what_if(d.app.active.ranker(), backbone, d.app.data(), &q)
            .expect("whatif");
    direct.millis = w.millis;
    assert_eq!(w, direct);
    assert!(!w.changed.is_empty() && !w.approximated.is_empty());
    let moved = w.item.as_ref().expect("the selected item is followed");
    assert!(
        moved.score.1 < moved.score.0,
        "its evidence term is gone: {moved:?}"
    );
    let s = screen(&d, 120, 40);
    assert!(w.approximated[0].starts_with("lightgcn propagation not recomputed"));
    assert!(
        s.contains("approximated: lightgcn propagation not recomputed"),
        "{s}"
    );
    both_sizes(&d, "user_whatif");
    d.key(KeyCode::Enter);
    assert_eq!(d.app.screen, Screen::Why);
    both_sizes(&d, "why_whatif");
    d.keys("x");
    assert!(d.app.user.whatif.dropped.is_empty());
    assert!(d.app.user.whatif.result.ready().is_none());
    d.keys("x[x");
    assert_eq!(d.app.user.whatif.dropped.len(), 2);
    d.keys("r");
    assert!(d.app.user.whatif.dropped.is_empty());
    d.keys("x");
    d.keys("n");
    assert!(
        d.app.user.whatif.dropped.is_empty(),
        "another user starts with the whole history"
    );
}

/// An epoch report built through serde, so that fields added later with defaults keep working.
fn report(epoch: usize, loss: f32, ndcg: f64, hr: f64) -> EpochReport {
    serde_json::from_value(serde_json::json!({
        "epoch": epoch,
        "loss": {"total": loss, "target": loss * 0.8, "aux": 0.5, "cl": 0.1, "bal": 0.0, "reg": 0.0},
        "valid_ndcg10": ndcg,
        "valid_hr10": hr,
        "best_epoch": epoch,
        "train_secs": 0.0,
        "eval_secs": 0.0
    }))
    .expect("an epoch report")
}

/// Drives the training screen with synthetic events only: nothing depends on timing.
#[test]
fn training_screen_with_synthetic_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::load(&options(dir.path())).expect("loads");
    let mut d = Driver::without_workers(app);
    d.keys("5");
    d.key(KeyCode::Left); // lightgcn → mf
    for _ in 0..6 {
        d.key(KeyCode::Down);
    }
    while d.app.training.form.epochs > 2 {
        d.key(KeyCode::Left);
    }
    insta::assert_snapshot!("training_form_120x40", screen(&d, 120, 40));
    d.keys("s");
    let run = d.app.training.run_id.expect("a run started");
    assert!(d.app.training_running());
    let ev = |e: TrainEvent| Action::Train {
        run,
        msg: TrainMsg::Event(e),
    };
    d.dispatch(ev(TrainEvent::Started {
        first_epoch: 1,
        epochs: 2,
        batches: 10,
        params: 141_612,
    }));
    for b in 1..=10 {
        d.dispatch(ev(TrainEvent::Batch {
            epoch: 1,
            batch: b,
            batches: 10,
            loss: 1.9 - 0.05 * b as f32,
            eta_secs: 3.0,
        }));
    }
    d.dispatch(ev(TrainEvent::Epoch(report(1, 1.6, 0.31, 0.55))));
    for b in 1..=4 {
        d.dispatch(ev(TrainEvent::Batch {
            epoch: 2,
            batch: b,
            batches: 10,
            loss: 1.4 - 0.03 * b as f32,
            eta_secs: 1.2,
        }));
    }
    both_sizes(&d, "training_running");
    d.keys("q");
    assert!(d.app.confirm_quit && !d.app.should_quit);
    insta::assert_snapshot!("quit_confirm_120x40", screen(&d, 120, 40));
    d.key(KeyCode::Esc);
    assert!(!d.app.confirm_quit);
    for b in 5..=10 {
        d.dispatch(ev(TrainEvent::Batch {
            epoch: 2,
            batch: b,
            batches: 10,
            loss: 1.3 - 0.02 * b as f32,
            eta_secs: 0.4,
        }));
    }
    d.dispatch(ev(TrainEvent::Epoch(report(2, 1.25, 0.36, 0.61))));
    d.dispatch(ev(TrainEvent::Stopped {
        reason: "completed".into(),
    }));
    // The "new" checkpoint is the shipped one again: its numbers are fixed and known.
    let data = d.app.ctx.data.clone();
    let model =
        load_model(Path::new("assets/model.safetensors"), &data, &Device::Cpu).expect("model");
    let model = Arc::new(model);
    d.dispatch(Action::Train {
        run,
        msg: TrainMsg::Finished(Ok(Trained {
            model: model.clone(),
            path: "assets/model-mf-1.safetensors".into(),
            status: "completed".into(),
            best_epoch: 2,
            best_valid: Some(0.36),
            note: None,
        })),
    });
    assert!(!d.app.training_running());
    let report = full_report(&model.ranker, &data).expect("evaluation");
    let ids = [
        d.app.active.id,
        d.app.other.as_ref().expect("other model").id,
    ];
    for id in ids {
        d.dispatch(Action::Evaluated {
            model: id,
            result: Ok(report.clone()),
        });
    }
    let groups = mclmr::eval::groups::by_stratum(&model.ranker, &data).expect("per stratum");
    d.dispatch(Action::GroupsDone {
        model: d.app.active.id,
        result: Ok(groups),
    });
    both_sizes(&d, "training_finished");
    let (j, r) = d
        .app
        .model_overlap
        .expect("overlap with the other checkpoint");
    assert!((j - 1.0).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
}

/// select user → select item → retrain (mf, 2 epochs) on a worker → progress → finished →
/// compare → switch to the new checkpoint.
#[test]
fn select_user_item_retrain_compare_and_switch() {
    let (mut d, dir) = driver();
    let target = d.app.data().user_ids[5].clone();
    d.keys("/");
    d.keys(&target);
    d.key(KeyCode::Enter);
    assert_eq!(d.app.user.user, 5);
    d.key(KeyCode::Down);
    d.key(KeyCode::Enter);
    assert_eq!(d.app.screen, Screen::Why);
    let item = d.app.selected_item().expect("an item is selected");
    let why = d.app.why.ready().expect("explained").clone();
    assert_eq!(why.item, d.app.data().item_ids[item as usize]);
    assert!((why.score_raw - why.score_do - why.raw_minus_do).abs() < 1e-4);

    d.keys("5");
    d.key(KeyCode::Left);
    for _ in 0..6 {
        d.key(KeyCode::Down);
    }
    while d.app.training.form.epochs > 2 {
        d.key(KeyCode::Left);
    }
    assert_eq!(
        d.app.training.form.describe(),
        "mf +MCLMR, ≤2 epochs, lr 0.001, d=64, cpu"
    );
    d.keys("s");
    assert!(d.app.training_running());
    assert!(d.settle(SETTLE), "training and evaluations finish");
    let info = d
        .app
        .training
        .result
        .ready()
        .unwrap_or_else(|| panic!("training failed: {:?}", d.app.training.result))
        .clone();
    assert!(info.path.starts_with(dir.path()) && info.path.exists());
    let p = d.app.training.progress.as_ref().expect("progress");
    assert_eq!(p.reports.len(), 2);
    assert!(!p.batch_loss.is_empty() && p.batches > 0);
    let other = d.app.other.as_ref().expect("the new checkpoint is loaded");
    assert!(other.eval.ready().is_some() && d.app.active.eval.ready().is_some());
    let (j, r) = d
        .app
        .model_overlap
        .expect("ranking overlap for the selected user");
    assert!((0.0..=1.0).contains(&j) && (0.0..=1.0).contains(&r));

    let new_label = other.label.clone();
    d.keys("w");
    assert_eq!(d.app.active.label, new_label);
    assert_eq!(d.app.user.user, 5);
    assert!(d.app.user.view.ready().is_some());
    assert!(d.settle(SETTLE));
    assert!(d.app.active.alignment.ready().is_some());
    // Every screen renders with the new model.
    for k in "123456".chars() {
        d.keys(&k.to_string());
        let s = screen(&d, 120, 40);
        assert!(!s.contains("failed"), "screen {k}:\n{s}");
    }
}

/// A plain backbone (no experts, no causal scorer) and a rule baseline (no representations):
/// every screen still renders, and says what the model does not have instead of failing.
#[test]
fn plain_and_rule_checkpoints_render_every_screen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = App::load(&options(dir.path())).expect("loads");
    let data = base.ctx.data.clone();
    let mut cfg = mclmr::model::Config::default();
    cfg.model.backbone = mclmr::model::BackboneKind::Mf;
    cfg.model.mclmr = false;
    cfg.train.epochs = 1;
    let out = mclmr::train::train(&data, &cfg, &Device::Cpu, Default::default()).expect("trains");
    let plain = dir.path().join("plain.safetensors");
    mclmr::train::checkpoint::Checkpoint::from_outcome(&out, &data, &Device::Cpu)
        .and_then(|c| c.save(&plain))
        .expect("saved");
    cfg.model.backbone = mclmr::model::BackboneKind::RuleViewCart;
    let rule = dir.path().join("rule.safetensors");
    mclmr::train::checkpoint::Checkpoint::rule(&cfg, &data)
        .save(&rule)
        .expect("saved");
    cfg.model.backbone = mclmr::model::BackboneKind::Ease;
    let ease = dir.path().join("ease.safetensors");
    let fit = mclmr::model::EaseRanker::fit(&data, &cfg.ease).expect("fits");
    mclmr::train::checkpoint::Checkpoint::ease(&cfg, &data, fit.b, 0.0)
        .and_then(|c| c.save(&ease))
        .expect("saved");
    for (model, expect) in [
        (plain, "no causal scorer"),
        (rule, "rule baseline: it has no learned representations"),
        (ease, "EASE baseline: it has no learned representations"),
    ] {
        let mut o = ExploreOptions::new(&model, "sample_data");
        o.save_dir = Some(dir.path().to_path_buf());
        let mut d = Driver::new(App::load(&o).expect("loads"));
        assert!(d.settle(SETTLE));
        d.keys("2");
        d.key(KeyCode::Down);
        let mut all = String::new();
        for k in "123456".chars() {
            d.keys(&k.to_string());
            for (w, h) in [(120, 40), (80, 24)] {
                all.push_str(&screen(&d, w, h));
            }
        }
        assert!(all.contains(expect), "{}: {expect}", model.display());
        assert!(
            all.contains("has no confounder terms"),
            "the bias screen says why it is empty"
        );
        assert!(d.app.user.view.ready().is_some() && d.app.why.ready().is_some());
    }
}

/// A retrain can be cancelled from the keyboard; nothing is saved.
#[test]
fn cancel_a_training_run() {
    let (mut d, dir) = driver();
    d.keys("5");
    for _ in 0..6 {
        d.key(KeyCode::Down);
    }
    while d.app.training.form.epochs < 200 {
        d.key(KeyCode::Right);
    }
    d.keys("sx");
    assert!(d.settle(SETTLE));
    match &d.app.training.result {
        mclmr::ui::load::Load::Failed(msg) => assert!(msg.contains("cancelled"), "{msg}"),
        other => panic!("expected a cancelled run, got {other:?}"),
    }
    assert!(d.app.other.is_none());
    let saved = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(saved, 0);
}

fn random_key(rng: &mut StdRng) -> KeyEvent {
    let bound: Vec<_> = BINDINGS.iter().flat_map(|b| b.keys.iter()).collect();
    match rng.random_range(0..10) {
        0..=6 => {
            let k = bound[rng.random_range(0..bound.len())];
            let mods = if k.ctrl {
                KeyModifiers::CONTROL
            } else {
                KeyModifiers::NONE
            };
            KeyEvent::new(k.code, mods)
        }
        7 | 8 => KeyEvent::new(
            KeyCode::Char(char::from(rng.random_range(b' '..=b'~'))),
            KeyModifiers::NONE,
        ),
        _ => {
            let codes = [
                KeyCode::Home,
                KeyCode::End,
                KeyCode::PageUp,
                KeyCode::F(2),
                KeyCode::Delete,
            ];
            KeyEvent::new(codes[rng.random_range(0..codes.len())], KeyModifiers::NONE)
        }
    }
}

/// Thousands of seeded random keys, clicks, resizes and synthetic worker messages: no panic, and
/// drawing at many sizes (down to 0×0) never panics.
#[test]
fn random_keys_never_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::load(&options(dir.path())).expect("loads");
    let mut d = Driver::without_workers(app);
    let mut rng = StdRng::seed_from_u64(20_260_526);
    let sizes = [
        (0, 0),
        (1, 1),
        (7, 3),
        (40, 10),
        (79, 23),
        (80, 24),
        (81, 25),
        (120, 40),
        (200, 60),
    ];
    for step in 0..6000 {
        match rng.random_range(0..100) {
            0..=89 => {
                let k = random_key(&mut rng);
                d.press(k);
            }
            90..=93 => d.dispatch(Action::Click {
                column: rng.random_range(0..130),
                row: rng.random_range(0..45),
            }),
            94..=95 => d.dispatch(Action::Resize(
                rng.random_range(0..250),
                rng.random_range(0..80),
            )),
            _ => {
                if let Some(run) = d.app.training.run_id {
                    let msg = match rng.random_range(0..4) {
                        0 => TrainMsg::Event(TrainEvent::Started {
                            first_epoch: 1,
                            epochs: rng.random_range(0..4),
                            batches: rng.random_range(0..5),
                            params: 1,
                        }),
                        1 => TrainMsg::Event(TrainEvent::Batch {
                            epoch: rng.random_range(0..5),
                            batch: rng.random_range(0..7),
                            batches: rng.random_range(0..5),
                            loss: if rng.random_bool(0.1) {
                                f32::NAN
                            } else {
                                rng.random()
                            },
                            eta_secs: rng.random_range(-1.0..1e6),
                        }),
                        2 => TrainMsg::Event(TrainEvent::Epoch(report(
                            rng.random_range(0..6),
                            rng.random(),
                            rng.random(),
                            rng.random(),
                        ))),
                        _ => TrainMsg::Finished(Err("synthetic failure".into())),
                    };
                    d.dispatch(Action::Train { run, msg });
                }
            }
        }
        // Quitting is a state, not an exit, here: keep exploring.
        d.app.should_quit = false;
        if step % 40 == 0 {
            let (w, h) = sizes[rng.random_range(0..sizes.len())];
            let _ = d.render(w, h);
        }
    }
}

/// The key table in docs/EXPLORER.md is the keymap's.
#[test]
fn docs_key_table_matches_the_keymap() {
    let doc = std::fs::read_to_string("docs/EXPLORER.md").expect("docs/EXPLORER.md exists");
    assert!(
        doc.contains(&keymap::markdown()),
        "regenerate the key table in docs/EXPLORER.md from mclmr::ui::keymap::markdown():\n{}",
        keymap::markdown()
    );
}

/// Speed on the sample data: start-up, user switch, item switch and a frame at 120×40.
#[test]
#[ignore = "a benchmark, not a test: run with --ignored, or `mclmr bench --what explorer`"]
fn interactions_are_fast_on_sample_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let startup = bench::startup_ms(&options(dir.path())).expect("loads");
    let (mut d, _dir) = driver();
    d.keys("2");
    let user = bench::user_switch_ms(&d.app);
    let item = bench::item_switch_ms(&d.app);
    let mut frames = Vec::new();
    for k in "123456".chars() {
        d.keys(&k.to_string());
        assert!(d.settle(SETTLE));
        frames.push(bench::frame_ms(&d.app, 120, 40));
    }
    let frame = frames.iter().copied().fold(0.0, f64::max);
    eprintln!("sample_data: start-up {startup:.1} ms, user switch {user:.2} ms, item switch {item:.3} ms, slowest frame at 120×40 {frame:.2} ms");
    assert!(startup < 1000.0, "start-up {startup} ms");
    assert!(user < 50.0, "user switch {user} ms");
    assert!(item < 50.0, "item switch {item} ms");
    assert!(frame < 50.0, "frame {frame} ms");
}

/// The same figures on another dataset/model, e.g. Taobao:
/// `MCLMR_BENCH_DATA=/work/shared/data/taobao MCLMR_BENCH_MODEL=/tmp/tb.safetensors
///  cargo test --release --test ui_snapshots -- --ignored --nocapture bench_`
#[test]
#[ignore]
fn bench_other_dataset() {
    let (Ok(data), Ok(model)) = (
        std::env::var("MCLMR_BENCH_DATA"),
        std::env::var("MCLMR_BENCH_MODEL"),
    ) else {
        eprintln!("set MCLMR_BENCH_DATA and MCLMR_BENCH_MODEL");
        return;
    };
    let mut o = ExploreOptions::new(model, data);
    o.show_timings = false;
    let startup = bench::startup_ms(&o).expect("loads");
    let mut d = Driver::without_workers(App::load(&o).expect("loads"));
    d.keys("2");
    let user = bench::user_switch_ms_n(&d.app, 25);
    let item = bench::item_switch_ms(&d.app);
    let mut frames = Vec::new();
    for k in "1235".chars() {
        d.keys(&k.to_string());
        frames.push(bench::frame_ms(&d.app, 120, 40));
    }
    let frame = frames.iter().copied().fold(0.0, f64::max);
    let (u, i) = (d.app.data().n_users(), d.app.data().n_items());
    eprintln!("{u} users × {i} items: start-up {startup:.0} ms, user switch {user:.2} ms, item switch {item:.3} ms, slowest frame at 120×40 {frame:.2} ms");
    assert!(user < 50.0 && item < 50.0);
    // A history toggle (what-if re-ranking), then the Bias screen computed and from its cache.
    d.keys("2");
    let t0 = std::time::Instant::now();
    d.keys("x");
    let toggle = t0.elapsed().as_secs_f64() * 1e3;
    let inner = d
        .app
        .user
        .whatif
        .result
        .ready()
        .map_or(f64::NAN, |w| w.millis);
    let cache = tempfile::tempdir().expect("temp dir");
    o.cache_dir = Some(cache.path().to_path_buf());
    for pass in ["computed", "from the cache"] {
        let mut d = Driver::new(App::load(&o).expect("loads"));
        let t0 = std::time::Instant::now();
        d.keys("6");
        assert!(d.settle(SETTLE));
        let secs = t0.elapsed().as_secs_f64();
        let r = d.app.active.bias.ready().expect("bias analysis");
        eprintln!(
            "bias screen {pass}: {secs:.2} s (analysis {:.2} s, {:?})",
            r.analysis.seconds, r.cache
        );
    }
    eprintln!("what-if toggle {toggle:.2} ms (re-ranking {inner:.2} ms)");
    assert!(toggle < 100.0);
}

/// Without a checkpoint for the data the explorer opens on the rule baseline and offers to train.
#[test]
fn no_model_for_the_data_offers_to_train() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.safetensors");
    let app = App::load(&ExploreOptions::new(&missing, "sample_data")).expect("opens anyway");
    assert_eq!(app.screen, Screen::Training);
    assert!(app.active.model.checkpoint.config.model.backbone.is_rule());
    let (_, msg) = app.status.clone().expect("a status line says why");
    assert!(
        msg.contains("no checkpoint") && msg.contains("train"),
        "{msg}"
    );
    // A damaged checkpoint is still an error, not silently replaced.
    std::fs::write(&missing, b"not a checkpoint").unwrap();
    assert!(App::load(&ExploreOptions::new(&missing, "sample_data")).is_err());
}
