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

impl RouteFeatures {
    /// Computes both sides from the training data.
    pub fn compute(data: &Dataset, aux_csr: &[Csr]) -> Self {
        let n_aux = aux_csr.len();
        let width = 2 * n_aux;
        let (nu, ni) = (data.n_users(), data.n_items());
        let mut su = vec![0f64; nu * width];
        let mut si = vec![0f64; ni * width];
        let mut nt_u = vec![0f64; nu];
        let mut nt_i = vec![0f64; ni];
        let mut pop = vec![0f64; width];
        let pairs = &data.target_train().pairs;
        for &(u, i) in pairs {
            nt_u[u as usize] += 1.0;
            nt_i[i as usize] += 1.0;
            for (b, csr) in aux_csr.iter().enumerate() {
                let c = csr.value(u as usize, i) as f64;
                let vals = [f64::from(u8::from(c > 0.0)), (1.0 + c).ln()];
                for (k, v) in vals.into_iter().enumerate() {
                    let col = k * n_aux + b;
                    su[u as usize * width + col] += v;
                    si[i as usize * width + col] += v;
                    pop[col] += v;
                }
            }
        }
        let total = pairs.len().max(1) as f64;
        for p in &mut pop {
            *p /= total;
        }
        RouteFeatures {
            width,
            user: finish(su, &nt_u, &pop, width),
            item: finish(si, &nt_i, &pop, width),
        }
    }
}

/// Shrinks sums to means with one pseudo-interaction at the population value, then
/// standardises every column over the nodes that have target interactions (the others get the
/// population value, which is close to 0 after standardisation).
fn finish(sums: Vec<f64>, n: &[f64], pop: &[f64], width: usize) -> Vec<f32> {
    let mut means = sums;
    for (node, &cnt) in n.iter().enumerate() {
        for c in 0..width {
            let v = &mut means[node * width + c];
            *v = (*v + pop[c]) / (cnt + 1.0);
        }
    }
    let active: Vec<usize> = (0..n.len()).filter(|&k| n[k] > 0.0).collect();
    let mut out = vec![0f32; means.len()];
    for c in 0..width {
        let m = active.len().max(1) as f64;
        let mean = active.iter().map(|&k| means[k * width + c]).sum::<f64>() / m;
        let var = active
            .iter()
            .map(|&k| (means[k * width + c] - mean).powi(2))
            .sum::<f64>()
            / m;
        let sd = var.sqrt();
        for node in 0..n.len() {
            let v = means[node * width + c];
            out[node * width + c] = if sd > 1e-9 {
                ((v - mean) / sd) as f32
            } else {
                0.0
            };
        }
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
    }
}
