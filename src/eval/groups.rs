//! Results per stratum (`mclmr eval --by stratum`): the test metrics of `do` and `raw` per
//! user habit stratum, per item stratum and per item popularity bucket.
//!
//! User groups average over their users (all of each user's test items). Item groups keep, for
//! every user, only the test items in the group, and average over the users left with one.
//! Popularity buckets are five groups of equal item counts by training-target popularity
//! (1 = least popular fifth).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metrics::{at_k, KS};
use super::{k_max, rank_users, EvalTask, Split};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::{Mode, Ranker};

/// One group's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    /// `user_stratum`, `item_stratum` or `popularity`.
    pub by: String,
    /// Group label (stratum number, or `1` … `5` for popularity buckets).
    pub group: String,
    /// Users evaluated in the group.
    pub users: usize,
    /// Test items counted in the group.
    pub items: usize,
    /// `do` metrics.
    #[serde(rename = "do")]
    pub do_: BTreeMap<String, f64>,
    /// `raw` metrics.
    pub raw: BTreeMap<String, f64>,
}

/// Popularity bucket (0 … 4) per item: five equal-count groups by popularity, ties by index.
pub fn popularity_buckets(pop: &[u32]) -> Vec<usize> {
    let n = pop.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| pop[a].cmp(&pop[b]).then(a.cmp(&b)));
    let mut bucket = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        bucket[i] = r * 5 / n.max(1);
    }
    bucket
}

fn metrics(lists: &[&Vec<u32>], rel: &[Vec<u32>]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for (list, rel) in lists.iter().zip(rel) {
        for k in KS {
            let (hr, rec, nd) = at_k(list, rel, k);
            *sums.entry(format!("HR@{k}")).or_default() += hr;
            *sums.entry(format!("Recall@{k}")).or_default() += rec;
            *sums.entry(format!("NDCG@{k}")).or_default() += nd;
        }
    }
    let n = lists.len().max(1) as f64;
    sums.into_iter().map(|(k, v)| (k, v / n)).collect()
}

/// The per-group table on the test split.
pub fn by_stratum(ranker: &Ranker, data: &Dataset) -> Result<Vec<GroupRow>> {
    let task = EvalTask::new(data, Split::Test, None);
    let ld = rank_users(ranker, &task.users, Mode::Do, k_max(), &task.mask)?;
    let lr = if ranker.has_causal() {
        Some(rank_users(
            ranker,
            &task.users,
            Mode::Raw,
            k_max(),
            &task.mask,
        )?)
    } else {
        None
    };
    Ok(groups_of(ranker, &task, &ld, lr.as_deref().unwrap_or(&ld)))
}

/// The per-group table of the test `task` from its `do` and `raw` top lists `ld`, `lr`.
pub(super) fn groups_of(
    ranker: &Ranker,
    task: &EvalTask,
    ld: &[Vec<u32>],
    lr: &[Vec<u32>],
) -> Vec<GroupRow> {
    let (ustrat, istrat) = match ranker {
        Ranker::Neural(inf) if inf.causal.is_some() => {
            (inf.user_stratum.clone(), inf.item_stratum.clone())
        }
        _ => (Vec::new(), Vec::new()),
    };
    let mut rows = Vec::new();
    // User habit strata.
    if !ustrat.is_empty() {
        let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (r, &u) in task.users.iter().enumerate() {
            groups.entry(ustrat[u as usize]).or_default().push(r);
        }
        for (s, idx) in groups {
            let rel: Vec<Vec<u32>> = idx.iter().map(|&r| task.relevant[r].clone()).collect();
            rows.push(row("user_stratum", s.to_string(), &idx, ld, lr, rel));
        }
    }
    // Item groups: item strata, then popularity buckets.
    let buckets = popularity_buckets(&task.popularity);
    let mut item_groups: Vec<(&str, Vec<usize>, usize)> = vec![("popularity", buckets.clone(), 5)];
    if !istrat.is_empty() {
        let n = istrat.iter().max().map_or(0, |&m| m as usize + 1);
        item_groups.insert(
            0,
            (
                "item_stratum",
                istrat.iter().map(|&s| s as usize).collect(),
                n,
            ),
        );
    }
    for (by, of, n) in item_groups {
        for g in 0..n {
            let mut idx = Vec::new();
            let mut rel = Vec::new();
            for (r, items) in task.relevant.iter().enumerate() {
                let kept: Vec<u32> = items
                    .iter()
                    .copied()
                    .filter(|&i| of[i as usize] == g)
                    .collect();
                if !kept.is_empty() {
                    idx.push(r);
                    rel.push(kept);
                }
            }
            let label = if by == "popularity" {
                (g + 1).to_string()
            } else {
                g.to_string()
            };
            rows.push(row(by, label, &idx, ld, lr, rel));
        }
    }
    rows
}

fn row(
    by: &str,
    group: String,
    idx: &[usize],
    ld: &[Vec<u32>],
    lr: &[Vec<u32>],
    rel: Vec<Vec<u32>>,
) -> GroupRow {
    let pd: Vec<&Vec<u32>> = idx.iter().map(|&r| &ld[r]).collect();
    let pr: Vec<&Vec<u32>> = idx.iter().map(|&r| &lr[r]).collect();
    GroupRow {
        by: by.into(),
        group,
        users: idx.len(),
        items: rel.iter().map(Vec::len).sum(),
        do_: metrics(&pd, &rel),
        raw: metrics(&pr, &rel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_equal_buckets_least_popular_first() {
        let pop = [9, 0, 5, 1, 7, 3, 8, 2, 6, 4];
        let b = popularity_buckets(&pop);
        assert_eq!(b, vec![4, 0, 2, 0, 3, 1, 4, 1, 3, 2]);
        assert_eq!(popularity_buckets(&[]), Vec::<usize>::new());
    }
}
