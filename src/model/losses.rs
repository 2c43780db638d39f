//! Loss functions (METHOD.md §6; the contrastive one of §5 is in `bcl`), written with candle ops whose gradients were checked
//! (RUST_NOTES.md: no softplus/log1p in candle, so log-sigmoid is spelled out stably).

use candle_core::{Result, Tensor, D};

/// Numerically stable `log σ(x) = −(relu(−x) + ln(1 + e^{−|x|}))`.
pub fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    let relu_neg = x.neg()?.relu()?;
    let soft = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (relu_neg + soft)?.neg()
}

/// Stable `softplus(x) = ln(1 + eˣ) = relu(x) + ln(1 + e^{−|x|})`.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let soft = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    x.relu()? + soft
}

/// BPR: `−mean log σ(pos − neg)`.
pub fn bpr(pos: &Tensor, neg: &Tensor) -> Result<Tensor> {
    log_sigmoid(&(pos - neg)?)?.mean_all()?.neg()
}

/// Rows scaled to unit L2 norm, `x / sqrt(‖x‖² + 1e-12)`. The epsilon sits inside the square
/// root so that an all-zero row (e.g. an expert whose ReLU units are all off, common at small
/// `d`) has a finite gradient; clamping the norm after `sqrt` gave NaN gradients at `d ≤ 2`.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
    x.broadcast_div(&norm)
}

/// Load-balancing loss: squared coefficient of variation of the mean gate over a batch.
pub fn balance(gates: &Tensor) -> Result<Tensor> {
    let m = gates.mean(0)?;
    let mean = m.mean_all()?;
    let var = m.broadcast_sub(&mean)?.sqr()?.mean_all()?;
    var / (mean.sqr()? + 1e-12)?
}

/// Orthogonality penalty: `‖Cov(F, Z)‖²_F`, the squared Frobenius norm of the batch
/// cross-covariance between confounder rows `F` (`[n, C]`) and representations `Z` (`[n, d]`).
/// Zero exactly when every coordinate of `Z` is uncorrelated with every confounder column in
/// the batch, so stratum-level effects cannot hide in `Z`.
pub fn cross_covariance(f: &Tensor, z: &Tensor) -> Result<Tensor> {
    let n = f.dim(0)?.max(1) as f64;
    let fc = f.broadcast_sub(&f.mean_keepdim(0)?)?;
    let zc = z.broadcast_sub(&z.mean_keepdim(0)?)?;
    (fc.t()?.matmul(&zc)? / n)?.sqr()?.sum_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(v: &[f32], shape: (usize, usize)) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn bpr_hand_value() {
        // diffs 1 and −2: −(ln σ(1) + ln σ(−2))/2 = (0.313262 + 2.126928)/2
        let pos = Tensor::new(&[2f32, 0.0], &Device::Cpu).unwrap();
        let neg = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
        let v = bpr(&pos, &neg).unwrap().to_scalar::<f32>().unwrap();
        assert!((v - 1.220095).abs() < 1e-5, "{v}");
    }

    #[test]
    fn log_sigmoid_is_stable() {
        let x = Tensor::new(&[-100f32, 0.0, 100.0], &Device::Cpu).unwrap();
        let v = log_sigmoid(&x).unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (v[0] + 100.0).abs() < 1e-3
                && (v[1] + std::f32::consts::LN_2).abs() < 1e-6
                && v[2].abs() < 1e-6
        );
        let s = softplus(&x).unwrap().to_vec1::<f32>().unwrap();
        assert!((s[2] - 100.0).abs() < 1e-3 && (s[1] - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn normalizing_a_zero_row_has_a_finite_gradient() {
        let x = Var::from_vec(vec![0f32, 0.0, 3.0, 4.0], (2, 2), &Device::Cpu).unwrap();
        let y = l2_normalize(x.as_tensor()).unwrap();
        assert_eq!(y.to_vec2::<f32>().unwrap()[1], vec![0.6, 0.8]);
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    }

    #[test]
    fn balance_is_zero_for_uniform_gates() {
        let g = t(&[0.5, 0.5, 0.5, 0.5], (2, 2));
        assert!(balance(&g).unwrap().to_scalar::<f32>().unwrap().abs() < 1e-9);
        let g = t(&[1.0, 0.0, 1.0, 0.0], (2, 2));
        assert!((balance(&g).unwrap().to_scalar::<f32>().unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn cross_covariance_matches_a_hand_value_and_its_gradient_finite_differences() {
        // F = [1, 0, 1]ᵀ (mean 2/3), Z = [[1, 2], [3, 0], [2, 1]] (means 2, 1):
        // cov = Σ (f − 2/3)(z − z̄) / 3 = [(1/3)(−1) + (−2/3)(1) + (1/3)(0), (1/3)(1) + (−2/3)(−1) + 0] / 3
        //     = [−1/3, 1/3] → ‖·‖² = 2/9.
        let f = t(&[1.0, 0.0, 1.0], (3, 1));
        let zv = [1f32, 2.0, 3.0, 0.0, 2.0, 1.0];
        let v = cross_covariance(&f, &t(&zv, (3, 2)))
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((v - 2.0 / 9.0).abs() < 1e-6, "{v}");
        let var = Var::from_tensor(&t(&zv, (3, 2))).unwrap();
        let g = cross_covariance(&f, var.as_tensor())
            .unwrap()
            .backward()
            .unwrap();
        let g = g.get(var.as_tensor()).unwrap().flatten_all().unwrap();
        let g = g.to_vec1::<f32>().unwrap();
        for k in 0..6 {
            let mut a = zv;
            let mut b = zv;
            a[k] += 1e-2;
            b[k] -= 1e-2;
            let fa = cross_covariance(&f, &t(&a, (3, 2))).unwrap();
            let fb = cross_covariance(&f, &t(&b, (3, 2))).unwrap();
            let fd = (fa.to_scalar::<f32>().unwrap() - fb.to_scalar::<f32>().unwrap()) / 2e-2;
            assert!((fd - g[k]).abs() < 1e-3, "coord {k}: {fd} vs {}", g[k]);
        }
    }
}
