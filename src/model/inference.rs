//! Trained representations in plain `Vec<f32>` form, and full-ranking scores from them.
//!
//! Scores for a block of users are one matrix product with augmented vectors that fold in the
//! confounder terms (METHOD.md §4):
//! `do`:  user `[Z_u, 1]`,            item `[Z_i + c̄^I, ⟨c̄^U, Z_i⟩ + b̄]` (the averaged user
//!        effect is the same for every user, so it folds into an item constant);
//! `raw`: user `[Z_u, c^U(u), 1]`,     item `[Z_i + c^I(i), Z_i, b(i)]` (see `scorer`);
//! plus the sparse evidence terms `Σ_b g_{u,b} w_b ln(1 + count_b(u,i))` of the user's own
//! auxiliary interactions, so no users × items matrix beyond one block ever exists.

use candle_core::{DType, Device, Tensor};

use super::moe::MoeAggregator;
use super::net::{idx, Net};
use super::scorer::CausalScorer;
use super::strata::Side;
use crate::data::Csr;
use crate::error::{Error, Result};

mod routing;
pub use routing::UserRouting;

/// Ranking mode: debiased (backdoor) or observational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// Interventional logit `y_do` (default).
    #[serde(rename = "do")]
    Do,
    /// Observational logit `y`.
    #[serde(rename = "raw")]
    Raw,
}

impl Mode {
    /// `do` or `raw`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Do => "do",
            Mode::Raw => "raw",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "do" => Ok(Mode::Do),
            "raw" => Ok(Mode::Raw),
            _ => Err(format!("unknown mode `{s}`; expected `do` or `raw`")),
        }
    }
}

/// The stratum effects of the causal scorer.
#[derive(Debug, Clone, Default)]
pub struct CausalParts {
    /// Observational user effect `c^U(u)` per user, `[U × d]`.
    pub cu: Vec<f32>,
    /// Observational item effect `c^I(i)` per item, `[I × d]`.
    pub ci: Vec<f32>,
    /// Observational item bias `b(i)` per item, `[I]`.
    pub beta: Vec<f32>,
    /// `c̄^U`.
    pub cu_bar: Vec<f32>,
    /// `c̄^I`.
    pub ci_bar: Vec<f32>,
    /// `β̄`.
    pub beta_bar: f32,
    pub prior_user: Vec<f64>,
    pub prior_item: Vec<f64>,
    /// `c^U_k` per user stratum, `[K_u × d]`.
    pub user_effect: Vec<f32>,
    /// `W_U`, `[F × d]` (F the width of `h_u`).
    pub user_lin: Vec<f32>,
}

/// Everything needed to rank and explain without the autograd graph.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    pub n_users: usize,
    pub n_items: usize,
    /// Embedding size.
    pub dim: usize,
    pub n_aux: usize,
    /// Experts (0 for plain).
    pub n_experts: usize,
    /// True for the plain backbone.
    pub plain: bool,
    /// Behavior names, weakest → target.
    pub behavior_names: Vec<String>,
    /// Expert names (auxiliary behaviors, then `shared1`, …).
    pub expert_names: Vec<String>,
    /// Backbone representations `P^b` per behavior, all nodes (users then items), row-major.
    pub reps: Vec<Vec<f32>>,
    /// `P^T` of users.
    pub pt_user: Vec<f32>,
    /// `P^T` of items.
    pub pt_item: Vec<f32>,
    /// Fused `Z` of users (`P^T` for plain).
    pub z_user: Vec<f32>,
    /// Fused `Z` of items.
    pub z_item: Vec<f32>,
    /// Expert outputs of users, `[U × M × d]`.
    pub expert_user: Vec<f32>,
    /// Expert outputs of items, `[I × M × d]`.
    pub expert_item: Vec<f32>,
    /// User gates `[U × M]`.
    pub gate_user: Vec<f32>,
    /// Item gates `[I × M]`.
    pub gate_item: Vec<f32>,
    /// Evidence weights `w_b` (zeros when evidence is off).
    pub evidence_w: Vec<f32>,
    /// Items' standardised conversion log-odds `conv_i` (empty without conversion evidence).
    pub conversion: Vec<f32>,
    /// Conversion-evidence weights `v_b` (empty without conversion evidence).
    pub conversion_w: Vec<f32>,
    /// Causal scorer effects (None when plain or `causal = false`).
    pub causal: Option<CausalParts>,
    /// Stratum of every user.
    pub user_stratum: Vec<u32>,
    /// Stratum of every item.
    pub item_stratum: Vec<u32>,
    /// Auxiliary interactions (user → items with counts) for the evidence terms.
    pub aux_csr: Vec<Csr>,
    /// The user gate's recomputation inputs (None for plain).
    pub user_routing: Option<UserRouting>,
    pub(crate) item_mat_do: Option<Tensor>,
    pub(crate) item_mat_raw: Option<Tensor>,
}

impl Inference {
    /// Width of the augmented vectors.
    fn aug_width(&self, mode: Mode) -> usize {
        match (&self.causal, mode) {
            (None, _) => self.dim,
            // `do`: the user-side average effect only adds an item constant, folded in.
            (Some(_), Mode::Do) => self.dim + 1,
            (Some(_), Mode::Raw) => 2 * self.dim + 1,
        }
    }

    /// Builds the transposed item matrices used by [`Inference::score_users`].
    pub fn finish(&mut self) -> Result<()> {
        self.item_mat_do = Some(self.item_matrix(Mode::Do)?);
        self.item_mat_raw = Some(self.item_matrix(Mode::Raw)?);
        Ok(())
    }

    fn item_matrix(&self, mode: Mode) -> Result<Tensor> {
        let (d, n) = (self.dim, self.n_items);
        let w = self.aug_width(mode);
        let mut m = vec![0f32; n * w];
        for i in 0..n {
            let zi = &self.z_item[i * d..(i + 1) * d];
            let row = &mut m[i * w..(i + 1) * w];
            match &self.causal {
                None => row.copy_from_slice(zi),
                Some(c) if mode == Mode::Do => {
                    // [Z_i + c̄^I, ⟨c̄^U, Z_i⟩ + b̄] against the user's [Z_u, 1].
                    for k in 0..d {
                        row[k] = zi[k] + c.ci_bar[k];
                    }
                    row[d] = dot(&c.cu_bar, zi) + c.beta_bar;
                }
                Some(c) => {
                    let ci = &c.ci[i * d..(i + 1) * d];
                    for k in 0..d {
                        row[k] = zi[k] + ci[k];
                        row[d + k] = zi[k];
                    }
                    row[2 * d] = c.beta[i];
                }
            }
        }
        Ok(Tensor::from_vec(m, (n, w), &Device::Cpu)?
            .t()?
            .contiguous()?)
    }

    /// The augmented vector of one user.
    pub fn user_vector(&self, u: usize, mode: Mode) -> Vec<f32> {
        let d = self.dim;
        let zu = &self.z_user[u * d..(u + 1) * d];
        match &self.causal {
            None => zu.to_vec(),
            Some(_) if mode == Mode::Do => {
                let mut v = Vec::with_capacity(d + 1);
                v.extend_from_slice(zu);
                v.push(1.0);
                v
            }
            Some(c) => {
                let mut v = Vec::with_capacity(2 * d + 1);
                v.extend_from_slice(zu);
                v.extend_from_slice(&c.cu[u * d..(u + 1) * d]);
                v.push(1.0);
                v
            }
        }
    }

    /// Scores of every item for one augmented user vector (as [`Inference::user_vector`]
    /// builds it), without the pair-level evidence terms.
    pub fn score_vector(&self, uv: Vec<f32>, mode: Mode) -> Result<Vec<f32>> {
        let w = self.aug_width(mode);
        let mat = match mode {
            Mode::Do => self.item_mat_do.as_ref(),
            Mode::Raw => self.item_mat_raw.as_ref(),
        }
        .ok_or_else(|| Error::Other("inference not finished".into()))?;
        let ut = Tensor::from_vec(uv, (1, w), &Device::Cpu)?;
        Ok(ut.matmul(mat)?.flatten_all()?.to_vec1::<f32>()?)
    }

    /// The augmented vector of a user with fused `zu` and observational effect `cu`.
    pub fn vector_of(&self, zu: &[f32], cu: Option<&[f32]>, mode: Mode) -> Vec<f32> {
        let mut v = zu.to_vec();
        match (&self.causal, mode) {
            (None, _) => {}
            (Some(_), Mode::Do) => v.push(1.0),
            (Some(_), Mode::Raw) => {
                v.extend_from_slice(cu.unwrap_or(&[]));
                v.push(1.0);
            }
        }
        v
    }

    /// Scores of every item for each user in `users`, row-major `[users.len() × n_items]`.
    pub fn score_users(&self, users: &[u32], mode: Mode) -> Result<Vec<f32>> {
        let w = self.aug_width(mode);
        let mat = match mode {
            Mode::Do => self.item_mat_do.as_ref(),
            Mode::Raw => self.item_mat_raw.as_ref(),
        }
        .ok_or_else(|| Error::Other("inference not finished".into()))?;
        let mut uv = Vec::with_capacity(users.len() * w);
        for &u in users {
            uv.extend(self.user_vector(u as usize, mode));
        }
        let ut = Tensor::from_vec(uv, (users.len(), w), &Device::Cpu)?;
        let mut scores = ut.matmul(mat)?.flatten_all()?.to_vec1::<f32>()?;
        self.add_evidence(users, mode, &mut scores);
        Ok(scores)
    }

    /// Adds the sparse pair-level terms to a block of scores: the evidence
    /// `Σ_b ĝ_{u,b} w_b ln(1 + count_b(u,i))` and, for `raw`, the conversion evidence
    /// `Σ_b v_b 1[count_b(u,i) > 0] conv_i` (its `do` average is 0: `conv` has mean 0
    /// over the items).
    fn add_evidence(&self, users: &[u32], mode: Mode, scores: &mut [f32]) {
        let conv = mode == Mode::Raw && !self.conversion_w.is_empty();
        if self.n_aux == 0 || (self.evidence_w.iter().all(|&w| w == 0.0) && !conv) {
            return;
        }
        let n = self.n_items;
        for (r, &u) in users.iter().enumerate() {
            let row = &mut scores[r * n..(r + 1) * n];
            for b in 0..self.n_aux {
                let g = self.evidence_gate(u as usize, b);
                let coef = g * self.evidence_w[b];
                let cv = if conv { self.conversion_w[b] } else { 0.0 };
                let csr = &self.aux_csr[b];
                for (&i, &c) in csr.row(u as usize).iter().zip(csr.row_vals(u as usize)) {
                    row[i as usize] += coef * (1.0 + c).ln();
                    if conv {
                        row[i as usize] += cv * self.conversion[i as usize];
                    }
                }
            }
        }
    }

    /// The conversion-evidence term of one pair in `raw` (0 without it).
    pub fn conversion_term(&self, u: usize, i: usize) -> f32 {
        if self.conversion_w.is_empty() {
            return 0.0;
        }
        (0..self.n_aux)
            .filter(|&b| self.aux_csr[b].contains(u, i as u32))
            .map(|b| self.conversion_w[b] * self.conversion[i])
            .sum()
    }

    /// The user's routing weight of behavior `b` among the per-behavior experts (the gate
    /// restricted to them and renormalised; see `MoeAggregator::evidence_gate`).
    pub fn evidence_gate(&self, u: usize, b: usize) -> f32 {
        let g = &self.gate_user[u * self.n_experts..(u + 1) * self.n_experts];
        Self::evidence_gate_of(g, self.n_aux, b)
    }

    /// [`Inference::evidence_gate`] of a user gate row `gate` (`[M]`).
    pub fn evidence_gate_of(gate: &[f32], n_aux: usize, b: usize) -> f32 {
        let g = &gate[..n_aux];
        let sum: f32 = g.iter().sum();
        if sum > 0.0 {
            g[b] / sum
        } else {
            1.0 / n_aux.max(1) as f32
        }
    }

    /// Row `i` of a row-major table of width `d`.
    pub fn row(table: &[f32], i: usize, d: usize) -> &[f32] {
        &table[i * d..(i + 1) * d]
    }
}

fn host(x: &Tensor) -> Result<Vec<f32>> {
    Ok(x.to_device(&Device::Cpu)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

impl Net {
    /// Computes every representation, gate and confounder term for ranking and explanation.
    pub fn infer(&self) -> Result<Inference> {
        let e0 = self.emb.detach();
        let reps = self.backbone.forward(&self.graphs, &e0)?;
        let reps: Vec<Tensor> = reps.into_iter().map(|r| r.detach()).collect();
        let t = self.target();
        let (nu, ni) = (self.n_users, self.n_items);
        let mut inf = Inference {
            n_users: nu,
            n_items: ni,
            dim: self.config.model.dim,
            plain: self.moe.is_none(),
            behavior_names: self.behavior_names.clone(),
            reps: reps.iter().map(host).collect::<Result<Vec<_>>>()?,
            pt_user: host(&reps[t].narrow(0, 0, nu)?)?,
            pt_item: host(&reps[t].narrow(0, nu, ni)?)?,
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
                self.infer_fused(moe, &reps, &mut inf)?;
                if let Some(c) = &self.causal {
                    inf.causal = Some(self.infer_causal(c)?);
                }
            }
        }
        inf.finish()?;
        Ok(inf)
    }

    /// The MoE part of an inference: experts, gates and fused representations of every node,
    /// and the evidence and conversion-evidence weights.
    fn infer_fused(&self, moe: &MoeAggregator, reps: &[Tensor], inf: &mut Inference) -> Result<()> {
        let t = self.target();
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
        let fuse_side = |side: Side, (start, len): (usize, usize), feat: &Tensor| -> Result<_> {
            let pt = reps[t].narrow(0, start, len)?;
            let aux = (0..n_aux)
                .map(|b| reps[b].narrow(0, start, len))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let f = moe.fuse(side, &pt, &aux, feat)?;
            Ok((host(&f.z)?, host(&f.gate)?, host(&f.experts)?))
        };
        let (nu, ni) = (self.n_users, self.n_items);
        (inf.z_user, inf.gate_user, inf.expert_user) =
            fuse_side(Side::User, (0, nu), &self.gate_feat_user)?;
        (inf.z_item, inf.gate_item, inf.expert_item) =
            fuse_side(Side::Item, (nu, ni), &self.gate_feat_item)?;
        inf.evidence_w = if self.config.mclmr.evidence && n_aux > 0 {
            host(&moe.evidence_weights()?)?
        } else {
            vec![0.0; n_aux]
        };
        if let Some(conv) = &self.conversion {
            inf.conversion = conv.host.clone();
            inf.conversion_w = host(&conv.effective()?)?;
        }
        let (w, b) = moe.user_gate_weights();
        inf.user_routing = Some(UserRouting {
            inputs: w.dim(0)?,
            w: host(w)?,
            b: host(b)?,
            learned: moe.learned,
            temperature: moe.temperature as f32,
            top_k: moe.top_k,
            route: self.route_stats.clone(),
            activity_max: self.user_activity_max,
            strata: self.user_strata.clone(),
        });
        Ok(())
    }

    /// Every node's confounder effects and their population averages.
    fn infer_causal(&self, c: &CausalScorer) -> Result<CausalParts> {
        let (nu, ni) = (self.n_users, self.n_items);
        let (cub, cib, bb) = c.averaged()?;
        let all_u = idx(&(0..nu as u32).collect::<Vec<_>>(), &self.device)?;
        let all_i = idx(&(0..ni as u32).collect::<Vec<_>>(), &self.device)?;
        let (cu, ci, b) = c.node_effects(
            &self.user_stratum,
            &self.user_feat.index_select(&all_u, 0)?,
            (
                &self.item_stratum,
                &self.item_feat.index_select(&all_i, 0)?,
                &all_i,
            ),
        )?;
        let (user_effect, user_lin) = c.user_tables();
        Ok(CausalParts {
            user_effect: host(user_effect)?,
            user_lin: host(user_lin)?,
            cu: host(&cu)?,
            ci: host(&ci)?,
            beta: host(&b)?,
            cu_bar: host(&cub)?,
            ci_bar: host(&cib)?,
            beta_bar: host(&bb)?.first().copied().unwrap_or(0.0),
            prior_user: self.user_strata.prior.clone(),
            prior_item: self.item_strata.prior.clone(),
        })
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cosine similarity (0 for a zero vector).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let na = dot(a, a).sqrt();
    let nb = dot(b, b).sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot(a, b) / (na * nb)
    }
}
