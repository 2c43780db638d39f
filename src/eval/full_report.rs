//! `mclmr eval`'s full report: both modes on the test split, their bias diagnostics, and the
//! interventional split when the dataset has one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::groups::{self, GroupRow};
use super::{evaluate, evaluate_lists, k_max, rank_users, BiasReport, EvalTask, Split};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::{Mode, Ranker};

/// The full report of `mclmr eval`: both modes on the test split, and on the interventional
/// split when the dataset has one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Observational test, `do` ranking.
    #[serde(rename = "do")]
    pub do_: BTreeMap<String, f64>,
    /// Observational test, `raw` ranking.
    pub raw: BTreeMap<String, f64>,
    /// Bias diagnostics per mode (`do`, `raw`).
    pub bias: BTreeMap<String, BiasReport>,
    /// Interventional test per mode, when `test_do.txt` exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interventional: Option<BTreeMap<String, BTreeMap<String, f64>>>,
    /// Users evaluated on the test split.
    pub users: usize,
    /// Seconds spent.
    pub seconds: f64,
}

/// Runs the whole evaluation.
pub fn full_report(ranker: &Ranker, data: &Dataset) -> Result<EvalReport> {
    Ok(report(ranker, data, false)?.0)
}

/// [`full_report`] and the per-group table of [`groups::by_stratum`], both from one ranking
/// of the test users (`mclmr eval --json --with-groups`).
pub fn full_report_with_groups(
    ranker: &Ranker,
    data: &Dataset,
) -> Result<(EvalReport, Vec<GroupRow>)> {
    let (rep, groups) = report(ranker, data, true)?;
    Ok((rep, groups.unwrap_or_default()))
}

/// The report, and with `with_groups` the per-group table from the same test lists. The
/// report's `seconds` leave the groups out.
fn report(
    ranker: &Ranker,
    data: &Dataset,
    with_groups: bool,
) -> Result<(EvalReport, Option<Vec<GroupRow>>)> {
    let start = std::time::Instant::now();
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
    let lr = lr.as_deref().unwrap_or(&ld);
    let d = evaluate_lists(ranker, &task, &ld);
    let r = evaluate_lists(ranker, &task, lr);
    let mut bias = BTreeMap::new();
    bias.insert("do".to_string(), d.bias.clone());
    bias.insert("raw".to_string(), r.bias.clone());
    let interventional = match &data.test_do {
        Some(t) if !t.is_empty() => {
            let task = EvalTask::new(data, Split::TestDo, None);
            let di = evaluate(ranker, &task, Mode::Do)?;
            let ri = if ranker.has_causal() {
                evaluate(ranker, &task, Mode::Raw)?
            } else {
                di.clone()
            };
            let mut m = BTreeMap::new();
            m.insert("do".to_string(), di.metrics);
            m.insert("raw".to_string(), ri.metrics);
            Some(m)
        }
        _ => None,
    };
    let rep = EvalReport {
        do_: d.metrics,
        raw: r.metrics,
        bias,
        interventional,
        users: task.users.len(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let groups = with_groups.then(|| groups::groups_of(ranker, &task, &ld, lr));
    Ok((rep, groups))
}
