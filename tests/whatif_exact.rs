//! The What-if's exact terms against a recomputation from the edited data (issue 16, item 2):
//! an mf + MCLMR model trained on the sample data is restored over the edited `Dataset` with
//! the same weights; the user's habit features, routing features (under the trained
//! population statistics), gate (the MoE's own `gate`), stratum, confounder effect (the causal
//! scorer's own `node_effects`) and, for mf, every score are computed from there and compared
//! with `analysis::whatif::edited_scores`.

use std::path::Path;

use candle_core::{Device, Tensor};
use mclmr::analysis::whatif::{self, Edit};
use mclmr::data::{load_dataset, Csr, Dataset, Interactions, LoadOptions};
use mclmr::model::route::RouteFeatures;
use mclmr::model::strata::{Features, Side};
use mclmr::model::{BackboneKind, Config, Inference, Mode, Net, Ranker};
use mclmr::train::checkpoint::{restore, Checkpoint};
use mclmr::train::{train, TrainOptions};

const TOL: f32 = 1e-5;

fn trained() -> (Dataset, Checkpoint) {
    let data =
        load_dataset(Path::new("sample_data"), &LoadOptions::default()).expect("sample_data loads");
    let mut cfg = Config::from_file(Path::new("configs/sample.toml")).expect("configs/sample.toml");
    cfg.model.backbone = BackboneKind::Mf;
    cfg.model.mclmr = true;
    cfg.train.epochs = 3;
    let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default()).expect("training runs");
    let ck = Checkpoint::from_outcome(&out, &data, &Device::Cpu).expect("checkpoint");
    (data, ck)
}

/// `data` with user `u`'s history edited as `edits` say (a drop removes the pair, an add
/// adds one occurrence).
fn edited_data(data: &Dataset, u: u32, edits: &[Edit]) -> Dataset {
    let mut behaviors = data.behaviors.clone();
    for e in edits {
        let b = &behaviors[e.behavior];
        let mut raw: Vec<(u32, u32)> = Vec::new();
        for (&p, &c) in b.pairs.iter().zip(&b.counts) {
            if p != (u, e.item) || e.add {
                raw.extend(std::iter::repeat_n(p, c as usize));
            }
        }
        if e.add {
            raw.push((u, e.item));
        }
        behaviors[e.behavior] = Interactions::from_raw(b.name.clone(), raw);
    }
    Dataset::from_parts(
        data.name.clone(),
        data.source.clone(),
        data.user_ids.clone(),
        data.item_ids.clone(),
        behaviors,
        data.valid.clone(),
        data.test.clone(),
        data.test_do.clone(),
        vec![],
    )
}

fn aux_csr(data: &Dataset) -> Vec<Csr> {
    let n_aux = data.n_behaviors() - 1;
    data.behaviors[..n_aux]
        .iter()
        .map(|b| b.user_csr(data.n_users()))
        .collect()
}

/// The checkpoint's weights over `data` (the fingerprint check waived: same weights, edited
/// data).
fn neural(mut ck: Checkpoint, data: &Dataset) -> (Net, Box<Inference>) {
    ck.meta.fingerprint = data.fingerprint();
    let m = restore(ck, Path::new("test.safetensors"), data, &Device::Cpu).expect("restores");
    match (m.net, m.ranker) {
        (Some(net), Ranker::Neural(inf)) => (net, inf),
        _ => panic!("an mf model is neural"),
    }
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() < TOL,
            "{what}[{k}]: what-if {a} vs recomputed {b}"
        );
    }
}

/// The user's quantities recomputed from the edited data with the trained weights, and the
/// scores of the trained inference with that user's rows replaced by them.
struct Recomputed {
    gate: Vec<f32>,
    stratum: u32,
    effect: Vec<f32>,
    habit: Vec<f32>,
    route: Vec<f32>,
    z: Vec<f32>,
    inf: Inference,
}

fn recompute(
    data: &Dataset,
    ck: &Checkpoint,
    inf: &Inference,
    u: u32,
    edits: &[Edit],
) -> Recomputed {
    let edited = edited_data(data, u, edits);
    let (net, inf_e) = neural(ck.clone(), &edited);
    let (d, m, uu) = (inf.dim, inf.n_experts, u as usize);
    let before = Features::compute(data, Side::User);
    let feats = Features::compute(&edited, Side::User);
    assert_eq!(
        feats.max_total(),
        before.max_total(),
        "pick a user whose edit keeps the activity scale"
    );
    let habit = feats.row(uu).to_vec();
    let stats = RouteFeatures::compute_stats(data, &aux_csr(data)).1;
    let r = RouteFeatures::compute_with(&edited, &aux_csr(&edited), &stats);
    let route = r.user[uu * r.width..(uu + 1) * r.width].to_vec();
    let pt = inf_e.pt_user[uu * d..(uu + 1) * d].to_vec();
    let mut x = habit.clone();
    x.extend(&route);
    let dev = Device::Cpu;
    let gate = net
        .moe
        .as_ref()
        .expect("MCLMR")
        .gate(
            Side::User,
            &Tensor::from_vec(pt.clone(), (1, d), &dev).unwrap(),
            &Tensor::from_vec(x, (1, habit.len() + route.len()), &dev).unwrap(),
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut z = pt.clone();
    for (k, g) in gate.iter().enumerate() {
        let e = &inf_e.expert_user[(uu * m + k) * d..(uu * m + k + 1) * d];
        for (zc, ec) in z.iter_mut().zip(e) {
            *zc += g * ec;
        }
    }
    // The nearest k-means centroid (the strata's own assignment step).
    let strata = &net.user_strata;
    let stratum = (0..strata.centroids.len())
        .min_by(|&a, &b| {
            let dist = |k: usize| -> f32 {
                strata.centroids[k]
                    .iter()
                    .zip(&habit)
                    .map(|(c, h)| (c - h) * (c - h))
                    .sum()
            };
            dist(a).total_cmp(&dist(b))
        })
        .unwrap() as u32;
    let scorer = net.causal.as_ref().expect("causal scorer");
    let (cu, _, _) = scorer
        .node_effects(
            &Tensor::from_vec(vec![stratum], 1, &dev).unwrap(),
            &Tensor::from_vec(habit.clone(), (1, habit.len()), &dev).unwrap(),
            (
                &Tensor::from_vec(vec![inf.item_stratum[0]], 1, &dev).unwrap(),
                &Tensor::from_vec(
                    Features::compute(data, Side::Item).row(0).to_vec(),
                    (1, habit.len()),
                    &dev,
                )
                .unwrap(),
                &Tensor::from_vec(vec![0u32], 1, &dev).unwrap(),
            ),
        )
        .unwrap();
    let effect = cu.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // The trained inference with the user's rows and histories replaced (item side kept).
    let mut full = inf.clone();
    full.z_user[uu * d..(uu + 1) * d].copy_from_slice(&z);
    full.gate_user[uu * m..(uu + 1) * m].copy_from_slice(&gate);
    full.user_stratum[uu] = stratum;
    if let Some(c) = full.causal.as_mut() {
        c.cu[uu * d..(uu + 1) * d].copy_from_slice(&effect);
    }
    full.aux_csr = aux_csr(&edited);
    Recomputed {
        gate,
        stratum,
        effect,
        habit,
        route,
        z,
        inf: full,
    }
}

fn check(data: &Dataset, ck: &Checkpoint, inf: &Inference, u: u32, edits: &[Edit]) {
    let re = recompute(data, ck, inf, u, edits);
    let edited = edited_data(data, u, edits);
    for mode in [Mode::Do, Mode::Raw] {
        let got = whatif::edited_scores(inf, data, u, edits, mode).expect("what-if");
        let t = got.user.as_ref().expect("MCLMR has user terms");
        assert_close("habit h_u", &t.habit, &re.habit);
        assert_close("routing r_u", &t.route, &re.route);
        assert_close("gate g_u", &t.gate.1, &re.gate);
        assert_close("Z_u", &t.z, &re.z);
        assert_eq!(t.stratum.1, Some(re.stratum), "stratum");
        assert_close("c^U(u)", &t.effect, &re.effect);
        assert_eq!(got.mask, edited.target_train().user_items(u), "target mask");
        let want = re.inf.score_users(&[u], mode).unwrap();
        assert_close(&format!("{mode:?} scores"), &got.scores, &want);
        for c in &got.changed {
            let b = data
                .behavior_names()
                .iter()
                .position(|n| *n == c.behavior)
                .unwrap();
            let w = Inference::evidence_gate_of(&re.gate, inf.n_aux, b) * inf.evidence_w[b];
            let ev = w * (1.0 + c.count.1 as f32).ln();
            assert!(
                (c.evidence.1 - ev).abs() < TOL,
                "evidence {} vs {ev}",
                c.evidence.1
            );
        }
    }
    // Not vacuous: the edit moved the gate.
    let t = whatif::edited_scores(inf, data, u, edits, Mode::Do)
        .unwrap()
        .user
        .unwrap();
    let moved: f32 = t
        .gate
        .0
        .iter()
        .zip(&t.gate.1)
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(moved > 1e-6, "the edit did not move the gate: {:?}", t.gate);
}

#[test]
fn whatif_user_terms_and_mf_scores_equal_a_recomputation_from_the_edited_data() {
    let (data, ck) = trained();
    let (net, inf) = neural(ck.clone(), &data);
    // Unedited, the recomputation gives the trained quantities of every user.
    let feats = Features::compute(&data, Side::User);
    for u in 0..data.n_users() as u32 {
        assert_eq!(
            net.user_strata
                .nearest(feats.row(u as usize), feats.totals[u as usize]),
            inf.user_stratum[u as usize],
            "user {u}"
        );
    }
    for u in [0u32, 7, 123, 999] {
        for mode in [Mode::Do, Mode::Raw] {
            let got = whatif::edited_scores(&inf, &data, u, &[], mode).unwrap();
            assert_close(
                &format!("user {u} unedited {mode:?}"),
                &got.scores,
                &inf.score_users(&[u], mode).unwrap(),
            );
        }
    }
    let (view, cart, buy) = (0usize, 1usize, data.target());
    let u = 3u32;
    let viewed = data.behaviors[view].user_items(u);
    let carted = data.behaviors[cart].user_items(u);
    let bought = data.target_train().user_items(u);
    let new_cart = (0..data.n_items() as u32)
        .find(|i| !carted.contains(i))
        .unwrap();
    let new_buy = (0..data.n_items() as u32)
        .find(|i| !bought.contains(i) && viewed.contains(i))
        .unwrap();
    let drop = |behavior, item| Edit {
        behavior,
        item,
        add: false,
    };
    let add = |behavior, item| Edit {
        behavior,
        item,
        add: true,
    };
    check(&data, &ck, &inf, u, &[drop(view, viewed[0])]);
    check(&data, &ck, &inf, u, &[add(cart, new_cart)]);
    check(&data, &ck, &inf, u, &[drop(buy, bought[0])]);
    check(
        &data,
        &ck,
        &inf,
        u,
        &[
            add(buy, new_buy),
            drop(view, viewed[1]),
            add(view, viewed[1]),
            add(cart, new_cart),
        ],
    );
    // Dropping every view moves the user to another habit stratum.
    let all: Vec<Edit> = viewed.iter().map(|&i| drop(view, i)).collect();
    check(&data, &ck, &inf, u, &all);
    let t = whatif::edited_scores(&inf, &data, u, &all, Mode::Do)
        .unwrap()
        .user
        .unwrap();
    assert_ne!(t.stratum.0, t.stratum.1, "the stratum did not change");
}
