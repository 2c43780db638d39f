//! The bias-aware contrastive loss (METHOD.md §5): per auxiliary behavior, InfoNCE between a
//! node's target representation and its auxiliary representation through that behavior's
//! expert, with same-stratum negatives down-weighted by `η` and minority strata up-weighted by
//! `P(stratum)^{−ρ}`.

use std::collections::HashSet;

use candle_core::{DType, Tensor, D};

use super::config::MclmrSection;
use super::losses::l2_normalize;
use super::moe::MoeAggregator;
use super::net::{idx, offset};
use super::objective::Reps;
use super::strata::Strata;
use crate::error::{Error, Result};

/// The loss's settings (`mclmr.tau`, `eta`, `rho`, `cl_batch`); it has no weights of its own.
#[derive(Debug, Clone)]
pub struct BiasAwareContrast {
    tau: f64,
    eta: f64,
    rho: f64,
    cl_batch: usize,
}

impl BiasAwareContrast {
    pub fn new(m: &MclmrSection) -> Self {
        BiasAwareContrast {
            tau: m.tau,
            eta: m.eta,
            rho: m.rho,
            cl_batch: m.cl_batch,
        }
    }

    /// The loss of one side, averaged over auxiliary behaviors, on the first `cl_batch`
    /// distinct nodes of `nodes` (global node index `off + node`; `target` is the target
    /// behavior's index in `reps`).
    pub(super) fn side_loss(
        &self,
        moe: &MoeAggregator,
        reps: &Reps<'_>,
        (nodes, off): (&[u32], usize),
        strata: &Strata,
        target: usize,
    ) -> Result<Tensor> {
        let mut seen = HashSet::new();
        let uniq: Vec<u32> = nodes
            .iter()
            .copied()
            .filter(|v| seen.insert(*v))
            .take(self.cl_batch)
            .collect();
        let n = uniq.len();
        let dev = reps.device();
        let rows = idx(&offset(&uniq, off), dev)?;
        let st: Vec<u32> = uniq.iter().map(|&v| strata.assign[v as usize]).collect();
        let (lo, w) = bcl_weights(&st, &strata.prior, self.eta, self.rho);
        let lo = Tensor::from_vec(lo, (n, n), dev)?;
        let w = Tensor::from_vec(w, n, dev)?;
        let anchor = l2_normalize(&reps.select(target, &rows)?)?;
        let mut acc: Option<Tensor> = None;
        for b in 0..moe.n_aux.min(reps.len()) {
            let pos = l2_normalize(&moe.expert(b, &reps.select(b, &rows)?)?)?;
            let l = bias_aware_infonce(&anchor, &pos, &lo, &w, self.tau)?;
            acc = Some(match acc {
                None => l,
                Some(a) => (a + l)?,
            });
        }
        let total = acc.ok_or_else(|| Error::Other("no auxiliary behavior for BCL".into()))?;
        Ok((total / moe.n_aux as f64)?)
    }
}

/// Bias-aware InfoNCE (METHOD §5) for anchors `a` and positives `p` (both `[n, d]`, rows
/// already normalised): `mean_u w_u · (log Σ_v ω_uv e^{s_uv/τ} − s_uu/τ)` with `s = a pᵀ`.
/// `log_omega` is `[n, n]` with `ln ω_uv` (0 on the diagonal) and `w` is `[n]` (mean 1).
pub fn bias_aware_infonce(
    a: &Tensor,
    p: &Tensor,
    log_omega: &Tensor,
    w: &Tensor,
    tau: f64,
) -> candle_core::Result<Tensor> {
    let n = a.dim(0)?;
    let sim = (a.matmul(&p.t()?)? / tau)?;
    let lse = (&sim + log_omega)?.log_sum_exp(D::Minus1)?;
    let eye = Tensor::eye(n, DType::F32, a.device())?;
    let diag = (&sim * eye)?.sum(D::Minus1)?;
    ((lse - diag)? * w)?.mean_all()
}

/// `ln ω` and `w` of METHOD §5 for nodes in strata `strata` with stratum priors `prior`:
/// `ω = η` between distinct nodes of the same stratum, 1 otherwise; `w_u ∝ P(h(u))^{−ρ}`
/// normalised to mean 1.
pub fn bcl_weights(strata: &[u32], prior: &[f64], eta: f64, rho: f64) -> (Vec<f32>, Vec<f32>) {
    let n = strata.len();
    let ln_eta = eta.ln() as f32;
    let mut log_omega = vec![0f32; n * n];
    for u in 0..n {
        for v in 0..n {
            if u != v && strata[u] == strata[v] {
                log_omega[u * n + v] = ln_eta;
            }
        }
    }
    let raw: Vec<f64> = strata
        .iter()
        .map(|&s| {
            prior
                .get(s as usize)
                .copied()
                .unwrap_or(1.0)
                .max(1e-12)
                .powf(-rho)
        })
        .collect();
    let mean = raw.iter().sum::<f64>() / n.max(1) as f64;
    let w = raw.iter().map(|&r| (r / mean) as f32).collect();
    (log_omega, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(v: &[f32], shape: (usize, usize)) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn infonce_hand_value_and_eta_effect() {
        // a = p = I₂, τ = 1: loss = ln(e + e⁰) − 1 = ln(1 + e^{−1}) for both rows.
        let a = t(&[1.0, 0.0, 0.0, 1.0], (2, 2));
        let w = Tensor::new(&[1f32, 1.0], &Device::Cpu).unwrap();
        let zero = t(&[0.0; 4], (2, 2));
        let v = bias_aware_infonce(&a, &a, &zero, &w, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((v - (1.0 + (-1f32).exp()).ln()).abs() < 1e-6, "{v}");
        // Same stratum with η = 0.5: the negative term is halved: ln(e + 0.5) − 1.
        let (lo, w2) = bcl_weights(&[0, 0], &[1.0], 0.5, 0.5);
        assert_eq!(w2, vec![1.0, 1.0]);
        let lo = t(&lo, (2, 2));
        let v2 = bias_aware_infonce(&a, &a, &lo, &w, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((v2 - (1.0 + 0.5 * (-1f32).exp()).ln()).abs() < 1e-6, "{v2}");
    }

    #[test]
    fn minority_weights_follow_rho() {
        // Priors 0.8 / 0.2, ρ = 0.5: raw weights 0.8^{-0.5}, 0.2^{-0.5}, normalised to mean 1.
        let (_, w) = bcl_weights(&[0, 1], &[0.8, 0.2], 1.0, 0.5);
        let r0 = 0.8f64.powf(-0.5);
        let r1 = 0.2f64.powf(-0.5);
        let m = (r0 + r1) / 2.0;
        assert!((w[0] as f64 - r0 / m).abs() < 1e-6 && (w[1] as f64 - r1 / m).abs() < 1e-6);
        let (_, flat) = bcl_weights(&[0, 1], &[0.8, 0.2], 1.0, 0.0);
        assert_eq!(flat, vec![1.0, 1.0]);
    }

    #[test]
    fn infonce_gradient_matches_finite_differences() {
        let init = [0.3f32, -0.5, 0.8, 0.1, -0.2, 0.7];
        let p = t(&[0.5, 0.5, -0.3, 0.9, 0.2, -0.6], (3, 2));
        let (lo, w) = bcl_weights(&[0, 0, 1], &[0.6, 0.4], 0.5, 0.5);
        let lo = t(&lo, (3, 3));
        let w = Tensor::new(w.as_slice(), &Device::Cpu).unwrap();
        let f = |a: &Tensor| bias_aware_infonce(a, &p, &lo, &w, 0.2).unwrap();
        let a = Var::from_vec(init.to_vec(), (3, 2), &Device::Cpu).unwrap();
        let g = f(a.as_tensor())
            .backward()
            .unwrap()
            .get(&a)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for k in 0..init.len() {
            let eps = 1e-3;
            let mut hi = init;
            hi[k] += eps;
            let mut lo_ = init;
            lo_[k] -= eps;
            let fd = (f(&t(&hi, (3, 2))).to_scalar::<f32>().unwrap()
                - f(&t(&lo_, (3, 2))).to_scalar::<f32>().unwrap())
                / (2.0 * eps);
            assert!((fd - g[k]).abs() < 1e-2, "k={k} fd={fd} g={}", g[k]);
        }
    }
}
