//! `DataStats::compute`: the counts, split sizes, duplicates and overlaps of a loaded dataset.

use super::{DataStats, Ordered, Overlap, Splits};
use crate::data::Dataset;

impl DataStats {
    /// Computes the statistics of a loaded dataset.
    pub fn compute(ds: &Dataset) -> DataStats {
        let t = ds.target();
        let cells = (ds.n_users() as f64 * ds.n_items() as f64).max(1.0);
        let behaviors: Vec<(String, usize)> = ds
            .behaviors
            .iter()
            .enumerate()
            .map(|(k, b)| {
                (
                    b.name.clone(),
                    b.len() + if k == t { ds.held_out } else { 0 },
                )
            })
            .collect();
        let density = behaviors
            .iter()
            .map(|(n, c)| (n.clone(), *c as f64 / cells))
            .collect();
        let train = &ds.target_train().pairs;
        let mut test = ds.test.clone();
        test.sort_unstable();
        let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let overlap = ds.behaviors[..t]
            .iter()
            .map(|b| {
                let tr = intersection(&b.pairs, train);
                let te = intersection(&b.pairs, &test);
                Overlap {
                    behavior: b.name.clone(),
                    train: tr,
                    train_share: share(tr, train.len()),
                    test: te,
                    test_share: share(te, test.len()),
                }
            })
            .collect();
        DataStats {
            users: ds.n_users(),
            items: ds.n_items(),
            behaviors: Ordered(behaviors),
            splits: Splits {
                train: train.len(),
                valid: ds.valid.len(),
                test: ds.test.len(),
            },
            test_do: ds.test_do.as_ref().map(Vec::len),
            name: ds.name.clone(),
            fingerprint: ds.fingerprint(),
            target: ds.behaviors[t].name.clone(),
            held_out: ds.held_out,
            density: Ordered(density),
            duplicates: Ordered(
                ds.behaviors
                    .iter()
                    .map(|b| (b.name.clone(), b.duplicates()))
                    .collect(),
            ),
            overlap,
            notes: ds.notes.clone(),
        }
    }
}

/// Number of common elements of two sorted, duplicate-free lists.
fn intersection(a: &[(u32, u32)], b: &[(u32, u32)]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Interactions;

    fn tiny() -> Dataset {
        let ids = |n: usize| (1..=n).map(|k| k.to_string()).collect::<Vec<_>>();
        let view = Interactions::from_raw("view", vec![(0, 0), (0, 1), (1, 2), (1, 2), (2, 3)]);
        let buy = Interactions::from_raw("buy", vec![(0, 1), (2, 0)]);
        let mut ds = Dataset::from_parts(
            "tiny".into(),
            "x".into(),
            ids(3),
            ids(4),
            vec![view, buy],
            vec![(1, 3)],
            vec![(1, 2), (2, 3)],
            None,
            vec!["a note".into()],
        );
        ds.held_out = 1;
        ds
    }

    #[test]
    fn counts_overlaps_and_json_shape() {
        let s = DataStats::compute(&tiny());
        assert_eq!(s.behaviors.0, vec![("view".into(), 4), ("buy".into(), 3)]);
        assert_eq!(
            s.splits,
            Splits {
                train: 2,
                valid: 1,
                test: 2
            }
        );
        assert_eq!(s.duplicates.0[0].1, 1);
        assert_eq!((s.overlap[0].train, s.overlap[0].test), (1, 2));
        assert!((s.overlap[0].test_share - 1.0).abs() < 1e-12);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with(r#"{"users":3,"items":4,"behaviors":{"view":4,"buy":3},"splits":{"train":2,"valid":1,"test":2}"#), "{json}");
        let card = s.card();
        assert!(
            card.contains("tiny") && card.contains("a note") && card.contains("held out"),
            "{card}"
        );
    }
}
