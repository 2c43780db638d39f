//! The User screen's history rows with the what-if cursor and the toggled-out items, and the
//! what-if panel of the User and Why screens: the selected history item, and with items
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
use crate::ui::user_view::HistoryRow;
use crate::ui::whatif_view::history_items;
use crate::ui::widgets::{clip, panel};

use super::user::short_display;

/// One behavior row `b` of the history (its first entry is number `flat` of
/// [`history_items`]) in `room` columns of items: the selected entry highlighted, toggled-out
/// ones marked `✗`, and shifted (after a leading `…`) so that the selected one is shown.
pub fn history_line(
    app: &App,
    b: usize,
    h: &HistoryRow,
    flat: usize,
    room: usize,
) -> Line<'static> {
    let data = app.data();
    let wi = &app.user.whatif;
    let cursor = wi.cursor.checked_sub(flat).filter(|&p| p < h.first.len());
    let cells: Vec<(String, Meaning)> = h
        .first
        .iter()
        .enumerate()
        .map(|(p, &(i, c))| {
            let id = short_display(data, i);
            let id = if c > 1 { format!("{id}×{c}") } else { id };
            let out = wi.is_dropped(b, i);
            let id = if out { format!("✗{id}") } else { id };
            let m = match (cursor == Some(p), out) {
                (true, _) => Meaning::Selected,
                (false, true) => Meaning::Loss,
                (false, false) => Meaning::Muted,
            };
            (id, m)
        })
        .collect();
    let fits = |from: usize, to: usize| {
        cells[from..=to]
            .iter()
            .map(|c| c.0.chars().count() + 1)
            .sum::<usize>()
            + 3
            <= room
    };
    let start = match cursor {
        Some(p) if !fits(0, p) => (0..=p).find(|&f| fits(f, p)).unwrap_or(p),
        _ => 0,
    };
    let mut spans = vec![
        Span::styled(
            format!(" {:<7}", clip(&h.behavior, 7)),
            style(Meaning::Mediator),
        ),
        Span::raw(format!("{:>4} · {:<4} ", h.items, h.events)),
    ];
    let mut used = 0usize;
    if start > 0 {
        spans.push(Span::styled("…", style(Meaning::Muted)));
        used += 1;
    }
    let mut shown = 0usize;
    for (id, m) in &cells[start..] {
        if used + id.chars().count() + 3 > room {
            break;
        }
        used += id.chars().count() + 1;
        spans.push(Span::styled(id.clone(), style(*m)));
        spans.push(Span::raw(" "));
        shown += 1;
    }
    if start + shown < h.items {
        spans.push(Span::styled("…", style(Meaning::Muted)));
    }
    Line::from(spans)
}

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
