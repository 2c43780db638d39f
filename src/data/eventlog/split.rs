//! Splitting an event log's target events into train / valid / test: from a split column, or
//! per user by a rule ([`SplitRule`]): leave-one-out by time, or random shares with a seed.

use std::collections::HashMap;

use polars::prelude::DataFrame;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use super::frame::{string_column, Rows};
use crate::data::config::{EventsConfig, SplitRule};
use crate::error::Result;

/// Which split a target event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Training.
    Train,
    /// Validation.
    Valid,
    /// Test.
    Test,
}

pub(super) fn split_from_column(
    df: &DataFrame,
    col: &str,
    target_rows: &[usize],
    rows: &Rows,
) -> Result<Vec<Tag>> {
    let sc = string_column(df, col, rows)?;
    let vals: Vec<Option<&str>> = sc.iter().collect();
    target_rows
        .iter()
        .map(|&r| {
            match vals
                .get(r)
                .copied()
                .flatten()
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                Some("train") => Ok(Tag::Train),
                Some("valid" | "validation") => Ok(Tag::Valid),
                Some("test") => Ok(Tag::Test),
                other => Err(rows.bad(
                    r,
                    format!("bad value in split column `{col}`"),
                    other.unwrap_or(""),
                    "use train, valid or test on every target row",
                )),
            }
        })
        .collect()
}

/// Timestamps of the target rows as numbers (ranks of the text when not all numeric).
pub(super) fn timestamps(
    df: &DataFrame,
    col: &str,
    target_rows: &[usize],
    rows: &Rows,
) -> Result<Vec<f64>> {
    let all = string_column(df, col, rows)?;
    let vals: Vec<Option<&str>> = all.iter().collect();
    let mut text = Vec::with_capacity(target_rows.len());
    for &r in target_rows {
        match vals
            .get(r)
            .copied()
            .flatten()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(v) => text.push(v),
            None => {
                return Err(rows.bad(
                    r,
                    format!("missing timestamp in column `{col}`"),
                    "",
                    "fill the timestamp of every target event, or remove the column",
                ))
            }
        }
    }
    if let Some(nums) = text
        .iter()
        .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<_>>>()
    {
        return Ok(nums);
    }
    // ISO dates and similar sort correctly as text.
    let mut sorted = text.clone();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(text
        .iter()
        .map(|t| sorted.binary_search(t).unwrap_or(0) as f64)
        .collect())
}

/// Splits target events (given in file order) per user, at the pair level: all events of a pair
/// go to the same split. `loo`: users with ≥ 3 distinct items give their last item (by the time
/// of its last event, ties by file order) to test and the one before to valid. `ratio`: each
/// user's distinct items are shuffled with `seed` and cut by the shares.
pub fn split_by_rule(
    pairs: &[(u32, u32)],
    ts: Option<&[f64]>,
    cfg: &EventsConfig,
    target: &str,
) -> (Vec<Tag>, String) {
    // Last event of each distinct pair: (user, item) -> (time, row).
    let mut last: HashMap<(u32, u32), (f64, usize)> = HashMap::new();
    for (r, &p) in pairs.iter().enumerate() {
        let t = ts.and_then(|t| t.get(r).copied()).unwrap_or(r as f64);
        let e = last.entry(p).or_insert((t, r));
        if t.total_cmp(&e.0).is_ge() {
            *e = (t, r);
        }
    }
    let mut per_user: HashMap<u32, Vec<(f64, usize, u32)>> = HashMap::new();
    for (&(u, i), &(t, r)) in &last {
        per_user.entry(u).or_default().push((t, r, i));
    }
    let mut users: Vec<u32> = per_user.keys().copied().collect();
    users.sort_unstable();
    let mut tag: HashMap<(u32, u32), Tag> = HashMap::new();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let (mut split_users, mut whole) = (0usize, 0usize);
    for u in users {
        let Some(items) = per_user.get_mut(&u) else {
            continue;
        };
        let mut order: Vec<u32> = match cfg.split {
            SplitRule::Loo => {
                items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                items.iter().rev().map(|x| x.2).collect()
            }
            SplitRule::Ratio => {
                let mut v: Vec<u32> = items.iter().map(|x| x.2).collect();
                v.sort_unstable();
                v.shuffle(&mut rng);
                v
            }
        };
        let n = order.len();
        let (n_test, n_valid) = match cfg.split {
            SplitRule::Loo if n >= 3 => (1, 1),
            SplitRule::Loo => (0, 0),
            SplitRule::Ratio => {
                let sum: f64 = cfg.ratio.iter().sum();
                let share = |k: usize| (n as f64 * cfg.ratio[k] / sum).round() as usize;
                let t = share(2).min(n.saturating_sub(1));
                (t, share(1).min(n.saturating_sub(1 + t)))
            }
        };
        if n_test + n_valid == 0 {
            whole += 1;
            continue;
        }
        split_users += 1;
        for (k, i) in order.drain(..n_test + n_valid).enumerate() {
            tag.insert((u, i), if k < n_test { Tag::Test } else { Tag::Valid });
        }
    }
    let note = match cfg.split {
        SplitRule::Loo => format!(
            "no split column: `{target}` split leave-one-out by {} ({split_users} users give their last item to test and the one before to valid; {whole} users with fewer than 3 items stay in training)",
            if ts.is_some() { "timestamp" } else { "file order (no timestamp column)" }
        ),
        SplitRule::Ratio => format!("no split column: `{target}` split per user by ratio {:?} with seed {} ({whole} users too small to split)", cfg.ratio, cfg.seed),
    };
    let tags = pairs
        .iter()
        .map(|p| tag.get(p).copied().unwrap_or(Tag::Train))
        .collect();
    (tags, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(split: SplitRule) -> EventsConfig {
        EventsConfig {
            split,
            ..Default::default()
        }
    }

    #[test]
    fn loo_takes_the_last_item_by_time_then_file_order() {
        // user 0: items 1@5, 2@3, 3@9, 4@7, and 1 again @1 (its last event stays @5).
        let pairs = [(0, 1), (0, 2), (0, 3), (0, 4), (0, 1), (1, 1), (1, 2)];
        let ts = [5.0, 3.0, 9.0, 7.0, 1.0, 0.0, 0.0];
        let (tags, note) = split_by_rule(&pairs, Some(&ts), &cfg(SplitRule::Loo), "buy");
        use Tag::*;
        assert_eq!(tags, vec![Train, Train, Test, Valid, Train, Train, Train]);
        assert!(
            note.contains("1 users give") && note.contains("1 users with fewer"),
            "{note}"
        );
        // Ties and no timestamps: file order decides.
        let (tags, _) = split_by_rule(&[(0, 7), (0, 8), (0, 9)], None, &cfg(SplitRule::Loo), "buy");
        assert_eq!(tags, vec![Train, Valid, Test]);
    }

    #[test]
    fn all_events_of_a_test_pair_leave_train() {
        let pairs = [(0, 9), (0, 1), (0, 2), (0, 9)];
        let (tags, _) = split_by_rule(&pairs, None, &cfg(SplitRule::Loo), "buy");
        assert_eq!(tags, vec![Tag::Test, Tag::Train, Tag::Valid, Tag::Test]);
    }

    #[test]
    fn ratio_is_deterministic_and_keeps_a_training_item() {
        let pairs: Vec<(u32, u32)> = (0..3).flat_map(|u| (0..10).map(move |i| (u, i))).collect();
        let c = cfg(SplitRule::Ratio);
        let (a, _) = split_by_rule(&pairs, None, &c, "buy");
        let (b, _) = split_by_rule(&pairs, None, &c, "buy");
        assert_eq!(a, b);
        let count = |t: Tag| a.iter().filter(|&&x| x == t).count();
        assert_eq!(
            (count(Tag::Train), count(Tag::Valid), count(Tag::Test)),
            (24, 3, 3)
        );
        let other = EventsConfig {
            seed: 8,
            ..c.clone()
        };
        assert_ne!(split_by_rule(&pairs, None, &other, "buy").0, a);
        let (one, _) = split_by_rule(&[(0, 1)], None, &c, "buy");
        assert_eq!(one, vec![Tag::Train]);
    }
}
