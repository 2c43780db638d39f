//! The Adam optimiser over a model's [`Params`]. It is written out (rather than
//! `candle_nn::AdamW`) so that its moments can be checkpointed and a resumed run continues
//! exactly.

use std::collections::BTreeMap;
use std::sync::Mutex;

use candle_core::{
    backprop::GradStore, CpuStorage, DType, Device, InplaceOp2, Layout, Storage, Tensor,
};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::params::Params;
use crate::model::spmm::{f32_input, generic_ops_forced};

/// Parameters that take `train.lr_small`: the gates and the evidence weights. They are a few
/// hundred values, read by every score, and must travel several units, while Adam moves a
/// parameter about one learning rate per step. The confounder terms keep `lr` (measured:
/// docs/MODEL.md).
pub fn is_small_block(name: &str) -> bool {
    name.starts_with("moe.gate.")
        || name.starts_with("moe.evidence")
        || name == "causal.conv_evidence"
}

/// Adam (Kingma & Ba) with bias correction and no weight decay (the L2 term is in the loss).
///
/// On the CPU the update is one fused, rayon-parallel pass per parameter ([`FusedAdam`]) over
/// host-side moments; on other devices it is written with tensor ops. Both compute the same
/// formula in `f32`.
#[derive(Debug)]
pub struct Adam {
    lr: f64,
    /// Learning rate of the small blocks ([`is_small_block`]); `lr` when None.
    small_lr: Option<f64>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Steps taken.
    pub step: u64,
    m: BTreeMap<String, Tensor>,
    v: BTreeMap<String, Tensor>,
    /// CPU moments per parameter, updated in place.
    host: BTreeMap<String, HostMoments>,
    /// Whether CPU parameters take the fused update (off only to check the generic one).
    fused: bool,
}

impl Adam {
    /// A fresh optimiser with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            small_lr: None,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            m: BTreeMap::new(),
            v: BTreeMap::new(),
            host: BTreeMap::new(),
            fused: !generic_ops_forced(),
        }
    }

    /// An optimiser that updates with tensor ops on every device, the CPU included: the path
    /// CUDA takes, so that it can be checked against the fused CPU update.
    pub fn with_tensor_ops(lr: f64) -> Self {
        Adam {
            fused: false,
            ..Adam::new(lr)
        }
    }

    /// Gives the small blocks (gates, evidence weights, confounder terms) their own learning
    /// rate.
    pub fn with_small_lr(mut self, lr: Option<f64>) -> Self {
        self.small_lr = lr;
        self
    }

    fn lr_of(&self, name: &str) -> f64 {
        match self.small_lr {
            Some(lr) if is_small_block(name) => lr,
            _ => self.lr,
        }
    }

    /// One update of every parameter that has a gradient. Returns false (and changes nothing)
    /// when a gradient contains NaN or infinity.
    pub fn step(&mut self, params: &Params, grads: &GradStore) -> Result<bool> {
        let mut updates = Vec::new();
        for (name, var) in params.iter() {
            if let Some(g) = grads.get(var.as_tensor()) {
                // A variable's gradient can still reference the forward graph (candle detaches
                // only intermediate gradients); the moments must not, or every step's graph
                // would stay alive through them (measured: 19 GB after 2 Taobao epochs).
                let g = g.detach().contiguous()?;
                if !all_finite(&g)? {
                    return Ok(false);
                }
                updates.push((name, var, g));
            }
        }
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - self.beta1.powi(t);
        let bc2 = 1.0 - self.beta2.powi(t);
        for (name, var, g) in updates {
            let lr = self.lr_of(name);
            if self.fused && var.device().is_cpu() && var.dtype() == DType::F32 {
                let n = var.elem_count();
                let h = self
                    .host
                    .entry(name.clone())
                    .or_insert_with(|| HostMoments {
                        dims: var.dims().to_vec(),
                        m: vec![0.0; n],
                        v: vec![0.0; n],
                    });
                let op = FusedAdam {
                    moments: Mutex::new((h.m.as_mut_slice(), h.v.as_mut_slice())),
                    lr: lr as f32,
                    beta1: self.beta1 as f32,
                    beta2: self.beta2 as f32,
                    eps: self.eps as f32,
                    bc1: bc1 as f32,
                    bc2: bc2 as f32,
                };
                var.as_tensor().inplace_op2(&g, &op)?;
                continue;
            }
            let m_prev = match self.m.get(name) {
                Some(m) => m.clone(),
                None => g.zeros_like()?,
            };
            let v_prev = match self.v.get(name) {
                Some(v) => v.clone(),
                None => g.zeros_like()?,
            };
            let m = ((m_prev * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            let v = ((v_prev * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let denom = ((&v / bc2)?.sqrt()? + self.eps)?;
            let delta = ((&m / bc1)? / denom)?;
            var.set(&(var.as_tensor() - (delta * lr)?)?)?;
            self.m.insert(name.clone(), m);
            self.v.insert(name.clone(), v);
        }
        Ok(true)
    }

    /// The optimiser state as named tensors (`adam.m.<param>`, `adam.v.<param>`).
    pub fn state(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for (k, t) in &self.m {
            out.insert(format!("adam.m.{k}"), t.clone());
        }
        for (k, t) in &self.v {
            out.insert(format!("adam.v.{k}"), t.clone());
        }
        for (k, h) in &self.host {
            if let (Ok(tm), Ok(tv)) = (
                Tensor::from_slice(&h.m, h.dims.as_slice(), &Device::Cpu),
                Tensor::from_slice(&h.v, h.dims.as_slice(), &Device::Cpu),
            ) {
                out.insert(format!("adam.m.{k}"), tm);
                out.insert(format!("adam.v.{k}"), tv);
            }
        }
        out
    }

    /// Restores the state saved by [`Adam::state`] (tensors moved to `device`).
    pub fn restore(
        &mut self,
        step: u64,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<()> {
        self.step = step;
        self.m.clear();
        self.v.clear();
        self.host.clear();
        if self.fused && device.is_cpu() {
            for (k, t) in tensors {
                if let Some(p) = k.strip_prefix("adam.m.") {
                    let m = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                    let v = match tensors.get(&format!("adam.v.{p}")) {
                        Some(v) => v.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?,
                        None => vec![0.0; m.len()],
                    };
                    if v.len() != m.len() {
                        return Err(Error::Other(format!(
                            "optimiser state for `{p}` has moments of different sizes"
                        )));
                    }
                    let dims = t.dims().to_vec();
                    self.host.insert(p.to_string(), HostMoments { dims, m, v });
                }
            }
            return Ok(());
        }
        for (k, t) in tensors {
            let t = t.to_device(device)?;
            if let Some(p) = k.strip_prefix("adam.m.") {
                self.m.insert(p.to_string(), t);
            } else if let Some(p) = k.strip_prefix("adam.v.") {
                self.v.insert(p.to_string(), t);
            }
        }
        Ok(())
    }
}

/// Adam's moments of one parameter, kept on the host for the fused CPU update.
#[derive(Debug)]
struct HostMoments {
    dims: Vec<usize>,
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Whether every element of `t` is finite (one pass; on the CPU without a temporary tensor).
fn all_finite(t: &Tensor) -> Result<bool> {
    if t.device().is_cpu() && t.dtype() == DType::F32 {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(CpuStorage::F32(data)), Some((a, b))) =
            (&*storage, layout.contiguous_offsets())
        {
            return Ok(data[a..b]
                .par_chunks(1 << 14)
                .all(|c| c.iter().all(|x| x.is_finite())));
        }
    }
    let s = t
        .abs()?
        .sum_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?;
    Ok(s.is_finite())
}

/// One Adam update of a CPU `f32` parameter in place: `m ← β₁m + (1−β₁)g`,
/// `v ← β₂v + (1−β₂)g²`, `p ← p − lr · (m/bc₁) / (√(v/bc₂) + ε)`.
struct FusedAdam<'a> {
    moments: Mutex<(&'a mut [f32], &'a mut [f32])>,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,
    bc2: f32,
}

impl InplaceOp2 for FusedAdam<'_> {
    fn name(&self) -> &'static str {
        "fused-adam"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let g = f32_input(self.name(), s2, l2)?;
        let (CpuStorage::F32(p), Some((a, b))) = (s1, l1.contiguous_offsets()) else {
            candle_core::bail!("fused-adam: the parameter must be contiguous f32")
        };
        let p = &mut p[a..b];
        let mut guard = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("fused-adam: poisoned moments".into()))?;
        let (m, v) = &mut *guard;
        if g.len() != p.len() || m.len() != p.len() || v.len() != p.len() {
            candle_core::bail!(
                "fused-adam: sizes differ (parameter {}, gradient {}, moments {})",
                p.len(),
                g.len(),
                m.len()
            );
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let (rbc1, rbc2) = (1.0 / self.bc1, 1.0 / self.bc2);
        const CHUNK: usize = 1 << 13;
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| {
                for i in 0..p.len() {
                    let gi = g[i];
                    let mi = b1 * m[i] + (1.0 - b1) * gi;
                    let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
                    m[i] = mi;
                    v[i] = vi;
                    p[i] -= self.lr * (mi * rbc1) / ((vi * rbc2).sqrt() + self.eps);
                }
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamInit;

    #[test]
    fn adam_minimises_a_quadratic() {
        let init = ParamInit::new(&Device::Cpu, 1);
        init.root().normal("x", &[4], 1.0).unwrap();
        let p = init.into_params();
        let mut opt = Adam::new(0.1);
        for _ in 0..300 {
            let x = p.get("x").unwrap();
            let loss = (x - 3.0).unwrap().sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            assert!(opt.step(&p, &grads).unwrap());
        }
        let x = p.get("x").unwrap().to_vec1::<f32>().unwrap();
        assert!(x.iter().all(|v| (v - 3.0).abs() < 0.05), "{x:?}");
    }

    /// The tensor-op update (what CUDA runs) against the fused CPU one: same parameters and
    /// same saved moments after several steps on a loss with uneven gradients.
    #[test]
    fn tensor_op_update_matches_the_fused_one() {
        let run = |mut opt: Adam| {
            let init = ParamInit::new(&Device::Cpu, 3);
            init.root().normal("w", &[5, 3], 1.0).unwrap();
            let p = init.into_params();
            for _ in 0..7 {
                let w = p.get("w").unwrap();
                let loss = (w.sqr().unwrap().sqr().unwrap() - (w * 2.0).unwrap())
                    .unwrap()
                    .sum_all()
                    .unwrap();
                assert!(opt.step(&p, &loss.backward().unwrap()).unwrap());
            }
            let w = p.get("w").unwrap().flatten_all().unwrap();
            let state = opt.state();
            let m = state["adam.m.w"].flatten_all().unwrap();
            let v = state["adam.v.w"].flatten_all().unwrap();
            [w, m, v].map(|t| t.to_vec1::<f32>().unwrap())
        };
        let (fused, ops) = (run(Adam::new(0.05)), run(Adam::with_tensor_ops(0.05)));
        for (a, b) in fused.iter().flatten().zip(ops.iter().flatten()) {
            assert!((a - b).abs() < 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
        }
        assert!(
            fused[2].iter().all(|v| *v > 0.0),
            "second moments: {:?}",
            fused[2]
        );
    }
}
