//! The causal graph of MCLMR (METHOD.md §1) as a petgraph DAG, with d-separation and the
//! backdoor criterion computed on it (not asserted).
//!
//! Nodes: `H` (user habit), `G` (item multi-behavior distribution), `U`, `I`, the auxiliary
//! behaviors `X_b` (mediators fused by the MoE) and the target `Y`. Edges: `H→U, H→Y, G→I, G→Y,
//! U→Y, I→Y` and `U→X_b, I→X_b, X_b→Y`.

use std::collections::{BTreeSet, VecDeque};

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

/// A DAG with named nodes.
#[derive(Debug, Clone)]
pub struct CausalGraph {
    /// The graph; node weights are names.
    pub graph: DiGraph<String, ()>,
}

/// The outcome of the backdoor check, with the reason when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackdoorVerdict {
    /// True when the adjustment set satisfies the backdoor criterion.
    pub holds: bool,
    pub reason: String,
}

impl CausalGraph {
    /// Builds a graph from named edges; node order follows first appearance. Returns an error
    /// naming the edge that closes a cycle.
    pub fn from_edges(edges: &[(&str, &str)]) -> Result<Self, String> {
        let mut g = CausalGraph {
            graph: DiGraph::new(),
        };
        for &(a, b) in edges {
            let ia = g.node_or_add(a);
            let ib = g.node_or_add(b);
            g.graph.add_edge(ia, ib, ());
            if toposort(&g.graph, None).is_err() {
                return Err(format!("edge {a}→{b} closes a cycle"));
            }
        }
        Ok(g)
    }

    /// The MCLMR graph for the given auxiliary behavior names.
    pub fn mclmr(aux: &[String]) -> Self {
        let mut names: Vec<(String, String)> = [
            ("H", "U"),
            ("H", "Y"),
            ("G", "I"),
            ("G", "Y"),
            ("U", "Y"),
            ("I", "Y"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        for b in aux {
            let x = format!("X_{b}");
            names.push(("U".into(), x.clone()));
            names.push(("I".into(), x.clone()));
            names.push((x, "Y".into()));
        }
        let edges: Vec<(&str, &str)> = names
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        CausalGraph::from_edges(&edges).expect("the MCLMR graph is acyclic")
    }

    fn node_or_add(&mut self, name: &str) -> NodeIndex {
        self.node(name)
            .unwrap_or_else(|| self.graph.add_node(name.to_string()))
    }

    pub fn node(&self, name: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|&n| self.graph[n] == name)
    }

    pub fn names(&self) -> Vec<String> {
        self.graph.node_weights().cloned().collect()
    }

    fn ids(&self, names: &[&str]) -> Result<BTreeSet<NodeIndex>, String> {
        names
            .iter()
            .map(|n| self.node(n).ok_or_else(|| format!("no node named {n}")))
            .collect()
    }

    /// Descendants of a node set (including the set).
    pub fn descendants(&self, of: &BTreeSet<NodeIndex>) -> BTreeSet<NodeIndex> {
        let mut seen = of.clone();
        let mut queue: VecDeque<NodeIndex> = of.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            for c in self.graph.neighbors_directed(n, Direction::Outgoing) {
                if seen.insert(c) {
                    queue.push_back(c);
                }
            }
        }
        seen
    }

    /// `X ⫫ Y | Z` by the moralised ancestral graph: keep the ancestors of `X ∪ Y ∪ Z`, marry
    /// co-parents, drop directions, delete `Z`; d-separated iff no path joins `X` and `Y`.
    pub fn d_separated(&self, x: &[&str], y: &[&str], z: &[&str]) -> Result<bool, String> {
        let (xs, ys, zs) = (self.ids(x)?, self.ids(y)?, self.ids(z)?);
        Ok(self.d_sep_ids(&xs, &ys, &zs, None))
    }

    fn d_sep_ids(
        &self,
        xs: &BTreeSet<NodeIndex>,
        ys: &BTreeSet<NodeIndex>,
        zs: &BTreeSet<NodeIndex>,
        cut_out_of: Option<&BTreeSet<NodeIndex>>,
    ) -> bool {
        let keep_edge = |a: NodeIndex| cut_out_of.is_none_or(|c| !c.contains(&a));
        let all: BTreeSet<NodeIndex> = xs.iter().chain(ys).chain(zs).copied().collect();
        // Ancestors in the (possibly edge-cut) graph.
        let mut anc = all.clone();
        let mut queue: VecDeque<NodeIndex> = all.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            for p in self.graph.neighbors_directed(n, Direction::Incoming) {
                if keep_edge(p) && anc.insert(p) {
                    queue.push_back(p);
                }
            }
        }
        let n = self.graph.node_count();
        let mut adj = vec![BTreeSet::new(); n];
        for &c in &anc {
            let parents: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(c, Direction::Incoming)
                .filter(|p| anc.contains(p) && keep_edge(*p))
                .collect();
            for &p in &parents {
                adj[p.index()].insert(c.index());
                adj[c.index()].insert(p.index());
            }
            for (i, &a) in parents.iter().enumerate() {
                for &b in &parents[i + 1..] {
                    adj[a.index()].insert(b.index());
                    adj[b.index()].insert(a.index());
                }
            }
        }
        let mut seen = vec![false; n];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for x in xs {
            if !zs.contains(x) {
                seen[x.index()] = true;
                queue.push_back(x.index());
            }
        }
        while let Some(v) = queue.pop_front() {
            if ys.iter().any(|y| y.index() == v) {
                return false;
            }
            for &w in &adj[v] {
                if !seen[w] && !zs.iter().any(|z| z.index() == w) {
                    seen[w] = true;
                    queue.push_back(w);
                }
            }
        }
        true
    }

    /// The backdoor criterion for the effect of `treat` on `outcome` adjusting for `adjust`:
    /// (1) no adjustment node descends from a treatment; (2) `adjust` d-separates treatment and
    /// outcome once the treatments' outgoing edges are removed.
    pub fn backdoor(
        &self,
        treat: &[&str],
        outcome: &[&str],
        adjust: &[&str],
    ) -> Result<BackdoorVerdict, String> {
        let (ts, ys, zs) = (self.ids(treat)?, self.ids(outcome)?, self.ids(adjust)?);
        let desc = self.descendants(&ts);
        if let Some(bad) = zs.iter().find(|z| desc.contains(z)) {
            return Ok(BackdoorVerdict {
                holds: false,
                reason: format!("{} is a descendant of the treatment", self.graph[*bad]),
            });
        }
        if self.d_sep_ids(&ts, &ys, &zs, Some(&ts)) {
            Ok(BackdoorVerdict {
                holds: true,
                reason: format!(
                    "{{{}}} blocks every backdoor path from {{{}}} to {{{}}}",
                    adjust.join(", "),
                    treat.join(", "),
                    outcome.join(", ")
                ),
            })
        } else {
            Ok(BackdoorVerdict {
                holds: false,
                reason: format!(
                    "an open backdoor path joins {{{}}} and {{{}}} given {{{}}}",
                    treat.join(", "),
                    outcome.join(", "),
                    adjust.join(", ")
                ),
            })
        }
    }

    /// MCLMR's own check: `{H, G}` for `(U, I) → Y`.
    pub fn mclmr_verdict(&self) -> BackdoorVerdict {
        self.backdoor(&["U", "I"], &["Y"], &["H", "G"])
            .unwrap_or_else(|e| BackdoorVerdict {
                holds: false,
                reason: e,
            })
    }

    /// A layered layout (longest path from the sources): `layers[k]` lists node names.
    pub fn layers(&self) -> Vec<Vec<String>> {
        let order = toposort(&self.graph, None).unwrap_or_default();
        let mut depth = vec![0usize; self.graph.node_count()];
        for &n in &order {
            for c in self.graph.neighbors_directed(n, Direction::Outgoing) {
                depth[c.index()] = depth[c.index()].max(depth[n.index()] + 1);
            }
        }
        let max = depth.iter().copied().max().unwrap_or(0);
        let mut layers = vec![Vec::new(); max + 1];
        for n in self.graph.node_indices() {
            layers[depth[n.index()]].push(self.graph[n].clone());
        }
        layers
    }

    /// Edges as name pairs.
    pub fn edges(&self) -> Vec<(String, String)> {
        self.graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (self.graph[a].clone(), self.graph[b].clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_fork_collider() {
        let chain = CausalGraph::from_edges(&[("A", "B"), ("B", "C")]).unwrap();
        assert!(!chain.d_separated(&["A"], &["C"], &[]).unwrap());
        assert!(chain.d_separated(&["A"], &["C"], &["B"]).unwrap());
        let fork = CausalGraph::from_edges(&[("B", "A"), ("B", "C")]).unwrap();
        assert!(!fork.d_separated(&["A"], &["C"], &[]).unwrap());
        assert!(fork.d_separated(&["A"], &["C"], &["B"]).unwrap());
        let collider = CausalGraph::from_edges(&[("A", "B"), ("C", "B"), ("B", "D")]).unwrap();
        assert!(collider.d_separated(&["A"], &["C"], &[]).unwrap());
        assert!(!collider.d_separated(&["A"], &["C"], &["B"]).unwrap());
        // Conditioning on a descendant of the collider also opens the path.
        assert!(!collider.d_separated(&["A"], &["C"], &["D"]).unwrap());
    }

    #[test]
    fn backdoor_textbook_confounder() {
        // Z → X, Z → Y, X → Y: {Z} is a valid adjustment set, {} is not.
        let g = CausalGraph::from_edges(&[("Z", "X"), ("Z", "Y"), ("X", "Y")]).unwrap();
        assert!(g.backdoor(&["X"], &["Y"], &["Z"]).unwrap().holds);
        assert!(!g.backdoor(&["X"], &["Y"], &[]).unwrap().holds);
    }

    #[test]
    fn backdoor_fails_on_m_bias_and_on_mediators() {
        // M-bias: X ← A → M ← B → Y, X → Y. {} is valid; {M} opens the path A → M ← B.
        let g =
            CausalGraph::from_edges(&[("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y")])
                .unwrap();
        assert!(g.backdoor(&["X"], &["Y"], &[]).unwrap().holds);
        assert!(!g.backdoor(&["X"], &["Y"], &["M"]).unwrap().holds);
        // A mediator (descendant of the treatment) is never a valid adjustment.
        let m = CausalGraph::from_edges(&[("X", "M"), ("M", "Y")]).unwrap();
        let v = m.backdoor(&["X"], &["Y"], &["M"]).unwrap();
        assert!(!v.holds);
        assert!(v.reason.contains("descendant"));
    }

    #[test]
    fn mclmr_graph_adjustment_holds_and_fails_without_confounders() {
        let g = CausalGraph::mclmr(&["view".into(), "cart".into()]);
        assert!(g.mclmr_verdict().holds);
        assert!(!g.backdoor(&["U", "I"], &["Y"], &["H"]).unwrap().holds);
        assert!(!g.backdoor(&["U", "I"], &["Y"], &[]).unwrap().holds);
        assert!(
            !g.backdoor(&["U", "I"], &["Y"], &["H", "G", "X_view"])
                .unwrap()
                .holds
        );
        assert_eq!(g.layers()[0], vec!["H".to_string(), "G".to_string()]);
    }

    #[test]
    fn cycles_are_refused() {
        assert!(CausalGraph::from_edges(&[("A", "B"), ("B", "A")]).is_err());
    }
}
