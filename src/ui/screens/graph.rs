//! Screen 1, the causal graph (METHOD.md §1): the DAG with the backdoor set `{H, G}` and its
//! paths highlighted, the d-separation verdicts computed on it, and each confounder's strata
//! (prior, size, mean behavior profile, and the learned stratum effect when the model has one).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::ui::app::App;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::panel;

use super::graph_draw::{self, Node};

mod strata_table;

use strata_table::strata_table;

fn node(name: &str, target: &str) -> Node {
    let (label, meaning) = match name {
        "H" => ("H user habit".to_string(), Meaning::Confounder),
        "G" => ("G item mix".to_string(), Meaning::Confounder),
        "U" => ("U user".to_string(), Meaning::Treatment),
        "I" => ("I item".to_string(), Meaning::Treatment),
        "Y" => (format!("Y {target}"), Meaning::Target),
        other => (
            other
                .strip_prefix("X_")
                .map_or(other.to_string(), |b| format!("X {b}")),
            Meaning::Mediator,
        ),
    };
    Node {
        name: name.to_string(),
        label,
        meaning,
    }
}

/// Draws the screen: the graph on the left, the verdicts and both strata tables on the right.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let wide = area.width >= 110;
    let [graph_area, right] = if wide {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area)
    } else {
        Layout::horizontal([Constraint::Length(area.width / 2), Constraint::Min(0)]).areas(area)
    };
    let verdict_h = if wide { 9 } else { 8 };
    let [verdict_area, u, i] = Layout::vertical([
        Constraint::Length(verdict_h),
        Constraint::Percentage(50),
        Constraint::Percentage(50),
    ])
    .areas(right);
    render_graph(app, graph_area, buf);
    render_verdict(app, wide, verdict_area, buf);
    let user_k = app
        .active
        .user_strata
        .assign
        .get(app.user.user as usize)
        .copied();
    let item_k = app
        .selected_item()
        .and_then(|i| app.active.item_strata.assign.get(i as usize).copied());
    let effects_u: Vec<Option<(f32, Option<f32>)>> = app
        .active
        .user_effect
        .iter()
        .map(|e| e.map(|n| (n, None)))
        .collect();
    let effects_i: Vec<Option<(f32, Option<f32>)>> = app
        .active
        .item_effect
        .iter()
        .map(|e| e.map(|(n, b)| (n, Some(b))))
        .collect();
    let names = app.data().behavior_names();
    let user_title = "H: user habit strata (behavior shares, activity)";
    let item_title = "G: item strata (behavior shares, popularity)";
    strata_table(
        &names,
        &app.active.user_strata,
        user_title,
        user_k,
        &effects_u,
        u,
        buf,
    );
    strata_table(
        &names,
        &app.active.item_strata,
        item_title,
        item_k,
        &effects_i,
        i,
        buf,
    );
}

fn render_graph(app: &App, area: Rect, buf: &mut Buffer) {
    let block = panel("Causal graph");
    let inner = block.inner(area);
    block.render(area, buf);
    let target = app.ctx.target_name();
    let layers: Vec<Vec<Node>> = app
        .ctx
        .graph
        .layers
        .iter()
        .map(|l| l.iter().map(|n| node(n, &target)).collect())
        .collect();
    graph_draw::draw(inner, buf, &layers, &app.ctx.graph.edges, |a, _| {
        if a == "H" || a == "G" {
            Meaning::Confounder
        } else {
            Meaning::Muted
        }
    });
}

/// A verdict's head line and its reason line.
fn verdict_line(holds: bool, head: &str, reason: &str) -> Vec<Line<'static>> {
    let (mark, m) = if holds {
        ("✓ ", Meaning::Ok)
    } else {
        ("✗ ", Meaning::Loss)
    };
    vec![
        Line::from(vec![
            Span::styled(mark, style(m)),
            Span::styled(head.to_string(), style(Meaning::Title)),
        ]),
        Line::styled(format!("  {reason}"), style(Meaning::Muted)),
    ]
}

fn render_verdict(app: &App, wide: bool, area: Rect, buf: &mut Buffer) {
    let g = &app.ctx.graph;
    let head = if g.verdict.holds {
        "backdoor criterion holds for {H, G}"
    } else {
        "backdoor criterion fails for {H, G}"
    };
    let mut lines = verdict_line(g.verdict.holds, head, &g.verdict.reason);
    let head = if g.unadjusted.holds {
        "no adjustment needed"
    } else {
        "no adjustment: backdoor paths open"
    };
    lines.extend(verdict_line(g.unadjusted.holds, head, &g.unadjusted.reason));
    if !wide {
        // Heads only: the reasons do not fit beside the graph.
        lines = lines.into_iter().step_by(2).collect();
    }
    lines.push(Line::from(vec![
        Span::styled("backdoor paths ", style(Meaning::Muted)),
        Span::styled("U ← H → Y", style(Meaning::Confounder)),
        Span::raw(", "),
        Span::styled("I ← G → Y", style(Meaning::Confounder)),
    ]));
    let scorer = if app.active.ranker().has_causal() {
        Line::from(vec![
            Span::styled("do", style(Meaning::Debiased)),
            Span::raw(" ranks with the strata effects averaged over P(h), P(g); "),
            Span::styled("raw", style(Meaning::Biased)),
            Span::raw(" with the node's own stratum"),
        ])
    } else {
        Line::styled(
            "this model has no causal scorer: do and raw rankings are the same",
            style(Meaning::Alert),
        )
    };
    lines.push(scorer);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(panel("Backdoor check (d-separation)"))
        .render(area, buf);
}
