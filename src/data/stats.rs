//! The statistics card of a dataset (`mclmr data stats`): sizes, pairs and density per
//! behavior, how much each auxiliary behavior overlaps the target's train and test pairs, split
//! sizes, duplicates and the loader's notes — as text or as JSON.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Name → value pairs serialised as a JSON object in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Sizes of the target's splits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Splits {
    /// Target pairs actually trained on.
    pub train: usize,
    /// Validation pairs.
    pub valid: usize,
    /// Test pairs.
    pub test: usize,
}

/// Overlap of one auxiliary behavior with the target's pairs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Overlap {
    /// Auxiliary behavior.
    pub behavior: String,
    /// Target training pairs also present in this behavior.
    pub train: usize,
    /// `train` as a share of the target training pairs.
    pub train_share: f64,
    /// Test pairs also present in this behavior.
    pub test: usize,
    /// `test` as a share of the test pairs.
    pub test_share: f64,
}

/// Everything `mclmr data stats` reports. JSON starts with
/// `{"users":N,"items":N,"behaviors":{…},"splits":{"train":N,"valid":N,"test":N}}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DataStats {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Unique pairs per behavior as in the input, weakest → target; the target counts the
    /// validation pairs held out of training too.
    pub behaviors: Ordered<usize>,
    /// Split sizes.
    pub splits: Splits,
    /// Interventional test pairs, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_do: Option<usize>,
    /// Dataset name.
    pub name: String,
    /// Content fingerprint.
    pub fingerprint: String,
    /// Target behavior.
    pub target: String,
    /// Validation pairs removed from the target's training pairs.
    pub held_out: usize,
    /// Pairs / (users × items) per behavior.
    pub density: Ordered<f64>,
    /// Repeated input lines per behavior.
    pub duplicates: Ordered<u64>,
    /// Overlap of each auxiliary behavior with the target's train and test pairs.
    pub overlap: Vec<Overlap>,
    /// The loader's notes.
    pub notes: Vec<String>,
}

mod compute;

impl DataStats {
    /// The human-readable card.
    pub fn card(&self) -> String {
        let mut s = format!(
            "{}  ({} users × {} items, fingerprint {})\n\n",
            self.name,
            thousands(self.users),
            thousands(self.items),
            self.fingerprint
        );
        s += &format!(
            "{:<14} {:>11} {:>9} {:>7}  {:>20}  {:>20}\n",
            "behavior", "pairs", "density", "dups", "∩ target train", "∩ test"
        );
        for (k, (name, n)) in self.behaviors.0.iter().enumerate() {
            let dens = self.density.0.get(k).map_or(0.0, |d| d.1);
            let dups = self.duplicates.0.get(k).map_or(0, |d| d.1);
            let (tr, te) = match self.overlap.iter().find(|o| &o.behavior == name) {
                Some(o) => (pct(o.train, o.train_share), pct(o.test, o.test_share)),
                None => ("(target)".to_string(), String::new()),
            };
            s += &format!(
                "{name:<14} {:>11} {:>8.4}% {dups:>7}  {tr:>20}  {te:>20}\n",
                thousands(*n),
                dens * 100.0
            );
        }
        s += &format!(
            "\nsplits of `{}`: train {}  valid {}  test {}",
            self.target,
            thousands(self.splits.train),
            thousands(self.splits.valid),
            thousands(self.splits.test)
        );
        if let Some(d) = self.test_do {
            s += &format!("  test_do {}", thousands(d));
        }
        if self.held_out > 0 {
            s += &format!(
                "\n({} validation pairs held out of the training `{}` pairs)",
                thousands(self.held_out),
                self.target
            );
        }
        s.push('\n');
        if !self.notes.is_empty() {
            s += "\nnotes:\n";
            for n in &self.notes {
                s += &format!("  - {n}\n");
            }
        }
        s
    }
}

fn pct(n: usize, share: f64) -> String {
    format!("{} ({:.1}%)", thousands(n), share * 100.0)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (k, c) in d.chars().enumerate() {
        if k > 0 && (d.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(873954), "873,954");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
