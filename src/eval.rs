//! Full-ranking evaluation (METHOD.md §7): every item is scored for every evaluated user, the
//! user's training target items are masked, and HR/Recall/NDCG@{10,20,50} are averaged over
//! users with a held-out item. Users are processed in blocks so memory stays at one block of
//! scores; blocks' top-K selection runs in parallel. Bias diagnostics of the top-10 lists:
//! mean item popularity, catalog coverage, Gini of exposure, and HR@10 on long-tail test items.

mod full_report;
pub mod groups;
pub mod metrics;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Csr, Dataset};
use crate::error::Result;
use crate::model::{Mode, Ranker};
pub use full_report::{full_report, full_report_with_groups, EvalReport};
use metrics::{at_k, gini, top_k, KS};

/// Which held-out pairs to evaluate against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Validation pairs (mask: training target pairs).
    Valid,
    /// Observational test pairs (mask: training target and validation pairs).
    Test,
    /// Interventional test pairs (synthetic data; same mask as `Test`).
    TestDo,
}

/// Bias diagnostics of the top-10 lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BiasReport {
    /// Mean training-target popularity of recommended items.
    pub mean_popularity: f64,
    /// Share of the catalog that appears in some top-10 list.
    pub coverage: f64,
    /// Gini coefficient of how often each item is recommended.
    pub gini: f64,
    /// HR@10 over users' long-tail test items (outside the 20% most popular).
    #[serde(rename = "longtail_HR@10")]
    pub longtail_hr10: f64,
}

/// Metrics of one ranking mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeResult {
    /// `HR@10`, `Recall@10`, `NDCG@10`, … averaged over evaluated users.
    pub metrics: BTreeMap<String, f64>,
    /// Bias diagnostics.
    pub bias: BiasReport,
    /// Users evaluated.
    pub users: usize,
}

/// The items held out per user for a split, and the mask to apply.
pub struct EvalTask {
    /// Users with at least one held-out item.
    pub users: Vec<u32>,
    /// Held-out items per evaluated user (same order).
    pub relevant: Vec<Vec<u32>>,
    /// Items never recommended per user (sorted), indexed by user.
    pub mask: Csr,
    /// Training-target popularity per item.
    pub popularity: Vec<u32>,
    /// Items outside the 20% most popular (by training-target count).
    pub long_tail: Vec<bool>,
}

impl EvalTask {
    /// Prepares the evaluation of `split`; `max_users` keeps the first users (a fixed subset).
    pub fn new(data: &Dataset, split: Split, max_users: Option<usize>) -> Self {
        let pairs: &[(u32, u32)] = match split {
            Split::Valid => &data.valid,
            Split::Test => &data.test,
            Split::TestDo => data.test_do.as_deref().unwrap_or(&[]),
        };
        let mut by_user: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for &(u, i) in pairs {
            by_user.entry(u).or_default().push(i);
        }
        let limit = max_users.filter(|&m| m > 0).unwrap_or(usize::MAX);
        let (users, relevant): (Vec<u32>, Vec<Vec<u32>>) = by_user.into_iter().take(limit).unzip();
        let mut masked: Vec<(u32, u32)> = data.target_train().pairs.clone();
        if split != Split::Valid {
            masked.extend_from_slice(&data.valid);
        }
        masked.sort_unstable();
        masked.dedup();
        let mask = Csr::from_sorted_pairs(data.n_users(), &masked, None);
        let popularity = data.target_popularity();
        let mut order: Vec<usize> = (0..data.n_items()).collect();
        order.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
        let head = (data.n_items() as f64 * 0.2).ceil() as usize;
        let mut long_tail = vec![true; data.n_items()];
        for &i in order.iter().take(head) {
            long_tail[i] = false;
        }
        EvalTask {
            users,
            relevant,
            mask,
            popularity,
            long_tail,
        }
    }
}

/// Users scored per block.
pub const BLOCK: usize = 512;

/// Top-`k` lists of `users` (masked as in `task`), in the same order.
pub fn rank_users(
    ranker: &Ranker,
    users: &[u32],
    mode: Mode,
    k: usize,
    mask: &Csr,
) -> Result<Vec<Vec<u32>>> {
    let n = ranker.n_items();
    let mut out = Vec::with_capacity(users.len());
    for block in users.chunks(BLOCK) {
        let scores = ranker.score_users(block, mode)?;
        let lists: Vec<Vec<u32>> = block
            .par_iter()
            .enumerate()
            .map(|(r, &u)| top_k(&scores[r * n..(r + 1) * n], k, mask.row(u as usize)))
            .collect();
        out.extend(lists);
    }
    Ok(out)
}

/// The longest list the metrics read (`max(KS)`).
pub(crate) fn k_max() -> usize {
    *KS.iter().max().unwrap_or(&50)
}

/// Evaluates one mode on a prepared task.
pub fn evaluate(ranker: &Ranker, task: &EvalTask, mode: Mode) -> Result<ModeResult> {
    let lists = rank_users(ranker, &task.users, mode, k_max(), &task.mask)?;
    Ok(evaluate_lists(ranker, task, &lists))
}

/// The metrics and bias diagnostics of `lists`, the [`k_max`] top lists of `task.users` (same
/// order).
fn evaluate_lists(ranker: &Ranker, task: &EvalTask, lists: &[Vec<u32>]) -> ModeResult {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    let mut exposure = vec![0u64; ranker.n_items()];
    let mut pop_sum = 0f64;
    let mut pop_n = 0usize;
    let (mut lt_hits, mut lt_users) = (0usize, 0usize);
    for (list, rel) in lists.iter().zip(&task.relevant) {
        for k in KS {
            let (hr, rec, nd) = at_k(list, rel, k);
            *sums.entry(format!("HR@{k}")).or_default() += hr;
            *sums.entry(format!("Recall@{k}")).or_default() += rec;
            *sums.entry(format!("NDCG@{k}")).or_default() += nd;
        }
        for &i in list.iter().take(10) {
            exposure[i as usize] += 1;
            pop_sum += f64::from(task.popularity[i as usize]);
            pop_n += 1;
        }
        let tail: Vec<u32> = rel
            .iter()
            .copied()
            .filter(|&i| task.long_tail[i as usize])
            .collect();
        if !tail.is_empty() {
            lt_users += 1;
            if list.iter().take(10).any(|i| tail.contains(i)) {
                lt_hits += 1;
            }
        }
    }
    let n = task.users.len().max(1) as f64;
    let metrics = sums.into_iter().map(|(k, v)| (k, v / n)).collect();
    let covered = exposure.iter().filter(|&&c| c > 0).count();
    ModeResult {
        metrics,
        bias: BiasReport {
            mean_popularity: pop_sum / pop_n.max(1) as f64,
            coverage: covered as f64 / ranker.n_items().max(1) as f64,
            gini: gini(&exposure),
            longtail_hr10: lt_hits as f64 / lt_users.max(1) as f64,
        },
        users: task.users.len(),
    }
}
