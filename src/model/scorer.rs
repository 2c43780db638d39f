//! The causal scorer (METHOD.md §4): confounder terms added to the MoE score.
//!
//! Observational logit (fitted in training):
//! `y = f + ⟨c^U(u), Z_i⟩ + ⟨Z_u, c^I(i)⟩ + b(i)` with the confounder effects
//! `c^U(u) = c^U_{h(u)} + h_u W_U`, `c^I(i) = c^I_{g(i)} + g_i W_I`, `b(i) = β_{g(i)} + g_i·θ`:
//! a per-stratum effect (METHOD §4) plus a linear effect of the confounder features themselves
//! (why: docs/MODEL.md §8).
//! Interventional logit (backdoor adjustment, `P(h|u)` replaced by `P(h)`): every confounder
//! effect is replaced by its population average, `c̄^U = Σ_k P(k) c^U_k + h̄ W_U` (likewise
//! `c̄^I`, `b̄`), where `h̄`, `ḡ` are the population means of the features. The terms are additive
//! in the logit, so the adjustment is exact there.
//!
//! Optional conversion term (`mclmr.lambda_conv > 0`, off by default): `b(i)` gains
//! `θ_conv · conv_i`, the item's standardised conversion log-odds
//! ([`super::conversion::conversion_feature`]), fitted by the conversion loss (docs/MODEL.md §8).

use candle_core::{Result, Tensor};

use super::buckets::gather_rows;
use super::params::ParamBuilder;

/// Stratum and feature effects of the confounders (under `causal.`), with the priors and
/// feature means that average them.
#[derive(Debug, Clone)]
pub struct CausalScorer {
    /// Prior `P(h = k)` as a `[1, K_u]` tensor.
    prior_user: Tensor,
    /// Prior `P(g = k)` as a `[1, K_i]` tensor.
    prior_item: Tensor,
    /// Population mean of the user features `h̄`, `[1, F]`.
    mean_user_feat: Tensor,
    /// Population mean of the item features `ḡ`, `[1, F]`.
    mean_item_feat: Tensor,
    /// `causal.user`: `c^U_k`, `[K_u, d]`.
    user: Tensor,
    /// `causal.item`: `c^I_k`, `[K_i, d]`.
    item: Tensor,
    /// `causal.beta`: `β_k`, `[K_i]`.
    beta: Tensor,
    /// `causal.user_lin`: `W_U`, `[F, d]`.
    user_lin: Tensor,
    /// `causal.item_lin`: `W_I`, `[F, d]`.
    item_lin: Tensor,
    /// `causal.beta_lin`: `θ`, `[F, 1]`.
    beta_lin: Tensor,
    /// With the conversion loss on: each item's `conv_i` (`[n_items]`) and `causal.conv_w`.
    conversion: Option<(Tensor, Tensor)>,
}

/// Per-node confounder effects: `(c^U(u) rows, c^I(i) rows, b(i))`.
pub type NodeEffects = (Tensor, Tensor, Tensor);

impl CausalScorer {
    /// A scorer over strata with these priors and feature tables (`[n, F]`), embedding size
    /// `dim`, and the items' conversion values when the conversion loss is on; its weights are
    /// created under `vb` (`causal.`).
    pub fn new(
        (prior_user, prior_item): (&[f64], &[f64]),
        (user_feat, item_feat): (&Tensor, &Tensor),
        dim: usize,
        conversion: Option<Tensor>,
        vb: ParamBuilder<'_>,
    ) -> crate::error::Result<Self> {
        let device = user_feat.device();
        let prior = |p: &[f64]| -> Result<Tensor> {
            let v: Vec<f32> = p.iter().map(|&v| v as f32).collect();
            Tensor::from_vec(v, (1, p.len()), device)
        };
        let (ku, ki) = (prior_user.len(), prior_item.len());
        let f = user_feat.dim(1)?;
        let user = vb.normal("user", &[ku, dim], 0.01)?;
        let item = vb.normal("item", &[ki, dim], 0.01)?;
        let beta = vb.constant("beta", &[ki], 0.0)?;
        let user_lin = vb.normal("user_lin", &[f, dim], 0.01)?;
        let item_lin = vb.normal("item_lin", &[f, dim], 0.01)?;
        let beta_lin = vb.constant("beta_lin", &[f, 1], 0.0)?;
        let conversion = match conversion {
            // Starts at one logit per standard deviation (the feature's own scale, where
            // log-odds in and out agree); the conversion loss fits it from there.
            Some(c) => Some((c, vb.constant("conv_w", &[1], 1.0)?)),
            None => None,
        };
        Ok(CausalScorer {
            prior_user: prior(prior_user)?,
            prior_item: prior(prior_item)?,
            mean_user_feat: user_feat.mean_keepdim(0)?,
            mean_item_feat: item_feat.mean_keepdim(0)?,
            user,
            item,
            beta,
            user_lin,
            item_lin,
            beta_lin,
            conversion,
        })
    }

    /// The user side's `(c^U_k [K_u × d], W_U [F × d])`.
    pub fn user_tables(&self) -> (&Tensor, &Tensor) {
        (&self.user, &self.user_lin)
    }

    /// Whether `b(i)` has the conversion term (the conversion loss is on).
    pub fn has_conversion(&self) -> bool {
        self.conversion.is_some()
    }

    /// Observational effects of given nodes: strata `su`/`si` (`u32`), feature rows `hu`/`gi`
    /// and the item ids `items` (`u32`).
    pub fn node_effects(
        &self,
        su: &Tensor,
        hu: &Tensor,
        (si, gi, items): (&Tensor, &Tensor, &Tensor),
    ) -> Result<NodeEffects> {
        let cu = (gather_rows(&self.user, su)? + hu.matmul(&self.user_lin)?)?;
        let ci = (gather_rows(&self.item, si)? + gi.matmul(&self.item_lin)?)?;
        Ok((cu, ci, self.item_bias(si, gi, items)?))
    }

    /// The item effect `b(i)` alone (`[n]`).
    pub fn item_bias(&self, si: &Tensor, gi: &Tensor, items: &Tensor) -> Result<Tensor> {
        let b = (gather_rows(&self.beta, si)? + gi.matmul(&self.beta_lin)?.squeeze(1)?)?;
        match &self.conversion {
            None => Ok(b),
            Some((c, w)) => b + c.index_select(items, 0)?.broadcast_mul(w)?,
        }
    }

    /// Observational confounder terms for paired rows.
    pub fn raw_terms(&self, zu: &Tensor, zi: &Tensor, effects: &NodeEffects) -> Result<Tensor> {
        let (cu, ci, b) = effects;
        ((cu * zi)?.sum(1)? + (zu * ci)?.sum(1)?)? + b
    }

    /// The population-averaged effects `(c̄^U [d], c̄^I [d], b̄ [])`.
    pub fn averaged(&self) -> Result<(Tensor, Tensor, Tensor)> {
        let cu = (self.prior_user.matmul(&self.user)?
            + self.mean_user_feat.matmul(&self.user_lin)?)?
        .squeeze(0)?;
        let ci = (self.prior_item.matmul(&self.item)?
            + self.mean_item_feat.matmul(&self.item_lin)?)?
        .squeeze(0)?;
        let beta = (self.prior_item.matmul(&self.beta.unsqueeze(1)?)?
            + self.mean_item_feat.matmul(&self.beta_lin)?)?
        .squeeze(0)?
        .squeeze(0)?;
        Ok((cu, ci, beta))
    }
}
