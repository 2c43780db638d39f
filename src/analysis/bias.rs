//! Where the confounders push across the catalogue (issue 16, the Bias view).
//!
//! - **push** of an item: the mean over all users of `raw − do`. The difference is linear in the
//!   user (METHOD.md §4), so its mean is exact in `O((U + I) d)`:
//!   `⟨mean_u c^U(u) − c̄^U, Z_i⟩ + ⟨mean_u Z_u, c^I(i) − c̄^I⟩ + b(i) − b̄ + mean_u conv(u, i)`;
//! - **exposure**: how many users' top-K lists (training target items masked) hold the item,
//!   under `do` and under `raw`; its share per popularity decile (1 = least popular tenth);
//! - per **user habit stratum**: mean Jaccard and rank-biased overlap of the `do` and `raw`
//!   top-K, and the mean push over the catalogue (`mean_i (raw − do)(u, i)`, also exact).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::ranking::{jaccard, popularity, rbo};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::inference::{dot, Inference};
use crate::model::{Mode, Ranker};

/// One item's confounder push and exposure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemPush {
    /// Original item id.
    pub item: String,
    /// Item stratum.
    pub stratum: u32,
    /// Training-target interactions.
    pub popularity: u32,
    /// Mean `raw − do` over all users.
    pub push: f64,
    /// Users whose `do` top-K holds the item.
    pub exposure_do: u32,
    /// Users whose `raw` top-K holds the item.
    pub exposure_raw: u32,
    /// Item metadata (column → value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// Share of all top-K slots taken by one popularity decile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecileShare {
    /// 1 (least popular tenth of the items) … 10 (most popular).
    pub decile: usize,
    /// Items in the decile.
    pub items: usize,
    /// Largest popularity in the decile.
    pub max_popularity: u32,
    /// Share of the `do` top-K slots.
    pub share_do: f64,
    /// Share of the `raw` top-K slots.
    pub share_raw: f64,
}

/// How much one user habit stratum's rankings change under the intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumOverlap {
    /// User habit stratum.
    pub stratum: u32,
    /// Users in it.
    pub users: usize,
    /// Mean Jaccard overlap of the `do` and `raw` top-K.
    pub jaccard: f64,
    /// Mean rank-biased overlap (p = 0.9) of the `do` and `raw` top-K.
    pub rbo: f64,
    /// Mean over its users and all items of `raw − do`.
    pub push: f64,
}

/// The whole Bias view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasAnalysis {
    /// List length.
    pub k: usize,
    /// Users ranked.
    pub users: usize,
    /// Items by push, largest first (`top` of them).
    pub most_pushed: Vec<ItemPush>,
    /// Items by `exposure_raw − exposure_do`, largest first (`top` of them).
    pub exposure_gain: Vec<ItemPush>,
    /// Exposure share per popularity decile.
    pub deciles: Vec<DecileShare>,
    /// Per user habit stratum.
    pub strata: Vec<StratumOverlap>,
    /// Seconds spent.
    pub seconds: f64,
}

/// Mean `raw − do` over all users, per item (exact; see the module docs).
pub fn item_push(inf: &Inference) -> Result<Vec<f64>> {
    let c = causal(inf)?;
    let (d, nu, ni) = (inf.dim, inf.n_users, inf.n_items);
    let mean_cu = column_mean(&c.cu, nu, d);
    let mean_zu = column_mean(&inf.z_user, nu, d);
    let du: Vec<f32> = mean_cu.iter().zip(&c.cu_bar).map(|(a, b)| a - b).collect();
    let mut push: Vec<f64> = (0..ni)
        .map(|i| {
            let zi = Inference::row(&inf.z_item, i, d);
            let dci: Vec<f32> = Inference::row(&c.ci, i, d)
                .iter()
                .zip(&c.ci_bar)
                .map(|(a, b)| a - b)
                .collect();
            f64::from(dot(&du, zi) + dot(&mean_zu, &dci) + c.beta[i] - c.beta_bar)
        })
        .collect();
    if !inf.conversion_w.is_empty() && nu > 0 {
        for b in 0..inf.n_aux {
            let v = f64::from(inf.conversion_w[b]);
            for &i in &inf.aux_csr[b].cols {
                push[i as usize] += v * f64::from(inf.conversion[i as usize]) / nu as f64;
            }
        }
    }
    Ok(push)
}

/// Mean over all items of `raw − do`, per user (exact).
pub fn user_push(inf: &Inference) -> Result<Vec<f64>> {
    let c = causal(inf)?;
    let (d, nu, ni) = (inf.dim, inf.n_users, inf.n_items);
    let mean_zi = column_mean(&inf.z_item, ni, d);
    let mean_dci: Vec<f32> = column_mean(&c.ci, ni, d)
        .iter()
        .zip(&c.ci_bar)
        .map(|(a, b)| a - b)
        .collect();
    let mean_beta = c.beta.iter().map(|&b| f64::from(b)).sum::<f64>() / ni.max(1) as f64;
    Ok((0..nu)
        .map(|u| {
            let dcu: Vec<f32> = Inference::row(&c.cu, u, d)
                .iter()
                .zip(&c.cu_bar)
                .map(|(a, b)| a - b)
                .collect();
            let mut conv = 0.0;
            if !inf.conversion_w.is_empty() {
                for b in 0..inf.n_aux {
                    for &i in inf.aux_csr[b].row(u) {
                        conv += f64::from(inf.conversion_w[b] * inf.conversion[i as usize]);
                    }
                }
            }
            f64::from(dot(&dcu, &mean_zi) + dot(Inference::row(&inf.z_user, u, d), &mean_dci))
                + mean_beta
                - f64::from(c.beta_bar)
                + conv / ni.max(1) as f64
        })
        .collect())
}

fn causal(inf: &Inference) -> Result<&crate::model::inference::CausalParts> {
    inf.causal.as_ref().ok_or_else(|| {
        Error::Other(
            "this checkpoint has no confounder terms (a plain backbone or causal = false): \
             `do` and `raw` rank alike; train a +MCLMR model (without --plain) for the bias view"
                .into(),
        )
    })
}

fn column_mean(table: &[f32], rows: usize, d: usize) -> Vec<f32> {
    let mut m = vec![0f64; d];
    for r in 0..rows {
        for (acc, &x) in m.iter_mut().zip(&table[r * d..(r + 1) * d]) {
            *acc += f64::from(x);
        }
    }
    m.iter().map(|&x| (x / rows.max(1) as f64) as f32).collect()
}

/// The Bias view of `ranker` on `data`: top-`k` lists of every user in both modes, the `top`
/// items per list. `progress(done, total)` is called after each block of users.
pub fn analyse(
    ranker: &Ranker,
    data: &Dataset,
    k: usize,
    top: usize,
    progress: &dyn Fn(usize, usize),
) -> Result<BiasAnalysis> {
    let start = std::time::Instant::now();
    let inf = match ranker {
        Ranker::Neural(inf) => inf,
        Ranker::Rule(_) | Ranker::Ease(_) => {
            return Err(Error::Other(
                "a baseline has no confounder terms: the bias view needs a +MCLMR checkpoint"
                    .into(),
            ))
        }
    };
    let push = item_push(inf)?;
    let upush = user_push(inf)?;
    let n_users = data.n_users();
    let mask = data.target_train().user_csr(n_users);
    let users: Vec<u32> = (0..n_users as u32).collect();
    let n_items = data.n_items();
    let mut exp_do = vec![0u32; n_items];
    let mut exp_raw = vec![0u32; n_items];
    let mut per_stratum: BTreeMap<u32, (usize, f64, f64, f64)> = BTreeMap::new();
    // Blocks small enough for the allocator to reuse their score buffers (fresh pages cost a
    // zeroing each), large enough for the matrix product.
    let chunk = 256;
    let lists = |block: &[u32], mode: Mode| -> Result<Vec<Vec<u32>>> {
        let scores = ranker.score_users(block, mode)?;
        Ok(block
            .par_iter()
            .enumerate()
            .map(|(r, &u)| {
                crate::eval::metrics::top_k(
                    &scores[r * n_items..(r + 1) * n_items],
                    k,
                    mask.row(u as usize),
                )
            })
            .collect())
    };
    for (n, block) in users.chunks(chunk).enumerate() {
        let ld = lists(block, Mode::Do)?;
        let lr = lists(block, Mode::Raw)?;
        for ((&u, a), b) in block.iter().zip(&ld).zip(&lr) {
            a.iter().for_each(|&i| exp_do[i as usize] += 1);
            b.iter().for_each(|&i| exp_raw[i as usize] += 1);
            let s = inf.user_stratum.get(u as usize).copied().unwrap_or(0);
            let e = per_stratum.entry(s).or_default();
            e.0 += 1;
            e.1 += jaccard(a, b);
            e.2 += rbo(a, b, 0.9);
            e.3 += upush[u as usize];
        }
        progress(((n + 1) * chunk).min(n_users), n_users);
    }
    let pop = popularity(data);
    let row = |i: usize| ItemPush {
        item: data.item_ids[i].clone(),
        stratum: inf.item_stratum.get(i).copied().unwrap_or(0),
        popularity: pop[i],
        push: push[i],
        exposure_do: exp_do[i],
        exposure_raw: exp_raw[i],
        meta: data
            .item_meta
            .fields(i as u32)
            .into_iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect(),
    };
    let mut order: Vec<usize> = (0..data.n_items()).collect();
    order.sort_by(|&a, &b| push[b].total_cmp(&push[a]).then(a.cmp(&b)));
    let most_pushed = order.iter().take(top).map(|&i| row(i)).collect();
    let gain = |i: usize| i64::from(exp_raw[i]) - i64::from(exp_do[i]);
    order.sort_by(|&a, &b| gain(b).cmp(&gain(a)).then(a.cmp(&b)));
    let exposure_gain = order.iter().take(top).map(|&i| row(i)).collect();
    let strata = per_stratum
        .into_iter()
        .map(|(stratum, (n, j, r, p))| StratumOverlap {
            stratum,
            users: n,
            jaccard: j / n as f64,
            rbo: r / n as f64,
            push: p / n as f64,
        })
        .collect();
    Ok(BiasAnalysis {
        k,
        users: n_users,
        most_pushed,
        exposure_gain,
        deciles: deciles(&pop, &exp_do, &exp_raw),
        strata,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Exposure shares per popularity decile: items sorted by popularity (ties by index) in ten
/// groups of (nearly) equal size.
pub fn deciles(pop: &[u32], exp_do: &[u32], exp_raw: &[u32]) -> Vec<DecileShare> {
    let n = pop.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| pop[a].cmp(&pop[b]).then(a.cmp(&b)));
    let tot_do = exp_do.iter().map(|&x| u64::from(x)).sum::<u64>().max(1) as f64;
    let tot_raw = exp_raw.iter().map(|&x| u64::from(x)).sum::<u64>().max(1) as f64;
    (0..10)
        .map(|d| {
            let group = &order[d * n / 10..(d + 1) * n / 10];
            let sum = |e: &[u32]| group.iter().map(|&i| u64::from(e[i])).sum::<u64>() as f64;
            DecileShare {
                decile: d + 1,
                items: group.len(),
                max_popularity: group.iter().map(|&i| pop[i]).max().unwrap_or(0),
                share_do: sum(exp_do) / tot_do,
                share_raw: sum(exp_raw) / tot_raw,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_split_the_items_and_the_shares_sum_to_one() {
        let pop: Vec<u32> = (0..20).collect();
        let mut exp_do = vec![0u32; 20];
        let mut exp_raw = vec![0u32; 20];
        exp_do[0] = 3; // least popular item: decile 1
        exp_do[19] = 1; // most popular: decile 10
        exp_raw[19] = 4;
        let d = deciles(&pop, &exp_do, &exp_raw);
        assert_eq!(d.len(), 10);
        assert!(d.iter().all(|x| x.items == 2));
        assert!((d[0].share_do - 0.75).abs() < 1e-12);
        assert!((d[9].share_do - 0.25).abs() < 1e-12);
        assert!((d[9].share_raw - 1.0).abs() < 1e-12);
        assert_eq!(d[9].max_popularity, 19);
        let s: f64 = d.iter().map(|x| x.share_do).sum();
        assert!((s - 1.0).abs() < 1e-12);
    }
}
