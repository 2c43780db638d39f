//! The backbone or rule baseline a model uses (`model.backbone`, `--backbone`).

use serde::{Deserialize, Serialize};

/// The backbone or rule baseline a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackboneKind {
    /// Matrix factorisation with a learned map per behavior.
    #[serde(rename = "mf")]
    Mf,
    /// Per-behavior LightGCN from shared base embeddings.
    #[serde(rename = "lightgcn")]
    LightGcn,
    /// Cascading multi-behavior GCN (CRGCN / MB-CGCN style).
    #[serde(rename = "cascade")]
    Cascade,
    /// Rule: weakest auxiliary behavior first, then stronger ones, then target popularity.
    #[serde(rename = "rule-view-cart")]
    RuleViewCart,
    /// Rule: strongest auxiliary behavior first, then weaker ones, then target popularity.
    #[serde(rename = "rule-cart-view")]
    RuleCartView,
    /// Rule: the tiers of `rule-view-cart`, each ordered by the item's training buy share.
    #[serde(rename = "rule-conversion")]
    RuleConversion,
    /// EASE (Steck 2019): a closed-form item-item model on the log-weighted behavior union.
    #[serde(rename = "ease")]
    Ease,
}

impl BackboneKind {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Mf => "mf",
            BackboneKind::LightGcn => "lightgcn",
            BackboneKind::Cascade => "cascade",
            BackboneKind::RuleViewCart => "rule-view-cart",
            BackboneKind::RuleCartView => "rule-cart-view",
            BackboneKind::RuleConversion => "rule-conversion",
            BackboneKind::Ease => "ease",
        }
    }

    /// True for the backbone-free rule baselines (no parameters at all).
    pub fn is_rule(self) -> bool {
        matches!(
            self,
            BackboneKind::RuleViewCart | BackboneKind::RuleCartView | BackboneKind::RuleConversion
        )
    }

    /// All kinds, for help texts.
    pub const ALL: [BackboneKind; 7] = [
        BackboneKind::Mf,
        BackboneKind::LightGcn,
        BackboneKind::Cascade,
        BackboneKind::RuleViewCart,
        BackboneKind::RuleCartView,
        BackboneKind::RuleConversion,
        BackboneKind::Ease,
    ];
}

impl std::str::FromStr for BackboneKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        BackboneKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown backbone `{s}`; expected one of: {}",
                    BackboneKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}
