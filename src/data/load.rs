//! Loading a dataset from any layout: resolve the path and `dataset.toml`, pick the reader
//! (pair files, per-user line files or an event log), then [`assemble`] the raw pairs into a
//! [`Dataset`]: dense ids, validation policy, cold and overlapping test pairs, notes.

use std::path::{Path, PathBuf};

use super::config::{behavior_list_problem, ColdTest, DatasetConfig, Layout, ValidPolicy};
use super::ids::{declared_universe, Count, IdMap, KeySpace};
use super::items::{read_items_file, ItemMeta, RawItemMeta};
use super::pairs::{read_split_dir, RawPairs};
use super::{eventlog, Dataset, Interactions};
use crate::error::{Error, Result};

/// Options of a load that come from the command line; they override `dataset.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// Behavior order, weakest → target.
    pub behaviors: Option<Vec<String>>,
    /// A dataset config to use instead of `DIR/dataset.toml`.
    pub config: Option<PathBuf>,
    /// Validation policy.
    pub valid_policy: Option<ValidPolicy>,
}

/// What a reader hands to [`assemble`]: raw pairs per behavior (weakest → target, the last
/// being the target's training split) and per split, with the meaning of their keys.
#[derive(Debug, Clone)]
pub struct RawData {
    /// Training pairs per behavior; the last is the target's train split.
    pub behaviors: Vec<RawPairs>,
    /// Target validation pairs, if any.
    pub valid: Option<RawPairs>,
    /// Target test pairs.
    pub test: RawPairs,
    /// Interventional test pairs (synthetic data).
    pub test_do: Option<RawPairs>,
    /// Meaning of the user keys.
    pub users: KeySpace,
    /// Meaning of the item keys.
    pub items: KeySpace,
    /// The declared id universe (`count.txt`).
    pub count: Option<Count>,
    /// Notes gathered while reading.
    pub notes: Vec<String>,
    /// Item metadata from the event log's `item_columns`.
    pub item_meta: Option<super::items::RawItemMeta>,
}

/// Loads a dataset from a directory (pair files, per-user line files, or an event log named by
/// `dataset.toml`) or from a single `.csv` / `.tsv` / `.parquet` event log.
pub fn load_dataset(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_data(
            path,
            None,
            "dataset path does not exist",
            path.display().to_string(),
            "pass a directory of pair files (view.txt, buy.txt, test.txt, …) or a .csv/.tsv/.parquet event log",
        ),
        _ => Error::io(path, e),
    })?;
    let cfg = match &opts.config {
        Some(c) => DatasetConfig::from_file(c)?,
        None if meta.is_dir() && path.join("dataset.toml").is_file() => {
            DatasetConfig::from_file(&path.join("dataset.toml"))?
        }
        None => DatasetConfig::default(),
    };
    let behaviors = opts.behaviors.clone().or_else(|| cfg.behaviors.clone());
    if let Some(list) = &behaviors {
        if let Some(problem) = behavior_list_problem(list) {
            return Err(Error::bad_arg(
                problem,
                list.join(","),
                "list distinct names, weakest → target",
            ));
        }
    }
    let mut raw = read_raw(path, meta.is_dir(), &cfg, behaviors.as_deref())?;
    let name = dataset_name(path, meta.is_dir(), &cfg);
    let mut metas: Vec<RawItemMeta> = raw.item_meta.take().into_iter().collect();
    let mut item_notes = Vec::new();
    if let Some(f) = &cfg.items {
        metas.push(read_items_of(path, meta.is_dir(), f, &mut item_notes)?);
    }
    let settings = Settings {
        valid: opts.valid_policy.or(cfg.valid).unwrap_or_default(),
        cold_test: cfg.cold_test.unwrap_or_default(),
        id_base: cfg.id_base,
    };
    let mut ds = assemble(raw, name, path.to_path_buf(), settings)?;
    if !metas.is_empty() {
        let mut notes = item_notes;
        let index = |id: &str| ds.item_index(id);
        let meta = ItemMeta::attach(metas, ds.n_items(), index, &mut notes);
        ds.notes.extend(notes);
        ds.item_meta = meta;
    }
    Ok(ds)
}

/// The raw pairs of the dataset at `path`, by its layout: configured, an event log named by
/// `[events]`, a lone event log in the directory, or pair / per-user line files.
fn read_raw(
    path: &Path,
    is_dir: bool,
    cfg: &DatasetConfig,
    behaviors: Option<&[String]>,
) -> Result<RawData> {
    let ev = cfg.events.clone().unwrap_or_default();
    let raw = if is_dir {
        let layout = cfg.layout.or(cfg.events.as_ref().map(|_| Layout::Events));
        match layout {
            Some(Layout::Pairs) => read_split_dir(path, behaviors, Some(false))?,
            Some(Layout::UserLines) => read_split_dir(path, behaviors, Some(true))?,
            Some(Layout::Events) => {
                let (files, source) = eventlog::events_files(path, ev.file.as_deref())?;
                eventlog::read_event_log(&files, &source, &ev, behaviors)?
            }
            None => match eventlog::lone_event_log(path)? {
                Some(file) => {
                    let mut raw = eventlog::read_event_log(
                        std::slice::from_ref(&file),
                        &file,
                        &ev,
                        behaviors,
                    )?;
                    raw.notes
                        .push(format!("read the event log {}", file.display()));
                    raw
                }
                None => read_split_dir(path, behaviors, None)?,
            },
        }
    } else if eventlog::is_event_log(path) {
        eventlog::read_event_log(&[path.to_path_buf()], path, &ev, behaviors)?
    } else {
        return Err(Error::bad_data(
            path,
            None,
            "not a dataset: expected a directory or a .csv/.tsv/.parquet event log",
            path.display().to_string(),
            "pass the directory that holds the pair files (e.g. the folder of buy.txt and test.txt)",
        ));
    };
    Ok(raw)
}

/// `name` from dataset.toml, else the directory's (or the file's) name.
fn dataset_name(path: &Path, is_dir: bool, cfg: &DatasetConfig) -> String {
    cfg.name.clone().unwrap_or_else(|| {
        // `.` or `..` have no name of their own: use the directory's.
        let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let stem = if is_dir {
            full.file_name()
        } else {
            full.file_stem()
        };
        stem.map_or_else(|| "dataset".into(), |s| s.to_string_lossy().into_owned())
    })
}

/// The `items` file of dataset.toml, relative to the dataset directory (or the log's).
fn read_items_of(
    path: &Path,
    is_dir: bool,
    f: &Path,
    notes: &mut Vec<String>,
) -> Result<RawItemMeta> {
    let base = if is_dir {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let file = base.join(f);
    if !file.is_file() {
        return Err(Error::bad_data(
                &file,
                None,
                "item metadata file does not exist",
                f.display().to_string(),
                "fix `items` in dataset.toml (a CSV or Parquet file with an `item` column, relative to the dataset directory), or remove the key",
            ));
    }
    read_items_file(&file, notes)
}

/// Policies applied by [`assemble`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Validation policy.
    pub valid: ValidPolicy,
    /// Cold test pairs policy.
    pub cold_test: ColdTest,
    /// Id base for `count.txt`.
    pub id_base: Option<u8>,
}

/// Turns raw pairs into a [`Dataset`]: dense ids (declared universe or observed ids), the
/// validation policy, cold validation pairs dropped, cold test pairs an error (or dropped),
/// test pairs that are also training target pairs dropped, duplicates counted.
pub fn assemble(mut raw: RawData, name: String, source: PathBuf, s: Settings) -> Result<Dataset> {
    let mut notes = std::mem::take(&mut raw.notes);
    let all: Vec<&RawPairs> = raw
        .behaviors
        .iter()
        .chain(raw.valid.iter())
        .chain(std::iter::once(&raw.test))
        .chain(raw.test_do.iter())
        .collect();
    let (users, items) = id_maps(&raw, &all, s.id_base, &mut notes)?;
    let dense = |r: &RawPairs| dense_pairs(r, &users, &items);
    let mut behaviors = Vec::with_capacity(raw.behaviors.len());
    for r in &raw.behaviors {
        let b = Interactions::from_raw(r.name.clone(), dense(r)?);
        if b.duplicates() > 0 {
            notes.push(format!(
                "{}: {} duplicate pairs (counted as repeated interactions)",
                label(r),
                b.duplicates()
            ));
        }
        behaviors.push(b);
    }
    let Some(mut target) = behaviors.pop() else {
        return Err(Error::Other("internal: no behavior was read".into()));
    };
    let (mut valid, held_out) = match &raw.valid {
        Some(r) if s.valid == ValidPolicy::Skip => {
            notes.push(format!(
                "{}: skipped (valid = skip): no validation split",
                label(r)
            ));
            (Vec::new(), 0)
        }
        Some(r) => {
            let valid = dedup(dense(r)?, r, &mut notes);
            let held_out = hold_out(&mut target, &valid, r, s.valid, &mut notes);
            (valid, held_out)
        }
        None => (Vec::new(), 0),
    };
    behaviors.push(target);
    let (user_seen, item_seen) = seen(&behaviors, users.len(), items.len());
    let seen = Seen {
        users: user_seen,
        items: item_seen,
    };
    if let Some(r) = &raw.valid {
        drop_cold(&mut valid, r, &seen, &mut notes);
    }
    let train = &behaviors[behaviors.len() - 1];
    let ids = (&users, &items);
    let test = split_pairs(
        &raw.test,
        dense(&raw.test)?,
        &seen,
        train,
        ids,
        s.cold_test,
        &mut notes,
    )?;
    let test_do = match &raw.test_do {
        Some(r) => Some(split_pairs(
            r,
            dense(r)?,
            &seen,
            train,
            ids,
            s.cold_test,
            &mut notes,
        )?),
        None => None,
    };
    let mut ds = Dataset::from_parts(
        name, source, users.ids, items.ids, behaviors, valid, test, test_do, notes,
    );
    ds.held_out = held_out;
    Ok(ds)
}

/// The pairs of `r` in dense ids.
fn dense_pairs(r: &RawPairs, users: &IdMap, items: &IdMap) -> Result<Vec<(u32, u32)>> {
    r.pairs
        .iter()
        .map(|&(u, i)| match (users.get(u), items.get(i)) {
            (Some(u), Some(i)) => Ok((u, i)),
            _ => Err(Error::Other(format!(
                "internal: id outside the universe in {}",
                r.file.display()
            ))),
        })
        .collect()
}

/// Drops validation pairs whose user or item has no training interaction, with a note.
fn drop_cold(valid: &mut Vec<(u32, u32)>, r: &RawPairs, seen: &Seen, notes: &mut Vec<String>) {
    let before = valid.len();
    valid.retain(|p| seen.warm(p));
    if valid.len() < before {
        notes.push(format!(
            "{}: {} pairs dropped: their user or item has no training interaction",
            label(r),
            before - valid.len()
        ));
    }
}

/// Dense user and item ids: the declared universe of `count.txt` for numeric ids, else the ids
/// the files use.
fn id_maps(
    raw: &RawData,
    all: &[&RawPairs],
    id_base: Option<u8>,
    notes: &mut Vec<String>,
) -> Result<(IdMap, IdMap)> {
    let numeric = raw.users == KeySpace::Numeric && raw.items == KeySpace::Numeric;
    Ok(match &raw.count {
        Some(c) if numeric => {
            let (u, i, note) = declared_universe(c, id_base, all)?;
            notes.extend(note);
            notes.extend(super::ids::unused_note(&u, &i, all));
            (u, i)
        }
        _ => (
            IdMap::observed(
                &raw.users,
                all.iter().flat_map(|r| r.pairs.iter().map(|p| p.0)),
            ),
            IdMap::observed(
                &raw.items,
                all.iter().flat_map(|r| r.pairs.iter().map(|p| p.1)),
            ),
        ),
    })
}

/// Applies `valid = holdout | keep` to validation pairs that are also training target pairs:
/// removes them from `target` (holdout) or says they stay; returns how many were held out.
fn hold_out(
    target: &mut Interactions,
    valid: &[(u32, u32)],
    r: &RawPairs,
    policy: ValidPolicy,
    notes: &mut Vec<String>,
) -> usize {
    let tname = target.name.clone();
    let overlap = valid
        .iter()
        .filter(|p| target.pairs.binary_search(p).is_ok())
        .count();
    if overlap > 0 && policy == ValidPolicy::Holdout {
        let (pairs, counts) = target
            .pairs
            .iter()
            .zip(&target.counts)
            .filter(|(p, _)| valid.binary_search(p).is_err())
            .unzip();
        target.pairs = pairs;
        target.counts = counts;
        notes.push(format!(
            "{}: {overlap} of {} pairs were also training `{tname}` pairs; held out of training ({} training `{tname}` pairs left)",
            label(r), valid.len(), target.len()
        ));
        overlap
    } else {
        if overlap > 0 {
            notes.push(format!(
                "{}: {overlap} of {} pairs are also training `{tname}` pairs and stay in training (valid = keep): validation is not held out",
                label(r), valid.len()
            ));
        }
        0
    }
}

/// A test split: cold pairs are an error (first one, by line) or dropped; duplicates and pairs
/// that are also training target pairs are dropped with a note. Returns the sorted pairs.
fn split_pairs(
    r: &RawPairs,
    pairs: Vec<(u32, u32)>,
    seen: &Seen,
    train: &Interactions,
    (users, items): (&IdMap, &IdMap),
    cold: ColdTest,
    notes: &mut Vec<String>,
) -> Result<Vec<(u32, u32)>> {
    let warm = |p: &(u32, u32)| seen.warm(p);
    let n_cold = pairs.iter().filter(|p| !warm(p)).count();
    if n_cold > 0 {
        if cold == ColdTest::Error {
            let k = pairs.iter().position(|p| !warm(p)).unwrap_or(0);
            let (u, i) = pairs.get(k).copied().unwrap_or_default();
            let user = users.ids.get(u as usize).cloned().unwrap_or_default();
            let item = items.ids.get(i as usize).cloned().unwrap_or_default();
            let what = if seen.users.get(u as usize) == Some(&true) {
                "item"
            } else {
                "user"
            };
            return Err(Error::bad_data(
                &r.file,
                r.lines.get(k).map(|&l| l as usize),
                format!("{} pair whose {what} has no training interaction ({n_cold} cold pairs in the file)", r.name),
                format!("{user} {item}"),
                "remove these lines or set cold_test = \"drop\" in dataset.toml",
            ));
        }
        notes.push(format!("{}: {n_cold} pairs dropped: their user or item has no training interaction (cold_test = drop)", label(r)));
    }
    let kept: Vec<(u32, u32)> = pairs.into_iter().filter(|p| warm(p)).collect();
    let mut out = dedup(kept, r, notes);
    let before = out.len();
    out.retain(|p| train.pairs.binary_search(p).is_err());
    if out.len() < before {
        notes.push(format!(
            "{}: {} pairs are also training `{}` pairs; dropped from {}",
            label(r),
            before - out.len(),
            train.name,
            r.name
        ));
    }
    Ok(out)
}

/// Sorts and de-duplicates split pairs, noting how many repeats were dropped.
fn dedup(mut v: Vec<(u32, u32)>, r: &RawPairs, notes: &mut Vec<String>) -> Vec<(u32, u32)> {
    let n = v.len();
    v.sort_unstable();
    v.dedup();
    if v.len() < n {
        notes.push(format!(
            "{}: {} duplicate pairs dropped",
            label(r),
            n - v.len()
        ));
    }
    v
}

/// Which users and items have at least one training interaction.
struct Seen {
    users: Vec<bool>,
    items: Vec<bool>,
}

impl Seen {
    /// True when both the user and the item of a pair have a training interaction.
    fn warm(&self, &(u, i): &(u32, u32)) -> bool {
        self.users.get(u as usize) == Some(&true) && self.items.get(i as usize) == Some(&true)
    }
}

/// Marks the users and items that have a training interaction.
fn seen(behaviors: &[Interactions], n_users: usize, n_items: usize) -> (Vec<bool>, Vec<bool>) {
    let mut u = vec![false; n_users];
    let mut i = vec![false; n_items];
    for b in behaviors {
        for &(x, y) in &b.pairs {
            u[x as usize] = true;
            i[y as usize] = true;
        }
    }
    (u, i)
}

/// `buy.txt`, or `train.txt (buy)` / `events.csv (cart)` when the file is not named after it.
pub fn label(r: &RawPairs) -> String {
    let file = r.file.file_name().map_or_else(
        || r.file.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let stem = r.file.file_stem().map(|s| s.to_string_lossy());
    if stem.as_deref() == Some(r.name.as_str())
        || (r.name == "valid" && stem.as_deref() == Some("validation"))
    {
        file
    } else {
        format!("{file} ({})", r.name)
    }
}
