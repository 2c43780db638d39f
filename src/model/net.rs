//! The assembled model: a backbone, and for `+MCLMR` the MoE aggregator, the causal scorer and
//! the bias-aware contrastive loss (METHOD.md §2–§6). [`Net::loss`] is one training step's
//! objective; [`Net::infer`] turns the parameters into an [`Inference`] for ranking and
//! explanation.

use candle_core::{DType, Device, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::backbone::{self, Backbone};
use super::config::Config;
use super::graph::BehaviorGraphs;
use super::inference::{CausalParts, Inference};
use super::losses::{self, bcl_weights, bias_aware_infonce, bpr, l2_normalize};
use super::moe::MoeAggregator;
use super::params::Params;
use super::route::RouteFeatures;
use super::scorer::{conversion_feature, conversion_feature_loo, CausalScorer};
use super::spmm::gather_rows;
use super::strata::{Features, Side, Strata};
use crate::data::{Csr, Dataset};
use crate::error::{Error, Result};

/// Sampled triples `(user, positive, negative)` of one behavior.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triples {
    /// Users.
    pub users: Vec<u32>,
    /// Positive items.
    pub pos: Vec<u32>,
    /// Negative items.
    pub neg: Vec<u32>,
}

/// One training batch: target triples and, per auxiliary behavior, its own triples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Target-behavior triples.
    pub target: Triples,
    /// Auxiliary triples, weakest → strongest auxiliary behavior.
    pub aux: Vec<Triples>,
    /// For the conversion loss (`mclmr.lambda_conv`): per target triple, an item its user
    /// interacted with in an auxiliary behavior but did not buy ([`NO_ITEM`] when none; empty
    /// when the loss is off).
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

/// The model: parameters plus the fixed structures they act on.
pub struct Net {
    /// Configuration the model was built with.
    pub config: Config,
    /// Users.
    pub n_users: usize,
    /// Items.
    pub n_items: usize,
    /// Behavior names, weakest → target.
    pub behavior_names: Vec<String>,
    /// Trainable parameters.
    pub params: Params,
    /// User habit strata.
    pub user_strata: Strata,
    /// Item multi-behavior strata.
    pub item_strata: Strata,
    /// The MoE block (None for the plain backbone).
    pub moe: Option<MoeAggregator>,
    /// The causal scorer (None for plain or `causal = false`).
    pub causal: Option<CausalScorer>,
    backbone: Box<dyn Backbone>,
    graphs: BehaviorGraphs,
    user_feat: Tensor,
    item_feat: Tensor,
    /// Gate inputs besides `P^T`: the confounder features, then the routing features.
    gate_feat_user: Tensor,
    gate_feat_item: Tensor,
    /// Confounder design rows (stratum one-hot, then features) for the orthogonality penalty.
    conf_user: Tensor,
    conf_item: Tensor,
    /// Items' standardised conversion log-odds for the conversion evidence: all interactions,
    /// one target interaction left out (for scoring training purchases), and the first on the
    /// host.
    conversion: Option<(Tensor, Tensor, Vec<f32>)>,
    user_stratum: Tensor,
    item_stratum: Tensor,
    aux_csr: Vec<Csr>,
    device: Device,
}

/// A batch's view of the per-behavior representations: whole tables from a graph backbone, or
/// for a row-local backbone (mf) the base rows transformed on demand, so a step costs the batch's
/// rows rather than the whole table.
enum Reps<'a> {
    Tables(Vec<Tensor>),
    Rows {
        backbone: &'a dyn Backbone,
        params: &'a Params,
        e0: &'a Tensor,
        n: usize,
    },
}

impl Reps<'_> {
    /// Behavior `b`'s representations of the nodes `rows` (global node indices).
    fn select(&self, b: usize, rows: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Reps::Tables(t) => gather_rows(&t[b], rows),
            Reps::Rows {
                backbone,
                params,
                e0,
                ..
            } => backbone.forward_rows(params, b, &gather_rows(e0, rows)?),
        }
    }

    /// Number of behaviors.
    fn len(&self) -> usize {
        match self {
            Reps::Tables(t) => t.len(),
            Reps::Rows { n, .. } => *n,
        }
    }
}

fn idx(v: &[u32], device: &Device) -> candle_core::Result<Tensor> {
    Tensor::from_vec(v.to_vec(), v.len(), device)
}

fn offset(v: &[u32], by: usize) -> Vec<u32> {
    v.iter().map(|&x| x + by as u32).collect()
}

impl Net {
    /// Builds a freshly initialised model (seeded) with strata fitted on `data`.
    pub fn new(config: &Config, data: &Dataset, device: &Device) -> Result<Self> {
        let seed = config.train.seed;
        let us = Strata::fit(
            &Features::compute(data, Side::User),
            Side::User,
            config.mclmr.k_user,
            seed,
        );
        let is = Strata::fit(
            &Features::compute(data, Side::Item),
            Side::Item,
            config.mclmr.k_item,
            seed.wrapping_add(1),
        );
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
        let kind = config.model.backbone;
        let backbone = backbone::make(
            kind,
            data.n_behaviors(),
            config.model.dim,
            config.model.layers,
        )
        .ok_or_else(|| {
            Error::bad_arg(
                "backbone",
                kind.name(),
                "rule baselines have no neural model; use mf, lightgcn or cascade",
            )
        })?;
        if user_strata.assign.len() != data.n_users() || item_strata.assign.len() != data.n_items()
        {
            return Err(Error::Other(
                "strata do not match the dataset's users and items".into(),
            ));
        }
        let d = config.model.dim;
        let n_aux = data.n_behaviors() - 1;
        let mut rng = StdRng::seed_from_u64(config.train.seed);
        let mut params = Params::new(device);
        params.normal(
            "emb",
            &[data.n_users() + data.n_items(), d],
            config.model.init_std,
            &mut rng,
        )?;
        backbone.init(&mut params, &mut rng)?;
        let table = |f: &Features| -> Result<Tensor> {
            Ok(Tensor::from_vec(
                f.values.clone(),
                (f.len(), f.width),
                device,
            )?)
        };
        let item_features = Features::compute(data, Side::Item);
        let user_features = Features::compute(data, Side::User);
        let user_feat = table(&user_features)?;
        let item_feat = table(&item_features)?;
        let aux_csr: Vec<Csr> = data.behaviors[..n_aux]
            .iter()
            .map(|b| b.user_csr(data.n_users()))
            .collect();
        let with_route = config.model.mclmr && config.mclmr.route_features && n_aux > 0;
        let (gate_feat_user, gate_feat_item, route_width) = if with_route {
            let r = RouteFeatures::compute(data, &aux_csr);
            let cat = |f: &Tensor, rows: Vec<f32>, n: usize| -> Result<Tensor> {
                let t = Tensor::from_vec(rows, (n, r.width), device)?;
                Ok(Tensor::cat(&[f, &t], 1)?)
            };
            (
                cat(&user_feat, r.user.clone(), data.n_users())?,
                cat(&item_feat, r.item.clone(), data.n_items())?,
                r.width,
            )
        } else {
            (user_feat.clone(), item_feat.clone(), 0)
        };
        let conf = |f: &Features, st: &Strata| -> Result<Tensor> {
            let w = st.k + f.width;
            let mut rows = vec![0f32; f.len() * w];
            for n in 0..f.len() {
                rows[n * w + st.assign[n] as usize] = 1.0;
                rows[n * w + st.k..(n + 1) * w].copy_from_slice(f.row(n));
            }
            Ok(Tensor::from_vec(rows, (f.len(), w), device)?)
        };
        let conf_user = conf(&user_features, &user_strata)?;
        let conf_item = conf(&item_features, &item_strata)?;
        let mut conversion = None;
        let mut moe = None;
        let mut causal = None;
        if config.model.mclmr {
            let m = MoeAggregator {
                n_aux,
                shared: config.mclmr.shared_experts,
                dim: d,
                feat_width: data.n_behaviors() + 1 + route_width,
                learned: config.mclmr.moe,
                top_k: config.mclmr.top_k,
                temperature: config.mclmr.gate_temperature,
                evidence_scale: config.mclmr.evidence_scale,
            };
            m.init(&mut params, &mut rng)?;
            moe = Some(m);
            if config.mclmr.causal {
                let mut c = CausalScorer::new(
                    &user_strata.prior,
                    &item_strata.prior,
                    &user_feat,
                    &item_feat,
                    d,
                    device,
                )?;
                if config.mclmr.lambda_conv > 0.0 {
                    let conv = conversion_feature(&item_features);
                    c.conversion = Some(Tensor::from_vec(conv, data.n_items(), device)?);
                }
                c.init(&mut params, &mut rng)?;
                if config.mclmr.conversion_evidence && n_aux > 0 {
                    let (full, loo) = conversion_feature_loo(&item_features);
                    let ni = data.n_items();
                    conversion = Some((
                        Tensor::from_vec(full.clone(), ni, device)?,
                        Tensor::from_vec(loo, ni, device)?,
                        full,
                    ));
                    let start = config.mclmr.conversion_start / config.mclmr.conversion_scale;
                    params.constant("causal.conv_evidence", &[n_aux], start as f32)?;
                }
                causal = Some(c);
            }
        }
        let user_stratum = idx(&user_strata.assign, device)?;
        let item_stratum = idx(&item_strata.assign, device)?;
        Ok(Net {
            config: config.clone(),
            n_users: data.n_users(),
            n_items: data.n_items(),
            behavior_names: data.behavior_names(),
            params,
            user_strata,
            item_strata,
            moe,
            causal,
            backbone,
            graphs: BehaviorGraphs::build(data, device)?,
            user_feat,
            item_feat,
            gate_feat_user,
            gate_feat_item,
            conf_user,
            conf_item,
            conversion,
            user_stratum,
            item_stratum,
            aux_csr,
            device: device.clone(),
        })
    }

    /// Whether training batches need, per target triple, an item the user interacted with but
    /// did not buy (the conversion and tier losses).
    pub fn wants_interacted_not_bought(&self) -> bool {
        let m = &self.config.mclmr;
        let conv = self.causal.as_ref().is_some_and(|c| c.conversion.is_some());
        let tier = m.lambda_tier > 0.0 && self.moe.as_ref().is_some_and(|x| x.n_aux > 0);
        conv || tier
    }

    /// The device the model runs on.
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

    fn emb(&self) -> candle_core::Result<&Tensor> {
        self.params
            .get("emb")
            .ok_or_else(|| candle_core::Error::Msg("missing parameter emb".into()))
    }

    /// The objective of one batch and its parts.
    pub fn loss(&self, batch: &Batch) -> Result<(Tensor, LossParts)> {
        let cfg = &self.config;
        let dev = &self.device;
        let e0 = self.emb()?;
        let reps = if self.backbone.row_local() {
            Reps::Rows {
                backbone: self.backbone.as_ref(),
                params: &self.params,
                e0,
                n: self.target() + 1,
            }
        } else {
            Reps::Tables(self.backbone.forward(&self.params, &self.graphs, e0)?)
        };
        let t = self.target();
        let nu = self.n_users;
        let tb = &batch.target;
        let n = tb.users.len();
        let u_idx = idx(&tb.users, dev)?;
        let i_idx = idx(&offset(&tb.pos, nu), dev)?;
        let j_idx = idx(&offset(&tb.neg, nu), dev)?;
        let mut parts = LossParts::default();
        // One gather per behavior for users, positives and negatives together: each gather's
        // backward is a full-size `[N, d]` scatter, so three separate ones cost three of them.
        let rows = Tensor::cat(&[&u_idx, &i_idx, &j_idx], 0)?;
        let n_gather = if self.moe.is_some() { reps.len() } else { 1 };
        let gathered = (0..n_gather)
            .map(|k| {
                let b = if self.moe.is_some() { k } else { t };
                reps.select(b, &rows)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let users_of = |g: &Tensor| g.narrow(0, 0, n);

        let target_loss = match &self.moe {
            None => {
                let g = &gathered[0];
                let pu = users_of(g)?;
                let sp = (&pu * g.narrow(0, n, n)?)?.sum(1)?;
                let sn = (&pu * g.narrow(0, 2 * n, n)?)?.sum(1)?;
                bpr(&sp, &sn)?
            }
            Some(moe) => self.mclmr_loss(moe, batch, &reps, &gathered, &mut parts)?,
        };
        parts.target = target_loss.to_scalar::<f32>()?;
        let mut total = target_loss;

        // Auxiliary behaviors' own BPR on their representations.
        if cfg.train.alpha > 0.0 && !batch.aux.is_empty() {
            let mut acc: Option<Tensor> = None;
            for (b, tr) in batch.aux.iter().enumerate() {
                if tr.users.is_empty() {
                    continue;
                }
                let pu = reps.select(b, &idx(&tr.users, dev)?)?;
                let sp = (&pu * reps.select(b, &idx(&offset(&tr.pos, nu), dev)?)?)?.sum(1)?;
                let sn = (&pu * reps.select(b, &idx(&offset(&tr.neg, nu), dev)?)?)?.sum(1)?;
                let l = bpr(&sp, &sn)?;
                acc = Some(match acc {
                    None => l,
                    Some(a) => (a + l)?,
                });
            }
            if let Some(a) = acc {
                let mean = (a / batch.aux.len() as f64)?;
                parts.aux = mean.to_scalar::<f32>()?;
                total = (total + (mean * cfg.train.alpha)?)?;
            }
        }
        if cfg.train.lambda_reg > 0.0 {
            let reg = (gather_rows(e0, &rows)?.sqr()?.sum_all()?
                * (cfg.train.lambda_reg / n.max(1) as f64))?;
            parts.reg = reg.to_scalar::<f32>()?;
            total = (total + reg)?;
        }
        parts.total = total.to_scalar::<f32>()?;
        Ok((total, parts))
    }

    /// The observational logit of `(users[r], items[r])` computed the way training computes it
    /// (backbone forward, gathers, fusion, [`Net::pair_logits`]), for checking that ranking
    /// scores equal what was trained.
    pub fn training_logits(&self, users: &[u32], items: &[u32]) -> Result<Vec<f32>> {
        let dev = &self.device;
        let e0 = self.emb()?;
        let reps = self.backbone.forward(&self.params, &self.graphs, e0)?;
        let t = self.target();
        let u_rows = idx(users, dev)?;
        let i_rows = idx(&offset(items, self.n_users), dev)?;
        let out = match &self.moe {
            None => (gather_rows(&reps[t], &u_rows)? * gather_rows(&reps[t], &i_rows)?)?.sum(1)?,
            Some(moe) => {
                let side = |rows: &Tensor| -> Result<(Tensor, Vec<Tensor>)> {
                    let aux = (0..moe.n_aux)
                        .map(|b| gather_rows(&reps[b], rows))
                        .collect::<candle_core::Result<Vec<_>>>()?;
                    Ok((gather_rows(&reps[t], rows)?, aux))
                };
                let (pu, au) = side(&u_rows)?;
                let (pi, ai) = side(&i_rows)?;
                let fu = moe.fuse(
                    &self.params,
                    Side::User,
                    &pu,
                    &au,
                    &self.gate_feat_user.index_select(&idx(users, dev)?, 0)?,
                )?;
                let fi = moe.fuse(
                    &self.params,
                    Side::Item,
                    &pi,
                    &ai,
                    &self.gate_feat_item.index_select(&idx(items, dev)?, 0)?,
                )?;
                self.pair_logits(moe, users, &fu.z, &fu.gate, items, &fi.z, 0, false)?
            }
        };
        Ok(out.to_device(&Device::Cpu)?.to_vec1::<f32>()?)
    }

    /// The +MCLMR part of the objective: target BPR on the full observational logit, then the
    /// tier, conversion, balance, orthogonality and contrastive terms.
    fn mclmr_loss(
        &self,
        moe: &MoeAggregator,
        batch: &Batch,
        reps: &Reps<'_>,
        gathered: &[Tensor],
        parts: &mut LossParts,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let dev = &self.device;
        let t = self.target();
        let nu = self.n_users;
        let tb = &batch.target;
        let n = tb.users.len();
        let n_aux = moe.n_aux;
        let u_idx = idx(&tb.users, dev)?;
        let users_of = |g: &Tensor| g.narrow(0, 0, n);
        let items_of = |g: &Tensor| g.narrow(0, n, 2 * n);
        let pt_u = users_of(&gathered[t])?;
        let aux_u = (0..n_aux)
            .map(|b| users_of(&gathered[b]))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let gfeat_u = self.gate_feat_user.index_select(&u_idx, 0)?;
        let fu = moe.fuse(&self.params, Side::User, &pt_u, &aux_u, &gfeat_u)?;
        // Item side: positives and negatives in one pass.
        let items_raw: Vec<u32> = tb.pos.iter().chain(&tb.neg).copied().collect();
        let items_raw_t = idx(&items_raw, dev)?;
        let pt_i = items_of(&gathered[t])?;
        let aux_i = (0..n_aux)
            .map(|b| items_of(&gathered[b]))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let fi = moe.fuse(
            &self.params,
            Side::Item,
            &pt_i,
            &aux_i,
            &self.gate_feat_item.index_select(&items_raw_t, 0)?,
        )?;
        let scores =
            self.pair_logits(moe, &tb.users, &fu.z, &fu.gate, &items_raw, &fi.z, n, false)?;
        let sp = scores.narrow(0, 0, n)?;
        let sn = scores.narrow(0, n, n)?;
        let mut l = bpr(&sp, &sn)?;
        if cfg.mclmr.lambda_tier > 0.0 && !batch.interacted_not_bought.is_empty() {
            if let Some(tier) = self.tier_loss(moe, batch, reps, &pt_u, &gfeat_u, &fu.z, &fi.z)? {
                parts.tier = tier.to_scalar::<f32>()?;
                l = (l + (tier * cfg.mclmr.lambda_tier)?)?;
            }
        }
        if let (Some(c), true) = (&self.causal, cfg.mclmr.lambda_conv > 0.0) {
            if let Some(conv) = self.conversion_loss(c, &tb.pos, &batch.interacted_not_bought)? {
                parts.conv = conv.to_scalar::<f32>()?;
                l = (l + (conv * cfg.mclmr.lambda_conv)?)?;
            }
        }
        if moe.learned && cfg.mclmr.lambda_bal > 0.0 {
            let bal = (losses::balance(&fu.gate)? + losses::balance(&fi.gate)?)?;
            parts.bal = bal.to_scalar::<f32>()?;
            l = (l + (bal * cfg.mclmr.lambda_bal)?)?;
        }
        if self.causal.is_some() && cfg.mclmr.lambda_orth > 0.0 {
            let orth =
                (losses::cross_covariance(&self.conf_user.index_select(&u_idx, 0)?, &fu.z)?
                    + losses::cross_covariance(
                        &self.conf_item.index_select(&items_raw_t, 0)?,
                        &fi.z,
                    )?)?;
            parts.orth = orth.to_scalar::<f32>()?;
            l = (l + (orth * cfg.mclmr.lambda_orth)?)?;
        }
        if cfg.mclmr.bcl && cfg.mclmr.lambda_cl > 0.0 && n_aux > 0 {
            let cl = (self.bcl_side(moe, reps, &tb.users, 0, &self.user_strata)?
                + self.bcl_side(moe, reps, &tb.pos, nu, &self.item_strata)?)?;
            parts.cl = cl.to_scalar::<f32>()?;
            l = (l + (cl * cfg.mclmr.lambda_cl)?)?;
        }
        Ok(l)
    }

    /// The observational logit `y(u,i)` (METHOD §3–§4 with this project's terms) of the pairs
    /// `(users[r mod n], items[r])`: `⟨Z_u, Z_i⟩`, the evidence terms through the user's gate, the
    /// conversion evidence, and the confounder terms. `zu`/`gate_u` have one row per user,
    /// `zi` one row per item; `items` may hold several items per user (positives, then
    /// negatives), which repeat the user rows. The first `positives` pairs are training
    /// purchases: their conversion value leaves that purchase out. `fixed` holds the evidence
    /// weights and the confounder terms fixed (no gradient), so only the gate learns.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pair_logits(
        &self,
        moe: &MoeAggregator,
        users: &[u32],
        zu: &Tensor,
        gate_u: &Tensor,
        items: &[u32],
        zi: &Tensor,
        positives: usize,
        fixed: bool,
    ) -> Result<Tensor> {
        let dev = &self.device;
        let n = users.len();
        let reps = items.len() / n.max(1);
        let rep_rows =
            |x: &Tensor| -> Result<Tensor> { Ok(Tensor::cat(&vec![x.clone(); reps], 0)?) };
        let all_users: Vec<u32> = (0..reps).flat_map(|_| users.iter().copied()).collect();
        let zu_r = rep_rows(zu)?;
        let gate_r = rep_rows(gate_u)?;
        let mut s = (&zu_r * zi)?.sum(1)?;
        let n_aux = moe.n_aux;
        if self.config.mclmr.evidence && n_aux > 0 {
            let x = Tensor::from_vec(self.evidence(&all_users, items), (items.len(), n_aux), dev)?;
            s = (s + moe.evidence_term(&self.params, &gate_r, &x, fixed)?)?;
            if let Some((full, loo, _)) = &self.conversion {
                let k = positives.min(items.len());
                let ci = Tensor::cat(
                    &[
                        loo.index_select(&idx(&items[..k], dev)?, 0)?,
                        full.index_select(&idx(&items[k..], dev)?, 0)?,
                    ],
                    0,
                )?;
                // Its weights learn from the tier loss (bought vs the user's other items), the
                // comparison the term is for; see conversion_evidence.
                let learn = fixed || self.config.mclmr.lambda_tier <= 0.0;
                s = (s + self.conversion_evidence(&x, &ci, learn)?)?;
            }
        }
        if let Some(c) = &self.causal {
            let u_idx = idx(&all_users, dev)?;
            let i_idx = idx(items, dev)?;
            let su = self.user_stratum.index_select(&u_idx, 0)?;
            let hu = self.user_feat.index_select(&u_idx, 0)?;
            let si = self.item_stratum.index_select(&i_idx, 0)?;
            let gi = self.item_feat.index_select(&i_idx, 0)?;
            let eff = c.node_effects(&self.params, &su, &hu, (&si, &gi, &i_idx))?;
            let terms = c.raw_terms(&zu_r, zi, &eff)?;
            s = (s + if fixed { terms.detach() } else { terms })?;
        }
        Ok(s)
    }

    /// `Σ_b v_b 1[x_b(u,i) > 0] conv_i` with `v_b = s_c · ν_b` (`mclmr.conversion_scale`): the conversion evidence of pairs with evidence
    /// features `x` (`[n, n_aux]`) and item conversion values `conv_i` (`[n]`). `v` gets no
    /// gradient unless `learn`: against uniform negatives (which have no evidence) the BPR loss
    /// would fit `v` to the mean conversion of bought items, a tier offset, not to whether
    /// converting items are the ones bought (docs/MODEL.md §5).
    fn conversion_evidence(&self, x: &Tensor, conv_i: &Tensor, learn: bool) -> Result<Tensor> {
        let v = self
            .params
            .get("causal.conv_evidence")
            .ok_or_else(|| Error::Other("missing parameter causal.conv_evidence".into()))?;
        let v = (if learn { v.clone() } else { v.detach() } * self.config.mclmr.conversion_scale)?;
        let has = x.gt(0.0)?.to_dtype(DType::F32)?;
        Ok((has.broadcast_mul(&v.unsqueeze(0)?)?.sum(1)? * conv_i)?)
    }

    /// Tier loss (`mclmr.lambda_tier`): BPR of each bought item against an item the same user
    /// interacted with but did not buy, with every representation, evidence weight and
    /// confounder term held fixed, so that only the user gate (on fixed inputs) learns from it:
    /// which of this user's behaviors tells their purchases apart from the rest of their history.
    #[allow(clippy::too_many_arguments)]
    fn tier_loss(
        &self,
        moe: &MoeAggregator,
        batch: &Batch,
        reps: &Reps<'_>,
        pt_u: &Tensor,
        gfeat_u: &Tensor,
        zu: &Tensor,
        zi: &Tensor,
    ) -> Result<Option<Tensor>> {
        let tb = &batch.target;
        let keep: Vec<usize> = (0..tb.users.len())
            .filter(|&r| batch.interacted_not_bought[r] != NO_ITEM)
            .collect();
        if keep.is_empty() {
            return Ok(None);
        }
        let dev = &self.device;
        let rows = idx(&keep.iter().map(|&r| r as u32).collect::<Vec<_>>(), dev)?;
        let users: Vec<u32> = keep.iter().map(|&r| tb.users[r]).collect();
        let pos: Vec<u32> = keep.iter().map(|&r| tb.pos[r]).collect();
        let neg: Vec<u32> = keep
            .iter()
            .map(|&r| batch.interacted_not_bought[r])
            .collect();
        let gate = moe.gate(
            &self.params,
            Side::User,
            &pt_u.detach().index_select(&rows, 0)?,
            &gfeat_u.index_select(&rows, 0)?,
        )?;
        let zu = zu.detach().index_select(&rows, 0)?;
        let z_pos = zi.detach().index_select(&rows, 0)?;
        // The negatives' fused representations, computed without a gradient.
        let neg_rows = idx(&offset(&neg, self.n_users), dev)?;
        let t = self.target();
        let pt_j = reps.select(t, &neg_rows)?.detach();
        let aux_j = (0..moe.n_aux)
            .map(|b| Ok(reps.select(b, &neg_rows)?.detach()))
            .collect::<Result<Vec<_>>>()?;
        let fj = moe.fuse(
            &self.params,
            Side::Item,
            &pt_j,
            &aux_j,
            &self.gate_feat_item.index_select(&idx(&neg, dev)?, 0)?,
        )?;
        let items: Vec<u32> = pos.iter().chain(&neg).copied().collect();
        let z_items = Tensor::cat(&[&z_pos, &fj.z.detach()], 0)?;
        let s = self.pair_logits(moe, &users, &zu, &gate, &items, &z_items, users.len(), true)?;
        let k = users.len();
        Ok(Some(bpr(&s.narrow(0, 0, k)?, &s.narrow(0, k, k)?)?))
    }

    /// Conversion loss: logistic loss of the item effect `β_i` with the batch's bought items as
    /// positives and, for the same users, items they interacted with but did not buy as
    /// negatives (None when the batch has none). Only `β` receives its gradient.
    fn conversion_loss(
        &self,
        c: &CausalScorer,
        bought: &[u32],
        not_bought: &[u32],
    ) -> Result<Option<Tensor>> {
        let neg: Vec<u32> = not_bought
            .iter()
            .copied()
            .filter(|&i| i != NO_ITEM)
            .collect();
        if neg.is_empty() || bought.is_empty() {
            return Ok(None);
        }
        let dev = &self.device;
        let beta = |items: &[u32]| -> Result<Tensor> {
            let ix = idx(items, dev)?;
            Ok(c.item_bias(
                &self.params,
                &self.item_stratum.index_select(&ix, 0)?,
                &self.item_feat.index_select(&ix, 0)?,
                &ix,
            )?)
        };
        let pos_loss = losses::softplus(&beta(bought)?.neg()?)?.mean_all()?;
        let neg_loss = losses::softplus(&beta(&neg)?)?.mean_all()?;
        Ok(Some((pos_loss + neg_loss)?))
    }

    /// Bias-aware contrastive loss of one side (METHOD §5), averaged over auxiliary behaviors,
    /// on the first `cl_batch` distinct nodes of `nodes`.
    fn bcl_side(
        &self,
        moe: &MoeAggregator,
        reps: &Reps<'_>,
        nodes: &[u32],
        off: usize,
        strata: &Strata,
    ) -> Result<Tensor> {
        let cfg = &self.config.mclmr;
        let mut seen = std::collections::HashSet::new();
        let uniq: Vec<u32> = nodes
            .iter()
            .copied()
            .filter(|v| seen.insert(*v))
            .take(cfg.cl_batch)
            .collect();
        let n = uniq.len();
        let dev = &self.device;
        let rows = idx(&offset(&uniq, off), dev)?;
        let st: Vec<u32> = uniq.iter().map(|&v| strata.assign[v as usize]).collect();
        let (lo, w) = bcl_weights(&st, &strata.prior, cfg.eta, cfg.rho);
        let lo = Tensor::from_vec(lo, (n, n), dev)?;
        let w = Tensor::from_vec(w, n, dev)?;
        let anchor = l2_normalize(&reps.select(self.target(), &rows)?)?;
        let mut acc: Option<Tensor> = None;
        for b in 0..moe.n_aux.min(reps.len()) {
            let pos = l2_normalize(&moe.expert(&self.params, b, &reps.select(b, &rows)?)?)?;
            let l = bias_aware_infonce(&anchor, &pos, &lo, &w, cfg.tau)?;
            acc = Some(match acc {
                None => l,
                Some(a) => (a + l)?,
            });
        }
        let total = acc.ok_or_else(|| Error::Other("no auxiliary behavior for BCL".into()))?;
        Ok((total / moe.n_aux as f64)?)
    }

    /// Computes every representation, gate and confounder term for ranking and explanation.
    pub fn infer(&self) -> Result<Inference> {
        let e0 = self.emb()?.detach();
        let reps = self.backbone.forward(&self.params, &self.graphs, &e0)?;
        let reps: Vec<Tensor> = reps.into_iter().map(|r| r.detach()).collect();
        let t = self.target();
        let (nu, ni) = (self.n_users, self.n_items);
        let d = self.config.model.dim;
        let to_vec = |x: &Tensor| -> Result<Vec<f32>> {
            Ok(x.to_device(&Device::Cpu)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?)
        };
        let users_of = |r: &Tensor| r.narrow(0, 0, nu);
        let items_of = |r: &Tensor| r.narrow(0, nu, ni);
        let mut inf = Inference {
            n_users: nu,
            n_items: ni,
            dim: d,
            plain: self.moe.is_none(),
            behavior_names: self.behavior_names.clone(),
            reps: reps.iter().map(&to_vec).collect::<Result<Vec<_>>>()?,
            pt_user: to_vec(&users_of(&reps[t])?)?,
            pt_item: to_vec(&items_of(&reps[t])?)?,
            user_stratum: self.user_strata.assign.clone(),
            item_stratum: self.item_strata.assign.clone(),
            aux_csr: self.aux_csr.clone(),
            ..Inference::default()
        };
        match &self.moe {
            None => {
                inf.z_user = inf.pt_user.clone();
                inf.z_item = inf.pt_item.clone();
            }
            Some(moe) => {
                let n_aux = moe.n_aux;
                inf.n_aux = n_aux;
                inf.n_experts = moe.n_experts();
                inf.expert_names = (0..moe.n_experts())
                    .map(|m| {
                        if m < n_aux {
                            self.behavior_names[m].clone()
                        } else {
                            format!("shared{}", m - n_aux + 1)
                        }
                    })
                    .collect();
                let fuse_side = |side: Side,
                                 part: &dyn Fn(&Tensor) -> candle_core::Result<Tensor>,
                                 feat: &Tensor|
                 -> Result<_> {
                    let pt = part(&reps[t])?;
                    let aux = (0..n_aux)
                        .map(|b| part(&reps[b]))
                        .collect::<candle_core::Result<Vec<_>>>()?;
                    let f = moe.fuse(&self.params, side, &pt, &aux, feat)?;
                    Ok((to_vec(&f.z)?, to_vec(&f.gate)?, to_vec(&f.experts)?))
                };
                let (zu, gu, eu) = fuse_side(Side::User, &users_of, &self.gate_feat_user)?;
                let (zi, gi, ei) = fuse_side(Side::Item, &items_of, &self.gate_feat_item)?;
                inf.z_user = zu;
                inf.gate_user = gu;
                inf.expert_user = eu;
                inf.z_item = zi;
                inf.gate_item = gi;
                inf.expert_item = ei;
                inf.evidence_w = if self.config.mclmr.evidence && n_aux > 0 {
                    to_vec(&moe.evidence_weights(&self.params)?)?
                } else {
                    vec![0.0; n_aux]
                };
                if let (Some((_, _, conv)), Some(v)) =
                    (&self.conversion, self.params.get("causal.conv_evidence"))
                {
                    inf.conversion = conv.clone();
                    inf.conversion_w = to_vec(&(v * self.config.mclmr.conversion_scale)?)?;
                }
                if let Some(c) = &self.causal {
                    let (cub, cib, bb) = c.averaged(&self.params)?;
                    let all_u = idx(&(0..nu as u32).collect::<Vec<_>>(), &self.device)?;
                    let all_i = idx(&(0..ni as u32).collect::<Vec<_>>(), &self.device)?;
                    let (cu, ci, b) = c.node_effects(
                        &self.params,
                        &self.user_stratum,
                        &self.user_feat.index_select(&all_u, 0)?,
                        (
                            &self.item_stratum,
                            &self.item_feat.index_select(&all_i, 0)?,
                            &all_i,
                        ),
                    )?;
                    inf.causal = Some(CausalParts {
                        cu: to_vec(&cu)?,
                        ci: to_vec(&ci)?,
                        beta: to_vec(&b)?,
                        cu_bar: to_vec(&cub)?,
                        ci_bar: to_vec(&cib)?,
                        beta_bar: to_vec(&bb)?.first().copied().unwrap_or(0.0),
                        prior_user: self.user_strata.prior.clone(),
                        prior_item: self.item_strata.prior.clone(),
                    });
                }
            }
        }
        inf.finish()?;
        Ok(inf)
    }
}
