//! The training objective of one batch (METHOD.md §5–§6): target BPR on the full observational
//! logit, the auxiliary behaviors' BPR, the tier, conversion, balance, orthogonality and
//! contrastive terms, and L2. [`Net::training_logits`] scores pairs through the same path, for
//! checking that ranking scores equal what was trained.

use candle_core::{Device, Tensor};

use super::backbone::Backbone;
use super::batch::{Batch, LossParts, NO_ITEM};
use super::buckets::gather_rows;
use super::inference::Mode;
use super::losses::{self, bpr};
use super::moe::{Fused, MoeAggregator};
use super::net::{idx, offset, Net};
use super::scorer::CausalScorer;
use super::strata::Side;
use crate::error::Result;

/// A batch's view of the per-behavior representations: whole tables from a graph backbone, or
/// for a row-local backbone (mf) the base rows transformed on demand, so a step costs the batch's
/// rows rather than the whole table.
pub(super) enum Reps<'a> {
    Tables(Vec<Tensor>),
    Rows {
        backbone: &'a dyn Backbone,
        e0: &'a Tensor,
        n: usize,
    },
}

impl Reps<'_> {
    /// Behavior `b`'s representations of the nodes `rows` (global node indices).
    pub(super) fn select(&self, b: usize, rows: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Reps::Tables(t) => gather_rows(&t[b], rows),
            Reps::Rows { backbone, e0, .. } => backbone.forward_rows(b, &gather_rows(e0, rows)?),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Reps::Tables(t) => t.len(),
            Reps::Rows { n, .. } => *n,
        }
    }

    pub(super) fn device(&self) -> &Device {
        match self {
            Reps::Tables(t) => t[0].device(),
            Reps::Rows { e0, .. } => e0.device(),
        }
    }
}

/// Adds `weight · term` to `total` and returns the term's value.
fn add_weighted(total: &mut Tensor, term: Tensor, weight: f64) -> Result<f32> {
    let v = term.to_scalar::<f32>()?;
    *total = (&*total + (term * weight)?)?;
    Ok(v)
}

impl Net {
    /// The representations a batch reads (see [`Reps`]).
    fn reps(&self) -> Result<Reps<'_>> {
        Ok(if self.backbone.row_local() {
            Reps::Rows {
                backbone: self.backbone.as_ref(),
                e0: &self.emb,
                n: self.target() + 1,
            }
        } else {
            Reps::Tables(self.backbone.forward(&self.graphs, &self.emb)?)
        })
    }

    /// Rows `rows` of every behavior's representations (+MCLMR) or of the target's (plain): one
    /// gather per behavior for every node of a batch, as each gather's backward is a full-size
    /// `[N, d]` scatter.
    fn gather(&self, reps: &Reps<'_>, rows: &Tensor) -> Result<Vec<Tensor>> {
        let t = self.target();
        let behaviors: Vec<usize> = match self.moe {
            Some(_) => (0..reps.len()).collect(),
            None => vec![t],
        };
        Ok(behaviors
            .into_iter()
            .map(|b| reps.select(b, rows))
            .collect::<candle_core::Result<Vec<_>>>()?)
    }

    /// The objective of one batch and its parts.
    pub fn loss(&self, batch: &Batch) -> Result<(Tensor, LossParts)> {
        let cfg = &self.config;
        let dev = &self.device;
        let reps = self.reps()?;
        let nu = self.n_users;
        let tb = &batch.target;
        let n = tb.users.len();
        let rows = Tensor::cat(
            &[
                &idx(&tb.users, dev)?,
                &idx(&offset(&tb.pos, nu), dev)?,
                &idx(&offset(&tb.neg, nu), dev)?,
            ],
            0,
        )?;
        let gathered = self.gather(&reps, &rows)?;
        let mut parts = LossParts::default();
        let target_loss = match &self.moe {
            None => {
                let g = &gathered[0];
                let pu = g.narrow(0, 0, n)?;
                let sp = (&pu * g.narrow(0, n, n)?)?.sum(1)?;
                let sn = (&pu * g.narrow(0, 2 * n, n)?)?.sum(1)?;
                bpr(&sp, &sn)?
            }
            Some(moe) => self.mclmr_loss(moe, batch, &reps, &gathered, &mut parts)?,
        };
        parts.target = target_loss.to_scalar::<f32>()?;
        let mut total = target_loss;
        if cfg.train.alpha > 0.0 && !batch.aux.is_empty() {
            if let Some(aux) = self.aux_loss(batch, &reps)? {
                parts.aux = add_weighted(&mut total, aux, cfg.train.alpha)?;
            }
        }
        if cfg.train.lambda_reg > 0.0 {
            let reg = (gather_rows(&self.emb, &rows)?.sqr()?.sum_all()?
                * (cfg.train.lambda_reg / n.max(1) as f64))?;
            parts.reg = reg.to_scalar::<f32>()?;
            total = (total + reg)?;
        }
        parts.total = total.to_scalar::<f32>()?;
        Ok((total, parts))
    }

    /// The auxiliary behaviors' own BPR on their representations, averaged over the behaviors
    /// of the batch (None when every one is empty).
    fn aux_loss(&self, batch: &Batch, reps: &Reps<'_>) -> Result<Option<Tensor>> {
        let (dev, nu) = (&self.device, self.n_users);
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
        Ok(match acc {
            Some(a) => Some((a / batch.aux.len() as f64)?),
            None => None,
        })
    }

    /// The fused representations of `users` and `items`, from `gathered` rows that hold the
    /// users first, then the items (every behavior, as [`Net::gather`] returns them).
    fn fuse_pairs(
        &self,
        moe: &MoeAggregator,
        gathered: &[Tensor],
        users: &[u32],
        items: &[u32],
    ) -> Result<(Fused, Fused)> {
        let dev = &self.device;
        let (n, k) = (users.len(), items.len());
        let t = self.target();
        let side = |side: Side, start: usize, len: usize, feat: &Tensor| -> Result<Fused> {
            let pt = gathered[t].narrow(0, start, len)?;
            let aux = (0..moe.n_aux)
                .map(|b| gathered[b].narrow(0, start, len))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Ok(moe.fuse(side, &pt, &aux, feat)?)
        };
        let fu = side(
            Side::User,
            0,
            n,
            &self.gate_feat_user.index_select(&idx(users, dev)?, 0)?,
        )?;
        let fi = side(
            Side::Item,
            n,
            k,
            &self.gate_feat_item.index_select(&idx(items, dev)?, 0)?,
        )?;
        Ok((fu, fi))
    }

    /// The logit of `(users[r], items[r])` computed the way training computes it
    /// (representations, gathers, fusion, [`Net::pair_logits`]), for checking that ranking
    /// scores equal what was trained: `raw` is the observational logit training fits, `do` the
    /// same with every confounder effect replaced by its population average.
    pub fn training_logits(&self, users: &[u32], items: &[u32], mode: Mode) -> Result<Vec<f32>> {
        let dev = &self.device;
        let n = users.len();
        let reps = self.reps()?;
        let rows = Tensor::cat(
            &[&idx(users, dev)?, &idx(&offset(items, self.n_users), dev)?],
            0,
        )?;
        let gathered = self.gather(&reps, &rows)?;
        let out = match &self.moe {
            None => {
                let g = &gathered[0];
                (g.narrow(0, 0, n)? * g.narrow(0, n, items.len())?)?.sum(1)?
            }
            Some(moe) => {
                let (fu, fi) = self.fuse_pairs(moe, &gathered, users, items)?;
                let pairs = (users, &fu.z, &fu.gate, items, &fi.z);
                self.pair_logits_in(mode, moe, pairs, 0, false)?
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
        let tb = &batch.target;
        let n = tb.users.len();
        // Item side: positives and negatives in one pass.
        let items: Vec<u32> = tb.pos.iter().chain(&tb.neg).copied().collect();
        let (fu, fi) = self.fuse_pairs(moe, gathered, &tb.users, &items)?;
        let scores = self.pair_logits(moe, &tb.users, &fu.z, &fu.gate, &items, &fi.z, n, false)?;
        let mut l = bpr(&scores.narrow(0, 0, n)?, &scores.narrow(0, n, n)?)?;
        if cfg.mclmr.lambda_tier > 0.0 && !batch.interacted_not_bought.is_empty() {
            let pt_u = gathered[self.target()].narrow(0, 0, n)?;
            if let Some(tier) = self.tier_loss(moe, batch, reps, &pt_u, &fu.z, &fi.z)? {
                parts.tier = add_weighted(&mut l, tier, cfg.mclmr.lambda_tier)?;
            }
        }
        if let (Some(c), true) = (&self.causal, cfg.mclmr.lambda_conv > 0.0) {
            if let Some(conv) = self.conversion_loss(c, &tb.pos, &batch.interacted_not_bought)? {
                parts.conv = add_weighted(&mut l, conv, cfg.mclmr.lambda_conv)?;
            }
        }
        if moe.learned && cfg.mclmr.lambda_bal > 0.0 {
            let bal = (losses::balance(&fu.gate)? + losses::balance(&fi.gate)?)?;
            parts.bal = add_weighted(&mut l, bal, cfg.mclmr.lambda_bal)?;
        }
        if self.causal.is_some() && cfg.mclmr.lambda_orth > 0.0 {
            let conf_u = self.conf_user.index_select(&idx(&tb.users, dev)?, 0)?;
            let conf_i = self.conf_item.index_select(&idx(&items, dev)?, 0)?;
            let orth = (losses::cross_covariance(&conf_u, &fu.z)?
                + losses::cross_covariance(&conf_i, &fi.z)?)?;
            parts.orth = add_weighted(&mut l, orth, cfg.mclmr.lambda_orth)?;
        }
        if let Some(bcl) = &self.bcl {
            let t = self.target();
            let cl = (bcl.side_loss(moe, reps, (&tb.users, 0), &self.user_strata, t)?
                + bcl.side_loss(moe, reps, (&tb.pos, self.n_users), &self.item_strata, t)?)?;
            parts.cl = add_weighted(&mut l, cl, cfg.mclmr.lambda_cl)?;
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
        let pairs = (users, zu, gate_u, items, zi);
        self.pair_logits_in(Mode::Raw, moe, pairs, positives, fixed)
    }

    /// [`Net::pair_logits`] in `mode`: `do` averages the confounder effects and drops the
    /// conversion evidence (whose average is 0), as the `do` ranking does.
    fn pair_logits_in(
        &self,
        mode: Mode,
        moe: &MoeAggregator,
        (users, zu, gate_u, items, zi): (&[u32], &Tensor, &Tensor, &[u32], &Tensor),
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
            s = (s + moe.evidence_term(&gate_r, &x, fixed)?)?;
            if let (Some(conv), Mode::Raw) = (&self.conversion, mode) {
                // Its weights learn from the tier loss (bought vs the user's other items), the
                // comparison the term is for: see ConversionEvidence::term.
                let learn = fixed || self.config.mclmr.lambda_tier <= 0.0;
                s = (s + conv.term(&x, items, positives, learn)?)?;
            }
        }
        if let Some(c) = &self.causal {
            let u_idx = idx(&all_users, dev)?;
            let i_idx = idx(items, dev)?;
            let su = self.user_stratum.index_select(&u_idx, 0)?;
            let hu = self.user_feat.index_select(&u_idx, 0)?;
            let si = self.item_stratum.index_select(&i_idx, 0)?;
            let gi = self.item_feat.index_select(&i_idx, 0)?;
            let eff = match mode {
                Mode::Raw => c.node_effects(&su, &hu, (&si, &gi, &i_idx))?,
                Mode::Do => {
                    let (cu, ci, b) = c.averaged()?;
                    let shape = zi.dims2()?;
                    (
                        cu.unsqueeze(0)?.broadcast_as(shape)?,
                        ci.unsqueeze(0)?.broadcast_as(shape)?,
                        b.broadcast_as(shape.0)?,
                    )
                }
            };
            let terms = c.raw_terms(&zu_r, zi, &eff)?;
            s = (s + if fixed { terms.detach() } else { terms })?;
        }
        Ok(s)
    }

    /// Tier loss (`mclmr.lambda_tier`): BPR of each bought item against an item the same user
    /// interacted with but did not buy, with every representation, evidence weight and
    /// confounder term held fixed, so that only the user gate (on fixed inputs) learns from it:
    /// which of this user's behaviors tells their purchases apart from the rest of their history.
    fn tier_loss(
        &self,
        moe: &MoeAggregator,
        batch: &Batch,
        reps: &Reps<'_>,
        pt_u: &Tensor,
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
            Side::User,
            &pt_u.detach().index_select(&rows, 0)?,
            &self.gate_feat_user.index_select(&idx(&users, dev)?, 0)?,
        )?;
        let zu = zu.detach().index_select(&rows, 0)?;
        let z_pos = zi.detach().index_select(&rows, 0)?;
        // The negatives' fused representations, computed without a gradient.
        let neg_rows = idx(&offset(&neg, self.n_users), dev)?;
        let pt_j = reps.select(self.target(), &neg_rows)?.detach();
        let aux_j = (0..moe.n_aux)
            .map(|b| Ok(reps.select(b, &neg_rows)?.detach()))
            .collect::<Result<Vec<_>>>()?;
        let fj = moe.fuse(
            Side::Item,
            &pt_j,
            &aux_j,
            &self.gate_feat_item.index_select(&idx(&neg, dev)?, 0)?,
        )?;
        let items: Vec<u32> = pos.iter().chain(&neg).copied().collect();
        let z_items = Tensor::cat(&[&z_pos, &fj.z.detach()], 0)?;
        let k = users.len();
        let s = self.pair_logits(moe, &users, &zu, &gate, &items, &z_items, k, true)?;
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
                &self.item_stratum.index_select(&ix, 0)?,
                &self.item_feat.index_select(&ix, 0)?,
                &ix,
            )?)
        };
        let pos_loss = losses::softplus(&beta(bought)?.neg()?)?.mean_all()?;
        let neg_loss = losses::softplus(&beta(&neg)?)?.mean_all()?;
        Ok(Some((pos_loss + neg_loss)?))
    }
}
