//! Confounders and their strata (METHOD.md §1).
//!
//! User habit `h_u ∈ R^{B+1}`: the share of u's training interactions in each behavior and the
//! activity `log(1+n_u)/log(1+max_v n_v)`. Item multi-behavior distribution `g_i`: the same for
//! items. Seeded k-means (k-means++ initialisation) groups them into strata; nodes without any
//! training interaction form one extra stratum. Priors are the strata's shares.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::config::Config;
use crate::data::Dataset;

/// Which side of the bipartite graph a confounder describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Users (habit `H`).
    User,
    /// Items (multi-behavior distribution `G`).
    Item,
}

/// Per-node confounder features, row-major `[n, B+1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Feature width `B + 1`.
    pub width: usize,
    pub values: Vec<f32>,
    /// Training interactions per node (all behaviors).
    pub totals: Vec<u32>,
}

impl Features {
    /// Computes `h_u` (side = User) or `g_i` (side = Item) from the training interactions.
    pub fn compute(data: &Dataset, side: Side) -> Self {
        let n = match side {
            Side::User => data.n_users(),
            Side::Item => data.n_items(),
        };
        let b = data.n_behaviors();
        let width = b + 1;
        let mut counts = vec![0u32; n * b];
        for (k, beh) in data.behaviors.iter().enumerate() {
            for &(u, i) in &beh.pairs {
                let node = match side {
                    Side::User => u,
                    Side::Item => i,
                } as usize;
                counts[node * b + k] += 1;
            }
        }
        let totals: Vec<u32> = counts.chunks(b).map(|c| c.iter().sum()).collect();
        let max_total = totals.iter().copied().max().unwrap_or(0);
        let mut values = vec![0f32; n * width];
        for node in 0..n {
            Self::fill_row(
                &mut values[node * width..(node + 1) * width],
                &counts[node * b..(node + 1) * b],
                max_total,
            );
        }
        Features {
            width,
            values,
            totals,
        }
    }

    /// Writes one node's row from its interactions per behavior, `max_total` being the
    /// largest node total of the population (the activity scale).
    pub fn fill_row(row: &mut [f32], counts: &[u32], max_total: u32) {
        let t: u32 = counts.iter().sum();
        if t == 0 {
            row.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let b = counts.len();
        for k in 0..b {
            row[k] = counts[k] as f32 / t as f32;
        }
        let max_total = max_total.max(1) as f32;
        row[b] = (1.0 + t as f32).ln() / (1.0 + max_total).ln();
    }

    /// The largest node total (the activity scale of [`Features::fill_row`]).
    pub fn max_total(&self) -> u32 {
        self.totals.iter().copied().max().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.totals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// Feature row of `node`.
    pub fn row(&self, node: usize) -> &[f32] {
        &self.values[node * self.width..(node + 1) * self.width]
    }
}

/// A stratification of one side's nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strata {
    pub side: Side,
    /// Stratum of every node.
    pub assign: Vec<u32>,
    /// Number of strata (k-means clusters plus possibly the "no interaction" stratum).
    pub k: usize,
    /// `P(stratum)`: share of nodes.
    pub prior: Vec<f64>,
    /// Nodes per stratum.
    pub size: Vec<usize>,
    /// Mean feature profile per stratum (`k × width`).
    pub profile: Vec<Vec<f32>>,
    /// Index of the stratum of nodes without training interactions, if any.
    pub empty_stratum: Option<u32>,
    /// The k-means centroid of every cluster stratum (the empty stratum has none; empty in
    /// checkpoints written before it was kept, where `profile` stands in).
    #[serde(default)]
    pub centroids: Vec<Vec<f32>>,
}

/// The user and item strata of `data` as training fits them (`mclmr.k_user`, `k_item`, seeded
/// by `train.seed`).
pub fn fit_strata(data: &Dataset, config: &Config) -> (Strata, Strata) {
    let seed = config.train.seed;
    let fit = |side, k, seed| Strata::fit(&Features::compute(data, side), side, k, seed);
    (
        fit(Side::User, config.mclmr.k_user, seed),
        fit(Side::Item, config.mclmr.k_item, seed.wrapping_add(1)),
    )
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ initialisation: `k` centroids among the rows of `active`.
fn kmeans_pp(features: &Features, active: &[usize], k: usize, rng: &mut StdRng) -> Vec<Vec<f32>> {
    let mut centroids: Vec<Vec<f32>> = Vec::with_capacity(k);
    if k == 0 {
        return centroids;
    }
    let first = active[rng.random_range(0..active.len())];
    centroids.push(features.row(first).to_vec());
    let mut best: Vec<f32> = active
        .iter()
        .map(|&n| dist2(features.row(n), &centroids[0]))
        .collect();
    while centroids.len() < k {
        let total: f64 = best.iter().map(|&d| d as f64).sum();
        let pick = if total <= 0.0 {
            rng.random_range(0..active.len())
        } else {
            let mut r = rng.random::<f64>() * total;
            let mut chosen = active.len() - 1;
            for (j, &d) in best.iter().enumerate() {
                r -= d as f64;
                if r <= 0.0 {
                    chosen = j;
                    break;
                }
            }
            chosen
        };
        let c = features.row(active[pick]).to_vec();
        for (j, &n) in active.iter().enumerate() {
            best[j] = best[j].min(dist2(features.row(n), &c));
        }
        centroids.push(c);
    }
    centroids
}

/// Lloyd iterations from `centroids` (at most 100): the cluster of every row of `active`.
fn lloyd(features: &Features, active: &[usize], centroids: &mut [Vec<f32>]) -> Vec<u32> {
    let w = features.width;
    let mut assign = vec![0u32; active.len()];
    for _ in 0..100 {
        let mut changed = false;
        for (j, &n) in active.iter().enumerate() {
            let row = features.row(n);
            let mut bi = 0u32;
            let mut bd = f32::INFINITY;
            for (c, cen) in centroids.iter().enumerate() {
                let d = dist2(row, cen);
                if d < bd {
                    bd = d;
                    bi = c as u32;
                }
            }
            if assign[j] != bi {
                assign[j] = bi;
                changed = true;
            }
        }
        let mut sums = vec![vec![0f64; w]; centroids.len()];
        let mut cnt = vec![0usize; centroids.len()];
        for (j, &n) in active.iter().enumerate() {
            let c = assign[j] as usize;
            cnt[c] += 1;
            for (s, &v) in sums[c].iter_mut().zip(features.row(n)) {
                *s += v as f64;
            }
        }
        for c in 0..centroids.len() {
            if cnt[c] > 0 {
                centroids[c] = sums[c].iter().map(|s| (s / cnt[c] as f64) as f32).collect();
            }
        }
        if !changed {
            break;
        }
    }
    assign
}

impl Strata {
    /// Seeded k-means with k-means++ initialisation (at most `k` clusters over nodes with
    /// interactions; fewer when there are fewer distinct nodes).
    pub fn fit(features: &Features, side: Side, k: usize, seed: u64) -> Self {
        let active: Vec<usize> = (0..features.len())
            .filter(|&n| features.totals[n] > 0)
            .collect();
        let k_eff = k.min(active.len()).max(usize::from(!active.is_empty()));
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_57a7);
        let mut centroids = kmeans_pp(features, &active, k_eff, &mut rng);
        let assign_active = lloyd(features, &active, &mut centroids);
        let mut s = Self::from_clusters(features, side, &active, &assign_active, centroids.len());
        let mut used = vec![false; centroids.len()];
        for &a in &assign_active {
            used[a as usize] = true;
        }
        s.centroids = centroids
            .into_iter()
            .zip(used)
            .filter_map(|(c, u)| u.then_some(c))
            .collect();
        s
    }

    /// The stratum of a node with feature row `row` and `total` interactions: the empty
    /// stratum for no interaction, else the nearest centroid (as the last k-means step).
    pub fn nearest(&self, row: &[f32], total: u32) -> u32 {
        if total == 0 {
            if let Some(e) = self.empty_stratum {
                return e;
            }
        }
        let cands: Vec<(u32, &[f32])> = if self.centroids.is_empty() {
            (0..self.k as u32)
                .filter(|&k| Some(k) != self.empty_stratum)
                .map(|k| (k, self.profile[k as usize].as_slice()))
                .collect()
        } else {
            (0..self.centroids.len() as u32)
                .map(|k| (k, self.centroids[k as usize].as_slice()))
                .collect()
        };
        let mut best = (self.empty_stratum.unwrap_or(0), f32::INFINITY);
        for (k, c) in cands {
            let d = dist2(row, c);
            if d < best.1 {
                best = (k, d);
            }
        }
        best.0
    }

    /// The strata of `n_clusters` clusters of the `active` nodes: clusters that ended empty
    /// dropped and relabelled densely, the nodes without interactions in one extra stratum.
    fn from_clusters(
        features: &Features,
        side: Side,
        active: &[usize],
        assign_active: &[u32],
        n_clusters: usize,
    ) -> Self {
        let w = features.width;
        let mut used = vec![0usize; n_clusters];
        for &a in assign_active {
            used[a as usize] += 1;
        }
        let mut relabel = vec![u32::MAX; n_clusters];
        let mut next = 0u32;
        for (c, &u) in used.iter().enumerate() {
            if u > 0 {
                relabel[c] = next;
                next += 1;
            }
        }
        let empty_stratum = (active.len() < features.len()).then_some(next);
        let kk = next as usize + usize::from(empty_stratum.is_some());
        let mut assign = vec![empty_stratum.unwrap_or(0); features.len()];
        for (j, &n) in active.iter().enumerate() {
            assign[n] = relabel[assign_active[j] as usize];
        }
        let mut size = vec![0usize; kk];
        let mut profile = vec![vec![0f32; w]; kk];
        for (n, &a) in assign.iter().enumerate() {
            size[a as usize] += 1;
            for (p, &v) in profile[a as usize].iter_mut().zip(features.row(n)) {
                *p += v;
            }
        }
        for (p, &s) in profile.iter_mut().zip(&size) {
            for v in p.iter_mut() {
                *v /= s.max(1) as f32;
            }
        }
        let total = features.len().max(1) as f64;
        let prior = size.iter().map(|&s| s as f64 / total).collect();
        Strata {
            side,
            assign,
            k: kk,
            prior,
            size,
            profile,
            empty_stratum,
            centroids: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(rows: &[[f32; 3]], totals: &[u32]) -> Features {
        Features {
            width: 3,
            values: rows.iter().flatten().copied().collect(),
            totals: totals.to_vec(),
        }
    }

    #[test]
    fn separates_obvious_clusters_and_isolates_empty_nodes() {
        let f = feats(
            &[
                [1.0, 0.0, 0.1],
                [0.95, 0.05, 0.1],
                [0.0, 1.0, 0.9],
                [0.05, 0.95, 0.8],
                [0.0, 0.0, 0.0],
            ],
            &[3, 3, 9, 8, 0],
        );
        let s = Strata::fit(&f, Side::User, 2, 1);
        assert_eq!(s.k, 3);
        assert_eq!(s.assign[0], s.assign[1]);
        assert_eq!(s.assign[2], s.assign[3]);
        assert_ne!(s.assign[0], s.assign[2]);
        assert_eq!(s.empty_stratum, Some(s.assign[4]));
        assert!((s.prior.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(s.size.iter().sum::<usize>(), 5);
        for n in 0..5 {
            assert_eq!(s.nearest(f.row(n), f.totals[n]), s.assign[n], "node {n}");
        }
        let mut old = s.clone();
        old.centroids.clear();
        assert_eq!(old.nearest(&[0.9, 0.1, 0.1], 3), s.assign[0]);
    }

    #[test]
    fn deterministic_for_a_seed_and_k_capped_by_nodes() {
        let f = feats(&[[0.2, 0.8, 0.5], [0.3, 0.7, 0.2]], &[1, 2]);
        let a = Strata::fit(&f, Side::Item, 8, 3);
        assert_eq!(a, Strata::fit(&f, Side::Item, 8, 3));
        assert!(a.k <= 2);
    }
}
