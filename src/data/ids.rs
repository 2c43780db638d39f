//! From raw ids to dense indices.
//!
//! Readers produce *keys*: the numeric id itself for the text layouts, or an index into a
//! table of interned strings for event logs ([`KeySpace`]). [`IdMap`] turns keys into dense
//! indices `0..n` and keeps the original ids as strings. The order is canonical so that the same
//! events in any layout give the same dataset: numeric ids sort numerically, other ids
//! lexicographically. With `count.txt` the universe is the declared id range instead
//! ([`declared_universe`]), whose base (0 or 1) is read from the data, never guessed silently.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::pairs::RawPairs;
use super::textscan::{check_utf8, read_file};
use crate::error::{Error, Result};

/// What the `u32` keys of a reader mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpace {
    /// The key is the numeric id.
    Numeric,
    /// The key indexes this table of original string ids.
    Interned(Vec<String>),
}

/// The id universe declared by `count.txt` (JSON `{"user": N, "item": M}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The file it came from.
    pub file: PathBuf,
    /// Declared number of users.
    pub users: u32,
    /// Declared number of items.
    pub items: u32,
}

/// Reads `count.txt`.
pub fn read_count(path: &Path) -> Result<Count> {
    #[derive(serde::Deserialize)]
    struct Raw {
        user: u64,
        item: u64,
    }
    let bytes = read_file(path)?;
    check_utf8(path, &bytes)?;
    let fix = "count.txt must be JSON like {\"user\": 41738, \"item\": 11953} (positive counts), or be removed";
    let text = String::from_utf8_lossy(super::textscan::strip_bom(&bytes)).into_owned();
    let raw: Raw = serde_json::from_str(&text).map_err(|e| {
        Error::bad_data(
            path,
            Some(e.line()),
            format!("invalid count.txt ({e})"),
            text.trim(),
            fix,
        )
    })?;
    let small = |v: u64| u32::try_from(v).ok().filter(|&v| v > 0);
    match (small(raw.user), small(raw.item)) {
        (Some(users), Some(items)) => Ok(Count {
            file: path.to_path_buf(),
            users,
            items,
        }),
        _ => Err(Error::bad_data(
            path,
            None,
            "count.txt declares an empty or oversized universe",
            text.trim(),
            fix,
        )),
    }
}

/// Dense indices for one kind of id (users or items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    /// Original ids, indexed by dense index.
    pub ids: Vec<String>,
    lookup: Lookup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// dense = key − base, for keys in `base..base + n`.
    Offset(u32),
    /// dense = table[key] (`u32::MAX`: absent).
    Table(Vec<u32>),
    /// dense = position of key in this sorted list.
    Sorted(Vec<u32>),
}

impl IdMap {
    /// The ids observed among `keys`, in canonical order.
    pub fn observed(space: &KeySpace, keys: impl Iterator<Item = u32>) -> IdMap {
        match space {
            KeySpace::Numeric => {
                let mut sorted: Vec<u32> = keys.collect();
                sorted.sort_unstable();
                sorted.dedup();
                let ids = sorted.iter().map(u32::to_string).collect();
                let max = sorted.last().copied().unwrap_or(0) as usize;
                // A direct table is fastest; fall back to binary search for sparse huge ids.
                let lookup = if max <= 4 * sorted.len() + (1 << 20) {
                    let mut table = vec![u32::MAX; max + 1];
                    for (d, &k) in sorted.iter().enumerate() {
                        if let Some(t) = table.get_mut(k as usize) {
                            *t = d as u32;
                        }
                    }
                    Lookup::Table(table)
                } else {
                    Lookup::Sorted(sorted)
                };
                IdMap { ids, lookup }
            }
            KeySpace::Interned(strings) => {
                let mut used = vec![false; strings.len()];
                for k in keys {
                    if let Some(u) = used.get_mut(k as usize) {
                        *u = true;
                    }
                }
                let mut order: Vec<u32> = (0..strings.len() as u32)
                    .filter(|&k| used[k as usize])
                    .collect();
                let numeric = strings.iter().all(|s| is_digits(s));
                order.sort_by(|&a, &b| {
                    id_order(&strings[a as usize], &strings[b as usize], numeric)
                });
                let mut table = vec![u32::MAX; strings.len()];
                let mut ids = Vec::with_capacity(order.len());
                for (d, &k) in order.iter().enumerate() {
                    table[k as usize] = d as u32;
                    ids.push(strings[k as usize].clone());
                }
                IdMap {
                    ids,
                    lookup: Lookup::Table(table),
                }
            }
        }
    }

    /// The declared universe `base..base + n` (numeric keys).
    pub fn declared(n: u32, base: u32) -> IdMap {
        IdMap {
            ids: (0..n)
                .map(|d| (u64::from(d) + u64::from(base)).to_string())
                .collect(),
            lookup: Lookup::Offset(base),
        }
    }

    /// Dense index of a key, if it is in the universe.
    pub fn get(&self, key: u32) -> Option<u32> {
        let d = match &self.lookup {
            Lookup::Offset(base) => key.checked_sub(*base)?,
            Lookup::Table(t) => *t.get(key as usize)?,
            Lookup::Sorted(s) => s.binary_search(&key).ok()? as u32,
        };
        ((d as usize) < self.ids.len()).then_some(d)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there is no id.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// True for a non-empty string of ASCII digits.
pub fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Canonical id order: by numeric value when every id is digits (compared as text, so no size
/// limit), else by bytes; ties (`7` vs `007`) by bytes.
fn id_order(a: &str, b: &str, numeric: bool) -> Ordering {
    if numeric {
        let ta = a.trim_start_matches('0');
        let tb = b.trim_start_matches('0');
        ta.len()
            .cmp(&tb.len())
            .then_with(|| ta.cmp(tb))
            .then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// The user and item universes declared by `count.txt`, with the id base read from the data:
/// 0-based when id 0 appears, 1-based when id N (or M) appears, an error when both do or when
/// an id falls outside; otherwise `id_base` from the config, or 1-based with a note.
pub fn declared_universe(
    count: &Count,
    id_base: Option<u8>,
    sources: &[&RawPairs],
) -> Result<(IdMap, IdMap, Option<String>)> {
    let find = |pred: &dyn Fn(u32, u32) -> bool| {
        sources.iter().find_map(|s| {
            s.pairs
                .iter()
                .position(|&(u, i)| pred(u, i))
                .map(|k| (s, k))
        })
    };
    let (n, m) = (count.users, count.items);
    let zero = find(&|u, i| u == 0 || i == 0);
    let top = find(&|u, i| u == n || i == m);
    let locate = |(s, k): (&&RawPairs, usize)| {
        let (u, i) = s.pairs.get(k).copied().unwrap_or_default();
        let line = s.lines.get(k).map(|&l| l as usize);
        (s.file.clone(), line, format!("{u} {i}"))
    };
    let range_fix = format!(
        "ids must be 0..{} (0-based) or 1..{n} (1-based) for users and likewise for items; \
         fix count.txt ({}) or the ids",
        n - 1,
        count.file.display()
    );
    if let (Some(_), Some(t)) = (zero, top) {
        let (file, line, value) = locate(t);
        return Err(Error::bad_data(
            file,
            line,
            format!(
                "count.txt declares {n} users and {m} items, but id 0 and the top id both appear"
            ),
            value,
            range_fix,
        ));
    }
    let seen = zero.map(|z| (0u8, z)).or(top.map(|t| (1u8, t)));
    let mut note = None;
    let base = match (seen, id_base) {
        (Some((b, at)), Some(cfg)) if b != cfg => {
            let (file, line, value) = locate(at);
            return Err(Error::bad_data(
                file,
                line,
                format!("dataset.toml says id_base = {cfg}, but this pair implies {b}-based ids"),
                value,
                "fix id_base in dataset.toml (or remove it: the base is read from the data)",
            ));
        }
        (Some((b, _)), _) => b,
        (None, Some(cfg)) => cfg,
        (None, None) => {
            note = Some(format!(
                "count.txt: neither id 0 nor the top ids ({n} users, {m} items) appear; assuming \
                 1-based ids (set id_base = 0 in dataset.toml if they are 0-based)"
            ));
            1
        }
    };
    let base = u32::from(base);
    let users = IdMap::declared(n, base);
    let items = IdMap::declared(m, base);
    for s in sources {
        for (k, &(u, i)) in s.pairs.iter().enumerate() {
            if users.get(u).is_none() || items.get(i).is_none() {
                let (kind, v, top) = if users.get(u).is_none() {
                    ("user", u, n)
                } else {
                    ("item", i, m)
                };
                let range = format!("{base}..={}", u64::from(top) + u64::from(base) - 1);
                return Err(Error::bad_data(
                    &s.file,
                    s.lines.get(k).map(|&l| l as usize),
                    format!("{kind} id outside the range declared in count.txt ({range})"),
                    v.to_string(),
                    range_fix,
                ));
            }
        }
    }
    Ok((users, items, note))
}

/// A note on a declared universe with ids that occur in no file, if there are any.
pub fn unused_note(users: &IdMap, items: &IdMap, sources: &[&RawPairs]) -> Option<String> {
    let unused = |m: &IdMap, key: fn(&(u32, u32)) -> u32| {
        let mut used = vec![false; m.len()];
        for p in sources.iter().flat_map(|r| &r.pairs) {
            if let Some(u) = m.get(key(p)).and_then(|d| used.get_mut(d as usize)) {
                *u = true;
            }
        }
        used.iter().filter(|&&x| !x).count()
    };
    let (nu, ni) = (unused(users, |p| p.0), unused(items, |p| p.1));
    (nu + ni > 0).then(|| {
        format!(
            "count.txt declares {} users and {} items ({}-based ids); {nu} users and {ni} items \
             occur in no file",
            users.len(),
            items.len(),
            users.ids.first().map_or("1", String::as_str),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(u32, u32)]) -> RawPairs {
        let mut r = RawPairs::new("buy", "buy.txt");
        for (k, &(u, i)) in pairs.iter().enumerate() {
            r.push(u, i, k + 1);
        }
        r
    }

    fn count(users: u32, items: u32) -> Count {
        Count {
            file: "count.txt".into(),
            users,
            items,
        }
    }

    #[test]
    fn numeric_ids_sort_numerically() {
        let m = IdMap::observed(&KeySpace::Numeric, [10, 2, 10, 7].into_iter());
        assert_eq!(m.ids, vec!["2", "7", "10"]);
        assert_eq!((m.get(10), m.get(2), m.get(3)), (Some(2), Some(0), None));
        let sparse = IdMap::observed(&KeySpace::Numeric, [4_000_000_000, 5].into_iter());
        assert_eq!(sparse.get(4_000_000_000), Some(1));
    }

    #[test]
    fn string_ids_sort_numeric_aware_or_lexicographic() {
        let s = KeySpace::Interned(vec!["10".into(), "9".into(), "100".into()]);
        assert_eq!(IdMap::observed(&s, 0..3).ids, vec!["9", "10", "100"]);
        let s = KeySpace::Interned(vec!["b".into(), "a10".into(), "a9".into()]);
        let m = IdMap::observed(&s, [0, 1, 2].into_iter());
        assert_eq!(m.ids, vec!["a10", "a9", "b"]);
        assert_eq!(m.get(0), Some(2));
    }

    #[test]
    fn base_detection() {
        let (u, i, note) = declared_universe(&count(3, 4), None, &[&raw(&[(0, 1)])]).unwrap();
        assert_eq!((u.ids[0].as_str(), i.len(), note), ("0", 4, None));
        let (u, _, _) = declared_universe(&count(3, 4), None, &[&raw(&[(3, 1)])]).unwrap();
        assert_eq!(u.ids, vec!["1", "2", "3"]);
        assert_eq!(u.get(3), Some(2));
        let (u, _, note) = declared_universe(&count(3, 4), None, &[&raw(&[(2, 2)])]).unwrap();
        assert_eq!(u.ids[0], "1");
        assert!(note.unwrap().contains("assuming 1-based"));
        let (u, _, note) = declared_universe(&count(3, 4), Some(0), &[&raw(&[(2, 2)])]).unwrap();
        assert_eq!((u.ids[0].as_str(), note), ("0", None));
    }

    #[test]
    fn base_errors() {
        let e = declared_universe(&count(3, 4), None, &[&raw(&[(0, 1), (3, 1)])]).unwrap_err();
        assert!(e.to_string().contains("buy.txt:2"), "{e}");
        let e = declared_universe(&count(3, 4), None, &[&raw(&[(1, 1), (9, 1)])]).unwrap_err();
        assert!(e.to_string().contains("user id outside the range"), "{e}");
        let e = declared_universe(&count(3, 4), Some(1), &[&raw(&[(0, 1)])]).unwrap_err();
        assert!(e.to_string().contains("id_base = 1"), "{e}");
    }
}
