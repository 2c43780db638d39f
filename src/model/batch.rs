//! What one training step reads (sampled triples) and reports (the value of each loss term).

/// Sampled triples `(user, positive, negative)` of one behavior.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triples {
    pub users: Vec<u32>,
    pub pos: Vec<u32>,
    pub neg: Vec<u32>,
}

/// One training batch: target triples and, per auxiliary behavior, its own triples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub target: Triples,
    /// Auxiliary triples, weakest → strongest auxiliary behavior.
    pub aux: Vec<Triples>,
    /// For the conversion and tier losses: per target triple, an item its user interacted with
    /// in an auxiliary behavior but did not buy ([`NO_ITEM`] when none; empty when both losses
    /// are off).
    pub interacted_not_bought: Vec<u32>,
}

/// Marks a missing item in [`Batch::interacted_not_bought`].
pub const NO_ITEM: u32 = u32::MAX;

/// The value of each loss term of a step (METHOD §6).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossParts {
    /// Total objective.
    pub total: f32,
    /// Target BPR.
    pub target: f32,
    /// Mean auxiliary BPR (unweighted).
    pub aux: f32,
    /// Contrastive loss `L_u + L_i` (unweighted).
    pub cl: f32,
    /// Balance loss (unweighted).
    pub bal: f32,
    /// Conversion loss (unweighted).
    #[serde(default)]
    pub conv: f32,
    /// Tier loss (unweighted).
    #[serde(default)]
    pub tier: f32,
    /// Orthogonality penalty (unweighted).
    #[serde(default)]
    pub orth: f32,
    /// L2 term (weighted).
    pub reg: f32,
}
