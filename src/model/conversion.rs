//! Items' conversion values: the standardised log-odds of being bought among an item's
//! training interactions. They feed the causal scorer's optional conversion term
//! (`mclmr.lambda_conv`) and the pair-level conversion evidence (`mclmr.conversion_evidence`,
//! [`ConversionEvidence`]).

use candle_core::{DType, Result, Tensor};

use super::config::ConversionFeature;
use super::net::idx;
use super::params::ParamBuilder;
use super::rule::smoothed_share;
use super::strata::Features;

/// Each item's smoothed log-odds of being bought among its training interactions,
/// `ln((b + 0.5) / (t − b + 4.5))` for `b` target and `t` total interactions, standardised to
/// mean 0 and standard deviation 1 over the items (all zero when every item is alike). It is a
/// monotone transform of the target share in `g_i`, on the scale where a unit weight is one
/// logit per standard deviation.
pub fn conversion_feature(feat: &Features) -> Vec<f32> {
    conversion_feature_loo(feat).0
}

/// [`conversion_feature`] and, per item, the same value with one of its target interactions
/// left out (standardised with the full feature's mean and deviation). Training scores an
/// item's own training purchase with the left-out value: the ranking scores pairs that are not
/// training purchases, whose item's rate never contains them.
pub fn conversion_feature_loo(feat: &Features) -> (Vec<f32>, Vec<f32>) {
    let odds = |(b, t): (f64, f64)| ((b + 0.5) / (t - b + 4.5)).ln();
    let counts = target_counts(feat);
    let raw: Vec<f64> = counts.iter().map(|&c| odds(c)).collect();
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
    let loo = counts.iter().map(|&c| z(odds(left_out(c)))).collect();
    (full, loo)
}

/// Each item's buy share `(b + 0.5) / (t + 5)` (the order of `rule-conversion`) as its mid-rank
/// percentile among the items, centred to `[-0.5, 0.5]`, and per item the same with one of its
/// target interactions left out, placed among the full shares. Bounded: with the standardised
/// log-odds an item the user interacted with could fall far below the items they never saw
/// (conv_i ≈ −2 to −3 in the tail) once the weight is large. Taobao mf, 8 epochs, start 10,
/// `raw` HR@10 / NDCG@10: 0.3522 / 0.1774 with it vs 0.3405 / 0.1717 (docs/MODEL.md §5).
pub fn conversion_rank_loo(feat: &Features) -> (Vec<f32>, Vec<f32>) {
    let share = |(b, t): (f64, f64)| smoothed_share(b, t);
    let counts = target_counts(feat);
    let full_s: Vec<f64> = counts.iter().map(|&c| share(c)).collect();
    let mut sorted = full_s.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len().max(1) as f64;
    // Mid-rank percentile of a value among the full shares.
    let pct = |v: f64| {
        let lo = sorted.partition_point(|&x| x < v) as f64;
        let hi = sorted.partition_point(|&x| x <= v) as f64;
        (((lo + hi) / 2.0) / n - 0.5) as f32
    };
    let full = full_s.iter().map(|&v| pct(v)).collect();
    let loo = counts.iter().map(|&c| pct(share(left_out(c)))).collect();
    (full, loo)
}

/// Per item `(b, t)`: its target training interactions and its training interactions over
/// every behavior.
fn target_counts(feat: &Features) -> Vec<(f64, f64)> {
    let target = feat.width.saturating_sub(2);
    (0..feat.len())
        .map(|i| {
            let t = feat.totals[i] as f64;
            ((feat.values[i * feat.width + target] as f64 * t).round(), t)
        })
        .collect()
}

/// `(b, t)` with one of the item's target interactions left out (unchanged without any).
fn left_out((b, t): (f64, f64)) -> (f64, f64) {
    if b >= 1.0 {
        (b - 1.0, t - 1.0)
    } else {
        (b, t)
    }
}

/// The conversion evidence `Σ_b v_b 1[x_b(u,i) > 0] conv_i` of a pair: the item's conversion
/// value on the items the user interacted with, one weight `v_b = s_c · ν_b` per auxiliary
/// behavior (`ν` is `causal.conv_evidence`, `s_c` is `mclmr.conversion_scale`). A function of the
/// item confounder, so only the `raw` ranking has it.
#[derive(Debug, Clone)]
pub struct ConversionEvidence {
    /// `ν_b`, `[n_aux]`.
    pub weights: Tensor,
    /// `s_c`.
    scale: f64,
    /// `conv_i` of every item, `[n_items]`.
    full: Tensor,
    /// `conv_i` with one of the item's target interactions left out, for training purchases.
    loo: Tensor,
    /// `conv_i` on the host, for inference.
    pub host: Vec<f32>,
}

impl ConversionEvidence {
    /// The values (`feature`) of `item_features` for `n_aux` auxiliary behaviors, the weights created under
    /// `vb` (`causal.`) so that `v_b` starts at `start`.
    pub fn new(
        item_features: &Features,
        (n_aux, feature): (usize, ConversionFeature),
        (start, scale): (f64, f64),
        vb: ParamBuilder<'_>,
    ) -> crate::error::Result<Self> {
        let (full, loo) = match feature {
            ConversionFeature::Rank => conversion_rank_loo(item_features),
            ConversionFeature::LogOdds => conversion_feature_loo(item_features),
        };
        let (n, device) = (full.len(), vb.device());
        Ok(ConversionEvidence {
            full: Tensor::from_vec(full.clone(), n, &device)?,
            loo: Tensor::from_vec(loo, n, &device)?,
            host: full,
            weights: vb.constant("conv_evidence", &[n_aux], (start / scale) as f32)?,
            scale,
        })
    }

    /// `v_b = s_c · ν_b`, `[n_aux]`.
    pub fn effective(&self) -> Result<Tensor> {
        &self.weights * self.scale
    }

    /// The term of pairs with evidence features `x` (`[n, n_aux]`) and item ids `items`, the
    /// first `positives` of which are training purchases (scored with the left-out value).
    /// `v` gets no gradient unless `learn`: against uniform negatives (which have no evidence)
    /// BPR would fit `v` to the mean conversion of bought items, a tier offset, not to whether
    /// the converting items of a history are the ones bought (docs/MODEL.md §5).
    pub fn term(&self, x: &Tensor, items: &[u32], positives: usize, learn: bool) -> Result<Tensor> {
        let dev = x.device();
        let k = positives.min(items.len());
        let conv_i = Tensor::cat(
            &[
                self.loo.index_select(&idx(&items[..k], dev)?, 0)?,
                self.full.index_select(&idx(&items[k..], dev)?, 0)?,
            ],
            0,
        )?;
        let has = x.gt(0.0)?.to_dtype(DType::F32)?;
        let v = if learn {
            self.effective()?
        } else {
            self.effective()?.detach()
        };
        has.broadcast_mul(&v.unsqueeze(0)?)?.sum(1)? * conv_i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn conversion_rank_is_the_buy_share_order_bounded_and_centred_with_a_lower_left_out_value() {
        // Items with 10 interactions and 0, 2, 5 buys, one with 2 (one buy), one without any.
        let rows = [(10u32, 0.0f32), (10, 0.2), (10, 0.5), (2, 0.5), (0, 0.0)];
        let feat = Features {
            width: 3,
            values: rows.iter().flat_map(|&(_, b)| [1.0 - b, b, 0.5]).collect(),
            totals: rows.iter().map(|r| r.0).collect(),
        };
        let (full, loo) = conversion_rank_loo(&feat);
        // Shares (b + 0.5) / (t + 5): 0.033, 0.167, 0.367, 0.214, 0.1.
        let order = [0usize, 4, 1, 3, 2];
        for w in order.windows(2) {
            assert!(full[w[0]] < full[w[1]], "{full:?}");
        }
        assert!(full.iter().all(|v| (-0.5..=0.5).contains(v)), "{full:?}");
        let mean: f32 = full.iter().sum::<f32>() / full.len() as f32;
        assert!(mean.abs() < 1e-6, "{mean}");
        // A purchase left out lowers the value of items with one; items without keep theirs.
        assert!(loo[2] < full[2] && loo[3] < full[3], "{loo:?}");
        assert_eq!((loo[0], loo[4]), (full[0], full[4]));
        // Ties share their mid-rank.
        let same = Features {
            width: 3,
            values: vec![0.5, 0.5, 1.0, 0.5, 0.5, 1.0],
            totals: vec![4, 4],
        };
        assert_eq!(conversion_rank_loo(&same).0, vec![0.0, 0.0]);
    }
}
