//! Model and training configuration: TOML with a commented default compiled in
//! (`mclmr config --default` prints it), overridable by command-line flags.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::model::ease::EaseSection;
pub use crate::model::kind::BackboneKind;

/// The commented default configuration.
pub const DEFAULT_TOML: &str = include_str!("default_config.toml");

/// `[model]`: the backbone and whether MCLMR is plugged on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub backbone: BackboneKind,
    /// True = backbone + MCLMR, false = plain backbone.
    pub mclmr: bool,
    /// Embedding size.
    pub dim: usize,
    /// Propagation layers of the graph backbones.
    pub layers: usize,
    /// Standard deviation of the normal initialisation of the base embeddings `E0`.
    #[serde(default = "default_init_std")]
    pub init_std: f64,
}

fn default_init_std() -> f64 {
    0.1
}

/// `[mclmr]`: the MCLMR modules and their switches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MclmrSection {
    /// Confounder terms and the backdoor intervention.
    pub causal: bool,
    /// Learned gates (false = uniform).
    pub moe: bool,
    /// Bias-aware contrastive loss.
    pub bcl: bool,
    /// Pair-level evidence terms.
    pub evidence: bool,
    /// k-means clusters of the user habits `h_u`.
    pub k_user: usize,
    /// k-means clusters of the item distributions `g_i`.
    pub k_item: usize,
    /// Shared experts.
    pub shared_experts: usize,
    /// Gate softmax temperature.
    pub gate_temperature: f64,
    /// Top-k routing (0 = dense).
    pub top_k: usize,
    /// Load-balancing loss weight.
    pub lambda_bal: f64,
    /// Contrastive temperature.
    pub tau: f64,
    /// Contrastive loss weight.
    pub lambda_cl: f64,
    /// Weight of the conversion loss that fits the item confounder's direct effect `β_i` to
    /// "bought among the items the user interacted with" (0 = off).
    #[serde(default)]
    pub lambda_conv: f64,
    /// Weight of same-stratum negatives.
    pub eta: f64,
    /// Minority re-weighting exponent.
    pub rho: f64,
    /// Nodes per batch in the contrastive loss.
    pub cl_batch: usize,
    /// Routing features in the gates: per node and auxiliary behavior, how often its target
    /// interactions came with that behavior and how many repeats they had. Checkpoints from
    /// before this key (absent) did without them.
    #[serde(default)]
    pub route_features: bool,
    /// Scale `s` of the evidence weights `w_b = s · softplus(ω_b)`. Checkpoints from before
    /// this key used 10.
    #[serde(default = "legacy_evidence_scale")]
    pub evidence_scale: f64,
    /// Pair-level conversion evidence: an item's standardised conversion log-odds on the
    /// items the user interacted with, one weight per behavior; a function of the item
    /// confounder, so only the `raw` ranking has it.
    #[serde(default)]
    pub conversion_evidence: bool,
    /// Start of every conversion evidence weight `v_b` (checkpoints from before this key
    /// started at 0).
    #[serde(default)]
    pub conversion_start: f64,
    /// Scale `s_c` in `v_b = s_c · ν_b`: Adam moves `ν_b` about `train.lr_small` a step, so
    /// `v_b` moves `s_c` times that (checkpoints from before this key used 1).
    #[serde(default = "legacy_conversion_scale")]
    pub conversion_scale: f64,
    /// The item value of the conversion evidence: `rank` (the centred percentile of the buy
    /// share, bounded) or `log-odds` (the standardised conversion log-odds; checkpoints from
    /// before this key used it).
    #[serde(default)]
    pub conversion_feature: ConversionFeature,
    /// Weight of the tier loss: BPR of bought against interacted-but-not-bought items of the
    /// same user, on the user gate only (0 = off).
    #[serde(default)]
    pub lambda_tier: f64,
    /// Weight of the orthogonality penalty: squared cross-covariance between the batch's
    /// fused representations and their confounders (stratum indicators and features), so the
    /// stratum-level effects live in the confounder terms (0 = off).
    #[serde(default)]
    pub lambda_orth: f64,
}

/// `mclmr.conversion_feature`: the item value `conv_i` of the conversion evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConversionFeature {
    /// The standardised smoothed log-odds of being bought (unbounded tails).
    #[default]
    LogOdds,
    /// The buy share's percentile among the items, centred to `[-0.5, 0.5]`: the ordering of
    /// `rule-conversion`, bounded so that a large weight cannot push an item the user
    /// interacted with below the items they never saw.
    Rank,
}

fn legacy_evidence_scale() -> f64 {
    10.0
}

fn legacy_conversion_scale() -> f64 {
    1.0
}

/// `[train]`: optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Maximum epochs.
    pub epochs: usize,
    /// Target triples per batch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Auxiliary BPR weight.
    pub alpha: f64,
    /// L2 weight.
    pub lambda_reg: f64,
    /// Early-stopping patience (in evaluations).
    pub patience: usize,
    /// Evaluate every this many epochs.
    pub eval_every: usize,
    /// Share of hard negatives.
    pub hard_negatives: f64,
    pub seed: u64,
    /// Validation users for early stopping (0 = all).
    pub valid_users: usize,
    /// Which ranking's validation NDCG@10 picks the best epoch and drives early stopping.
    #[serde(default)]
    pub select: SelectOn,
    /// Learning rate of the gates and evidence weights; absent in older checkpoints, which used
    /// `lr` for everything.
    #[serde(default)]
    pub lr_small: Option<f64>,
}

/// The ranking whose validation score selects the kept epoch (`train.select`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectOn {
    /// The deconfounded ranking (models without a causal part have only this one).
    #[default]
    Do,
    /// The observational ranking.
    Raw,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub model: ModelSection,
    pub mclmr: MclmrSection,
    pub train: TrainSection,
    #[serde(default)]
    pub ease: EaseSection,
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULT_TOML).expect("the built-in default config parses")
    }
}

impl Config {
    /// Parses a TOML text; missing keys take the default values.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        let mut base: toml::Table = toml::from_str(DEFAULT_TOML).expect("default parses");
        let user: toml::Table = toml::from_str(text).map_err(|e| {
            Error::bad_data(
                origin,
                e.span().map(|s| line_of(text, s.start)),
                format!("invalid config: {}", e.message()),
                text.get(e.span().unwrap_or(0..0)).unwrap_or(""),
                "fix the TOML; `mclmr config --default` prints a valid commented file",
            )
        })?;
        for (section, value) in user {
            match (base.get_mut(&section), value) {
                (Some(toml::Value::Table(b)), toml::Value::Table(u)) => {
                    for (k, v) in u {
                        b.insert(k, v);
                    }
                }
                (_, v) => {
                    base.insert(section, v);
                }
            }
        }
        let cfg: Config = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| {
                Error::bad_data(
                    origin,
                    None,
                    format!("invalid config: {}", e.message()),
                    "",
                    "use the keys and types of `mclmr config --default`",
                )
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a config stored in a checkpoint: complete as written by [`Config::to_toml`], so
    /// keys are not filled from today's defaults; a key newer than the checkpoint takes its
    /// serde default, which reproduces the model as it was trained.
    pub fn from_stored_toml(text: &str, origin: &Path) -> Result<Self> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            Error::bad_data(
                origin,
                None,
                format!("invalid stored config: {}", e.message()),
                "",
                "the checkpoint's config is damaged; retrain it",
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// The config as TOML (stored in checkpoints and printed as the effective config).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serialises")
    }

    /// Checks value ranges; returns a [`Error::BadArg`] naming the key.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.mclmr.validate()?;
        self.train.validate()?;
        self.ease.validate()
    }
}

/// A [`Error::BadArg`] for config key `key` with value `v`.
pub(super) fn bad_key(key: &str, v: String, fix: &str) -> Result<()> {
    Err(Error::bad_arg(format!("config {key}"), v, fix))
}

fn non_negative(key: &str, v: f64) -> Result<()> {
    if !(v >= 0.0 && v.is_finite()) {
        return bad_key(key, v.to_string(), "use a non-negative number");
    }
    Ok(())
}

impl ModelSection {
    fn validate(&self) -> Result<()> {
        if !(1..=1024).contains(&self.dim) {
            return bad_key(
                "model.dim",
                self.dim.to_string(),
                "use an embedding size between 1 and 1024",
            );
        }
        if !(self.init_std > 0.0 && self.init_std <= 10.0) {
            return bad_key(
                "model.init_std",
                self.init_std.to_string(),
                "use a standard deviation in (0, 10], e.g. 0.1",
            );
        }
        if self.layers > 8 {
            return bad_key("model.layers", self.layers.to_string(), "use 0 to 8 layers");
        }
        Ok(())
    }
}

impl MclmrSection {
    fn validate(&self) -> Result<()> {
        let c = self;
        if c.k_user == 0 || c.k_item == 0 || c.k_user > 256 || c.k_item > 256 {
            return bad_key(
                "mclmr.k_user/k_item",
                format!("{}/{}", c.k_user, c.k_item),
                "use 1 to 256 strata",
            );
        }
        if !(c.tau > 0.0 && c.tau.is_finite()) {
            return bad_key(
                "mclmr.tau",
                c.tau.to_string(),
                "use a positive temperature such as 0.2",
            );
        }
        if !(c.gate_temperature > 0.0 && c.gate_temperature.is_finite()) {
            return bad_key(
                "mclmr.gate_temperature",
                c.gate_temperature.to_string(),
                "use a positive temperature such as 1.0",
            );
        }
        if !(0.0..=1.0).contains(&c.eta) || c.eta == 0.0 {
            return bad_key("mclmr.eta", c.eta.to_string(), "use a weight in (0, 1]");
        }
        for (k, v) in [
            ("mclmr.lambda_cl", c.lambda_cl),
            ("mclmr.lambda_bal", c.lambda_bal),
            ("mclmr.lambda_conv", c.lambda_conv),
            ("mclmr.lambda_tier", c.lambda_tier),
            ("mclmr.lambda_orth", c.lambda_orth),
            ("mclmr.conversion_start", c.conversion_start),
            ("mclmr.rho", c.rho),
        ] {
            non_negative(k, v)?;
        }
        for (k, v) in [
            ("mclmr.evidence_scale", c.evidence_scale),
            ("mclmr.conversion_scale", c.conversion_scale),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return bad_key(k, v.to_string(), "use a positive scale such as 1.0");
            }
        }
        if c.cl_batch < 2 {
            return bad_key("mclmr.cl_batch", c.cl_batch.to_string(), "use at least 2");
        }
        Ok(())
    }
}

impl TrainSection {
    fn validate(&self) -> Result<()> {
        let t = self;
        for (k, v) in [("train.alpha", t.alpha), ("train.lambda_reg", t.lambda_reg)] {
            non_negative(k, v)?;
        }
        if t.batch_size == 0 {
            return bad_key(
                "train.batch_size",
                "0".into(),
                "use a positive batch size such as 1024",
            );
        }
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            return bad_key(
                "train.lr",
                t.lr.to_string(),
                "use a positive learning rate such as 0.001",
            );
        }
        if !(0.0..=1.0).contains(&t.hard_negatives) {
            return bad_key(
                "train.hard_negatives",
                t.hard_negatives.to_string(),
                "use a share between 0 and 1",
            );
        }
        if let Some(v) = t.lr_small {
            if !(v > 0.0 && v.is_finite()) {
                return bad_key(
                    "train.lr_small",
                    v.to_string(),
                    "use a positive learning rate such as 0.01",
                );
            }
        }
        if t.eval_every == 0 {
            return bad_key("train.eval_every", "0".into(), "use 1 or more");
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parses_and_validates() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.model.backbone, BackboneKind::LightGcn);
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("x")).unwrap(), c);
    }

    #[test]
    fn select_defaults_to_do_and_names_the_bad_value() {
        assert_eq!(Config::default().train.select, SelectOn::Do);
        let c = Config::from_toml("[train]\nselect = \"raw\"\n", Path::new("x")).unwrap();
        assert_eq!(c.train.select, SelectOn::Raw);
        let e = Config::from_toml("[train]\nselect = \"best\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains("best"), "{e}");
    }

    #[test]
    fn init_std_defaults_to_a_tenth_and_must_be_positive() {
        let c = Config::from_toml("[model]\ndim = 8\n", Path::new("x")).unwrap();
        assert_eq!(c.model.init_std, 0.1);
        let c = Config::from_toml("[model]\ninit_std = 0.01\n", Path::new("x")).unwrap();
        assert_eq!(c.model.init_std, 0.01);
        let e = Config::from_toml("[model]\ninit_std = 0.0\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("model.init_std"), "{e}");
    }

    #[test]
    fn ease_section_defaults_and_checks() {
        let c = Config::default();
        assert_eq!(c.ease.lambda, 500.0);
        assert_eq!(c.ease.weights_for(3).unwrap(), vec![1.0, 2.0, 4.0]);
        assert_eq!(c.ease.weights_for(4).unwrap(), vec![1.0, 2.0, 2.0, 4.0]);
        assert_eq!(c.ease.weights_for(1).unwrap(), vec![4.0]);
        let c = Config::from_toml("[ease]\nweights = [1.0, 3.0]\n", Path::new("x")).unwrap();
        let e = c.ease.weights_for(3).unwrap_err().to_string();
        assert!(
            e.contains("ease.weights") && e.contains("[1.0, 3.0]"),
            "{e}"
        );
        for bad in [
            "lambda = 0.0",
            "lambda = -1.0",
            "weights = [1.0, -2.0]",
            "weights = [0.0]",
        ] {
            let e = Config::from_toml(&format!("[ease]\n{bad}\n"), Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("ease."), "{bad}: {e}");
        }
        // A config written before `[ease]` existed still loads.
        let mut t: toml::Table = toml::from_str(&Config::default().to_toml()).unwrap();
        t.remove("ease");
        let old: Config = toml::Value::Table(t).try_into().unwrap();
        assert_eq!(old.ease, EaseSection::default());
    }

    #[test]
    fn partial_file_overrides_defaults() {
        let c = Config::from_toml("[model]\nbackbone = \"mf\"\n", Path::new("x")).unwrap();
        assert_eq!(c.model.backbone, BackboneKind::Mf);
        assert_eq!(c.model.dim, 64);
    }

    #[test]
    fn unknown_key_and_bad_value_are_errors() {
        let e = Config::from_toml("[model]\nbackbon = \"mf\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("backbon"), "{e}");
        let e = Config::from_toml("[train]\nlr = -1.0\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("train.lr"), "{e}");
        let e =
            Config::from_toml("[model]\nbackbone = \"gru\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("gru"), "{e}");
    }
}
