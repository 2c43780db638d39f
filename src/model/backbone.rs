//! Backbones (METHOD.md §2): map the shared base table `E0` (users then items, `[N, d]`) and the
//! behavior graphs to one representation table `P^b` per behavior. All of them run plain or with
//! MCLMR on top; the interface is the [`Backbone`] trait, and a backbone holds its own weights.

use candle_core::{Result, Tensor};

use super::config::BackboneKind;
use super::graph::BehaviorGraphs;
use super::losses::l2_normalize;
use super::params::ParamBuilder;
use crate::error::Error;

/// A backbone: `E0` → `[P^1, …, P^B]`, each `[N, d]` with users first, then items.
pub trait Backbone: Send + Sync {
    fn name(&self) -> &'static str;
    /// Per-behavior representations of every node.
    fn forward(&self, graphs: &BehaviorGraphs, e0: &Tensor) -> Result<Vec<Tensor>>;
    /// Whether a node's representation depends on its own base row only (no graph), so a batch
    /// can be computed on its gathered rows instead of the whole table.
    fn row_local(&self) -> bool {
        false
    }
    /// Behavior `b`'s representations of the given base rows; only for [`Backbone::row_local`]
    /// backbones.
    fn forward_rows(&self, _b: usize, _rows: &Tensor) -> Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "the {} backbone is not row-local",
            self.name()
        )))
    }
}

/// Builds the backbone of a config kind, its weights under `vb` (`backbone.`); rule baselines
/// and EASE have none.
pub fn make(
    kind: BackboneKind,
    n_behaviors: usize,
    dim: usize,
    layers: usize,
    vb: ParamBuilder<'_>,
) -> crate::error::Result<Box<dyn Backbone>> {
    Ok(match kind {
        BackboneKind::Mf => Box::new(Mf::new(n_behaviors, dim, vb.pp("w"))?),
        BackboneKind::LightGcn => Box::new(LightGcn { layers }),
        BackboneKind::Cascade => Box::new(Cascade { layers }),
        BackboneKind::RuleViewCart
        | BackboneKind::RuleCartView
        | BackboneKind::RuleConversion
        | BackboneKind::Ease => {
            return Err(Error::bad_arg(
                "backbone",
                kind.name(),
                "rule baselines have no neural model; use mf, lightgcn or cascade",
            ))
        }
    })
}

/// `mf`: no graph, `P^b = E0 · W_b` with `W_b` identity-initialised.
pub struct Mf {
    /// `W_b` per behavior (`backbone.w.{b}`).
    w: Vec<Tensor>,
}

impl Mf {
    fn new(n_behaviors: usize, dim: usize, vb: ParamBuilder<'_>) -> crate::error::Result<Self> {
        let w = (0..n_behaviors)
            .map(|b| vb.identity(b, dim))
            .collect::<crate::error::Result<_>>()?;
        Ok(Mf { w })
    }
}

impl Backbone for Mf {
    fn name(&self) -> &'static str {
        "mf"
    }
    fn forward(&self, _graphs: &BehaviorGraphs, e0: &Tensor) -> Result<Vec<Tensor>> {
        (0..self.w.len())
            .map(|b| self.forward_rows(b, e0))
            .collect()
    }
    fn row_local(&self) -> bool {
        true
    }
    fn forward_rows(&self, b: usize, rows: &Tensor) -> Result<Tensor> {
        rows.matmul(&self.w[b])
    }
}

/// `lightgcn`: per-behavior LightGCN from the shared `E0`, the mean of `x, A x, …, A^L x`.
pub struct LightGcn {
    layers: usize,
}

impl Backbone for LightGcn {
    fn name(&self) -> &'static str {
        "lightgcn"
    }
    fn forward(&self, graphs: &BehaviorGraphs, e0: &Tensor) -> Result<Vec<Tensor>> {
        graphs
            .adj
            .iter()
            .map(|a| a.propagate_mean(e0, self.layers))
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
    fn forward(&self, graphs: &BehaviorGraphs, e0: &Tensor) -> Result<Vec<Tensor>> {
        let mut out: Vec<Tensor> = Vec::with_capacity(graphs.adj.len());
        for (b, a) in graphs.adj.iter().enumerate() {
            let p = if b == 0 {
                a.propagate_mean(e0, self.layers)?
            } else {
                let prev = &out[b - 1];
                (prev + l2_normalize(&a.propagate_mean(prev, self.layers)?)?)?
            };
            out.push(p);
        }
        Ok(out)
    }
}
