//! The multi-behavior dataset: one in-memory form for every input layout.
//!
//! Users and items get dense indices `0..n`; their original ids are kept as strings for display
//! and lookup. Behaviors are ordered weakest → target (METHOD.md §Notation); the last one is the
//! target and its interaction set holds the *training* split only. Validation and test pairs of
//! the target are kept apart. All readers (pair-file directories, per-user line files, CSV/TSV/
//! Parquet event logs) produce a [`Dataset`] through [`Dataset::from_parts`], which checks the
//! invariants once.

pub mod config;
pub mod eventlog;
pub mod ids;
pub mod items;
pub mod load;
pub mod pairs;
pub mod prepare;
pub mod stats;
pub mod textscan;
pub mod userlines;

use std::collections::HashMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

pub use config::{DatasetConfig, ValidPolicy};
pub use load::{load_dataset, LoadOptions};
pub use prepare::{carve_validation, prepare_for_training};

/// One behavior's training interactions: unique `(user, item)` pairs sorted by user then item,
/// with how often each pair occurred in the input (duplicates are counted, not dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interactions {
    /// Behavior name as configured, e.g. `view`.
    pub name: String,
    /// Unique pairs, sorted by `(user, item)`.
    pub pairs: Vec<(u32, u32)>,
    /// Occurrence count of each pair (same order as `pairs`), at least 1.
    pub counts: Vec<u32>,
}

impl Interactions {
    /// Builds the set from raw (possibly repeated, unsorted) pairs, counting repeats.
    pub fn from_raw(name: impl Into<String>, mut raw: Vec<(u32, u32)>) -> Self {
        raw.sort_unstable();
        let mut pairs = Vec::with_capacity(raw.len());
        let mut counts: Vec<u32> = Vec::with_capacity(raw.len());
        for p in raw {
            if pairs.last() == Some(&p) {
                *counts.last_mut().expect("counts parallel to pairs") += 1;
            } else {
                pairs.push(p);
                counts.push(1);
            }
        }
        Interactions {
            name: name.into(),
            pairs,
            counts,
        }
    }

    /// Number of unique pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the behavior has no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Number of input lines that repeated an earlier pair.
    pub fn duplicates(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c - 1)).sum()
    }

    /// The items of user `u`, ascending (a binary search in the sorted pairs; no CSR built).
    pub fn user_items(&self, u: u32) -> Vec<u32> {
        let lo = self.pairs.partition_point(|&(x, _)| x < u);
        let hi = self.pairs.partition_point(|&(x, _)| x <= u);
        self.pairs[lo..hi].iter().map(|&(_, i)| i).collect()
    }

    /// User → items adjacency (CSR) over `n_users` rows.
    pub fn user_csr(&self, n_users: usize) -> Csr {
        Csr::from_sorted_pairs(n_users, &self.pairs, Some(&self.counts))
    }
}

/// A compressed sparse row adjacency: row `r` holds `cols[ptr[r]..ptr[r+1]]` (sorted) with
/// `vals` the matching counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    /// Row pointers, length rows + 1.
    pub ptr: Vec<usize>,
    /// Column indices.
    pub cols: Vec<u32>,
    /// Values (counts or weights).
    pub vals: Vec<f32>,
}

impl Csr {
    /// Builds a CSR from pairs sorted by row then column.
    pub fn from_sorted_pairs(rows: usize, pairs: &[(u32, u32)], counts: Option<&[u32]>) -> Self {
        let mut ptr = vec![0usize; rows + 1];
        for &(r, _) in pairs {
            ptr[r as usize + 1] += 1;
        }
        for r in 0..rows {
            ptr[r + 1] += ptr[r];
        }
        let cols = pairs.iter().map(|&(_, c)| c).collect();
        let vals = match counts {
            Some(c) => c.iter().map(|&v| v as f32).collect(),
            None => vec![1.0; pairs.len()],
        };
        Csr { ptr, cols, vals }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ptr.len() - 1
    }

    /// Column indices of row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.cols[self.ptr[r]..self.ptr[r + 1]]
    }

    /// Values of row `r`.
    pub fn row_vals(&self, r: usize) -> &[f32] {
        &self.vals[self.ptr[r]..self.ptr[r + 1]]
    }

    /// True when row `r` contains column `c` (binary search).
    pub fn contains(&self, r: usize, c: u32) -> bool {
        self.row(r).binary_search(&c).is_ok()
    }

    /// The stored value of `(r, c)` (the interaction count for a behavior's user CSR), 0 when
    /// absent.
    pub fn value(&self, r: usize, c: u32) -> f32 {
        match self.row(r).binary_search(&c) {
            Ok(k) => self.row_vals(r)[k],
            Err(_) => 0.0,
        }
    }
}

/// A loaded multi-behavior dataset (see the module docs).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name (directory name or configured name).
    pub name: String,
    /// Where it was loaded from.
    pub source: PathBuf,
    /// Original user ids, indexed by dense user index.
    pub user_ids: Vec<String>,
    /// Original item ids, indexed by dense item index.
    pub item_ids: Vec<String>,
    /// Training interactions per behavior, weakest → target (the last is the target's train split).
    pub behaviors: Vec<Interactions>,
    /// Target validation pairs (may be empty: then early stopping uses a slice of train, see config).
    pub valid: Vec<(u32, u32)>,
    /// Target test pairs (observational).
    pub test: Vec<(u32, u32)>,
    /// Interventional test pairs (`test_do.txt`, synthetic data only).
    pub test_do: Option<Vec<(u32, u32)>>,
    /// Things the loader did that the user should know about (quirks handled, duplicates).
    pub notes: Vec<String>,
    /// Validation pairs removed from the target's training pairs (`valid = "holdout"`); the
    /// target's input file held `target_train().len() + held_out` unique pairs.
    pub held_out: usize,
    /// Item metadata (name, category, …); empty when the dataset has none.
    pub item_meta: items::ItemMeta,
    user_index: HashMap<String, u32>,
    item_index: HashMap<String, u32>,
}

impl Dataset {
    /// Assembles a dataset and builds the id lookups. Pairs must already use dense indices
    /// below `user_ids.len()` / `item_ids.len()`; `behaviors` must be non-empty.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        name: String,
        source: PathBuf,
        user_ids: Vec<String>,
        item_ids: Vec<String>,
        behaviors: Vec<Interactions>,
        valid: Vec<(u32, u32)>,
        test: Vec<(u32, u32)>,
        test_do: Option<Vec<(u32, u32)>>,
        notes: Vec<String>,
    ) -> Self {
        debug_assert!(!behaviors.is_empty());
        let user_index = user_ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        let item_index = item_ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        Dataset {
            name,
            source,
            user_ids,
            item_ids,
            behaviors,
            valid,
            test,
            test_do,
            notes,
            held_out: 0,
            item_meta: items::ItemMeta::default(),
            user_index,
            item_index,
        }
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// Number of behaviors `B` (auxiliary ones plus the target).
    pub fn n_behaviors(&self) -> usize {
        self.behaviors.len()
    }

    /// Index of the target behavior (`B − 1`).
    pub fn target(&self) -> usize {
        self.behaviors.len() - 1
    }

    /// The target behavior's training interactions.
    pub fn target_train(&self) -> &Interactions {
        &self.behaviors[self.target()]
    }

    /// Training-target interactions (unique user–item pairs) per item: the popularity that
    /// evaluation, bias analysis and the explorer report.
    pub fn target_popularity(&self) -> Vec<u32> {
        let mut pop = vec![0u32; self.n_items()];
        for &(_, i) in &self.target_train().pairs {
            if let Some(c) = pop.get_mut(i as usize) {
                *c += 1;
            }
        }
        pop
    }

    /// Behavior names, weakest → target.
    pub fn behavior_names(&self) -> Vec<String> {
        self.behaviors.iter().map(|b| b.name.clone()).collect()
    }

    /// The item's one-column label (its name or category), or `None` without metadata.
    pub fn item_label(&self, i: u32) -> Option<&str> {
        self.item_meta.label(i)
    }

    /// `id (label)`, or the id alone when the item has no metadata.
    pub fn item_display(&self, i: u32) -> String {
        let id = self.item_ids.get(i as usize).cloned().unwrap_or_default();
        match self.item_label(i) {
            Some(l) => format!("{id} ({l})"),
            None => id,
        }
    }

    /// Dense index of an original user id.
    pub fn user_index(&self, id: &str) -> Option<u32> {
        self.user_index.get(id).copied()
    }

    /// Dense index of an original item id.
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.item_index.get(id).copied()
    }

    /// A content fingerprint (sha256 over ids, behaviors and splits, hex, 16 chars). Two loads
    /// of the same data in different layouts give the same fingerprint.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for ids in [&self.user_ids, &self.item_ids] {
            h.update((ids.len() as u64).to_le_bytes());
            for s in ids {
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
        let mut pairs = |tag: &str, p: &[(u32, u32)], c: Option<&[u32]>| {
            h.update(tag.as_bytes());
            h.update((p.len() as u64).to_le_bytes());
            for &(u, i) in p {
                h.update(u.to_le_bytes());
                h.update(i.to_le_bytes());
            }
            if let Some(c) = c {
                for v in c {
                    h.update(v.to_le_bytes());
                }
            }
        };
        for b in &self.behaviors {
            pairs(&b.name, &b.pairs, Some(&b.counts));
        }
        pairs("#valid", &self.valid, None);
        pairs("#test", &self.test, None);
        if let Some(t) = &self.test_do {
            pairs("#test_do", t, None);
        }
        let digest = h.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}
