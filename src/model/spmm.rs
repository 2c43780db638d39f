//! Sparse graph propagation (METHOD.md §2): `Y = A · X` for a fixed, symmetric, normalised
//! adjacency `A` in CSR form.
//!
//! candle has no sparse matmul. On CPU a [`CustomOp1`] runs a rayon-parallel CSR SpMM whose
//! backward is the same SpMM on the transposed matrix (`Aᵀ = A` for the symmetric adjacencies
//! built here, but the transpose is stored explicitly so non-symmetric matrices also work).
//! Other devices (CUDA) multiply by degree buckets instead ([`super::buckets`]).

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::buckets::{with_linear_grad, Buckets};

/// A sparse matrix in CSR form with `f32` values.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    pub rows: usize,
    pub cols: usize,
    /// Row pointers (`rows + 1`).
    pub ptr: Vec<usize>,
    /// Column index per stored entry.
    pub idx: Vec<u32>,
    /// Value per stored entry.
    pub val: Vec<f32>,
}

impl CsrMatrix {
    /// Builds a CSR matrix from `(row, col, value)` triplets (any order; duplicates are summed).
    pub fn from_triplets(rows: usize, cols: usize, mut t: Vec<(u32, u32, f32)>) -> Self {
        t.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut ptr = vec![0usize; rows + 1];
        let mut idx = Vec::with_capacity(t.len());
        let mut val: Vec<f32> = Vec::with_capacity(t.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in t {
            if last == Some((r, c)) {
                if let Some(x) = val.last_mut() {
                    *x += v;
                }
                continue;
            }
            last = Some((r, c));
            ptr[r as usize + 1] += 1;
            idx.push(c);
            val.push(v);
        }
        for r in 0..rows {
            ptr[r + 1] += ptr[r];
        }
        CsrMatrix {
            rows,
            cols,
            ptr,
            idx,
            val,
        }
    }

    /// The transpose, in CSR form.
    pub fn transpose(&self) -> Self {
        let mut t = Vec::with_capacity(self.idx.len());
        for r in 0..self.rows {
            for k in self.ptr[r]..self.ptr[r + 1] {
                t.push((self.idx[k], r as u32, self.val[k]));
            }
        }
        CsrMatrix::from_triplets(self.cols, self.rows, t)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.idx.len()
    }

    /// Dense `Y = A · X` on row-major slices (`x` is `cols × d`), parallel over rows.
    pub fn spmm_slice(&self, x: &[f32], d: usize) -> Vec<f32> {
        let mut y = vec![0f32; self.rows * d];
        y.par_chunks_mut(d * 64)
            .enumerate()
            .for_each(|(chunk, out)| {
                let r0 = chunk * 64;
                for (lr, yrow) in out.chunks_mut(d).enumerate() {
                    let r = r0 + lr;
                    for k in self.ptr[r]..self.ptr[r + 1] {
                        let c = self.idx[k] as usize;
                        let v = self.val[k];
                        let xrow = &x[c * d..c * d + d];
                        for (o, &xv) in yrow.iter_mut().zip(xrow) {
                            *o += v * xv;
                        }
                    }
                }
            });
        y
    }
}

/// A fixed sparse operator with its transpose, ready to multiply tensors on any device.
#[derive(Debug, Clone)]
pub struct SparseAdj {
    fwd: Arc<CsrMatrix>,
    bwd: Arc<CsrMatrix>,
    /// Degree buckets of `A` and `Aᵀ` for the generic (non-CPU) path.
    buckets: Option<(Arc<Buckets>, Arc<Buckets>)>,
}

impl SparseAdj {
    /// Wraps a CSR matrix; `device` decides whether the generic path's buckets are prepared.
    pub fn new(m: CsrMatrix, device: &Device) -> candle_core::Result<Self> {
        Self::build(m, device, !device.is_cpu() || generic_ops_forced())
    }

    /// Wraps a CSR matrix for the generic path on any device, the CPU included: the path CUDA
    /// takes, so that it can be checked against the CPU ops.
    pub fn generic(m: CsrMatrix, device: &Device) -> candle_core::Result<Self> {
        Self::build(m, device, true)
    }

    fn build(m: CsrMatrix, device: &Device, generic: bool) -> candle_core::Result<Self> {
        let bwd = m.transpose();
        let buckets = if generic {
            Some((
                Arc::new(Buckets::new(&m, device)?),
                Arc::new(Buckets::new(&bwd, device)?),
            ))
        } else {
            None
        };
        Ok(SparseAdj {
            fwd: Arc::new(m),
            bwd: Arc::new(bwd),
            buckets,
        })
    }

    pub fn matrix(&self) -> &CsrMatrix {
        &self.fwd
    }

    /// `A · x` for `x` of shape `[cols, d]`, differentiable with respect to `x`.
    pub fn matmul(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match &self.buckets {
            None => x.apply_op1(SpmmOp {
                fwd: self.fwd.clone(),
                bwd: self.bwd.clone(),
            }),
            Some((fwd, bwd)) => with_linear_grad(x, fwd.apply(&x.detach())?, bwd.clone()),
        }
    }
    /// LightGCN's layer mean `(x + A x + … + A^L x) / (L + 1)` for a square `A`,
    /// differentiable with respect to `x`. On the CPU this is one fused op (forward and backward
    /// each `L` SpMMs and no other full-size tensor op); elsewhere it is composed from
    /// [`SparseAdj::matmul`].
    pub fn propagate_mean(&self, x: &Tensor, layers: usize) -> candle_core::Result<Tensor> {
        if layers == 0 {
            return Ok(x.clone());
        }
        match &self.buckets {
            None if self.fwd.rows == self.fwd.cols => prepare(x)?.apply_op1(MeanPowersOp {
                fwd: self.fwd.clone(),
                bwd: self.bwd.clone(),
                layers,
            }),
            _ => {
                let mut acc = x.clone();
                let mut cur = x.contiguous()?;
                for _ in 0..layers {
                    cur = self.matmul(&cur)?;
                    acc = (acc + &cur)?;
                }
                acc / (layers as f64 + 1.0)
            }
        }
    }
}

/// Whether `MCLMR_GENERIC_OPS=1` is set: the CPU then takes the paths written for other
/// devices (bucketed products and gathers, the tensor-op Adam), so that what CUDA runs can be
/// checked without a GPU (tests/cli_e2e.rs trains with and without it). Read once.
pub fn generic_ops_forced() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var("MCLMR_GENERIC_OPS").is_ok_and(|v| v == "1"))
}

/// `(x + A x + … + A^L x) / (L + 1)` on the CPU; its backward is the same op with `Aᵀ`.
struct MeanPowersOp {
    fwd: Arc<CsrMatrix>,
    bwd: Arc<CsrMatrix>,
    layers: usize,
}

impl CustomOp1 for MeanPowersOp {
    fn name(&self) -> &'static str {
        "csr-mean-powers"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, d) = layout.shape().dims2()?;
        if n != self.fwd.cols || n != self.fwd.rows {
            candle_core::bail!(
                "csr-mean-powers: input has {n} rows, the matrix is {}×{}",
                self.fwd.rows,
                self.fwd.cols
            );
        }
        let x = f32_input(self.name(), storage, layout)?;
        const CHUNK: usize = 1 << 13;
        let mut acc = x.to_vec();
        let mut cur: Vec<f32> = Vec::new();
        for l in 0..self.layers {
            cur = self.fwd.spmm_slice(if l == 0 { x } else { &cur }, d);
            acc.par_chunks_mut(CHUNK)
                .zip(cur.par_chunks(CHUNK))
                .for_each(|(a, c)| a.iter_mut().zip(c).for_each(|(a, c)| *a += c));
        }
        let scale = 1.0 / (self.layers as f32 + 1.0);
        acc.par_chunks_mut(CHUNK)
            .for_each(|a| a.iter_mut().for_each(|a| *a *= scale));
        Ok((CpuStorage::F32(acc), Shape::from((n, d))))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let op = MeanPowersOp {
            fwd: self.bwd.clone(),
            bwd: self.fwd.clone(),
            layers: self.layers,
        };
        Ok(Some(prepare(grad_res)?.apply_op1(op)?))
    }
}

/// The CPU custom op: forward multiplies by `fwd`, backward by `bwd` (= `fwdᵀ`).
struct SpmmOp {
    fwd: Arc<CsrMatrix>,
    bwd: Arc<CsrMatrix>,
}

impl CustomOp1 for SpmmOp {
    fn name(&self) -> &'static str {
        "csr-spmm"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, d) = layout.shape().dims2()?;
        if n != self.fwd.cols {
            candle_core::bail!(
                "csr-spmm: input has {n} rows, the matrix has {} columns",
                self.fwd.cols
            );
        }
        let x = f32_input(self.name(), storage, layout)?;
        let y = self.fwd.spmm_slice(x, d);
        Ok((CpuStorage::F32(y), Shape::from((self.fwd.rows, d))))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        let op = SpmmOp {
            fwd: self.bwd.clone(),
            bwd: self.fwd.clone(),
        };
        Ok(Some(g.apply_op1(op)?))
    }
}

/// The elements of a custom op's CPU input: `op` names the op in the error when the input is
/// not `f32` or not contiguous.
pub(crate) fn f32_input<'a>(
    op: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: only f32 is supported")
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}

/// Ensures `x` is f32 and contiguous before a custom op (cheap when it already is).
pub fn prepare(x: &Tensor) -> candle_core::Result<Tensor> {
    x.to_dtype(DType::F32)?.contiguous()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use candle_core::Var;

    pub(in crate::model) fn small() -> CsrMatrix {
        CsrMatrix::from_triplets(
            3,
            4,
            vec![
                (0, 1, 0.5),
                (0, 3, 2.0),
                (1, 0, -1.0),
                (2, 2, 1.5),
                (2, 0, 0.25),
            ],
        )
    }

    pub(in crate::model) fn dense(m: &CsrMatrix) -> Tensor {
        let mut d = vec![0f32; m.rows * m.cols];
        for r in 0..m.rows {
            for k in m.ptr[r]..m.ptr[r + 1] {
                d[r * m.cols + m.idx[k] as usize] += m.val[k];
            }
        }
        Tensor::from_vec(d, (m.rows, m.cols), &Device::Cpu).unwrap()
    }

    #[test]
    fn forward_matches_dense_matmul() {
        let m = small();
        let x = Tensor::from_vec(
            (0..8).map(|v| v as f32 * 0.3 - 1.0).collect::<Vec<_>>(),
            (4, 2),
            &Device::Cpu,
        )
        .unwrap();
        let a = SparseAdj::new(m.clone(), &Device::Cpu).unwrap();
        let got = a.matmul(&x).unwrap().to_vec2::<f32>().unwrap();
        let want = dense(&m).matmul(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn gradient_matches_dense_and_finite_differences() {
        let m = small();
        let a = SparseAdj::new(m.clone(), &Device::Cpu).unwrap();
        let init: Vec<f32> = (0..8).map(|v| (v as f32 * 0.7).sin()).collect();
        let w = Tensor::from_vec(
            vec![0.3f32, -0.2, 1.0, 0.5, -0.7, 0.9],
            (3, 2),
            &Device::Cpu,
        )
        .unwrap();
        // loss = sum(w ⊙ (A x)^2)
        let loss_of = |x: &Tensor, sparse: bool| -> Tensor {
            let y = if sparse {
                a.matmul(x).unwrap()
            } else {
                dense(&m).matmul(x).unwrap()
            };
            (y.sqr().unwrap() * &w).unwrap().sum_all().unwrap()
        };
        let x = Var::from_vec(init.clone(), (4, 2), &Device::Cpu).unwrap();
        let g_sparse = loss_of(x.as_tensor(), true)
            .backward()
            .unwrap()
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let g_dense = loss_of(x.as_tensor(), false)
            .backward()
            .unwrap()
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (s, d) in g_sparse.iter().zip(&g_dense) {
            assert!((s - d).abs() < 1e-5, "{s} vs {d}");
        }
        let eps = 1e-3f32;
        for k in 0..init.len() {
            let mut p = init.clone();
            p[k] += eps;
            let mut q = init.clone();
            q[k] -= eps;
            let lp = loss_of(&Tensor::from_vec(p, (4, 2), &Device::Cpu).unwrap(), true)
                .to_scalar::<f32>()
                .unwrap();
            let lq = loss_of(&Tensor::from_vec(q, (4, 2), &Device::Cpu).unwrap(), true)
                .to_scalar::<f32>()
                .unwrap();
            let fd = (lp - lq) / (2.0 * eps);
            assert!(
                (fd - g_sparse[k]).abs() < 2e-2,
                "k={k}: fd {fd} vs {}",
                g_sparse[k]
            );
        }
    }

    #[test]
    fn fused_layer_mean_matches_composed_ops_and_its_gradient() {
        // A symmetric 4×4 matrix, so `propagate_mean` takes the fused path.
        let m = CsrMatrix::from_triplets(
            4,
            4,
            vec![
                (0, 1, 0.5),
                (1, 0, 0.5),
                (1, 3, -0.7),
                (3, 1, -0.7),
                (2, 2, 0.9),
                (0, 3, 0.2),
                (3, 0, 0.2),
            ],
        );
        let a = SparseAdj::new(m.clone(), &Device::Cpu).unwrap();
        let init: Vec<f32> = (0..12).map(|v| (v as f32 * 0.9).cos()).collect();
        let w = Tensor::from_vec(
            (0..12).map(|v| v as f32 * 0.1 - 0.4).collect::<Vec<_>>(),
            (4, 3),
            &Device::Cpu,
        )
        .unwrap();
        let composed = |x: &Tensor| -> Tensor {
            let x1 = dense(&m).matmul(x).unwrap();
            let x2 = dense(&m).matmul(&x1).unwrap();
            ((x + x1).unwrap() + x2)
                .unwrap()
                .affine(1.0 / 3.0, 0.0)
                .unwrap()
        };
        let x = Var::from_vec(init, (4, 3), &Device::Cpu).unwrap();
        let fused = a.propagate_mean(x.as_tensor(), 2).unwrap();
        let want = composed(x.as_tensor());
        let diff = (fused.clone() - &want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-6, "forward differs by {diff}");
        let grad = |y: Tensor| {
            let loss = (y.sqr().unwrap() * &w).unwrap().sum_all().unwrap();
            loss.backward()
                .unwrap()
                .get(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let (gf, gc) = (grad(fused), grad(want));
        for (f, c) in gf.iter().zip(&gc) {
            assert!((f - c).abs() < 1e-5, "{f} vs {c}");
        }
        assert_eq!(
            a.propagate_mean(x.as_tensor(), 0)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap(),
            x.as_tensor().to_vec2::<f32>().unwrap()
        );
    }

    #[test]
    fn transpose_roundtrip() {
        let m = small();
        assert_eq!(m.transpose().transpose(), m);
    }
}
