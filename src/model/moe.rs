//! Adaptive aggregation: the Mixture-of-Experts of METHOD.md §3.
//!
//! One expert per auxiliary behavior (reads `P^b`) plus `S` shared experts (read the mean of the
//! auxiliary representations; the target's when there is no auxiliary behavior). Each expert is
//! a `d → d → d` MLP shared by users and items. Users and items have their own gate over
//! `[P^T ‖ confounder features ‖ routing features]`; the fused representation is
//! `Z = P^T + Σ_m g_m E_m(·)`. With `moe = false` the gate is the uniform `1/M` ("w/o MoE"). The
//! same user gate, restricted to the per-behavior experts and renormalised
//! ([`MoeAggregator::evidence_gate`]), weighs the pair-level evidence terms `w_b · x_b(u,i)`
//! (learned `w_b ≥ 0`).

use candle_core::{DType, Result, Tensor, D};

use super::config::Config;
use super::losses::softplus;
use super::params::ParamBuilder;
use super::strata::Side;

/// Initial value of every evidence weight `w_b` (the previous model's start, `10 · softplus(0.5413)`).
pub const EVIDENCE_START: f64 = 10.0;

/// A `d → d → d` MLP with a ReLU (`w1`, `b1`, `w2`, `b2`).
#[derive(Debug, Clone)]
pub struct Expert {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
}

impl Expert {
    fn new(d: usize, vb: ParamBuilder<'_>) -> crate::error::Result<Self> {
        Ok(Expert {
            w1: vb.xavier("w1", d, d)?,
            b1: vb.constant("b1", &[d], 0.0)?,
            w2: vb.xavier("w2", d, d)?,
            b2: vb.constant("b2", &[d], 0.0)?,
        })
    }

    /// The expert applied to rows `x` (`[n, d]`).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = x.matmul(&self.w1)?.broadcast_add(&self.b1)?.relu()?;
        h.matmul(&self.w2)?.broadcast_add(&self.b2)
    }
}

/// One side's gate logits, `x W + b` (`w`, `b`).
#[derive(Debug, Clone)]
pub struct GateLayer {
    w: Tensor,
    b: Tensor,
}

impl GateLayer {
    fn new(inputs: usize, experts: usize, vb: ParamBuilder<'_>) -> crate::error::Result<Self> {
        Ok(GateLayer {
            w: vb.normal("w", &[inputs, experts], 0.01)?,
            b: vb.constant("b", &[experts], 0.0)?,
        })
    }
}

/// The MoE block: experts, gates and evidence weights (under `moe.`), with its switches.
#[derive(Debug, Clone)]
pub struct MoeAggregator {
    /// Auxiliary behaviors (`B − 1`).
    pub n_aux: usize,
    /// Learned gates (false = uniform).
    pub learned: bool,
    /// Top-k routing (0 = dense).
    pub top_k: usize,
    /// Gate softmax temperature.
    pub temperature: f64,
    /// `s` in `w_b = s · softplus(ω_b)` (`mclmr.evidence_scale`).
    pub evidence_scale: f64,
    /// `moe.expert.{m}`: the per-behavior experts, then the shared ones.
    experts: Vec<Expert>,
    /// `moe.gate.user`.
    gate_user: GateLayer,
    /// `moe.gate.item`.
    gate_item: GateLayer,
    /// `moe.evidence`: `ω_b`, `[max(n_aux, 1)]`.
    evidence: Tensor,
}

/// The fused output of one side for a set of rows.
#[derive(Debug, Clone)]
pub struct Fused {
    /// `Z` rows, `[n, d]`.
    pub z: Tensor,
    /// Gate weights, `[n, M]`.
    pub gate: Tensor,
    /// Expert outputs, `[n, M, d]`.
    pub experts: Tensor,
}

impl MoeAggregator {
    /// The block of `config` for `n_aux` auxiliary behaviors and gate features of width
    /// `feat_width` (besides `P^T`), its weights created under `vb` (`moe.`).
    pub fn new(
        config: &Config,
        n_aux: usize,
        feat_width: usize,
        vb: ParamBuilder<'_>,
    ) -> crate::error::Result<Self> {
        let d = config.model.dim;
        let m = &config.mclmr;
        let n_experts = (n_aux + m.shared_experts).max(1);
        let experts = (0..n_experts)
            .map(|e| Expert::new(d, vb.pp("expert").pp(e)))
            .collect::<crate::error::Result<_>>()?;
        let gate = vb.pp("gate");
        let gate_user = GateLayer::new(d + feat_width, n_experts, gate.pp("user"))?;
        let gate_item = GateLayer::new(d + feat_width, n_experts, gate.pp("item"))?;
        // w = s · softplus(ω) starts at EVIDENCE_START: ω = ln(exp(w / s) − 1).
        let omega = ((EVIDENCE_START / m.evidence_scale).exp() - 1.0).ln();
        let evidence = vb.constant("evidence", &[n_aux.max(1)], omega as f32)?;
        Ok(MoeAggregator {
            n_aux,
            learned: m.moe,
            top_k: m.top_k,
            temperature: m.gate_temperature,
            evidence_scale: m.evidence_scale,
            experts,
            gate_user,
            gate_item,
            evidence,
        })
    }

    /// Number of experts `M = B − 1 + S` (at least 1).
    pub fn n_experts(&self) -> usize {
        self.experts.len()
    }

    /// The user gate's `(W [inputs × M], b [M])`.
    pub fn user_gate_weights(&self) -> (&Tensor, &Tensor) {
        (&self.gate_user.w, &self.gate_user.b)
    }

    /// Expert `m` applied to rows `x` (`[n, d]`).
    pub fn expert(&self, m: usize, x: &Tensor) -> Result<Tensor> {
        self.experts[m].forward(x)
    }

    /// Gate weights `[n, M]` for rows with target representation `pt` and features `feat`.
    pub fn gate(&self, side: Side, pt: &Tensor, feat: &Tensor) -> Result<Tensor> {
        let n = pt.dim(0)?;
        let m = self.n_experts();
        if !self.learned {
            return Tensor::full(1.0 / m as f32, (n, m), pt.device());
        }
        let layer = match side {
            Side::User => &self.gate_user,
            Side::Item => &self.gate_item,
        };
        let x = Tensor::cat(&[pt, feat], 1)?;
        let logits = x.matmul(&layer.w)?.broadcast_add(&layer.b)?;
        let g = candle_nn::ops::softmax(&(logits / self.temperature)?, D::Minus1)?;
        if self.top_k == 0 || self.top_k >= m {
            return Ok(g);
        }
        // Top-k routing: keep the k largest weights per row and renormalise (the mask itself is
        // not differentiated).
        let rows = g.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut mask = vec![0f32; n * m];
        for (r, row) in rows.iter().enumerate() {
            let mut order: Vec<usize> = (0..m).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            for &j in &order[..self.top_k] {
                mask[r * m + j] = 1.0;
            }
        }
        let mask = Tensor::from_vec(mask, (n, m), pt.device())?;
        let kept = (g * mask)?;
        let sum = kept.sum_keepdim(D::Minus1)?.clamp(1e-12, f64::INFINITY)?;
        kept.broadcast_div(&sum)
    }

    /// Inputs of every expert: `P^b` rows for the per-behavior experts, their mean for the
    /// shared ones (the target rows when there is no auxiliary behavior).
    pub fn expert_inputs(&self, pt: &Tensor, aux: &[Tensor]) -> Result<Vec<Tensor>> {
        let shared_in = if aux.is_empty() {
            pt.clone()
        } else {
            let mut acc = aux[0].clone();
            for a in &aux[1..] {
                acc = (acc + a)?;
            }
            (acc / aux.len() as f64)?
        };
        let mut inputs: Vec<Tensor> = aux.to_vec();
        while inputs.len() < self.n_experts() {
            inputs.push(shared_in.clone());
        }
        Ok(inputs)
    }

    /// `Z = P^T + Σ_m g_m E_m(x_m)` for one side's rows.
    pub fn fuse(&self, side: Side, pt: &Tensor, aux: &[Tensor], feat: &Tensor) -> Result<Fused> {
        let gate = self.gate(side, pt, feat)?;
        let outs = self
            .expert_inputs(pt, aux)?
            .iter()
            .zip(&self.experts)
            .map(|(x, e)| e.forward(x))
            .collect::<Result<Vec<_>>>()?;
        let experts = Tensor::stack(&outs, 1)?; // [n, M, d]
        let mixed = experts.broadcast_mul(&gate.unsqueeze(2)?)?.sum(1)?;
        Ok(Fused {
            z: (pt + mixed)?,
            gate,
            experts,
        })
    }

    /// Effective evidence weights `w_b = s · softplus(ω_b) ≥ 0`, `[n_aux]`.
    pub fn evidence_weights(&self) -> Result<Tensor> {
        softplus(&self.evidence)? * self.evidence_scale
    }

    /// Evidence term `Σ_b g_{u,b} w_b x_b(u,i)` for rows of user gates `[n, M]` and evidence
    /// features `x` (`[n, n_aux]`). With `fixed_weights` the weights get no gradient (the tier
    /// loss trains the gate only).
    pub fn evidence_term(
        &self,
        gate_u: &Tensor,
        x: &Tensor,
        fixed_weights: bool,
    ) -> Result<Tensor> {
        if self.n_aux == 0 {
            return Tensor::zeros(gate_u.dim(0)?, DType::F32, gate_u.device());
        }
        let mut w = self.evidence_weights()?;
        if fixed_weights {
            w = w.detach();
        }
        let g = Self::evidence_gate(gate_u, self.n_aux)?;
        g.broadcast_mul(&w.unsqueeze(0)?)?.mul(x)?.sum(1)
    }

    /// The user's routing among the per-behavior experts only, `g_{u,b} / Σ_{b'} g_{u,b'}`
    /// (`[n, n_aux]`), uniform `1 / n_aux` for a row whose per-behavior gates are all zero (top-k
    /// routing that kept only shared experts), as [`crate::model::Inference::evidence_gate`]
    /// computes it (docs/MODEL.md §4).
    pub fn evidence_gate(gate_u: &Tensor, n_aux: usize) -> Result<Tensor> {
        let g = gate_u.narrow(1, 0, n_aux)?;
        let sum = g.sum_keepdim(1)?;
        let empty = sum.le(0.0)?.to_dtype(g.dtype())?; // 1 where every gate is zero
        let g = (g.broadcast_add(&(&empty / n_aux as f64)?))?;
        g.broadcast_div(&(sum + empty)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamInit;
    use crate::model::strata::{Features, Strata};
    use crate::model::UserRouting;
    use candle_core::Device;

    /// The what-if's host gate (`UserRouting::gate`) is the block's gate, dense and top-k.
    #[test]
    fn host_gate_equals_the_block_gate() {
        let dev = Device::Cpu;
        for top_k in [0, 2] {
            let mut cfg = Config::default();
            cfg.model.dim = 4;
            cfg.mclmr.shared_experts = 2;
            cfg.mclmr.top_k = top_k;
            cfg.mclmr.gate_temperature = 0.5;
            let init = ParamInit::new(&dev, 7);
            let moe = MoeAggregator::new(&cfg, 2, 3, init.root().pp("moe")).unwrap();
            // Inputs large enough that W ~ N(0, 0.01) gives gates far from uniform.
            let pt = (Tensor::randn(0f32, 1.0, (6, 4), &dev).unwrap() * 20.0).unwrap();
            let feat = (Tensor::randn(0f32, 1.0, (6, 3), &dev).unwrap() * 20.0).unwrap();
            let want = moe.gate(Side::User, &pt, &feat).unwrap();
            let want = want.to_vec2::<f32>().unwrap();
            let (w, b) = moe.user_gate_weights();
            let one = Features {
                width: 1,
                values: vec![0.0],
                totals: vec![1],
            };
            let r = UserRouting {
                inputs: 7,
                w: w.flatten_all().unwrap().to_vec1().unwrap(),
                b: b.to_vec1().unwrap(),
                learned: moe.learned,
                temperature: moe.temperature as f32,
                top_k,
                route: None,
                activity_max: 1,
                strata: Strata::fit(&one, Side::User, 1, 0),
            };
            let x = Tensor::cat(&[&pt, &feat], 1)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            for (row, want) in x.iter().zip(&want) {
                let got = r.gate(row);
                let zeros = got.iter().filter(|&&g| g == 0.0).count();
                assert_eq!(zeros, if top_k == 0 { 0 } else { 4 - top_k }, "{got:?}");
                for (a, b) in got.iter().zip(want) {
                    assert!((a - b).abs() < 1e-5, "top_k {top_k}: {got:?} vs {want:?}");
                }
            }
        }
    }
}
