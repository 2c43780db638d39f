//! The dataset as training sees it. Without a validation split, early stopping needs one, so
//! it is carved out of the training target pairs; `eval`, `explore`, `bench` and
//! `train --resume` prepare the data the same way and so see the split the run saw.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{Dataset, Interactions};
use crate::runtime::epoch_rng;

/// The dataset with a validation split: its own, or one carved with seed 0 (a fixed function
/// of the data, not of the training seed).
pub fn prepare_for_training(data: Dataset) -> Dataset {
    match carve_validation(&data, 0) {
        Some(d) => d,
        None => data,
    }
}

/// When the dataset has no validation split, holds out one random training target item of up
/// to 5,000 users with at least 3 of them (seeded) and says so. Returns None when it has one.
pub fn carve_validation(data: &Dataset, seed: u64) -> Option<Dataset> {
    if !data.valid.is_empty() {
        return None;
    }
    let t = data.target_train();
    let csr = t.user_csr(data.n_users());
    let mut eligible: Vec<u32> = (0..data.n_users() as u32)
        .filter(|&u| csr.row(u as usize).len() >= 3)
        .collect();
    let mut rng = epoch_rng(seed, usize::MAX);
    eligible.shuffle(&mut rng);
    eligible.truncate(5000);
    eligible.sort_unstable();
    let mut held: Vec<(u32, u32)> = eligible
        .iter()
        .map(|&u| {
            let row = csr.row(u as usize);
            (u, row[rng.random_range(0..row.len())])
        })
        .collect();
    held.sort_unstable();
    if held.is_empty() {
        return None;
    }
    let mut out = data.clone();
    let keep: Vec<(u32, u32)> = t
        .pairs
        .iter()
        .zip(&t.counts)
        .flat_map(|(&p, &c)| {
            if held.binary_search(&p).is_ok() {
                Vec::new()
            } else {
                vec![p; c as usize]
            }
        })
        .collect();
    let target = out.target();
    out.behaviors[target] = Interactions::from_raw(t.name.clone(), keep);
    out.notes.push(format!(
        "no validation split: held out one training {} of {} users for early stopping",
        t.name,
        held.len()
    ));
    out.valid = held;
    Some(out)
}
