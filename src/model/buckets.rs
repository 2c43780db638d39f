//! Sparse products without scatter, for devices other than the CPU (CUDA).
//!
//! candle's CUDA `index_add`, which is also the backward of `index_select`, gives one thread per
//! output column and walks every index serially (docs/PERFORMANCE.md, "CUDA"). Here `A · x` is
//! computed by degree buckets ([`Buckets`]: rows padded to the next power of two of their
//! degree, so at most twice the stored entries; a gather, a multiply and a sum per bucket, every
//! one parallel over its output), and its gradient is the same computation with `Aᵀ`, attached
//! by [`with_linear_grad`]. [`gather_rows`] does the same for the rows a batch selects from a
//! table.

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CudaStorage, CustomOp2, DType, Device, Layout, Shape, Tensor};

use super::spmm::{generic_ops_forced, CsrMatrix};

/// A sparse matrix as degree buckets, for `A · x` without scatter: the rows whose degree pads to
/// the same power of two form one bucket, whose product is a gather of `x`'s rows, a multiply by
/// the stored values (zero in the padding) and a sum over the padded axis; one final gather puts
/// the buckets' rows back in order (rows without entries read an appended zero row).
#[derive(Debug)]
pub struct Buckets {
    /// Per bucket: the gathered column indices (`rows × width`), the values
    /// (`[rows, width, 1]`) and the width.
    parts: Vec<(Tensor, Tensor, usize)>,
    /// Output row `r` is row `order[r]` of the buckets' results stacked (zero row last).
    order: Tensor,
}

impl Buckets {
    /// Buckets of `m`, with their index and value tensors on `device`.
    pub fn new(m: &CsrMatrix, device: &Device) -> candle_core::Result<Self> {
        let mut by_width: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for r in 0..m.rows {
            let deg = m.ptr[r + 1] - m.ptr[r];
            if deg > 0 {
                by_width.entry(deg.next_power_of_two()).or_default().push(r);
            }
        }
        let filled: usize = by_width.values().map(Vec::len).sum();
        let mut order = vec![filled as u32; m.rows];
        let mut parts = Vec::with_capacity(by_width.len());
        let mut next = 0u32;
        for (width, rows) in by_width {
            let mut idx = Vec::with_capacity(rows.len() * width);
            let mut val = Vec::with_capacity(rows.len() * width);
            for r in &rows {
                order[*r] = next;
                next += 1;
                let (a, b) = (m.ptr[*r], m.ptr[*r + 1]);
                idx.extend_from_slice(&m.idx[a..b]);
                val.extend_from_slice(&m.val[a..b]);
                idx.resize(idx.len() + width - (b - a), 0);
                val.resize(val.len() + width - (b - a), 0.0);
            }
            let n = rows.len();
            parts.push((
                Tensor::from_vec(idx, n * width, device)?,
                Tensor::from_vec(val, (n, width, 1), device)?,
                width,
            ));
        }
        Ok(Buckets {
            parts,
            order: Tensor::from_vec(order, m.rows, device)?,
        })
    }

    /// `M · x` for `x` of shape `[cols, d]` or `[cols]` (not differentiated: see
    /// [`with_linear_grad`]).
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if x.rank() == 1 {
            return self.apply(&x.unsqueeze(1)?)?.squeeze(1);
        }
        let x = x.to_dtype(DType::F32)?;
        let d = x.dim(1)?;
        let mut stacked = Vec::with_capacity(self.parts.len() + 1);
        for (idx, val, width) in &self.parts {
            let n = val.dim(0)?;
            stacked.push(
                x.index_select(idx, 0)?
                    .reshape((n, *width, d))?
                    .broadcast_mul(val)?
                    .sum(1)?,
            );
        }
        stacked.push(Tensor::zeros((1, d), DType::F32, x.device())?);
        Tensor::cat(&stacked, 0)?.index_select(&self.order, 0)
    }
}

/// `value` (computed from `x` without tracking) as a tensor whose gradient with respect to `x`
/// is `grad ↦ adjoint · grad`: for a linear map `y = M x`, pass `Mᵀ` as `adjoint`.
pub fn with_linear_grad(
    x: &Tensor,
    value: Tensor,
    adjoint: Arc<Buckets>,
) -> candle_core::Result<Tensor> {
    x.apply_op2(&value.contiguous()?, PassThrough { adjoint })
}

/// Rows `ids` of `x` (`x.index_select(ids, 0)`), differentiable with respect to `x`. On the CPU
/// this is `index_select`; elsewhere the gradient is a bucketed sum, not candle's serial
/// `index_add` (the ids are read back to the host to build it).
pub fn gather_rows(x: &Tensor, ids: &Tensor) -> candle_core::Result<Tensor> {
    if (x.device().is_cpu() && !generic_ops_forced()) || !x.track_op() {
        return x.index_select(ids, 0);
    }
    gather_rows_bucketed(x, ids)
}

/// [`gather_rows`]' non-CPU path, on any device (tested on the CPU against `index_select`).
pub fn gather_rows_bucketed(x: &Tensor, ids: &Tensor) -> candle_core::Result<Tensor> {
    let host = ids.to_dtype(DType::U32)?.to_vec1::<u32>()?;
    let rows = x.dim(0)?;
    let t = CsrMatrix::from_triplets(
        rows,
        host.len(),
        host.iter()
            .enumerate()
            .map(|(k, &r)| (r, k as u32, 1.0))
            .collect(),
    );
    let adjoint = Arc::new(Buckets::new(&t, x.device())?);
    with_linear_grad(x, x.detach().index_select(ids, 0)?, adjoint)
}

/// Returns its second argument; the gradient flows to the first through `adjoint`.
struct PassThrough {
    adjoint: Arc<Buckets>,
}

impl PassThrough {
    /// The forward on any backend: a copy of the value's storage.
    fn copy<S: BackendStorage>(s: &S, l: &Layout) -> candle_core::Result<(S, Shape)> {
        if !l.is_contiguous() || l.start_offset() != 0 {
            candle_core::bail!("pass-through: the value must be contiguous from offset 0");
        }
        Ok((s.try_clone(l)?, l.shape().clone()))
    }
}

impl CustomOp2 for PassThrough {
    fn name(&self) -> &'static str {
        "pass-through"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        s: &CpuStorage,
        l: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        Self::copy(s, l)
    }

    fn cuda_fwd(
        &self,
        _: &CudaStorage,
        _: &Layout,
        s: &CudaStorage,
        l: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        Self::copy(s, l)
    }

    fn bwd(
        &self,
        _: &Tensor,
        _: &Tensor,
        _: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(self.adjoint.apply(&grad.detach())?), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spmm::tests::{dense, small};
    use crate::model::spmm::SparseAdj;
    use candle_core::Var;

    /// The generic path (what CUDA runs) against the CPU ops, forward and gradient, for a
    /// rectangular product and the layer mean of a square one.
    #[test]
    fn generic_path_matches_the_cpu_ops() {
        let sq = CsrMatrix::from_triplets(
            4,
            4,
            vec![
                (0, 1, 0.5),
                (1, 0, 0.5),
                (1, 3, -0.7),
                (3, 1, -0.7),
                (2, 2, 0.9),
            ],
        );
        for (m, layers) in [(small(), 0), (sq, 3)] {
            let (cpu, gen) = (
                SparseAdj::new(m.clone(), &Device::Cpu).unwrap(),
                SparseAdj::generic(m.clone(), &Device::Cpu).unwrap(),
            );
            let init: Vec<f32> = (0..m.cols * 3).map(|v| (v as f32 * 0.7).sin()).collect();
            let x = Var::from_vec(init, (m.cols, 3), &Device::Cpu).unwrap();
            let run = |a: &SparseAdj| -> (Vec<f32>, Vec<f32>) {
                let y = if layers == 0 {
                    a.matmul(x.as_tensor()).unwrap()
                } else {
                    a.propagate_mean(x.as_tensor(), layers).unwrap()
                };
                let w = Tensor::arange(0f32, y.elem_count() as f32, &Device::Cpu)
                    .unwrap()
                    .reshape(y.shape())
                    .unwrap();
                let loss = (y.sqr().unwrap() * w).unwrap().sum_all().unwrap();
                let g = loss
                    .backward()
                    .unwrap()
                    .get(&x)
                    .unwrap()
                    .flatten_all()
                    .unwrap();
                (
                    y.flatten_all().unwrap().to_vec1().unwrap(),
                    g.to_vec1().unwrap(),
                )
            };
            let ((yc, gc), (yg, gg)) = (run(&cpu), run(&gen));
            for (a, b) in yc.iter().zip(&yg).chain(gc.iter().zip(&gg)) {
                assert!((a - b).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
            }
        }
    }

    /// Buckets of an uneven matrix (empty rows, degrees 1 to 6, so several widths and padding)
    /// multiply like the dense matrix.
    #[test]
    fn buckets_match_the_dense_product() {
        let mut t = Vec::new();
        for r in 0..9u32 {
            for k in 0..(r * 5 % 7) {
                t.push((r, (r + 2 * k) % 6, 0.3 * k as f32 - 0.5 + r as f32 * 0.1));
            }
        }
        let m = CsrMatrix::from_triplets(9, 6, t);
        assert!((0..9).any(|r| m.ptr[r + 1] == m.ptr[r]));
        let x = Tensor::from_vec(
            (0..18).map(|v| (v as f32 * 1.3).cos()).collect::<Vec<_>>(),
            (6, 3),
            &Device::Cpu,
        )
        .unwrap();
        let got = Buckets::new(&m, &Device::Cpu)
            .unwrap()
            .apply(&x)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let want = dense(&m).matmul(&x).unwrap().to_vec2::<f32>().unwrap();
        for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }

    /// The bucketed gather (CUDA's) against `index_select`, forward and gradient, with repeated
    /// and missing rows.
    #[test]
    fn bucketed_gather_matches_index_select() {
        let x = Var::from_vec(
            (0..15).map(|v| (v as f32 * 0.4).sin()).collect::<Vec<_>>(),
            (5, 3),
            &Device::Cpu,
        )
        .unwrap();
        let ids = Tensor::new(&[3u32, 0, 3, 3, 1, 0], &Device::Cpu).unwrap();
        let w = Tensor::arange(0f32, 18.0, &Device::Cpu)
            .unwrap()
            .reshape((6, 3))
            .unwrap();
        let run = |y: Tensor| {
            let loss = (y.sqr().unwrap() * &w).unwrap().sum_all().unwrap();
            let g = loss.backward().unwrap().get(&x).unwrap().clone();
            (y.to_vec2::<f32>().unwrap(), g.to_vec2::<f32>().unwrap())
        };
        let (yb, gb) = run(gather_rows_bucketed(x.as_tensor(), &ids).unwrap());
        let (yi, gi) = run(x.as_tensor().index_select(&ids, 0).unwrap());
        assert_eq!(yb, yi);
        for (a, b) in gb.iter().flatten().zip(gi.iter().flatten()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert!(gb[2].iter().chain(&gb[4]).all(|v| *v == 0.0));

        // A vector (a per-stratum bias) gathers the same way.
        let v = Var::from_vec(vec![0.5f32, -1.0, 2.0, 0.25], 4, &Device::Cpu).unwrap();
        let ids = Tensor::new(&[2u32, 2, 0], &Device::Cpu).unwrap();
        let y = gather_rows_bucketed(v.as_tensor(), &ids).unwrap();
        assert_eq!(y.to_vec1::<f32>().unwrap(), vec![2.0, 2.0, 0.5]);
        let g = (y * Tensor::new(&[1f32, 10.0, 100.0], &Device::Cpu).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(
            g.get(&v).unwrap().to_vec1::<f32>().unwrap(),
            vec![100.0, 0.0, 11.0, 0.0]
        );
    }
}
