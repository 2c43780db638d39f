//! The assembled model: a backbone, and for `+MCLMR` the MoE aggregator, the causal scorer and
//! the bias-aware contrastive loss (METHOD.md §2–§6), each block holding its own weights. The
//! objective of a training step is in `objective` ([`Net::loss`]); [`Net::infer`] (in
//! `inference`) turns the weights into an [`super::Inference`] for ranking and explanation.

use candle_core::{Device, Tensor};

use super::backbone::{self, Backbone};
use super::bcl::BiasAwareContrast;
use super::config::Config;
use super::conversion::{conversion_feature, ConversionEvidence};
use super::graph::BehaviorGraphs;
use super::moe::MoeAggregator;
use super::params::{ParamBuilder, ParamInit, Params};
use super::route::RouteFeatures;
use super::scorer::CausalScorer;
use super::strata::{fit_strata, Features, Side, Strata};
use crate::data::{Csr, Dataset};
use crate::error::{Error, Result};

/// The model: its weights, held by the blocks and stored in `params`, plus the fixed
/// structures they act on.
pub struct Net {
    pub config: Config,
    pub n_users: usize,
    pub n_items: usize,
    /// Behavior names, weakest → target.
    pub behavior_names: Vec<String>,
    /// Every trainable tensor by checkpoint key (the blocks hold the same tensors).
    pub params: Params,
    pub user_strata: Strata,
    pub item_strata: Strata,
    /// The MoE block (None for the plain backbone).
    pub moe: Option<MoeAggregator>,
    /// The causal scorer (None for plain or `causal = false`).
    pub causal: Option<CausalScorer>,
    /// The contrastive loss (None when it is off or there is no auxiliary behavior).
    pub(super) bcl: Option<BiasAwareContrast>,
    /// The pair-level conversion evidence (`mclmr.conversion_evidence`).
    pub(super) conversion: Option<ConversionEvidence>,
    /// The base table `E0` (`emb`), users then items.
    pub(super) emb: Tensor,
    pub(super) backbone: Box<dyn Backbone>,
    pub(super) graphs: BehaviorGraphs,
    /// Confounder features `h_u` / `g_i`, `[n, B + 1]`.
    pub(super) user_feat: Tensor,
    pub(super) item_feat: Tensor,
    /// Gate inputs besides `P^T`: the confounder features, then the routing features.
    pub(super) gate_feat_user: Tensor,
    pub(super) gate_feat_item: Tensor,
    /// The routing features' population statistics (None without routing features).
    pub(super) route_stats: Option<super::route::RouteStats>,
    /// The largest user total of training interactions (the activity scale of `h_u`).
    pub(super) user_activity_max: u32,
    /// Confounder design rows (stratum one-hot, then features) for the orthogonality penalty.
    pub(super) conf_user: Tensor,
    pub(super) conf_item: Tensor,
    pub(super) user_stratum: Tensor,
    pub(super) item_stratum: Tensor,
    pub(super) aux_csr: Vec<Csr>,
    pub(super) device: Device,
}

/// The +MCLMR blocks of a config (all None for the plain backbone).
#[derive(Default)]
struct Blocks {
    moe: Option<MoeAggregator>,
    causal: Option<CausalScorer>,
    conversion: Option<ConversionEvidence>,
    bcl: Option<BiasAwareContrast>,
}

/// One side's confounders: features, their table on the device, and strata.
struct Confounders<'a> {
    features: Features,
    table: Tensor,
    strata: &'a Strata,
}

impl Blocks {
    /// The blocks, their weights created under `vb` in the order a seeded run draws them: the
    /// MoE block, then the causal scorer, then the conversion evidence.
    fn new(
        config: &Config,
        n_aux: usize,
        gate_width: usize,
        (user, item): (&Confounders<'_>, &Confounders<'_>),
        vb: &ParamBuilder<'_>,
    ) -> Result<Self> {
        if !config.model.mclmr {
            return Ok(Blocks::default());
        }
        let m = &config.mclmr;
        let moe = MoeAggregator::new(config, n_aux, gate_width, vb.pp("moe"))?;
        let (mut causal, mut conversion) = (None, None);
        if m.causal {
            let vb = vb.pp("causal");
            let conv = if m.lambda_conv > 0.0 {
                let c = conversion_feature(&item.features);
                Some(Tensor::from_vec(c, item.features.len(), &vb.device())?)
            } else {
                None
            };
            causal = Some(CausalScorer::new(
                (&user.strata.prior, &item.strata.prior),
                (&user.table, &item.table),
                config.model.dim,
                conv,
                vb.clone(),
            )?);
            if m.conversion_evidence && n_aux > 0 {
                let (start, scale) = (m.conversion_start, m.conversion_scale);
                conversion = Some(ConversionEvidence::new(
                    &item.features,
                    (n_aux, m.conversion_feature),
                    (start, scale),
                    vb,
                )?);
            }
        }
        let bcl = (m.bcl && m.lambda_cl > 0.0 && n_aux > 0).then(|| BiasAwareContrast::new(m));
        Ok(Blocks {
            moe: Some(moe),
            causal,
            conversion,
            bcl,
        })
    }
}

pub(super) fn idx(v: &[u32], device: &Device) -> candle_core::Result<Tensor> {
    Tensor::from_vec(v.to_vec(), v.len(), device)
}

/// Item ids as global node rows (after the `by` users).
pub(super) fn offset(v: &[u32], by: usize) -> Vec<u32> {
    v.iter().map(|&x| x + by as u32).collect()
}

impl<'a> Confounders<'a> {
    fn compute(data: &Dataset, side: Side, strata: &'a Strata, device: &Device) -> Result<Self> {
        let features = Features::compute(data, side);
        let table = Tensor::from_vec(
            features.values.clone(),
            (features.len(), features.width),
            device,
        )?;
        Ok(Confounders {
            features,
            table,
            strata,
        })
    }
}

/// Rows `[stratum one-hot ‖ features]` of one side, for the orthogonality penalty.
fn confounder_design(c: &Confounders<'_>, device: &Device) -> Result<Tensor> {
    let (f, st) = (&c.features, c.strata);
    let w = st.k + f.width;
    let mut rows = vec![0f32; f.len() * w];
    for n in 0..f.len() {
        rows[n * w + st.assign[n] as usize] = 1.0;
        rows[n * w + st.k..(n + 1) * w].copy_from_slice(f.row(n));
    }
    Ok(Tensor::from_vec(rows, (f.len(), w), device)?)
}

/// The gates' inputs besides `P^T` of users and items: the confounder features, then (with
/// `mclmr.route_features`) the routing features.
fn gate_features(
    config: &Config,
    data: &Dataset,
    aux_csr: &[Csr],
    (user, item): (&Tensor, &Tensor),
) -> Result<(Tensor, Tensor, Option<super::route::RouteStats>)> {
    if !(config.model.mclmr && config.mclmr.route_features && !aux_csr.is_empty()) {
        return Ok((user.clone(), item.clone(), None));
    }
    let (r, stats) = RouteFeatures::compute_stats(data, aux_csr);
    let cat = |f: &Tensor, rows: Vec<f32>, n: usize| -> Result<Tensor> {
        let t = Tensor::from_vec(rows, (n, r.width), f.device())?;
        Ok(Tensor::cat(&[f, &t], 1)?)
    };
    Ok((
        cat(user, r.user.clone(), data.n_users())?,
        cat(item, r.item.clone(), data.n_items())?,
        Some(stats),
    ))
}

impl Net {
    /// Builds a freshly initialised model (seeded) with strata fitted on `data`.
    pub fn new(config: &Config, data: &Dataset, device: &Device) -> Result<Self> {
        let (us, is) = fit_strata(data, config);
        Self::with_strata(config, data, device, us, is)
    }

    /// Builds a model with given strata (used when loading a checkpoint).
    pub fn with_strata(
        config: &Config,
        data: &Dataset,
        device: &Device,
        user_strata: Strata,
        item_strata: Strata,
    ) -> Result<Self> {
        crate::runtime::init();
        if user_strata.assign.len() != data.n_users() || item_strata.assign.len() != data.n_items()
        {
            return Err(Error::Other(
                "strata do not match the dataset's users and items".into(),
            ));
        }
        let n_aux = data.n_behaviors() - 1;
        let init = ParamInit::new(device, config.train.seed);
        let vb = init.root();
        let emb = vb.normal(
            "emb",
            &[data.n_users() + data.n_items(), config.model.dim],
            config.model.init_std,
        )?;
        let m = &config.model;
        let backbone = backbone::make(
            m.backbone,
            data.n_behaviors(),
            m.dim,
            m.layers,
            vb.pp("backbone"),
        )?;
        let user = Confounders::compute(data, Side::User, &user_strata, device)?;
        let item = Confounders::compute(data, Side::Item, &item_strata, device)?;
        let aux_csr: Vec<Csr> = data.behaviors[..n_aux]
            .iter()
            .map(|b| b.user_csr(data.n_users()))
            .collect();
        let (gate_feat_user, gate_feat_item, route_stats) =
            gate_features(config, data, &aux_csr, (&user.table, &item.table))?;
        let blocks = Blocks::new(config, n_aux, gate_feat_user.dim(1)?, (&user, &item), &vb)?;
        let conf_user = confounder_design(&user, device)?;
        let conf_item = confounder_design(&item, device)?;
        let user_stratum = idx(&user_strata.assign, device)?;
        let item_stratum = idx(&item_strata.assign, device)?;
        let user_activity_max = user.features.max_total();
        let (user_feat, item_feat) = (user.table, item.table);
        Ok(Net {
            config: config.clone(),
            n_users: data.n_users(),
            n_items: data.n_items(),
            behavior_names: data.behavior_names(),
            params: init.into_params(),
            user_strata,
            item_strata,
            moe: blocks.moe,
            causal: blocks.causal,
            bcl: blocks.bcl,
            conversion: blocks.conversion,
            emb,
            backbone,
            graphs: BehaviorGraphs::build(data, device)?,
            user_feat,
            item_feat,
            gate_feat_user,
            gate_feat_item,
            route_stats,
            user_activity_max,
            conf_user,
            conf_item,
            user_stratum,
            item_stratum,
            aux_csr,
            device: device.clone(),
        })
    }

    /// Whether training batches need, per target triple, an item the user interacted with but
    /// did not buy (the conversion and tier losses).
    pub fn wants_interacted_not_bought(&self) -> bool {
        let conv = self.causal.as_ref().is_some_and(|c| c.has_conversion());
        let tier =
            self.config.mclmr.lambda_tier > 0.0 && self.moe.as_ref().is_some_and(|x| x.n_aux > 0);
        conv || tier
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Target behavior index.
    pub fn target(&self) -> usize {
        self.behavior_names.len() - 1
    }

    /// Evidence features `x_b(u,i) = ln(1 + count)` for pairs, `[n, n_aux]`.
    pub fn evidence(&self, users: &[u32], items: &[u32]) -> Vec<f32> {
        let n_aux = self.aux_csr.len();
        let mut x = vec![0f32; users.len() * n_aux];
        for (r, (&u, &i)) in users.iter().zip(items).enumerate() {
            for (b, csr) in self.aux_csr.iter().enumerate() {
                x[r * n_aux + b] = (1.0 + csr.value(u as usize, i)).ln();
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Interactions;
    use crate::model::BackboneKind;

    fn tiny() -> Dataset {
        let view = vec![(0, 0), (0, 1), (1, 2), (2, 3), (3, 4), (3, 0)];
        let cart = vec![(0, 1), (1, 2), (3, 4)];
        let buy = vec![(0, 1), (1, 2), (2, 3), (3, 4)];
        Dataset::from_parts(
            "t".into(),
            std::path::PathBuf::from("t"),
            (0..4).map(|u| u.to_string()).collect(),
            (0..5).map(|i| i.to_string()).collect(),
            vec![
                Interactions::from_raw("view", view),
                Interactions::from_raw("cart", cart),
                Interactions::from_raw("buy", buy),
            ],
            vec![],
            vec![(0, 4)],
            None,
            vec![],
        )
    }

    /// Every checkpoint key of mf + MCLMR with every optional block on, with its shape: the
    /// names earlier checkpoints were written with, each created by the block that holds it.
    #[test]
    fn checkpoint_keys_and_shapes_are_the_stored_ones() {
        let mut cfg = Config::default();
        cfg.model.backbone = BackboneKind::Mf;
        cfg.model.dim = 4;
        cfg.mclmr.k_user = 2;
        cfg.mclmr.k_item = 2;
        cfg.mclmr.lambda_conv = 1.0;
        cfg.mclmr.conversion_evidence = true;
        let net = Net::new(&cfg, &tiny(), &Device::Cpu).unwrap();
        let (ku, ki) = (net.user_strata.k, net.item_strata.k);
        // Gate input: P^T (4), h or g (3 behaviors + activity), routing features (2 per aux).
        let gate_in = 4 + 4 + 4;
        let mut want: Vec<(String, Vec<usize>)> = vec![
            ("emb".into(), vec![9, 4]),
            ("causal.user".into(), vec![ku, 4]),
            ("causal.item".into(), vec![ki, 4]),
            ("causal.beta".into(), vec![ki]),
            ("causal.user_lin".into(), vec![4, 4]),
            ("causal.item_lin".into(), vec![4, 4]),
            ("causal.beta_lin".into(), vec![4, 1]),
            ("causal.conv_w".into(), vec![1]),
            ("causal.conv_evidence".into(), vec![2]),
            ("moe.evidence".into(), vec![2]),
        ];
        for b in 0..3 {
            want.push((format!("backbone.w.{b}"), vec![4, 4]));
        }
        for m in 0..3 {
            for (w, shape) in [("w1", vec![4, 4]), ("b1", vec![4]), ("w2", vec![4, 4])] {
                want.push((format!("moe.expert.{m}.{w}"), shape));
            }
            want.push((format!("moe.expert.{m}.b2"), vec![4]));
        }
        for side in ["user", "item"] {
            want.push((format!("moe.gate.{side}.w"), vec![gate_in, 3]));
            want.push((format!("moe.gate.{side}.b"), vec![3]));
        }
        want.sort();
        let got: Vec<(String, Vec<usize>)> = net
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.dims().to_vec()))
            .collect();
        assert_eq!(got, want);
    }
}
