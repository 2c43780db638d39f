//! The grid report's results per stratum (issue 16): `do` and `raw` NDCG@10 per item popularity
//! bucket, and over the user habit strata the worst and the best stratum, from each row's
//! `mclmr eval --by stratum` groups.

use serde_json::Value;

use super::report::{fmt_ms, Groups};

/// `mean ± std`, or a dash when no run has the figure.
fn cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        "–".into()
    } else {
        fmt_ms(xs)
    }
}

/// The group entries of one row with this `by` (`popularity`, `user_stratum`, …).
fn entries<'a>(row: &'a Value, by: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    row["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |g| g["by"] == by)
}

/// Per row, NDCG@10 of `mode` in the popularity bucket `bucket`.
fn bucket_ndcg(rows: &[&Value], bucket: &str, mode: &str) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| {
            entries(r, "popularity")
                .find(|g| g["group"] == bucket)
                .and_then(|g| g[mode]["NDCG@10"].as_f64())
        })
        .collect()
}

/// Per row, the lowest (`worst`) or highest NDCG@10 of `mode` over the user habit strata.
fn stratum_extreme(rows: &[&Value], mode: &str, worst: bool) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| {
            let v = entries(r, "user_stratum").filter_map(|g| g[mode]["NDCG@10"].as_f64());
            if worst {
                v.reduce(f64::min)
            } else {
                v.reduce(f64::max)
            }
        })
        .collect()
}

/// The per-stratum tables, or nothing when no row has groups (rows from before they were
/// recorded).
pub(super) fn strata_tables(groups: &[(String, String)], by: &Groups) -> String {
    // Each group's rows that recorded groups, once for both tables.
    let with_groups: Vec<(&(String, String), Vec<&Value>)> = groups
        .iter()
        .map(|key| {
            let rs = by[key].iter().copied().filter(|r| r["groups"].is_array());
            (key, rs.collect::<Vec<_>>())
        })
        .filter(|(_, rs)| !rs.is_empty())
        .collect();
    if with_groups.is_empty() {
        return String::new();
    }
    let buckets: Vec<String> = (1..=5).map(|b| b.to_string()).collect();
    let mut s = String::from(
        "\nPer item popularity bucket (test items in five equal-count buckets, 1 = least \
         popular; `mclmr eval --by stratum`): NDCG@10 `do` / `raw`.\n\n| backbone | variant |",
    );
    for b in &buckets {
        s.push_str(&format!(" bucket {b} |"));
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---:|".repeat(buckets.len()));
    s.push('\n');
    for (key, rs) in &with_groups {
        s.push_str(&format!("| {} | {} |", key.0, key.1));
        for b in &buckets {
            s.push_str(&format!(
                " {} / {} |",
                cell(&bucket_ndcg(rs, b, "do")),
                cell(&bucket_ndcg(rs, b, "raw"))
            ));
        }
        s.push('\n');
    }
    s.push_str(
        "\nOver the user habit strata: NDCG@10 of the worst and the best stratum (per run, then \
         mean ± std over seeds).\n\n| backbone | variant | worst `do` | worst `raw` | best `do` \
         | best `raw` |\n|---|---|---:|---:|---:|---:|\n",
    );
    for (key, rs) in &with_groups {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            key.0,
            key.1,
            cell(&stratum_extreme(rs, "do", true)),
            cell(&stratum_extreme(rs, "raw", true)),
            cell(&stratum_extreme(rs, "do", false)),
            cell(&stratum_extreme(rs, "raw", false))
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(seed: u64, pop1: f64, strata: &[f64]) -> Value {
        let mut groups = vec![json!({"by": "popularity", "group": "1",
            "do": {"NDCG@10": pop1}, "raw": {"NDCG@10": pop1 / 2.0}})];
        for (k, &v) in strata.iter().enumerate() {
            groups.push(json!({"by": "user_stratum", "group": k.to_string(),
                "do": {"NDCG@10": v}, "raw": {"NDCG@10": v + 0.1}}));
        }
        json!({"backbone": "mf", "variant": "mclmr", "seed": seed, "groups": groups})
    }

    #[test]
    fn buckets_average_over_seeds_and_strata_take_the_extremes_per_run() {
        let rows = [row(1, 0.2, &[0.3, 0.5]), row(2, 0.4, &[0.1, 0.7])];
        let key = ("mf".to_string(), "mclmr".to_string());
        let mut by = Groups::new();
        by.insert(key.clone(), rows.iter().collect());
        let t = strata_tables(&[key], &by);
        // Bucket 1: do mean 0.3 (0.2, 0.4), raw 0.15; bucket 2 absent.
        assert!(
            t.contains("| mf | mclmr | 0.3000 ± 0.1414 / 0.1500 ± 0.0707 | – / – |"),
            "{t}"
        );
        // Worst do per run 0.3 and 0.1 → 0.2; best do 0.5, 0.7 → 0.6.
        assert!(t.contains("| mf | mclmr | 0.2000 ± 0.1414 | 0.3000 ± 0.1414 | 0.6000 ± 0.1414 | 0.7000 ± 0.1414 |"), "{t}");
        let old = [json!({"backbone": "mf", "variant": "mclmr"})];
        let mut by_old = Groups::new();
        by_old.insert(("mf".into(), "mclmr".into()), old.iter().collect());
        assert_eq!(strata_tables(&[("mf".into(), "mclmr".into())], &by_old), "");
    }
}
