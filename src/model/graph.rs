//! The behavior graphs: one symmetric-normalised bipartite adjacency per behavior over the
//! `N = |U| + |I|` nodes (users first), `Â = D^{-1/2} A D^{-1/2}` as in LightGCN.

use candle_core::Device;

use super::spmm::{CsrMatrix, SparseAdj};
use crate::data::Dataset;

/// The normalised adjacency of every behavior, weakest → target.
#[derive(Debug, Clone)]
pub struct BehaviorGraphs {
    /// One operator per behavior.
    pub adj: Vec<SparseAdj>,
}

/// The normalised bipartite adjacency of one behavior's pairs (binary edges).
pub fn normalized_adjacency(n_users: usize, n_items: usize, pairs: &[(u32, u32)]) -> CsrMatrix {
    let n = n_users + n_items;
    let mut deg = vec![0f32; n];
    for &(u, i) in pairs {
        deg[u as usize] += 1.0;
        deg[n_users + i as usize] += 1.0;
    }
    let mut t = Vec::with_capacity(pairs.len() * 2);
    for &(u, i) in pairs {
        let (a, b) = (u as usize, n_users + i as usize);
        let w = 1.0 / (deg[a] * deg[b]).sqrt();
        t.push((a as u32, b as u32, w));
        t.push((b as u32, a as u32, w));
    }
    CsrMatrix::from_triplets(n, n, t)
}

impl BehaviorGraphs {
    /// Builds the graphs of every behavior's training pairs.
    pub fn build(data: &Dataset, device: &Device) -> candle_core::Result<Self> {
        let adj = data
            .behaviors
            .iter()
            .map(|b| {
                SparseAdj::new(
                    normalized_adjacency(data.n_users(), data.n_items(), &b.pairs),
                    device,
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(BehaviorGraphs { adj })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_degree_normalised() {
        let m = normalized_adjacency(2, 2, &[(0, 0), (0, 1), (1, 1)]);
        assert_eq!(m.transpose(), m);
        // user 0 (deg 2) – item 1 (deg 2): 1/2; user 1 (deg 1) – item 1: 1/sqrt(2)
        let row0: Vec<(u32, f32)> = (m.ptr[0]..m.ptr[1]).map(|k| (m.idx[k], m.val[k])).collect();
        assert_eq!(row0[1], (3, 0.5));
        let row1: Vec<(u32, f32)> = (m.ptr[1]..m.ptr[2]).map(|k| (m.idx[k], m.val[k])).collect();
        assert!((row1[0].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }
}
