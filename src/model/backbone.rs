//! Backbones (METHOD.md §2): map the shared base table `E0` (users then items, `[N, d]`) and the
//! behavior graphs to one representation table `P^b` per behavior. All of them run plain or with
//! MCLMR on top; the interface is the [`Backbone`] trait.

use candle_core::{Result, Tensor};
use rand::rngs::StdRng;

use super::config::BackboneKind;
use super::graph::BehaviorGraphs;
use super::losses::l2_normalize;
use super::params::Params;

/// A backbone: `E0` → `[P^1, …, P^B]`, each `[N, d]` with users first, then items.
pub trait Backbone: Send + Sync {
    /// Config name.
    fn name(&self) -> &'static str;
    /// Creates the backbone's own parameters (if any) under `backbone.`.
    fn init(&self, params: &mut Params, rng: &mut StdRng) -> crate::error::Result<()>;
    /// Per-behavior representations of every node.
    fn forward(&self, params: &Params, graphs: &BehaviorGraphs, e0: &Tensor)
        -> Result<Vec<Tensor>>;
    /// Whether a node's representation depends on its own base row only (no graph), so a batch
    /// can be computed on its gathered rows instead of the whole table.
    fn row_local(&self) -> bool {
        false
    }
    /// Behavior `b`'s representations of the given base rows; only for [`Backbone::row_local`]
    /// backbones.
    fn forward_rows(&self, _params: &Params, _b: usize, _rows: &Tensor) -> Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "the {} backbone is not row-local",
            self.name()
        )))
    }
}

/// Builds the backbone for a config kind (rules have none).
pub fn make(
    kind: BackboneKind,
    n_behaviors: usize,
    dim: usize,
    layers: usize,
) -> Option<Box<dyn Backbone>> {
    match kind {
        BackboneKind::Mf => Some(Box::new(Mf { n_behaviors, dim })),
        BackboneKind::LightGcn => Some(Box::new(LightGcn { layers })),
        BackboneKind::Cascade => Some(Box::new(Cascade { layers })),
        BackboneKind::RuleViewCart
        | BackboneKind::RuleCartView
        | BackboneKind::RuleConversion
        | BackboneKind::Ease => None,
    }
}

/// `mf`: no graph, `P^b = E0 · W_b` with `W_b` identity-initialised.
pub struct Mf {
    n_behaviors: usize,
    dim: usize,
}

impl Backbone for Mf {
    fn name(&self) -> &'static str {
        "mf"
    }
    fn init(&self, params: &mut Params, _rng: &mut StdRng) -> crate::error::Result<()> {
        for b in 0..self.n_behaviors {
            params.identity(&format!("backbone.w.{b}"), self.dim)?;
        }
        Ok(())
    }
    fn forward(
        &self,
        params: &Params,
        _graphs: &BehaviorGraphs,
        e0: &Tensor,
    ) -> Result<Vec<Tensor>> {
        (0..self.n_behaviors)
            .map(|b| self.forward_rows(params, b, e0))
            .collect()
    }
    fn row_local(&self) -> bool {
        true
    }
    fn forward_rows(&self, params: &Params, b: usize, rows: &Tensor) -> Result<Tensor> {
        let w = params
            .get(&format!("backbone.w.{b}"))
            .ok_or_else(|| candle_core::Error::Msg(format!("missing backbone.w.{b}")))?;
        rows.matmul(w)
    }
}

/// LightGCN propagation: the mean of `x, A x, …, A^L x`.
pub fn lightgcn_propagate(
    adj: &super::spmm::SparseAdj,
    x: &Tensor,
    layers: usize,
) -> Result<Tensor> {
    adj.propagate_mean(x, layers)
}

/// `lightgcn`: per-behavior LightGCN from the shared `E0`.
pub struct LightGcn {
    layers: usize,
}

impl Backbone for LightGcn {
    fn name(&self) -> &'static str {
        "lightgcn"
    }
    fn init(&self, _params: &mut Params, _rng: &mut StdRng) -> crate::error::Result<()> {
        Ok(())
    }
    fn forward(
        &self,
        _params: &Params,
        graphs: &BehaviorGraphs,
        e0: &Tensor,
    ) -> Result<Vec<Tensor>> {
        graphs
            .adj
            .iter()
            .map(|a| lightgcn_propagate(a, e0, self.layers))
            .collect()
    }
}

/// `cascade`: `P^1 = LightGCN_1(E0)`, `P^b = P^{b−1} + normalize(LightGCN_b(P^{b−1}))` in funnel
/// order (CRGCN / MB-CGCN style).
pub struct Cascade {
    layers: usize,
}

impl Backbone for Cascade {
    fn name(&self) -> &'static str {
        "cascade"
    }
    fn init(&self, _params: &mut Params, _rng: &mut StdRng) -> crate::error::Result<()> {
        Ok(())
    }
    fn forward(
        &self,
        _params: &Params,
        graphs: &BehaviorGraphs,
        e0: &Tensor,
    ) -> Result<Vec<Tensor>> {
        let mut out: Vec<Tensor> = Vec::with_capacity(graphs.adj.len());
        for (b, a) in graphs.adj.iter().enumerate() {
            let p = if b == 0 {
                lightgcn_propagate(a, e0, self.layers)?
            } else {
                let prev = &out[b - 1];
                (prev + l2_normalize(&lightgcn_propagate(a, prev, self.layers)?)?)?
            };
            out.push(p);
        }
        Ok(out)
    }
}
