//! Fuzzy search over original user ids: type part of an id and the best matches come first
//! (exact, then prefix, then substring, then any in-order subsequence; shorter ids win ties).

/// Matches kept for display.
pub const MAX_MATCHES: usize = 200;

/// How well `query` matches `cand` (higher is better), or `None` when its characters do not
/// appear in order. Case-insensitive.
pub fn fuzzy_score(query: &str, cand: &str) -> Option<i64> {
    let q = query.to_lowercase();
    let c = cand.to_lowercase();
    let extra = c.chars().count() as i64 - q.chars().count() as i64;
    if q.is_empty() {
        return Some(0);
    }
    if c == q {
        return Some(4000);
    }
    if c.starts_with(&q) {
        return Some(3000 - extra);
    }
    if let Some(pos) = c.find(&q) {
        return Some(2000 - pos as i64 - extra);
    }
    // In-order subsequence; penalise the gaps between matched characters.
    let mut gaps = 0i64;
    let mut last: Option<usize> = None;
    let mut chars = c.char_indices();
    for qc in q.chars() {
        let (idx, _) = chars.by_ref().find(|&(_, cc)| cc == qc)?;
        if let Some(l) = last {
            gaps += (idx - l - 1) as i64;
        }
        last = Some(idx);
    }
    Some(1000 - 10 * gaps - extra)
}

/// Indices of the best-matching ids (at most `limit`), best first, ties by index.
pub fn search(ids: &[String], query: &str, limit: usize) -> Vec<u32> {
    let mut scored: Vec<(i64, u32)> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| fuzzy_score(query, id).map(|s| (s, i as u32)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(limit);
    scored.into_iter().map(|x| x.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_of_match_kinds() {
        let ids: Vec<String> = ["123", "12", "312", "1x2", "45", "112"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // exact "12", prefix "123", substrings "112" (pos 1) and "312" (pos 1), subsequence "1x2".
        assert_eq!(search(&ids, "12", 10), vec![1, 0, 2, 5, 3]);
        assert_eq!(search(&ids, "", 2), vec![0, 1]);
        assert!(search(&ids, "9", 10).is_empty());
        assert_eq!(fuzzy_score("AB", "ab"), Some(4000));
    }
}
