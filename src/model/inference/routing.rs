//! The user gate on the host, for the what-if (`analysis::whatif`): recomputing an edited
//! user's routing without the autograd graph.

/// What an edited user's gate, stratum and confounder effect are recomputed from (the
/// what-if, `analysis::whatif`): the user gate's weights and switches and the trained
/// population statistics of its inputs.
#[derive(Debug, Clone)]
pub struct UserRouting {
    /// Gate inputs `[P^T_u ‖ h_u ‖ r_u]` width.
    pub inputs: usize,
    /// `W_g`, `[inputs × M]` row-major, and `b_g` `[M]`.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    /// False for the uniform gate (`mclmr.moe = false`).
    pub learned: bool,
    /// Softmax temperature `τ_g`.
    pub temperature: f32,
    /// Top-k routing (0 = dense).
    pub top_k: usize,
    /// Routing features' population statistics (None without routing features).
    pub route: Option<crate::model::route::RouteStats>,
    /// The activity scale of `h_u` (largest training total of a user).
    pub activity_max: u32,
    /// The user strata (centroids for the nearest-centroid assignment).
    pub strata: crate::model::strata::Strata,
}

impl UserRouting {
    /// Gate weights for the input row `x`: `softmax((x W + b) / τ)`, top-k renormalised, as
    /// `MoeAggregator::gate` computes them.
    pub fn gate(&self, x: &[f32]) -> Vec<f32> {
        let m = self.b.len();
        if !self.learned {
            return vec![1.0 / m as f32; m];
        }
        let mut logits = self.b.clone();
        for (r, &xv) in x.iter().enumerate() {
            for (l, &w) in logits.iter_mut().zip(&self.w[r * m..(r + 1) * m]) {
                *l += xv * w;
            }
        }
        let hi = logits
            .iter()
            .map(|l| l / self.temperature)
            .fold(f32::NEG_INFINITY, f32::max);
        let mut g: Vec<f32> = logits
            .iter()
            .map(|l| (l / self.temperature - hi).exp())
            .collect();
        let sum: f32 = g.iter().sum();
        g.iter_mut().for_each(|v| *v /= sum);
        if self.top_k == 0 || self.top_k >= m {
            return g;
        }
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| g[b].total_cmp(&g[a]));
        for &j in &order[self.top_k..] {
            g[j] = 0.0;
        }
        let sum = g.iter().sum::<f32>().max(1e-12);
        g.iter_mut().for_each(|v| *v /= sum);
        g
    }
}
