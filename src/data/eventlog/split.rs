//! Splitting an event log's target events into train / valid / test: from a split column, or
//! per user by a rule ([`SplitRule`]): leave-one-out by time, or random shares with a seed.

use std::collections::HashMap;

use polars::prelude::DataFrame;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use super::frame::{string_column, Rows};
use super::time::{format_time, parse_time, TimeFormat};
use crate::data::config::{EventsConfig, SplitRule, TimeCut};
use crate::error::Result;

/// Which split a target event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Training.
    Train,
    /// Validation.
    Valid,
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

/// Timestamps (unix seconds) of the given rows (all rows when `None`), in that order, and a
/// note saying how they were written. A column that mixes formats is an error naming a line of
/// each; text in no known format is ordered as text (`strict`: an error).
pub(super) fn timestamps(
    df: &DataFrame,
    col: &str,
    subset: Option<&[usize]>,
    rows: &Rows,
    strict: bool,
) -> Result<(Vec<f64>, String)> {
    let all = string_column(df, col, rows)?;
    let picked: Vec<usize> = match subset {
        Some(s) => s.to_vec(),
        None => (0..all.len()).collect(),
    };
    let mut text = Vec::with_capacity(picked.len());
    for &r in &picked {
        match all.get(r).map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => text.push(v),
            None => {
                return Err(rows.bad(
                    r,
                    format!("missing timestamp in column `{col}`"),
                    "",
                    if strict {
                        "fill the timestamp of every event (split = \"time\" orders every row)"
                    } else {
                        "fill the timestamp of every target event, or remove the column"
                    },
                ))
            }
        }
    }
    let mut out = Vec::with_capacity(text.len());
    // First row of each format seen, and the first value in no format.
    let mut formats: Vec<(TimeFormat, usize)> = Vec::new();
    let mut unknown: Option<usize> = None;
    for (k, v) in text.iter().enumerate() {
        match parse_time(v) {
            Some((t, f)) => {
                if !formats.iter().any(|x| x.0 == f) {
                    formats.push((f, k));
                }
                out.push(t);
            }
            None => {
                unknown.get_or_insert(k);
                out.push(0.0);
            }
        }
    }
    let line = |k: usize| rows.line(picked[k]);
    if formats.is_empty() && !strict {
        // No known format: ISO-like text still sorts correctly as text.
        let mut sorted = text.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let ranks = text
            .iter()
            .map(|t| sorted.binary_search(t).unwrap_or(0) as f64)
            .collect();
        return Ok((ranks, format!("timestamp column `{col}` is in no known time format (e.g. `{}`); events are ordered by its text", text.first().copied().unwrap_or_default())));
    }
    if let Some(k) = unknown {
        return Err(rows.bad(
            picked[k],
            format!("timestamp in column `{col}` is in no known format"),
            text[k],
            "write unix seconds or milliseconds, or a date-time such as `2019-10-01 00:00:00 UTC`, `2016-01-31 23:59:02` or `2017-11-26T01:00:00Z`",
        ));
    }
    if formats.len() > 1 {
        let (a, ka) = formats[0];
        let (b, kb) = formats[1];
        return Err(rows.bad(
            picked[kb],
            format!(
                "timestamp column `{col}` mixes formats: {} (first at line {}) and {} (first at line {})",
                a.describe(),
                line(ka),
                b.describe(),
                line(kb)
            ),
            text[kb],
            "write every timestamp of the column the same way",
        ));
    }
    let f = formats.first().map_or(TimeFormat::UnixSeconds, |x| x.0);
    let (lo, hi) = out
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &t| {
            (l.min(t), h.max(t))
        });
    Ok((
        out,
        format!(
            "timestamps in column `{col}` read as {} ({} to {})",
            f.describe(),
            format_time(lo),
            format_time(hi)
        ),
    ))
}

/// `split = "time"`: target rows from `test_from` on go to test, from `valid_from` on to
/// valid; auxiliary rows from the first cut on are dropped (they are later than training).
pub(super) fn split_by_time(
    ts: &[f64],
    is_target: &dyn Fn(usize) -> bool,
    cfg: &EventsConfig,
    target: &str,
    tag_of: &mut [Tag],
    dropped: &mut [bool],
) -> Result<String> {
    let (lo, hi) = ts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &t| {
            (l.min(t), h.max(t))
        });
    let at = |c: &Option<TimeCut>| -> Option<f64> {
        match c {
            Some(TimeCut::Fraction(f)) => Some(lo + f * (hi - lo)),
            Some(TimeCut::At(s)) => parse_time(s).map(|x| x.0),
            None => None,
        }
    };
    let test = at(&cfg.test_from).unwrap_or(hi);
    let valid = at(&cfg.valid_from).filter(|&v| v < test);
    let first_cut = valid.unwrap_or(test);
    let (mut n_test, mut n_valid, mut n_drop) = (0usize, 0usize, 0usize);
    for (r, &t) in ts.iter().enumerate() {
        if is_target(r) {
            if t >= test {
                tag_of[r] = Tag::Test;
                n_test += 1;
            } else if valid.is_some_and(|v| t >= v) {
                tag_of[r] = Tag::Valid;
                n_valid += 1;
            }
        } else if t >= first_cut {
            dropped[r] = true;
            n_drop += 1;
        }
    }
    let valid_text = match valid {
        Some(v) => format!(
            ", valid from {} ({n_valid} `{target}` events)",
            format_time(v)
        ),
        None => String::new(),
    };
    Ok(format!(
        "split = time: test from {} ({n_test} `{target}` events){valid_text}; {n_drop} auxiliary events from {} on dropped (the log spans {} to {})",
        format_time(test),
        format_time(first_cut),
        format_time(lo),
        format_time(hi)
    ))
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
    let (mut split_users, mut whole, mut test_only) = (0usize, 0usize, 0usize);
    for u in users {
        let Some(items) = per_user.get_mut(&u) else {
            continue;
        };
        let mut order: Vec<u32> = match cfg.split {
            SplitRule::Loo | SplitRule::Time => {
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
            SplitRule::Loo | SplitRule::Time if n >= 3 => (1, 1),
            SplitRule::Loo | SplitRule::Time if n == 2 => (1, 0),
            SplitRule::Loo | SplitRule::Time => (0, 0),
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
        test_only += usize::from(n_valid == 0);
        for (k, i) in order.drain(..n_test + n_valid).enumerate() {
            tag.insert((u, i), if k < n_test { Tag::Test } else { Tag::Valid });
        }
    }
    let note = match cfg.split {
        SplitRule::Loo | SplitRule::Time => format!(
            "no split column: `{target}` split leave-one-out by {} ({split_users} users give their last item to test, {} of them also the one before to valid ({test_only} users with 2 items give a test item only); {whole} users with one item stay in training)",
            if ts.is_some() { "timestamp" } else { "file order (no timestamp column)" },
            split_users - test_only
        ),        SplitRule::Ratio => format!("no split column: `{target}` split per user by ratio {:?} with seed {} ({whole} users too small to split)", cfg.ratio, cfg.seed),
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
        // user 1 has two items: the later (by file order on a tie) is test, none is valid.
        assert_eq!(tags, vec![Train, Train, Test, Valid, Train, Train, Test]);
        assert!(
            note.contains("2 users give") && note.contains("1 users with 2 items"),
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
