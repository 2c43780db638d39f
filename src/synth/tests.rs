//! Unit tests of the synthetic generator: determinism, the funnel, the splits, the side files
//! and the calibration that makes the causal claims testable.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::*;

type Pairs = BTreeSet<(u32, u32)>;

/// Reads a pair file, checking the format on the way: `u i` with 1-based ids, sorted, unique.
fn read_pairs(path: &Path) -> Pairs {
    let text = fs::read_to_string(path).expect("pair file readable");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{path:?} ends with LF"
    );
    let mut prev = None;
    let mut set = Pairs::new();
    for line in text.lines() {
        let (u, i) = line.split_once(' ').expect("single space");
        let p: (u32, u32) = (u.parse().expect("user id"), i.parse().expect("item id"));
        assert!(p.0 >= 1 && p.1 >= 1, "1-based ids in {path:?}: {line}");
        assert!(
            prev < Some(p),
            "sorted and duplicate-free in {path:?}: {line}"
        );
        prev = Some(p);
        set.insert(p);
    }
    set
}

/// All files under `dir`, as (relative path, bytes), sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push((
                    rel.to_string_lossy().into_owned(),
                    fs::read(&path).expect("file"),
                ));
            }
        }
    }
    out.sort();
    out
}

fn small() -> SynthConfig {
    SynthConfig {
        users: 200,
        items: 150,
        ..SynthConfig::default()
    }
}

fn gen(cfg: &SynthConfig, seed: u64) -> (tempfile::TempDir, SynthSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = generate(dir.path(), seed, cfg).expect("generate");
    (dir, s)
}

#[test]
fn synth_same_seed_gives_identical_bytes_and_other_seed_differs() {
    let cfg = small();
    let (a, _) = gen(&cfg, 7);
    let (b, _) = gen(&cfg, 7);
    let (c, _) = gen(&cfg, 8);
    let (sa, sb, sc) = (snapshot(a.path()), snapshot(b.path()), snapshot(c.path()));
    assert_eq!(
        sa.len(),
        15,
        "{:?}",
        sa.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(sa, sb);
    for name in [
        "view.txt",
        "buy.txt",
        "test.txt",
        "test_do.txt",
        "truth/user_factors.txt",
    ] {
        let pick = |s: &[(String, Vec<u8>)]| s.iter().find(|f| f.0 == name).cloned();
        assert_ne!(pick(&sa), pick(&sc), "{name} should change with the seed");
    }
    assert!(
        !sa.iter().any(|f| f.0.ends_with(".tmp")),
        "no temporary file left"
    );
}

#[test]
fn synth_funnel_carts_and_buys_are_views() {
    let (dir, s) = gen(&small(), 3);
    let d = dir.path();
    let view = read_pairs(&d.join("view.txt"));
    let cart = read_pairs(&d.join("cart.txt"));
    let buy = read_pairs(&d.join("buy.txt"));
    let valid = read_pairs(&d.join("valid.txt"));
    let test = read_pairs(&d.join("test.txt"));
    assert!(cart.is_subset(&view), "carts ⊆ views");
    assert!(buy.is_subset(&view), "buys ⊆ views");
    assert!(
        valid.is_subset(&view) && test.is_subset(&view),
        "held-out buys were viewed"
    );
    assert_eq!(
        (view.len(), cart.len(), buy.len()),
        (s.views, s.carts, s.buys)
    );
    // Every user keeps at least `min_train_buys` training purchases; every item occurs.
    let mut per_user = vec![0usize; s.users];
    for &(u, _) in &buy {
        per_user[u as usize - 1] += 1;
    }
    assert!(per_user.iter().all(|&n| n >= small().min_train_buys));
    let items: BTreeSet<u32> = view.iter().map(|&(_, i)| i).collect();
    assert_eq!(items.len(), s.items, "every item appears in view.txt");
    assert!(items.iter().all(|&i| i as usize <= s.items));
}

#[test]
fn synth_splits_are_disjoint_and_one_per_user() {
    let (dir, s) = gen(&small(), 5);
    let d = dir.path();
    let buy = read_pairs(&d.join("buy.txt"));
    let valid = read_pairs(&d.join("valid.txt"));
    let test = read_pairs(&d.join("test.txt"));
    let test_do = read_pairs(&d.join("test_do.txt"));
    assert!(valid.is_disjoint(&buy) && test.is_disjoint(&buy) && test_do.is_disjoint(&buy));
    assert!(valid.is_disjoint(&test));
    for split in [&valid, &test, &test_do] {
        let users: Vec<u32> = split.iter().map(|&(u, _)| u).collect();
        assert_eq!(
            users,
            (1..=s.users as u32).collect::<Vec<_>>(),
            "one pair per user"
        );
    }
}

#[test]
fn synth_side_files_match_the_data() {
    let cfg = small();
    let (dir, s) = gen(&cfg, 11);
    let d = dir.path();
    let count = fs::read_to_string(d.join("count.txt")).expect("count.txt");
    let json: serde_json::Value = serde_json::from_str(&count).expect("count.txt is JSON");
    assert_eq!(json["user"], s.users);
    assert_eq!(json["item"], s.items);
    let max_user = (read_pairs(&d.join("view.txt")).iter())
        .map(|&(u, _)| u)
        .max();
    assert_eq!(max_user, Some(cfg.users as u32));
    let toml = fs::read_to_string(d.join("dataset.toml")).expect("dataset.toml");
    let parsed: toml::Table = toml.parse().expect("valid TOML");
    let keys: Vec<&String> = parsed.keys().collect();
    assert_eq!(keys, ["behaviors", "layout", "name"]);
    assert_eq!(parsed["name"].as_str(), Some("synthetic"));
    assert_eq!(parsed["layout"].as_str(), Some("pairs"));
    let truth = d.join("truth");
    let habits = fs::read_to_string(truth.join("user_habit.txt")).expect("habits");
    assert_eq!(habits.lines().count(), cfg.users);
    assert!(habits.starts_with("1 ") && habits.lines().all(|l| l.split(' ').count() == 2));
    let kinds = fs::read_to_string(truth.join("item_type.txt")).expect("types");
    assert_eq!(kinds.lines().count(), cfg.items);
    for (file, rows) in [
        ("user_factors.txt", cfg.users),
        ("item_factors.txt", cfg.items),
    ] {
        let text = fs::read_to_string(truth.join(file)).expect("factors");
        assert_eq!(text.lines().count(), rows);
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), cfg.dim + 1, "{file}: {line}");
            assert!(fields[1..]
                .iter()
                .all(|f| f.split_once('.').unwrap().1.len() == 6));
        }
    }
    let readme = fs::read_to_string(truth.join("README.md")).expect("README");
    assert!(readme.contains("seed 11") && readme.contains("mclmr synth --out <dir> --seed 11"));
    // The type mix follows the quotas exactly.
    assert_eq!(s.habit_counts[0], ("browser".to_string(), 90));
    assert_eq!(s.kind_counts[1], ("classic".to_string(), 30));
}

#[test]
fn synth_rejects_bad_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = [
        SynthConfig {
            users: 9,
            ..SynthConfig::default()
        },
        SynthConfig {
            items: 5,
            ..SynthConfig::default()
        },
        SynthConfig {
            dim: 0,
            ..SynthConfig::default()
        },
        SynthConfig {
            habits: Vec::new(),
            ..SynthConfig::default()
        },
        SynthConfig {
            do_scale: f64::NAN,
            ..SynthConfig::default()
        },
    ];
    for cfg in bad {
        let err = generate(dir.path(), 1, &cfg).expect_err("bad config must be rejected");
        assert!(matches!(err, Error::BadArg { .. }), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
    assert!(
        fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "nothing written"
    );
    let mut cfg = SynthConfig::default();
    cfg.kinds[0].name = "click bait".into();
    assert!(cfg.validate().is_err());
}

/// The default dataset (seed 7, the CLI default) separates the rankings as METHOD.md §8 needs:
/// on the interventional test the deconfounded ranking beats the confounded one and popularity;
/// on the observational test the confounders pay off.
#[test]
fn synth_calibration_default_seed() {
    let (_dir, s) = gen(&SynthConfig::default(), 7);
    let c = s.calibration;
    println!("{s}");
    println!("{c:?}");
    // Interventional: the deconfounded ranking wins over both biased rankings.
    assert!(c.pref_do > c.raw_do + 0.03, "{c:?}");
    assert!(c.pref_do > c.pop_do + 0.25, "{c:?}");
    // Observational: the confounded ranking wins.
    assert!(c.raw_test > c.pref_test + 0.05, "{c:?}");
}

/// The types leave the footprints that the strata of METHOD.md §1 must find: clickbait is viewed
/// most and converts worst, classics the reverse; browsers view most, decisive users convert
/// best, carters cart most.
#[test]
fn synth_types_shape_behavior_shares() {
    let cfg = SynthConfig::default();
    let world = model::World::draw(7, &cfg);
    let logs = model::Logs::simulate(7, &cfg, &world);
    // [views, carts, buys] per type, counting held-out purchases as purchases.
    let tally = |of: &dyn Fn(u32, u32) -> usize, n: usize| {
        let mut t = vec![[0.0f64; 3]; n];
        let buys: Vec<(u32, u32)> = [&logs.buy, &logs.valid, &logs.test]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for (b, list) in [&logs.view, &logs.cart, &buys].into_iter().enumerate() {
            for &(u, i) in list {
                t[of(u, i)][b] += 1.0;
            }
        }
        t
    };
    let kinds = tally(&|_, i| world.kind[i as usize], cfg.kinds.len());
    let per_item = |k: usize| kinds[k][0] / world.kind.iter().filter(|&&t| t == k).count() as f64;
    let conversion = |t: &[f64; 3]| t[2] / t[0];
    let (clickbait, classic, regular) = (0, 1, 2);
    assert!(per_item(clickbait) > per_item(regular) && per_item(regular) > per_item(classic));
    assert!(conversion(&kinds[classic]) > conversion(&kinds[regular]));
    assert!(conversion(&kinds[regular]) > conversion(&kinds[clickbait]));
    let habits = tally(&|u, _| world.habit[u as usize], cfg.habits.len());
    let users = |h: usize| world.habit.iter().filter(|&&t| t == h).count() as f64;
    let (browser, decisive, carter) = (0, 1, 2);
    let views = |h: usize| habits[h][0] / users(h);
    assert!(views(browser) > views(carter) && views(carter) > views(decisive));
    assert!(conversion(&habits[decisive]) > conversion(&habits[browser]));
    let cart_rate = |h: usize| habits[h][1] / habits[h][0];
    assert!(cart_rate(carter) > cart_rate(browser) && cart_rate(carter) > cart_rate(decisive));
}

/// The smallest accepted config still gives every user its purchases and splits.
#[test]
fn synth_smallest_config_is_complete() {
    let cfg = SynthConfig {
        users: 10,
        items: 10,
        min_train_buys: 5,
        ..SynthConfig::default()
    };
    let (dir, s) = gen(&cfg, 1);
    assert_eq!((s.valid, s.test, s.test_do), (10, 10, 10));
    assert!(s.buys >= 50, "{s}");
    let buy = read_pairs(&dir.path().join("buy.txt"));
    let test_do = read_pairs(&dir.path().join("test_do.txt"));
    assert!(test_do.is_disjoint(&buy));
}
