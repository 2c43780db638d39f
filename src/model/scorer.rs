//! The causal scorer (METHOD.md §4): confounder terms added to the MoE score.
//!
//! Observational logit (fitted in training):
//! `y = f + ⟨c^U(u), Z_i⟩ + ⟨Z_u, c^I(i)⟩ + b(i)` with the confounder effects
//! `c^U(u) = c^U_{h(u)} + h_u W_U`, `c^I(i) = c^I_{g(i)} + g_i W_I`, `b(i) = β_{g(i)} + g_i·θ`:
//! a per-stratum effect (METHOD §4) plus a linear effect of the confounder features themselves.
//! Interventional logit (backdoor adjustment, `P(h|u)` replaced by `P(h)`): every confounder
//! effect is replaced by its population average, `c̄^U = Σ_k P(k) c^U_k + h̄ W_U` (likewise
//! `c̄^I`, `b̄`), where `h̄`, `ḡ` are the population means of the features. The terms are additive
//! in the logit, so the adjustment is exact there.
//!
//! Why the linear part (a measured deviation from METHOD §4): k-means strata over `g_i` cut the
//! continuous popularity axis into a few bins, so most of the popularity confounding stayed in
//! the item embeddings and `do` ranked like `raw` on the interventional test of the sample data.
//! The features' linear effect absorbs popularity within strata as well (docs/RESULTS.md).
//!
//! Optional conversion term (`mclmr.lambda_conv > 0`, off by default): `b(i)` gains
//! `θ_conv · conv_i`, the item's standardised conversion log-odds ([`conversion_feature`]), and a
//! logistic loss fits `b(i)` to "bought" vs "interacted with but not bought" on the batch users'
//! own items. `conv_i` has mean 0 over the items, so `b̄` and the `do` ranking do not depend on
//! `θ_conv`; the `raw` ranking gains the within-tier order that the rule baselines lack
//! (docs/RESULTS.md).

use candle_core::{Device, Result, Tensor};
use rand::rngs::StdRng;

use super::params::Params;
use super::spmm::gather_rows;

/// Stratum and feature effects of the confounders, with their population averages.
#[derive(Debug, Clone)]
pub struct CausalScorer {
    /// Prior `P(h = k)` as a `[1, K_u]` tensor.
    pub prior_user: Tensor,
    /// Prior `P(g = k)` as a `[1, K_i]` tensor.
    pub prior_item: Tensor,
    /// Population mean of the user features `h̄`, `[1, F]`.
    pub mean_user_feat: Tensor,
    /// Population mean of the item features `ḡ`, `[1, F]`.
    pub mean_item_feat: Tensor,
    /// Embedding size.
    pub dim: usize,
    /// With the conversion loss on (`mclmr.lambda_conv > 0`): each item's standardised
    /// log-odds of converting, `[n_items]` (mean 0 over the items, so it adds nothing to `b̄`).
    /// `b(i)` then gains `θ_conv · conv_i`.
    pub conversion: Option<Tensor>,
}

/// Each item's smoothed log-odds of being bought among its training interactions,
/// `ln((b + 0.5) / (t − b + 4.5))` for `b` target and `t` total interactions, standardised to
/// mean 0 and standard deviation 1 over the items (all zero when every item is alike). It is a
/// monotone transform of the target share in `g_i`, on the scale where a unit weight is one
/// logit per standard deviation.
pub fn conversion_feature(feat: &super::strata::Features) -> Vec<f32> {
    conversion_feature_loo(feat).0
}

/// [`conversion_feature`] and, per item, the same value with one of its target interactions
/// left out (standardised with the full feature's mean and deviation). Training scores an
/// item's own training purchase with the left-out value: the ranking scores pairs that are not
/// training purchases, whose item's rate never contains them.
pub fn conversion_feature_loo(feat: &super::strata::Features) -> (Vec<f32>, Vec<f32>) {
    let target = feat.width.saturating_sub(2);
    let odds = |b: f64, t: f64| ((b + 0.5) / (t - b + 4.5)).ln();
    let counts: Vec<(f64, f64)> = (0..feat.len())
        .map(|i| {
            let t = feat.totals[i] as f64;
            ((feat.values[i * feat.width + target] as f64 * t).round(), t)
        })
        .collect();
    let raw: Vec<f64> = counts.iter().map(|&(b, t)| odds(b, t)).collect();
    let n = raw.len().max(1) as f64;
    let mean = raw.iter().sum::<f64>() / n;
    let sd = (raw.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    let z = |v: f64| {
        if sd > 1e-12 {
            ((v - mean) / sd) as f32
        } else {
            0.0
        }
    };
    let full = raw.iter().map(|&v| z(v)).collect();
    let loo = counts
        .iter()
        .map(|&(b, t)| {
            if b >= 1.0 {
                z(odds(b - 1.0, t - 1.0))
            } else {
                z(odds(b, t))
            }
        })
        .collect();
    (full, loo)
}

fn p<'a>(params: &'a Params, name: &str) -> Result<&'a Tensor> {
    params
        .get(name)
        .ok_or_else(|| candle_core::Error::Msg(format!("missing parameter {name}")))
}

/// Per-node confounder effects: `(c^U(u) rows, c^I(i) rows, b(i))`.
pub type NodeEffects = (Tensor, Tensor, Tensor);

impl CausalScorer {
    /// A scorer over strata with these priors and feature tables (`[n, F]`).
    pub fn new(
        prior_user: &[f64],
        prior_item: &[f64],
        user_feat: &Tensor,
        item_feat: &Tensor,
        dim: usize,
        device: &Device,
    ) -> Result<Self> {
        let pu: Vec<f32> = prior_user.iter().map(|&v| v as f32).collect();
        let pi: Vec<f32> = prior_item.iter().map(|&v| v as f32).collect();
        Ok(CausalScorer {
            prior_user: Tensor::from_vec(pu, (1, prior_user.len()), device)?,
            prior_item: Tensor::from_vec(pi, (1, prior_item.len()), device)?,
            mean_user_feat: user_feat.mean_keepdim(0)?,
            mean_item_feat: item_feat.mean_keepdim(0)?,
            dim,
            conversion: None,
        })
    }

    /// Creates `causal.user` `[K_u, d]`, `causal.item` `[K_i, d]`, `causal.beta` `[K_i]` and the
    /// linear effects `causal.user_lin` `[F, d]`, `causal.item_lin` `[F, d]`, `causal.beta_lin` `[F, 1]`.
    pub fn init(&self, params: &mut Params, rng: &mut StdRng) -> crate::error::Result<()> {
        let (ku, ki) = (self.prior_user.dim(1)?, self.prior_item.dim(1)?);
        let f = self.mean_user_feat.dim(1)?;
        params.normal("causal.user", &[ku, self.dim], 0.01, rng)?;
        params.normal("causal.item", &[ki, self.dim], 0.01, rng)?;
        params.constant("causal.beta", &[ki], 0.0)?;
        params.normal("causal.user_lin", &[f, self.dim], 0.01, rng)?;
        params.normal("causal.item_lin", &[f, self.dim], 0.01, rng)?;
        params.constant("causal.beta_lin", &[f, 1], 0.0)?;
        if self.conversion.is_some() {
            // Starts at one logit per standard deviation (the feature's own scale, where
            // log-odds in and out agree); the conversion loss fits it from there.
            params.constant("causal.conv_w", &[1], 1.0)?;
        }
        Ok(())
    }

    /// Observational effects of given nodes: strata `su`/`si` (`u32`), feature rows `hu`/`gi`
    /// and the item ids `items` (`u32`).
    pub fn node_effects(
        &self,
        params: &Params,
        su: &Tensor,
        hu: &Tensor,
        (si, gi, items): (&Tensor, &Tensor, &Tensor),
    ) -> Result<NodeEffects> {
        let cu = (gather_rows(p(params, "causal.user")?, su)?
            + hu.matmul(p(params, "causal.user_lin")?)?)?;
        let ci = (gather_rows(p(params, "causal.item")?, si)?
            + gi.matmul(p(params, "causal.item_lin")?)?)?;
        Ok((cu, ci, self.item_bias(params, si, gi, items)?))
    }

    /// The item effect `b(i)` alone (`[n]`).
    pub fn item_bias(
        &self,
        params: &Params,
        si: &Tensor,
        gi: &Tensor,
        items: &Tensor,
    ) -> Result<Tensor> {
        let b = (gather_rows(p(params, "causal.beta")?, si)?
            + gi.matmul(p(params, "causal.beta_lin")?)?.squeeze(1)?)?;
        match &self.conversion {
            None => Ok(b),
            Some(c) => {
                b + c
                    .index_select(items, 0)?
                    .broadcast_mul(p(params, "causal.conv_w")?)?
            }
        }
    }

    /// Observational confounder terms for paired rows.
    pub fn raw_terms(&self, zu: &Tensor, zi: &Tensor, effects: &NodeEffects) -> Result<Tensor> {
        let (cu, ci, b) = effects;
        ((cu * zi)?.sum(1)? + (zu * ci)?.sum(1)?)? + b
    }

    /// The population-averaged effects `(c̄^U [d], c̄^I [d], b̄ [])`.
    pub fn averaged(&self, params: &Params) -> Result<(Tensor, Tensor, Tensor)> {
        let cu = (self.prior_user.matmul(p(params, "causal.user")?)?
            + self.mean_user_feat.matmul(p(params, "causal.user_lin")?)?)?
        .squeeze(0)?;
        let ci = (self.prior_item.matmul(p(params, "causal.item")?)?
            + self.mean_item_feat.matmul(p(params, "causal.item_lin")?)?)?
        .squeeze(0)?;
        let beta = (self
            .prior_item
            .matmul(&p(params, "causal.beta")?.unsqueeze(1)?)?
            + self.mean_item_feat.matmul(p(params, "causal.beta_lin")?)?)?
        .squeeze(0)?
        .squeeze(0)?;
        Ok((cu, ci, beta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::strata::Features;

    #[test]
    fn conversion_feature_orders_items_by_their_target_share_and_is_centred() {
        // Two behaviors (view, buy) + activity: items with 10 interactions and 0, 2, 5 buys,
        // and one item without any.
        let rows = [(10u32, 0.0f32), (10, 0.2), (10, 0.5), (0, 0.0)];
        let feat = Features {
            width: 3,
            values: rows.iter().flat_map(|&(_, b)| [1.0 - b, b, 0.5]).collect(),
            totals: rows.iter().map(|r| r.0).collect(),
        };
        let c = conversion_feature(&feat);
        assert!(c[0] < c[1] && c[1] < c[2], "{c:?}");
        let mean: f32 = c.iter().sum::<f32>() / c.len() as f32;
        let var: f32 = c.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / c.len() as f32;
        assert!(
            mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
        let same = Features {
            width: 3,
            values: vec![0.5, 0.5, 1.0, 0.5, 0.5, 1.0],
            totals: vec![4, 4],
        };
        assert_eq!(conversion_feature(&same), vec![0.0, 0.0]);
    }
}
