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
use super::scorer::{conversion_feature, CausalScorer};
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
        let user_feat = table(&Features::compute(data, Side::User))?;
        let item_feat = table(&item_features)?;
        let mut moe = None;
        let mut causal = None;
        if config.model.mclmr {
            let m = MoeAggregator {
                n_aux,
                shared: config.mclmr.shared_experts,
                dim: d,
                feat_width: data.n_behaviors() + 1,
                learned: config.mclmr.moe,
                top_k: config.mclmr.top_k,
                temperature: config.mclmr.gate_temperature,
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
            user_stratum,
            item_stratum,
            aux_csr: data.behaviors[..n_aux]
                .iter()
                .map(|b| b.user_csr(data.n_users()))
                .collect(),
            device: device.clone(),
        })
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
                let row = csr.row(u as usize);
                if let Ok(k) = row.binary_search(&i) {
                    x[r * n_aux + b] = (1.0 + csr.row_vals(u as usize)[k]).ln();
                }
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
        let items_of = |g: &Tensor| g.narrow(0, n, 2 * n);

        let target_loss = match &self.moe {
            None => {
                let g = &gathered[0];
                let pu = users_of(g)?;
                let sp = (&pu * g.narrow(0, n, n)?)?.sum(1)?;
                let sn = (&pu * g.narrow(0, 2 * n, n)?)?.sum(1)?;
                bpr(&sp, &sn)?
            }
            Some(moe) => {
                let n_aux = moe.n_aux;
                // User side.
                let pt_u = users_of(&gathered[t])?;
                let aux_u = (0..n_aux)
                    .map(|b| users_of(&gathered[b]))
                    .collect::<candle_core::Result<Vec<_>>>()?;
                let fu = moe.fuse(
                    &self.params,
                    Side::User,
                    &pt_u,
                    &aux_u,
                    &self.user_feat.index_select(&u_idx, 0)?,
                )?;
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
                    &self.item_feat.index_select(&items_raw_t, 0)?,
                )?;
                let z_pos = fi.z.narrow(0, 0, n)?;
                let z_neg = fi.z.narrow(0, n, n)?;
                let mut sp = (&fu.z * &z_pos)?.sum(1)?;
                let mut sn = (&fu.z * &z_neg)?.sum(1)?;
                if cfg.mclmr.evidence && n_aux > 0 {
                    let xp = Tensor::from_vec(self.evidence(&tb.users, &tb.pos), (n, n_aux), dev)?;
                    let xn = Tensor::from_vec(self.evidence(&tb.users, &tb.neg), (n, n_aux), dev)?;
                    sp = (sp + moe.evidence_term(&self.params, &fu.gate, &xp)?)?;
                    sn = (sn + moe.evidence_term(&self.params, &fu.gate, &xn)?)?;
                }
                if let Some(c) = &self.causal {
                    let su = self.user_stratum.index_select(&u_idx, 0)?;
                    let hu = self.user_feat.index_select(&u_idx, 0)?;
                    let si = self.item_stratum.index_select(&items_raw_t, 0)?;
                    let gi = self.item_feat.index_select(&items_raw_t, 0)?;
                    let (cu, ci, b) =
                        c.node_effects(&self.params, &su, &hu, (&si, &gi, &items_raw_t))?;
                    let half = |t: &Tensor, k: usize| t.narrow(0, k * n, n);
                    let pos_eff = (cu.clone(), half(&ci, 0)?, half(&b, 0)?);
                    let neg_eff = (cu, half(&ci, 1)?, half(&b, 1)?);
                    sp = (sp + c.raw_terms(&fu.z, &z_pos, &pos_eff)?)?;
                    sn = (sn + c.raw_terms(&fu.z, &z_neg, &neg_eff)?)?;
                }
                let mut l = bpr(&sp, &sn)?;
                if let (Some(c), true) = (&self.causal, cfg.mclmr.lambda_conv > 0.0) {
                    if let Some(conv) =
                        self.conversion_loss(c, &tb.pos, &batch.interacted_not_bought)?
                    {
                        parts.conv = conv.to_scalar::<f32>()?;
                        l = (l + (conv * cfg.mclmr.lambda_conv)?)?;
                    }
                }
                if moe.learned && cfg.mclmr.lambda_bal > 0.0 {
                    let bal = (losses::balance(&fu.gate)? + losses::balance(&fi.gate)?)?;
                    parts.bal = bal.to_scalar::<f32>()?;
                    l = (l + (bal * cfg.mclmr.lambda_bal)?)?;
                }
                if cfg.mclmr.bcl && cfg.mclmr.lambda_cl > 0.0 && n_aux > 0 {
                    let cl = (self.bcl_side(moe, &reps, &tb.users, 0, &self.user_strata)?
                        + self.bcl_side(moe, &reps, &tb.pos, nu, &self.item_strata)?)?;
                    parts.cl = cl.to_scalar::<f32>()?;
                    l = (l + (cl * cfg.mclmr.lambda_cl)?)?;
                }
                l
            }
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
                let (zu, gu, eu) = fuse_side(Side::User, &users_of, &self.user_feat)?;
                let (zi, gi, ei) = fuse_side(Side::Item, &items_of, &self.item_feat)?;
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
