//! Routing features of the MoE gates (`mclmr.route_features`, docs/MODEL.md).
//!
//! Per node and auxiliary behavior `b`, over the node's training target interactions `(u,i)`:
//! the share that came with behavior `b` (`count_b(u,i) > 0`) and their mean
//! `ln(1 + count_b(u,i))`, each shrunk towards the population value with one pseudo-interaction
//! and standardised over the nodes. A user whose purchases follow the wishlist and one whose
//! purchases follow repeated views differ in exactly these numbers, so a linear gate can route
//! them apart; the habit features `h_u` (behavior shares of all interactions) cannot.

use crate::data::{Csr, Dataset};

/// Routing features of users and items, row-major `[n, 2 · n_aux]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFeatures {
    /// Columns: `2 · n_aux` (shares, then mean log-repeats).
    pub width: usize,
    pub user: Vec<f32>,
    pub item: Vec<f32>,
}

/// The population values the routing features are shrunk towards and standardised with,
/// fitted on the training data. A what-if keeps them (one user's edit moves them by `O(1/n)`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RouteStats {
    /// Auxiliary behaviors.
    pub n_aux: usize,
    /// Population value of every column (the pseudo-interaction).
    pub pop: Vec<f64>,
    /// Mean and standard deviation of every column over the users with target interactions.
    pub user_mean: Vec<f64>,
    pub user_sd: Vec<f64>,
    /// The same over the items.
    pub item_mean: Vec<f64>,
    pub item_sd: Vec<f64>,
}

/// Per-node column sums and target-interaction counts of one dataset.
struct Sums {
    su: Vec<f64>,
    si: Vec<f64>,
    nt_u: Vec<f64>,
    nt_i: Vec<f64>,
    pop: Vec<f64>,
}

/// Adds one target pair's values (share indicator, then `ln(1 + count)`, per behavior) to `row`.
fn add_pair(row: &mut [f64], counts: impl Iterator<Item = f32>, n_aux: usize) {
    for (b, c) in counts.enumerate() {
        let c = c as f64;
        let vals = [f64::from(u8::from(c > 0.0)), (1.0 + c).ln()];
        for (k, v) in vals.into_iter().enumerate() {
            row[k * n_aux + b] += v;
        }
    }
}

fn sums(data: &Dataset, aux_csr: &[Csr]) -> Sums {
    let n_aux = aux_csr.len();
    let width = 2 * n_aux;
    let (nu, ni) = (data.n_users(), data.n_items());
    let mut s = Sums {
        su: vec![0f64; nu * width],
        si: vec![0f64; ni * width],
        nt_u: vec![0f64; nu],
        nt_i: vec![0f64; ni],
        pop: vec![0f64; width],
    };
    let pairs = &data.target_train().pairs;
    let mut one = vec![0f64; width];
    for &(u, i) in pairs {
        s.nt_u[u as usize] += 1.0;
        s.nt_i[i as usize] += 1.0;
        one.iter_mut().for_each(|v| *v = 0.0);
        add_pair(
            &mut one,
            aux_csr.iter().map(|csr| csr.value(u as usize, i)),
            n_aux,
        );
        for (col, &v) in one.iter().enumerate() {
            s.su[u as usize * width + col] += v;
            s.si[i as usize * width + col] += v;
            s.pop[col] += v;
        }
    }
    let total = pairs.len().max(1) as f64;
    for p in &mut s.pop {
        *p /= total;
    }
    s
}

impl RouteFeatures {
    /// Computes both sides from the training data.
    pub fn compute(data: &Dataset, aux_csr: &[Csr]) -> Self {
        Self::compute_stats(data, aux_csr).0
    }

    /// Both sides and the population statistics they were standardised with.
    pub fn compute_stats(data: &Dataset, aux_csr: &[Csr]) -> (Self, RouteStats) {
        let n_aux = aux_csr.len();
        let width = 2 * n_aux;
        let s = sums(data, aux_csr);
        let mu = shrink(s.su, &s.nt_u, &s.pop, width);
        let mi = shrink(s.si, &s.nt_i, &s.pop, width);
        let (user_mean, user_sd) = scale(&mu, &s.nt_u, width);
        let (item_mean, item_sd) = scale(&mi, &s.nt_i, width);
        let stats = RouteStats {
            n_aux,
            pop: s.pop,
            user_mean,
            user_sd,
            item_mean,
            item_sd,
        };
        let f = RouteFeatures {
            width,
            user: standardise(&mu, &stats.user_mean, &stats.user_sd, width),
            item: standardise(&mi, &stats.item_mean, &stats.item_sd, width),
        };
        (f, stats)
    }

    /// Both sides of `data` under given population statistics (a recomputation of an edited
    /// dataset with the trained model's statistics).
    pub fn compute_with(data: &Dataset, aux_csr: &[Csr], stats: &RouteStats) -> Self {
        let width = 2 * aux_csr.len();
        let s = sums(data, aux_csr);
        let mu = shrink(s.su, &s.nt_u, &stats.pop, width);
        let mi = shrink(s.si, &s.nt_i, &stats.pop, width);
        RouteFeatures {
            width,
            user: standardise(&mu, &stats.user_mean, &stats.user_sd, width),
            item: standardise(&mi, &stats.item_mean, &stats.item_sd, width),
        }
    }
}

impl RouteStats {
    /// The routing features of one user whose target items carry the auxiliary counts
    /// `counts` (one entry of `n_aux` counts per target item, in item order).
    pub fn user_row<'a>(&self, counts: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
        let width = 2 * self.n_aux;
        let mut sum = vec![0f64; width];
        let mut n = 0f64;
        let mut one = vec![0f64; width];
        for c in counts {
            n += 1.0;
            one.iter_mut().for_each(|v| *v = 0.0);
            add_pair(&mut one, c.iter().copied(), self.n_aux);
            for (s, &v) in sum.iter_mut().zip(&one) {
                *s += v;
            }
        }
        let mean = shrink(sum, &[n], &self.pop, width);
        standardise(&mean, &self.user_mean, &self.user_sd, width)
    }
}

/// Shrinks sums to means with one pseudo-interaction at the population value.
fn shrink(sums: Vec<f64>, n: &[f64], pop: &[f64], width: usize) -> Vec<f64> {
    let mut means = sums;
    for (node, &cnt) in n.iter().enumerate() {
        for c in 0..width {
            let v = &mut means[node * width + c];
            *v = (*v + pop[c]) / (cnt + 1.0);
        }
    }
    means
}

/// Mean and standard deviation of every column over the nodes that have target interactions.
fn scale(means: &[f64], n: &[f64], width: usize) -> (Vec<f64>, Vec<f64>) {
    let active: Vec<usize> = (0..n.len()).filter(|&k| n[k] > 0.0).collect();
    let m = active.len().max(1) as f64;
    let mut mean = vec![0f64; width];
    let mut sd = vec![0f64; width];
    for c in 0..width {
        let mu = active.iter().map(|&k| means[k * width + c]).sum::<f64>() / m;
        let var = active
            .iter()
            .map(|&k| (means[k * width + c] - mu).powi(2))
            .sum::<f64>()
            / m;
        mean[c] = mu;
        sd[c] = var.sqrt();
    }
    (mean, sd)
}

/// Standardises every column (the nodes without target interactions get the population value,
/// which is close to 0 after standardisation).
fn standardise(means: &[f64], mean: &[f64], sd: &[f64], width: usize) -> Vec<f32> {
    let mut out = vec![0f32; means.len()];
    for (k, v) in means.iter().enumerate() {
        let c = k % width;
        out[k] = if sd[c] > 1e-9 {
            ((v - mean[c]) / sd[c]) as f32
        } else {
            0.0
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Interactions};

    fn data() -> Dataset {
        // Users 0/1 buy what they carted; users 2/3 buy what they viewed three times.
        let view = vec![
            (0, 0),
            (0, 5),
            (1, 1),
            (1, 6),
            (2, 2),
            (2, 2),
            (2, 2),
            (3, 3),
            (3, 3),
            (3, 3),
        ];
        let cart = vec![(0, 1), (1, 0), (2, 7), (3, 7)];
        let buy = vec![(0, 1), (1, 0), (2, 2), (3, 3)];
        Dataset::from_parts(
            "t".into(),
            std::path::PathBuf::from("t"),
            vec!["0".into(), "1".into(), "2".into(), "3".into()],
            (0..8).map(|i| i.to_string()).collect(),
            vec![
                Interactions::from_raw("view", view),
                Interactions::from_raw("cart", cart),
                Interactions::from_raw("buy", buy),
            ],
            vec![],
            vec![(0, 2)],
            None,
            vec![],
        )
    }

    #[test]
    fn features_separate_users_by_the_behavior_their_purchases_follow() {
        let d = data();
        let aux: Vec<Csr> = d.behaviors[..2].iter().map(|b| b.user_csr(4)).collect();
        let f = RouteFeatures::compute(&d, &aux);
        assert_eq!(f.width, 4);
        let col = |u: usize, c: usize| f.user[u * 4 + c];
        // Column 0: share of purchases viewed; 1: share carted; 2: mean log views; 3: carts.
        for (a, b) in [(0, 2), (0, 3), (1, 2), (1, 3)] {
            assert!(col(a, 1) > col(b, 1), "cart share {a} vs {b}: {:?}", f.user);
            assert!(col(a, 0) < col(b, 0), "view share {a} vs {b}");
            assert!(col(a, 2) < col(b, 2), "view repeats {a} vs {b}");
        }
        // Standardised over the active nodes.
        let mean: f32 = (0..4).map(|u| col(u, 1)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-5, "{mean}");
        // Items: the bought items 0/1 were carted, 2/3 viewed.
        let icol = |i: usize, c: usize| f.item[i * 4 + c];
        assert!(icol(0, 1) > icol(2, 1) && icol(2, 0) > icol(0, 0));
        // One user's row from its own counts and the population statistics is the same.
        let (g, stats) = RouteFeatures::compute_stats(&d, &aux);
        assert_eq!(g, f);
        for u in 0..4u32 {
            let rows: Vec<Vec<f32>> = d.behaviors[2]
                .user_items(u)
                .iter()
                .map(|&i| aux.iter().map(|c| c.value(u as usize, i)).collect())
                .collect();
            let row = stats.user_row(rows.iter().map(|r| r.as_slice()));
            assert_eq!(
                row,
                f.user[u as usize * 4..(u as usize + 1) * 4],
                "user {u}"
            );
        }
        assert_eq!(RouteFeatures::compute_with(&d, &aux, &stats), f);
    }
}
