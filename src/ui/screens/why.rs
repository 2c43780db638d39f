//! Screen 3, why this item: the selected (user, item) score as a waterfall — target-behavior
//! term, one term per expert (with the user's gate weight), the pair-level evidence terms, the
//! subtotal `f(u,i)`, then the confounder terms of the `do` and of the `raw` logit and
//! `raw − do` — plus the user's history items closest to the item, per behavior, and the
//! what-if panel (the item re-scored with history items toggled out).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::explain::Explanation;
use crate::ui::app::App;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::{clip, load_text, message, panel, put, put_line};

/// One row of the waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Label.
    pub label: String,
    /// The row's value (a contribution, or a total).
    pub value: f32,
    /// Bar from this position…
    pub from: f32,
    /// …to this one.
    pub to: f32,
    /// How the bar is coloured.
    pub meaning: Meaning,
    /// Totals are drawn bold and from zero.
    pub total: bool,
}

fn step(label: String, value: f32, running: &mut f32) -> Step {
    let from = *running;
    *running += value;
    Step {
        label,
        value,
        from,
        to: *running,
        meaning: if value < 0.0 {
            Meaning::Loss
        } else {
            Meaning::Gain
        },
        total: false,
    }
}

fn total(label: &str, value: f32, meaning: Meaning) -> Step {
    Step {
        label: label.to_string(),
        value,
        from: 0.0,
        to: value,
        meaning,
        total: true,
    }
}

/// The waterfall rows of an explanation; `detail` splits each confounder term into its three
/// parts (otherwise one row per logit); `first` names the target term's row.
pub fn waterfall(e: &Explanation, detail: bool, first: &str) -> Vec<Step> {
    let mut rows = Vec::new();
    let mut run = 0.0f32;
    rows.push(step(first.into(), e.target_term, &mut run));
    for x in &e.experts {
        rows.push(step(
            format!("expert {} (g={:.2})", x.name, x.gate),
            x.term,
            &mut run,
        ));
    }
    for x in &e.evidence {
        rows.push(step(
            format!(
                "evidence {} ×{} (g·w={:.2})",
                x.behavior,
                x.count,
                x.gate * x.weight
            ),
            x.term,
            &mut run,
        ));
    }
    let f = run;
    let (Some(d), Some(r)) = (e.confounders_do, e.confounders_raw) else {
        rows.push(total("score", e.score_do, Meaning::Debiased));
        return rows;
    };
    rows.push(total("f(u,i)", f, Meaning::Title));
    let (su, si) = e.strata.unwrap_or((0, 0));
    let terms = [
        (
            "do",
            d,
            Meaning::Debiased,
            ["⟨c̄^U, Z_i⟩".to_string(), "⟨Z_u, c̄^I⟩".into(), "β̄".into()],
            "prior-averaged".to_string(),
        ),
        (
            "raw",
            r,
            Meaning::Biased,
            [
                format!("⟨c^U_h{su}, Z_i⟩"),
                format!("⟨Z_u, c^I_g{si}⟩"),
                format!("β_g{si}"),
            ],
            format!("h={su}, g={si}"),
        ),
    ];
    for (name, c, m, labels, strata) in terms {
        let mut run = f;
        if detail {
            let [a, b, bias] = labels;
            rows.push(step(
                format!("{name}: user habit {a}"),
                c.user_habit,
                &mut run,
            ));
            rows.push(step(
                format!("{name}: item mix {b}"),
                c.item_distribution,
                &mut run,
            ));
            rows.push(step(
                format!("{name}: item bias {bias}"),
                c.item_bias,
                &mut run,
            ));
            if c.conversion != 0.0 {
                rows.push(step(
                    format!("{name}: conversion evidence"),
                    c.conversion,
                    &mut run,
                ));
            }
        } else {
            rows.push(step(
                format!("{name}: confounders ({strata})"),
                c.total(),
                &mut run,
            ));
        }
        let score = if name == "do" {
            e.score_do
        } else {
            e.score_raw
        };
        rows.push(total(&format!("score {name}"), score, m));
    }
    rows.push(Step {
        label: "raw − do (confounders' push)".into(),
        value: e.raw_minus_do,
        from: e.score_do,
        to: e.score_raw,
        meaning: Meaning::Biased,
        total: false,
    });
    rows
}

/// Draws the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(e) = app.why.ready() else {
        let text = load_text(&app.why, "explanation").map_or(String::new(), |x| x.1);
        let text = if matches!(app.why, crate::ui::load::Load::Idle) {
            "No item selected: pick one on the User screen (2, ↑/↓, Enter).".to_string()
        } else {
            text
        };
        let block = panel("Why this item");
        let inner = block.inner(area);
        block.render(area, buf);
        message(inner, buf, Meaning::Muted, &text);
        return;
    };
    let wide = area.width >= 110;
    // The what-if panel: one line until something is toggled out (only where there is room).
    let wi_h = match (app.user.whatif.dropped.is_empty(), area.height >= 30) {
        (true, true) => 3,
        (true, false) => 0,
        (false, _) => 8,
    };
    let [head, wi, rest] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(wi_h),
        Constraint::Min(0),
    ])
    .areas(area);
    let (wf_area, near_area) = if wide {
        let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(40)]).areas(rest);
        (l, Some(r))
    } else {
        (rest, None)
    };
    render_head(app, e, !wide, head, buf);
    if wi_h > 0 {
        super::whatif::render(app, wi, buf);
    }
    let first = match app.active.ranker() {
        crate::model::Ranker::Rule(_) => "target popularity (rule)",
        crate::model::Ranker::Ease(_) => "EASE score x_u · B_i",
        crate::model::Ranker::Neural(_) => "target term ⟨P^T_u, Z_i⟩",
    };
    render_waterfall(e, first, wf_area, buf);
    if let Some(r) = near_area {
        render_nearest(app, e, r, buf);
    }
}

fn rank_in(list: &[(u32, f32)], i: u32) -> String {
    list.iter()
        .position(|x| x.0 == i)
        .map_or("–".into(), |r| format!("#{}", r + 1))
}

fn render_head(app: &App, e: &Explanation, with_nearest: bool, area: Rect, buf: &mut Buffer) {
    let item = app.selected_item().unwrap_or(0);
    let (rd, rr) = app.user.view.ready().map_or(("–".into(), "–".into()), |v| {
        (rank_in(&v.do_list, item), rank_in(&v.raw_list, item))
    });
    let pop = app.ctx.popularity.get(item as usize).copied().unwrap_or(0);
    let pop_all = app
        .ctx
        .popularity_all
        .get(item as usize)
        .copied()
        .unwrap_or(0);
    let target = app.ctx.target_name();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("do {:.4} ({rd})", e.score_do),
            style(Meaning::Debiased),
        ),
        Span::raw("  "),
        Span::styled(
            format!("raw {:.4} ({rr})", e.score_raw),
            style(Meaning::Biased),
        ),
        Span::raw(format!("  raw − do {:+.4}", e.raw_minus_do)),
        Span::styled(
            if area.width >= 110 {
                format!(
                    "  · popularity {pop} training `{target}` · {pop_all} users of any behavior"
                )
            } else {
                format!("  · pop {pop} `{target}`, {pop_all} any")
            },
            style(Meaning::Muted),
        ),
    ])];
    let has_nearest = e.nearest.iter().any(|n| !n.items.is_empty());
    if with_nearest && has_nearest {
        let parts: Vec<String> = e
            .nearest
            .iter()
            .filter(|n| !n.items.is_empty())
            .map(|n| {
                let items: Vec<String> = n
                    .items
                    .iter()
                    .take(2)
                    .map(|(id, c)| format!("{id} ({c:.2})"))
                    .collect();
                format!("{}: {}", n.behavior, items.join(" "))
            })
            .collect();
        lines.push(Line::styled(
            format!("nearest · {}", parts.join(" · ")),
            style(Meaning::Muted),
        ));
    } else {
        lines.push(item_line(app, e, item));
    }
    if e.experts.is_empty() && e.confounders_do.is_none() {
        lines.push(Line::styled(
            "no experts or confounder terms in this model: the score is its target term (and evidence)",
            style(Meaning::Muted),
        ));
    }
    let title = match app.data().item_meta.describe(item) {
        Some(m) => format!("Why item {} ({m}) for user {}", e.item, e.user),
        None => format!("Why item {} for user {}", e.item, e.user),
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(panel(&title))
        .render(area, buf);
}

/// The item's popularity, stratum and what the user did with it.
fn item_line(app: &App, e: &Explanation, item: u32) -> Line<'static> {
    let mut spans = Vec::new();
    if let Some((_, si)) = e.strata {
        let p = app
            .active
            .item_strata
            .prior
            .get(si as usize)
            .copied()
            .unwrap_or(0.0);
        spans.push(Span::styled(
            format!("item stratum {si} (P(g) {p:.3})"),
            style(Meaning::Confounder),
        ));
    }
    let did: Vec<String> = e
        .evidence
        .iter()
        .filter(|x| x.count > 0)
        .map(|x| format!("{} ×{}", x.behavior, x.count))
        .collect();
    let did = if did.is_empty() {
        "nothing yet".to_string()
    } else {
        did.join(", ")
    };
    spans.push(Span::styled(
        format!(" · the user's own history with it: {did}"),
        style(Meaning::Muted),
    ));
    let (t, d) = app.ctx.held_out(app.user.user, item);
    if t || d {
        spans.push(Span::styled(
            " · held-out test item",
            style(Meaning::Target),
        ));
    }
    Line::from(spans)
}

fn render_waterfall(e: &Explanation, first: &str, area: Rect, buf: &mut Buffer) {
    let block = panel("Score decomposition (waterfall)");
    let inner = block.inner(area);
    block.render(area, buf);
    let mut rows = waterfall(e, true, first);
    if rows.len() + 3 > inner.height as usize {
        rows = waterfall(e, false, first);
    }
    let label_w = 34u16.min(inner.width / 2);
    let value_w = 9u16;
    let bar_x = inner.x + label_w + value_w + 1;
    let bar_w = inner.right().saturating_sub(bar_x + 1);
    let (mut lo, mut hi) = (0f32, 0f32);
    for r in &rows {
        lo = lo.min(r.from.min(r.to));
        hi = hi.max(r.from.max(r.to));
    }
    let span = (hi - lo).max(1e-6);
    let col = |v: f32| -> u16 {
        let c = ((v - lo) / span * bar_w.saturating_sub(1) as f32).round();
        bar_x + (c.max(0.0) as u16).min(bar_w.saturating_sub(1))
    };
    let zero = col(0.0);
    let header = Line::from(vec![
        Span::styled(
            format!("{:<w$}", "term", w = label_w as usize),
            style(Meaning::Muted),
        ),
        Span::styled(
            format!("{:>w$}", "value", w = value_w as usize),
            style(Meaning::Muted),
        ),
        Span::styled(format!("  {lo:+.2} … {hi:+.2}"), style(Meaning::Muted)),
    ]);
    put_line(buf, inner.x, inner.y, &header, inner.width);
    for (k, r) in rows.iter().enumerate() {
        let y = inner.y + 1 + k as u16;
        if y >= inner.bottom() {
            break;
        }
        let lm = if r.total {
            Meaning::Title
        } else {
            Meaning::Normal
        };
        put(
            buf,
            inner.x,
            y,
            &clip(&r.label, label_w as usize - 1),
            lm,
            label_w,
        );
        put(
            buf,
            inner.x + label_w,
            y,
            &format!("{:>+w$.4}", r.value, w = value_w as usize),
            lm,
            value_w,
        );
        if bar_w < 2 {
            continue;
        }
        put(buf, zero, y, "│", Meaning::Muted, 1);
        let (a, b) = (col(r.from.min(r.to)), col(r.from.max(r.to)));
        let cells = (b - a).max(u16::from(r.value != 0.0));
        let glyph = if r.total { "█" } else { "▆" };
        put(buf, a, y, &glyph.repeat(cells as usize), r.meaning, cells);
    }
    let y = inner.y + rows.len() as u16 + 2;
    if y < inner.bottom() && e.confounders_do.is_some() {
        let legend = Line::from(vec![
            Span::styled("▆ ", style(Meaning::Gain)),
            Span::styled("raises  ", style(Meaning::Muted)),
            Span::styled("▆ ", style(Meaning::Loss)),
            Span::styled("lowers  ", style(Meaning::Muted)),
            Span::styled("█ do", style(Meaning::Debiased)),
            Span::styled(": backdoor-adjusted  ", style(Meaning::Muted)),
            Span::styled("█ raw", style(Meaning::Biased)),
            Span::styled(": own strata", style(Meaning::Muted)),
        ]);
        put_line(buf, inner.x, y, &legend, inner.width);
    }
}

fn render_nearest(app: &App, e: &Explanation, area: Rect, buf: &mut Buffer) {
    let data = app.data();
    let mut lines: Vec<Line> = vec![Line::styled(
        "cosine of fused item representations",
        style(Meaning::Muted),
    )];
    for n in &e.nearest {
        lines.push(Line::styled(n.behavior.clone(), style(Meaning::Mediator)));
        if n.items.is_empty() {
            lines.push(Line::styled("  (no other item)", style(Meaning::Muted)));
        }
        for (id, c) in &n.items {
            // With item metadata: `id(label)` in the room the panel has.
            let shown = match data.item_index(id).and_then(|i| data.item_label(i)) {
                Some(l) => format!("{id}({l})"),
                None => id.clone(),
            };
            let w = if data.item_meta.is_empty() {
                14
            } else {
                (area.width as usize).saturating_sub(12).max(14)
            };
            lines.push(Line::raw(format!("  {:<w$} {c:+.3}", clip(&shown, w))));
        }
    }
    if let Some((su, si)) = e.strata {
        lines.push(Line::default());
        lines.push(Line::styled(
            format!("habit stratum {su} · item stratum {si}"),
            style(Meaning::Confounder),
        ));
    }
    Paragraph::new(lines)
        .block(panel("Nearest history items"))
        .render(area, buf);
}
