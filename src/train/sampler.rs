//! Seeded batching and negative sampling (METHOD.md §6).
//!
//! Each epoch shuffles the target training pairs with an RNG seeded by `(seed, epoch)`, so an
//! epoch is reproducible on its own and a run resumed at an epoch boundary continues exactly.
//! A negative is uniform over items and rejected while it is in the user's training set of that
//! behavior; optionally a share of target negatives comes from the user's auxiliary items that
//! are not target positives ("hard" negatives, a measured deviation documented in the config).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::data::{Csr, Dataset};
use crate::model::batch::{Batch, Triples, NO_ITEM};

/// Draws batches for one dataset.
pub struct Sampler {
    n_items: u32,
    target_pairs: Vec<(u32, u32)>,
    target_csr: Csr,
    aux_pairs: Vec<Vec<(u32, u32)>>,
    aux_csr: Vec<Csr>,
    hard_pool: Csr,
    hard_share: f64,
    seed: u64,
    conversion: bool,
}

pub use crate::runtime::epoch_rng;

impl Sampler {
    /// Prepares the sampler.
    pub fn new(data: &Dataset, hard_share: f64, seed: u64) -> Self {
        let nu = data.n_users();
        let t = data.target_train();
        let target_csr = t.user_csr(nu);
        let n_aux = data.n_behaviors() - 1;
        let mut hard: Vec<(u32, u32)> = Vec::new();
        for b in &data.behaviors[..n_aux] {
            for &(u, i) in &b.pairs {
                if !target_csr.contains(u as usize, i) {
                    hard.push((u, i));
                }
            }
        }
        hard.sort_unstable();
        hard.dedup();
        Sampler {
            n_items: data.n_items() as u32,
            target_pairs: t.pairs.clone(),
            target_csr,
            aux_pairs: data.behaviors[..n_aux]
                .iter()
                .map(|b| b.pairs.clone())
                .collect(),
            aux_csr: data.behaviors[..n_aux]
                .iter()
                .map(|b| b.user_csr(nu))
                .collect(),
            hard_pool: Csr::from_sorted_pairs(nu, &hard, None),
            hard_share,
            seed,
            conversion: false,
        }
    }

    /// Also draws, per target triple, an item its user interacted with but did not buy (for the
    /// conversion loss), from a stream of its own so the batches themselves stay the same.
    pub fn with_conversion(mut self, on: bool) -> Self {
        self.conversion = on;
        self
    }

    /// Target pairs per epoch.
    pub fn len(&self) -> usize {
        self.target_pairs.len()
    }

    /// True when there is nothing to train on.
    pub fn is_empty(&self) -> bool {
        self.target_pairs.is_empty()
    }

    /// Batches per epoch.
    pub fn batches(&self, batch_size: usize) -> usize {
        self.target_pairs.len().div_ceil(batch_size.max(1))
    }

    fn uniform_neg(&self, rng: &mut StdRng, csr: &Csr, u: u32) -> u32 {
        let mut j = rng.random_range(0..self.n_items);
        for _ in 0..64 {
            if !csr.contains(u as usize, j) {
                break;
            }
            j = rng.random_range(0..self.n_items);
        }
        j
    }

    /// All batches of `epoch`, in order.
    pub fn epoch(&self, epoch: usize, batch_size: usize) -> Vec<Batch> {
        let mut rng = epoch_rng(self.seed, epoch);
        let mut order: Vec<usize> = (0..self.target_pairs.len()).collect();
        order.shuffle(&mut rng);
        order
            .chunks(batch_size.max(1))
            .enumerate()
            .map(|(batch_no, chunk)| {
                let mut target = Triples::default();
                for &k in chunk {
                    let (u, i) = self.target_pairs[k];
                    let pool = self.hard_pool.row(u as usize);
                    let j = if !pool.is_empty()
                        && self.hard_share > 0.0
                        && rng.random::<f64>() < self.hard_share
                    {
                        pool[rng.random_range(0..pool.len())]
                    } else {
                        self.uniform_neg(&mut rng, &self.target_csr, u)
                    };
                    target.users.push(u);
                    target.pos.push(i);
                    target.neg.push(j);
                }
                let aux = self
                    .aux_pairs
                    .iter()
                    .zip(&self.aux_csr)
                    .map(|(pairs, csr)| {
                        let mut t = Triples::default();
                        if pairs.is_empty() {
                            return t;
                        }
                        for _ in 0..chunk.len() {
                            let (u, i) = pairs[rng.random_range(0..pairs.len())];
                            t.users.push(u);
                            t.pos.push(i);
                            t.neg.push(self.uniform_neg(&mut rng, csr, u));
                        }
                        t
                    })
                    .collect();
                let interacted_not_bought = if self.conversion {
                    let mut r = epoch_rng(self.seed ^ 0xC0_4E_5E_21, epoch * 65_537 + batch_no);
                    target
                        .users
                        .iter()
                        .map(|&u| {
                            let pool = self.hard_pool.row(u as usize);
                            if pool.is_empty() {
                                NO_ITEM
                            } else {
                                pool[r.random_range(0..pool.len())]
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                Batch {
                    target,
                    aux,
                    interacted_not_bought,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{load_dataset, LoadOptions};
    use std::path::Path;

    #[test]
    fn conversion_items_come_from_a_stream_of_their_own() {
        let data = load_dataset(Path::new("sample_data"), &LoadOptions::default()).unwrap();
        let plain = Sampler::new(&data, 0.0, 7).epoch(2, 256);
        let conv = Sampler::new(&data, 0.0, 7)
            .with_conversion(true)
            .epoch(2, 256);
        assert_eq!(plain.len(), conv.len());
        let target = data.target_train().user_csr(data.n_users());
        let aux: Vec<_> = data.behaviors[..data.n_behaviors() - 1]
            .iter()
            .map(|b| b.user_csr(data.n_users()))
            .collect();
        let mut drawn = 0;
        for (p, c) in plain.iter().zip(&conv) {
            assert!(p.interacted_not_bought.is_empty());
            assert_eq!((&p.target, &p.aux), (&c.target, &c.aux), "same batches");
            assert_eq!(c.interacted_not_bought.len(), c.target.users.len());
            for (&u, &i) in c.target.users.iter().zip(&c.interacted_not_bought) {
                if i == NO_ITEM {
                    continue;
                }
                drawn += 1;
                assert!(!target.contains(u as usize, i), "user {u} bought {i}");
                assert!(
                    aux.iter().any(|a| a.contains(u as usize, i)),
                    "{u} never saw {i}"
                );
            }
        }
        assert!(drawn > 1000, "{drawn}");
    }
}
