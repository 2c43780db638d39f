//! EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"), a closed-form
//! item-item baseline (METHOD.md §7).
//!
//! The input is one users × items matrix of every behavior's training interactions,
//! `x_ui = ln(1 + Σ_b w_b · count_b(u,i))` (`[ease] weights`, default 1 for the weakest behavior,
//! 2 for each intermediate one, 4 for the target). With `G = XᵀX + λI` and `P = G⁻¹`,
//! `B = −P / diag(P)` column by column and `diag(B) = 0`; a user's scores are `x_u · B`.
//!
//! `G` is accumulated from the sparse rows of `X` (`Σ_u nnz_u²` products), factored in place by
//! faer's Cholesky and inverted (also faer): three `n × n` matrices at the peak (`G`'s factor,
//! `P` and the inverse's workspace), see [`solve_bytes`]. The solve runs in f32 (on Taobao the
//! same metrics as f64 in half the time and memory: docs/RESULTS.md). `B` is stored in the
//! checkpoint, so loading it does not solve again. Scoring a block of users adds, for each of a
//! user's items `j`, `x_uj` times row `j` of `B`: `nnz_u · n` operations per user.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{MatMut, Par};
use rayon::prelude::*;

use super::config::bad_key;
use crate::data::{Csr, Dataset};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The precision of the Gram matrix, its factor and inverse.
type Real = f32;

/// `[ease]`: the EASE baseline (`model.backbone = "ease"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EaseSection {
    /// L2 weight λ added to the Gram matrix's diagonal.
    pub lambda: f64,
    /// Weight of each behavior in `x_ui = ln(1 + Σ_b w_b · count_b(u,i))`, weakest → target;
    /// empty = 1 for the weakest, 2 for every intermediate, 4 for the target.
    pub weights: Vec<f64>,
}

impl Default for EaseSection {
    fn default() -> Self {
        EaseSection {
            lambda: 500.0,
            weights: Vec::new(),
        }
    }
}

impl EaseSection {
    pub(super) fn validate(&self) -> Result<()> {
        if !(self.lambda > 0.0 && self.lambda.is_finite()) {
            return bad_key(
                "ease.lambda",
                self.lambda.to_string(),
                "use a positive L2 weight such as 500",
            );
        }
        let w = &self.weights;
        if w.iter().any(|w| !(*w >= 0.0 && w.is_finite()))
            || (!w.is_empty() && w.iter().all(|&w| w == 0.0))
        {
            return bad_key(
                "ease.weights",
                format!("{w:?}"),
                "use non-negative behavior weights, not all 0, e.g. [1.0, 2.0, 4.0]",
            );
        }
        Ok(())
    }

    /// The behavior weights for `n_behaviors` behaviors (weakest → target).
    pub fn weights_for(&self, n_behaviors: usize) -> Result<Vec<f64>> {
        if self.weights.is_empty() {
            return Ok((0..n_behaviors)
                .map(|b| match b {
                    _ if b + 1 == n_behaviors => 4.0,
                    0 => 1.0,
                    _ => 2.0,
                })
                .collect());
        }
        if self.weights.len() != n_behaviors {
            return Err(Error::bad_arg(
                "config ease.weights",
                format!("{:?}", self.weights),
                format!(
                    "give one weight per behavior of the data ({n_behaviors}, weakest → target), \
                     or leave ease.weights = [] for 1, 2, …, 4"
                ),
            ));
        }
        Ok(self.weights.clone())
    }
}

/// Bytes the solve holds at its peak for `n_items` items: the factor of `G`, `P` and the
/// inverse's workspace, `n × n` [`Real`] each.
pub fn solve_bytes(n_items: usize) -> u64 {
    3 * std::mem::size_of::<Real>() as u64 * (n_items as u64).pow(2)
}

/// Bytes of `B` (f32), in memory and in the checkpoint.
pub fn weight_bytes(n_items: usize) -> u64 {
    4 * (n_items as u64).pow(2)
}

/// A fitted EASE model.
#[derive(Debug, Clone)]
pub struct EaseRanker {
    /// The input rows `x_u` (users × items).
    pub x: Csr,
    /// `B` row-major: `b[j * n + i]` is what history item `j` adds to item `i`; `b[i * n + i] = 0`.
    pub b: Vec<f32>,
    pub n_items: usize,
}

/// `X` of `data`: the log-weighted union of the behaviors' training interactions.
pub fn input_matrix(data: &Dataset, weights: &[f64]) -> Csr {
    let mut cells: Vec<(u32, u32, f64)> = Vec::new();
    for (beh, &w) in data.behaviors.iter().zip(weights) {
        for (&(u, i), &c) in beh.pairs.iter().zip(&beh.counts) {
            cells.push((u, i, w * f64::from(c)));
        }
    }
    cells.sort_unstable_by_key(|&(u, i, _)| (u, i));
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(cells.len());
    let mut sums: Vec<f64> = Vec::with_capacity(cells.len());
    for (u, i, v) in cells {
        if pairs.last() == Some(&(u, i)) {
            *sums.last_mut().expect("sums parallel to pairs") += v;
        } else {
            pairs.push((u, i));
            sums.push(v);
        }
    }
    let mut x = Csr::from_sorted_pairs(data.n_users(), &pairs, None);
    x.vals = sums.iter().map(|&s| (1.0 + s).ln() as f32).collect();
    x
}

/// `XᵀX + λI` as a dense column-major (symmetric) `n × n` matrix, built from the sparse
/// rows: column `j` sums `x_uj · x_u` over the users `u` of item `j`.
pub fn gram(x: &Csr, n_items: usize, lambda: f64) -> Vec<Real> {
    // Item → (user, x_uj), to walk one column of G per item.
    let mut ptr = vec![0usize; n_items + 1];
    for &i in &x.cols {
        ptr[i as usize + 1] += 1;
    }
    for i in 0..n_items {
        ptr[i + 1] += ptr[i];
    }
    let mut fill = ptr.clone();
    let mut users = vec![(0u32, 0f32); x.cols.len()];
    for u in 0..x.rows() {
        for (&i, &v) in x.row(u).iter().zip(x.row_vals(u)) {
            users[fill[i as usize]] = (u as u32, v);
            fill[i as usize] += 1;
        }
    }
    let mut g: Vec<Real> = vec![0.0; n_items * n_items];
    g.par_chunks_mut(n_items.max(1))
        .enumerate()
        .for_each(|(j, col)| {
            for &(u, xj) in &users[ptr[j]..ptr[j + 1]] {
                let xj = xj as Real;
                for (&k, &xk) in x.row(u as usize).iter().zip(x.row_vals(u as usize)) {
                    col[k as usize] += xj * xk as Real;
                }
            }
            col[j] += lambda as Real;
        });
    g
}

/// `B` from `G` (column-major, consumed): Cholesky `G = LLᵀ` in place, `P = G⁻¹` from `L`,
/// then `B_ji = −P_ji / P_ii` off the diagonal, row-major f32.
pub fn solve(mut g: Vec<Real>, n: usize) -> Result<Vec<f32>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let par = Par::rayon(0);
    let mut l = MatMut::from_column_major_slice_mut(&mut g, n, n);
    {
        let mut buf = MemBuffer::new(llt::factor::cholesky_in_place_scratch::<Real>(
            n,
            par,
            Default::default(),
        ));
        llt::factor::cholesky_in_place(
            l.rb_mut(),
            Default::default(),
            par,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .map_err(|e| {
            Error::Other(format!(
                "EASE: the Gram matrix is not positive definite ({e}); raise ease.lambda"
            ))
        })?;
    }
    let mut p: Vec<Real> = vec![0.0; n * n];
    {
        let mut buf = MemBuffer::new(llt::inverse::inverse_scratch::<Real>(n, par));
        let out = MatMut::from_column_major_slice_mut(&mut p, n, n);
        llt::inverse::inverse(out, l.rb(), par, MemStack::new(&mut buf));
    }
    drop(g);
    // The inverse fills the lower triangle of P (column-major): P_rc for r ≥ c is p[c*n + r].
    let sym = |r: usize, c: usize| if r >= c { p[c * n + r] } else { p[r * n + c] };
    let diag: Vec<Real> = (0..n).map(|i| p[i * n + i]).collect();
    if let Some(i) = diag.iter().position(|d| !(*d > 0.0 && d.is_finite())) {
        return Err(Error::Other(format!(
            "EASE: diag(P) at item {i} is {} (the solve lost precision); raise ease.lambda",
            diag[i]
        )));
    }
    let mut b = vec![0f32; n * n];
    b.par_chunks_mut(n).enumerate().for_each(|(j, row)| {
        for (i, v) in row.iter_mut().enumerate() {
            if i != j {
                // A no-op while `Real` is f32; the cast keeps the f64 solve one edit away.
                #[allow(clippy::unnecessary_cast)]
                let w = (-sym(j, i) / diag[i]) as f32;
                *v = w;
            }
        }
    });
    Ok(b)
}

impl EaseRanker {
    /// Fits EASE on `data`'s training interactions.
    pub fn fit(data: &Dataset, cfg: &EaseSection) -> Result<Self> {
        let weights = cfg.weights_for(data.n_behaviors())?;
        let x = input_matrix(data, &weights);
        let n = data.n_items();
        let b = solve(gram(&x, n, cfg.lambda), n)?;
        Ok(EaseRanker { x, b, n_items: n })
    }

    /// The model of `data` with a stored `B` (row-major `n × n`).
    pub fn with_weights(data: &Dataset, cfg: &EaseSection, b: Vec<f32>) -> Result<Self> {
        let weights = cfg.weights_for(data.n_behaviors())?;
        Ok(EaseRanker {
            x: input_matrix(data, &weights),
            b,
            n_items: data.n_items(),
        })
    }

    /// Scores of every item for each user (row-major): `x_u · B`.
    pub fn score_users(&self, users: &[u32]) -> Vec<f32> {
        let n = self.n_items;
        let mut out = vec![0f32; users.len() * n];
        out.par_chunks_mut(n.max(1))
            .zip(users.par_iter())
            .for_each(|(row, &u)| {
                let u = u as usize;
                for (&j, &xj) in self.x.row(u).iter().zip(self.x.row_vals(u)) {
                    let bj = &self.b[j as usize * n..(j as usize + 1) * n];
                    for (s, &w) in row.iter_mut().zip(bj) {
                        *s += xj * w;
                    }
                }
            });
        out
    }

    /// What each of user `u`'s items adds to item `i`'s score, `(j, x_uj · B_ji)`, largest first.
    pub fn contributions(&self, u: u32, i: u32) -> Vec<(u32, f32)> {
        let n = self.n_items;
        let u = u as usize;
        let mut c: Vec<(u32, f32)> = self
            .x
            .row(u)
            .iter()
            .zip(self.x.row_vals(u))
            .map(|(&j, &xj)| (j, xj * self.b[j as usize * n + i as usize]))
            .collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Interactions;

    /// 5 users × 4 items over view and buy.
    fn data() -> Dataset {
        let ids = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        let view = vec![
            (0, 0),
            (0, 1),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 2),
            (3, 3),
            (4, 1),
        ];
        let buy = vec![(0, 1), (1, 2), (1, 2), (2, 3), (3, 0), (4, 1), (4, 3)];
        Dataset::from_parts(
            "t".into(),
            "t".into(),
            ids(5),
            ids(4),
            vec![
                Interactions::from_raw("view", view),
                Interactions::from_raw("buy", buy),
            ],
            Vec::new(),
            Vec::new(),
            None,
            Vec::new(),
        )
    }

    /// Gauss-Jordan inverse of a small dense row-major matrix.
    fn inverse(a: &[f64], n: usize) -> Vec<f64> {
        let mut m: Vec<f64> = Vec::new();
        for r in 0..n {
            m.extend_from_slice(&a[r * n..(r + 1) * n]);
            m.extend((0..n).map(|c| f64::from(u8::from(c == r))));
        }
        let w = 2 * n;
        for c in 0..n {
            let p = (c..n)
                .max_by(|&x, &y| m[x * w + c].abs().total_cmp(&m[y * w + c].abs()))
                .unwrap();
            for k in 0..w {
                m.swap(c * w + k, p * w + k);
            }
            let d = m[c * w + c];
            for k in 0..w {
                m[c * w + k] /= d;
            }
            for r in (0..n).filter(|&r| r != c) {
                let f = m[r * w + c];
                for k in 0..w {
                    m[r * w + k] -= f * m[c * w + k];
                }
            }
        }
        (0..n * n).map(|e| m[(e / n) * w + n + e % n]).collect()
    }

    fn dense(x: &Csr, n: usize) -> Vec<f64> {
        let mut d = vec![0f64; x.rows() * n];
        for u in 0..x.rows() {
            for (&i, &v) in x.row(u).iter().zip(x.row_vals(u)) {
                d[u * n + i as usize] = f64::from(v);
            }
        }
        d
    }

    #[test]
    fn input_is_the_log_weighted_union() {
        let x = input_matrix(&data(), &[1.0, 4.0]);
        // User 1 viewed item 2 once and bought it twice: ln(1 + 1 + 4·2).
        let k = x.row(1).iter().position(|&i| i == 2).unwrap();
        assert!((x.row_vals(1)[k] - 10f32.ln()).abs() < 1e-6);
        // User 0 viewed item 0 only: ln 2.
        assert!((x.row_vals(0)[0] - 2f32.ln()).abs() < 1e-6);
        assert_eq!(x.row(4), &[1, 3]);
    }

    #[test]
    fn b_is_the_closed_form() {
        let d = data();
        let cfg = EaseSection {
            lambda: 0.7,
            weights: vec![1.0, 4.0],
        };
        let m = EaseRanker::fit(&d, &cfg).unwrap();
        let n = 4;
        let x = dense(&m.x, n);
        let mut g = vec![0f64; n * n];
        for r in 0..n {
            for c in 0..n {
                g[r * n + c] = (0..5).map(|u| x[u * n + r] * x[u * n + c]).sum::<f64>()
                    + if r == c { cfg.lambda } else { 0.0 };
            }
        }
        let p = inverse(&g, n);
        for j in 0..n {
            assert_eq!(m.b[j * n + j], 0.0, "diag(B) = 0");
            for i in (0..n).filter(|&i| i != j) {
                let want = -p[j * n + i] / p[i * n + i];
                let got = f64::from(m.b[j * n + i]);
                assert!((got - want).abs() < 1e-5, "B[{j},{i}] = {got}, want {want}");
            }
        }
        // The optimality condition of min ‖X − XB‖² + λ‖B‖² with diag(B) = 0: GB − XᵀX is
        // diagonal, i.e. (GB)_ji = G_ji off the diagonal.
        for j in 0..n {
            for i in (0..n).filter(|&i| i != j) {
                let gb: f64 = (0..n)
                    .map(|k| g[j * n + k] * f64::from(m.b[k * n + i]))
                    .sum();
                assert!((gb - g[j * n + i]).abs() < 1e-4, "(GB)[{j},{i}] = {gb}");
            }
        }
        // Scores are X · B.
        let s = m.score_users(&[1, 4]);
        for (r, u) in [1usize, 4].into_iter().enumerate() {
            for i in 0..n {
                let want: f64 = (0..n)
                    .map(|j| x[u * n + j] * f64::from(m.b[j * n + i]))
                    .sum();
                assert!((f64::from(s[r * n + i]) - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn large_lambda_shrinks_b_to_zero() {
        let max = |lambda: f64| {
            let cfg = EaseSection {
                lambda,
                weights: Vec::new(),
            };
            let m = EaseRanker::fit(&data(), &cfg).unwrap();
            m.b.iter().fold(0f32, |a, &v| a.max(v.abs()))
        };
        let (small, big, huge) = (max(0.1), max(1e3), max(1e9));
        assert!(small > 0.05, "{small}");
        assert!(big < small && huge < 1e-7, "{small} {big} {huge}");
    }
}
