//! The what-if panel of the User and Why screens: the selected history item, and with items
//! toggled out, the followed item's score and rank before → after, the terms that changed, and
//! what keeps its trained value and what is recomputed exactly, in `mclmr whatif`'s words.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::analysis::whatif::WhatIf;
use crate::ui::app::App;
use crate::ui::load::Load;
use crate::ui::theme::{style, Meaning};
use crate::ui::whatif_view::history_items;
use crate::ui::widgets::panel;

/// Draws the panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let data = app.data();
    let wi = &app.user.whatif;
    let names = data.behavior_names();
    let selected = app
        .user
        .view
        .ready()
        .and_then(|v| history_items(v).get(wi.cursor).copied());
    let mut lines = Vec::new();
    let mut head = Vec::new();
    match selected {
        Some((b, i, c)) => {
            let out = wi.is_dropped(b, i);
            head.push(Span::styled(
                format!(
                    "{} {}{}{}",
                    names.get(b).map_or("", String::as_str),
                    data.item_display(i),
                    if c > 1 {
                        format!(" ×{c}")
                    } else {
                        String::new()
                    },
                    if out { " ✗" } else { "" }
                ),
                style(if out {
                    Meaning::Loss
                } else {
                    Meaning::Selected
                }),
            ));
            head.push(Span::styled(
                if out {
                    " · x back · [ ] item · r all"
                } else {
                    " · x takes it out · [ ] item"
                },
                style(Meaning::Muted),
            ));
        }
        None => head.push(Span::styled("no history", style(Meaning::Muted))),
    }
    lines.push(Line::from(head));
    match &wi.result {
        Load::Ready(w) => lines.extend(result_lines(app, w, area.width >= 60)),
        Load::Failed(e) => lines.push(Line::styled(
            format!("what-if failed: {e}"),
            style(Meaning::Alert),
        )),
        _ => {}
    }
    let title = if wi.dropped.is_empty() {
        "What-if on the history".to_string()
    } else {
        format!("What-if: {} out of the history", wi.dropped.len())
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(panel(&title))
        .render(area, buf);
}

fn result_lines(app: &App, w: &WhatIf, wide: bool) -> Vec<Line<'static>> {
    let data = app.data();
    let mut out = Vec::new();
    if let Some(c) = &w.item {
        let rank = |r: Option<usize>| r.map_or("masked".to_string(), |r| format!("#{r}"));
        let m = if w.mode == "raw" {
            Meaning::Biased
        } else {
            Meaning::Debiased
        };
        let delta = if wide {
            format!(" ({:+.3})", c.score.1 - c.score.0)
        } else {
            String::new()
        };
        let label = data
            .item_index(&c.item)
            .map_or(c.item.clone(), |i| data.item_display(i));
        out.push(Line::from(vec![
            Span::styled(format!("{label} {} ", w.mode), style(m)),
            Span::raw(format!(
                "{:.3} → {:.3}{delta} · rank {} → {}",
                c.score.0,
                c.score.1,
                rank(c.rank.0),
                rank(c.rank.1)
            )),
        ]));
    }
    let mut parts: Vec<String> = w
        .changed
        .iter()
        .map(|t| {
            let conv = if t.conversion.0 != t.conversion.1 {
                format!(
                    ", conversion {:+.3} → {:+.3}",
                    t.conversion.0, t.conversion.1
                )
            } else {
                String::new()
            };
            format!(
                "{} {} ×{}→×{}: evidence {:+.3} → {:+.3}{conv}",
                t.behavior, t.item, t.count.0, t.count.1, t.evidence.0, t.evidence.1
            )
        })
        .collect();
    let target = data.target();
    let names = data.behavior_names();
    for &(b, i) in &app.user.whatif.dropped {
        if b == target {
            parts.push(format!(
                "{} {}: unmasked (recommendable again)",
                names[b], data.item_ids[i as usize]
            ));
        }
    }
    if !parts.is_empty() {
        out.push(Line::raw(parts.join(" · ")));
    }
    // What keeps its trained value comes before what is exact: on a small screen the
    // approximation must still be said.
    if !w.approximated.is_empty() {
        out.push(Line::styled(
            format!("approximated: {}", w.approximated.join("; ")),
            style(Meaning::Alert),
        ));
    }
    out.push(Line::styled(
        format!("exact: {}", w.exact.join("; ")),
        style(Meaning::Muted),
    ));
    if app.show_timings {
        out.push(Line::styled(
            format!("re-ranked in {:.2} ms", w.millis),
            style(Meaning::Muted),
        ));
    }
    out
}
