//! The real two-hour window of Taobao's UserBehavior (`../shared/data/userbehavior-window/`,
//! 110,300 rows as published: no header, `pv`/`fav`/`cart`/`buy`) end to end: it loads
//! untouched with a `dataset.toml` written here, a small model trains a few epochs, and the
//! explorer's User screen shows each item's category. Skipped (with a message) where the file
//! is not present.

use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::Device;
use mclmr::data::prepare_for_training;
use mclmr::data::{load_dataset, LoadOptions};
use mclmr::model::{BackboneKind, Config};
use mclmr::train::checkpoint::Checkpoint;
use mclmr::train::{train, TrainOptions};
use mclmr::ui::{App, Driver, ExploreOptions};
use ratatui::crossterm::event::KeyCode;

fn window() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/userbehavior-window/UserBehavior.csv");
    p.is_file().then_some(p)
}

#[test]
fn userbehavior_window_trains_and_the_explorer_shows_categories() {
    let Some(csv) = window() else {
        eprintln!("skipped: ../shared/data/userbehavior-window/UserBehavior.csv is not here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"name = "userbehavior-window"
behaviors = ["pv", "fav", "cart", "buy"]
cold_test = "drop"

[events]
file = "{}"
header = false
columns = ["user", "item", "category", "behavior", "timestamp"]
item_columns = ["category"]
"#,
        csv.display()
    );
    std::fs::write(dir.path().join("dataset.toml"), toml).unwrap();
    let data = load_dataset(dir.path(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data.n_users(), 66_454, "{:?}", data.notes);
    assert_eq!(data.n_items(), 84_793);
    assert_eq!(data.behavior_names(), ["pv", "fav", "cart", "buy"]);
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("read as unix seconds (2017-11-26 01:00:00 UTC")),
        "{:?}",
        data.notes
    );
    // Most users of a two-hour window buy once: leave-one-out serves those with two items too.
    assert!(
        data.test.len() >= 20,
        "{} test pairs: {:?}",
        data.test.len(),
        data.notes
    );
    assert_eq!(data.item_meta.columns, ["category"]);
    let i = data.item_index("1715").unwrap();
    assert_eq!(data.item_label(i), Some("1464116"));

    let data = prepare_for_training(data);
    let mut cfg = Config::default();
    cfg.model.backbone = BackboneKind::Mf;
    cfg.model.dim = 16;
    cfg.train.epochs = 2;
    cfg.train.batch_size = 4096;
    let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).expect("training runs");
    let model = dir.path().join("model.safetensors");
    Checkpoint::from_outcome(&out, &data, &Device::Cpu)
        .unwrap()
        .save(&model)
        .unwrap();

    let mut o = ExploreOptions::new(&model, dir.path());
    o.save_dir = Some(dir.path().to_path_buf());
    let app = App::load(&o).unwrap_or_else(|e| panic!("{e}"));
    let mut d = Driver::new(app);
    assert!(d.settle(Duration::from_secs(120)));
    d.keys("2");
    d.key(KeyCode::Down);
    assert!(d.settle(Duration::from_secs(120)));
    let screen = d.render(120, 40).backend().to_string();
    let view = d.app.user.view.ready().expect("the user view is ready");
    let first = view.do_list.first().expect("a recommendation").0;
    let cat = d
        .app
        .data()
        .item_label(first)
        .expect("every item of the log has a category")
        .to_string();
    assert!(screen.contains("category"), "{screen}");
    let id = &d.app.data().item_ids[first as usize];
    let row = format!(" 1 {id} ");
    assert!(
        screen.lines().any(|l| l.contains(&row) && l.contains(&cat)),
        "category {cat} of the first item {id} not in its row:\n{screen}"
    );
    eprintln!("{screen}");
    // The Why screen of the selected item names its category in the title.
    d.key(KeyCode::Enter);
    assert!(d.settle(Duration::from_secs(120)));
    let item = d.app.selected_item().expect("an item is selected");
    let cat = d.app.data().item_label(item).unwrap().to_string();
    let why = d.render(120, 40).backend().to_string();
    let title = format!("({} {cat}) for user", "category");
    assert!(why.contains(&title), "no `{title}` in:\n{why}");
    eprintln!("{why}");
    assert!(screen.contains("pv"), "{screen}");
}
