//! Screen 2, one user: history per behavior, habit stratum, MoE routing weights as bars, and
//! the top-K `do` (debiased) and `raw` (observational) lists side by side with rank moves,
//! their overlap (Jaccard, rank-biased overlap) and mean popularity. `/` opens a fuzzy search
//! over original user ids.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use crate::analysis::Move;
use crate::model::Ranker;
use crate::ui::app::App;
use crate::ui::theme::{style, Meaning};
use crate::ui::user_view::{UserView, RBO_P};
use crate::ui::whatif_view::lists as lists_of;
use crate::ui::widgets::{bar, clip, load_text, message, panel, panel_line, put_line};

/// Draws the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let left_w = (area.width * 2 / 5).clamp(34, 50);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(0)]).areas(area);
    let view = match app.user.view.ready() {
        Some(v) => v,
        None => {
            let (m, t) = load_text(&app.user.view, "rankings").unwrap_or_default();
            let block = panel("User");
            let inner = block.inner(area);
            block.render(area, buf);
            message(inner, buf, m, &t);
            return;
        }
    };
    render_profile(app, view, left, buf);
    let editing = !app.user.whatif.dropped.is_empty();
    let [lists, summary] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(if editing { 9 } else { 5 }),
    ])
    .areas(right);
    let [d, r] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lists);
    if let Some(w) = app.user.whatif.result.ready() {
        let l = lists_of(app.data(), w);
        let (mode, m) = if app.user.raw_focus {
            ("raw", Meaning::Biased)
        } else {
            ("do", Meaning::Debiased)
        };
        let k = app.user.k;
        render_list(
            app,
            view.user,
            &ListSpec {
                list: &l.before,
                moves: &l.before_moves,
                title: format!("top-{k} {mode} before"),
                meaning: m,
                focused: true,
                absent_is_out: true,
            },
            d,
            buf,
        );
        render_list(
            app,
            view.user,
            &ListSpec {
                list: &l.after,
                moves: &l.after_moves,
                title: format!("top-{k} {mode} what-if"),
                meaning: m,
                focused: false,
                absent_is_out: false,
            },
            r,
            buf,
        );
    } else {
        for raw in [false, true] {
            let spec = if raw {
                ListSpec {
                    list: &view.raw_list,
                    moves: &view.raw_moves,
                    title: format!("top-{} raw (observational)", app.user.k),
                    meaning: Meaning::Biased,
                    focused: app.user.raw_focus,
                    absent_is_out: true,
                }
            } else {
                ListSpec {
                    list: &view.do_list,
                    moves: &view.do_moves,
                    title: format!("top-{} do (debiased)", app.user.k),
                    meaning: Meaning::Debiased,
                    focused: !app.user.raw_focus,
                    absent_is_out: false,
                }
            };
            render_list(app, view.user, &spec, if raw { r } else { d }, buf);
        }
    }
    if editing {
        super::whatif::render(app, summary, buf);
    } else {
        render_summary(app, view, summary, buf);
    }
}

/// One top-K list panel.
struct ListSpec<'a> {
    list: &'a [(u32, f32)],
    moves: &'a [Move],
    title: String,
    meaning: Meaning,
    focused: bool,
    /// An item missing from the other list is "dropped"/"out" (else "new").
    absent_is_out: bool,
}

fn render_profile(app: &App, view: &UserView, area: Rect, buf: &mut Buffer) {
    let data = app.data();
    let id = data
        .user_ids
        .get(view.user as usize)
        .cloned()
        .unwrap_or_default();
    let block = panel_line(Line::styled(format!("User {id}"), style(Meaning::Title)));
    let inner = block.inner(area);
    block.render(area, buf);
    let w = inner.width;
    let mut y = inner.y;
    let mut line = |buf: &mut Buffer, l: Line| {
        if y < inner.bottom() {
            put_line(buf, inner.x, y, &l, w);
            y += 1;
        }
    };
    let strata = &app.active.user_strata;
    if let Some(k) = view.stratum {
        let prior = strata.prior.get(k as usize).copied().unwrap_or(0.0);
        line(
            buf,
            Line::from(vec![
                Span::styled("habit stratum ", style(Meaning::Muted)),
                Span::styled(format!("{k}"), style(Meaning::Confounder)),
                Span::styled(
                    format!("/{} · P(h) {prior:.3}", strata.k),
                    style(Meaning::Muted),
                ),
            ]),
        );
        let names = data.behavior_names();
        let profile = strata.profile.get(k as usize).cloned().unwrap_or_default();
        let parts: Vec<String> = names
            .iter()
            .zip(&profile)
            .map(|(n, v)| format!("{} {v:.2}", clip(n, 6)))
            .collect();
        let act = profile.get(names.len()).copied().unwrap_or(0.0);
        let shares = format!(" {}", parts.join(" "));
        let activity = format!(" activity {act:.2}");
        if shares.chars().count() + activity.chars().count() <= w as usize {
            line(
                buf,
                Line::styled(format!("{shares}{activity}"), style(Meaning::Muted)),
            );
        } else {
            line(buf, Line::styled(shares, style(Meaning::Muted)));
            line(buf, Line::styled(activity, style(Meaning::Muted)));
        }
    }
    line(buf, Line::default());
    line(
        buf,
        Line::styled("History (items, events, first)", style(Meaning::Title)),
    );
    let mut flat = 0usize;
    for (b, h) in view.history.iter().enumerate() {
        let room = (w as usize).saturating_sub(19);
        line(buf, super::whatif::history_line(app, b, h, flat, room));
        flat += h.first.len();
    }
    let u = view.user as usize;
    let ids = |c: &crate::data::Csr| -> String {
        let row = if u < c.rows() { c.row(u) } else { &[] };
        let v: Vec<String> = row
            .iter()
            .take(6)
            .map(|&i| short_display(data, i))
            .collect();
        if v.is_empty() {
            "–".into()
        } else {
            v.join(" ")
        }
    };
    let mut held = vec![
        Span::styled(" held out ", style(Meaning::Muted)),
        Span::raw(format!("test {}", ids(&app.ctx.test))),
    ];
    if let Some(t) = &app.ctx.test_do {
        held.push(Span::raw(format!(" · interv. {}", ids(t))));
    }
    line(buf, Line::from(held));
    line(buf, Line::default());
    if view.gates.is_empty() {
        line(
            buf,
            Line::styled("No MoE routing in this model.", style(Meaning::Muted)),
        );
        return;
    }
    line(
        buf,
        Line::styled("MoE routing g_u (expert weights)", style(Meaning::Title)),
    );
    let bar_w = w.saturating_sub(16) as usize;
    let max = view
        .gates
        .iter()
        .map(|g| g.1)
        .fold(0f32, f32::max)
        .max(1e-6);
    for (name, g) in &view.gates {
        line(
            buf,
            Line::from(vec![
                Span::styled(format!(" {:<8}", clip(name, 8)), style(Meaning::Mediator)),
                Span::styled(
                    format!("{:<bar_w$}", bar(f64::from(g / max), bar_w)),
                    style(Meaning::Debiased),
                ),
                Span::raw(format!(" {g:.3}")),
            ]),
        );
    }
    if let Ranker::Neural(inf) = app.active.ranker() {
        if inf.evidence_w.iter().any(|&x| x != 0.0) {
            let parts: Vec<String> = inf
                .behavior_names
                .iter()
                .zip(&inf.evidence_w)
                .map(|(n, x)| format!("{n} {x:.2}"))
                .collect();
            line(
                buf,
                Line::styled(
                    format!(" evidence w: {}", parts.join(" ")),
                    style(Meaning::Muted),
                ),
            );
        }
    }
}

fn move_cell(m: Move, raw_side: bool, compact: bool) -> Cell<'static> {
    let (t, meaning) = match m {
        Move::Up(n) => (format!("↑{n}"), Meaning::Gain),
        Move::Down(n) => (format!("↓{n}"), Meaning::Loss),
        Move::Same => ("=".into(), Meaning::Muted),
        Move::Absent if raw_side && compact => ("out".into(), Meaning::Biased),
        Move::Absent if raw_side => ("dropped".into(), Meaning::Biased),
        Move::Absent => ("new".into(), Meaning::Debiased),
    };
    Cell::from(Span::styled(t, style(meaning)))
}

fn held_cell((test, test_do): (bool, bool)) -> Cell<'static> {
    let t = match (test, test_do) {
        (true, true) => "TD",
        (true, false) => "T",
        (false, true) => "D",
        (false, false) => "",
    };
    Cell::from(Span::styled(t, style(Meaning::Target)))
}

fn render_list(app: &App, user: u32, spec: &ListSpec, area: Rect, buf: &mut Buffer) {
    let (list, moves, m, focused) = (spec.list, spec.moves, spec.meaning, spec.focused);
    let data = app.data();
    let meta_col = data.item_meta.label_column();
    // Narrow lists drop the popularity column and shorten scores and moves; a metadata column
    // needs the room of a wider list.
    let compact = area.width < if meta_col.is_some() { 48 } else { 36 };
    let rows: Vec<Row> = list
        .iter()
        .zip(moves)
        .enumerate()
        .map(|(r, (&(i, s), &mv))| {
            let mut cells = vec![
                Cell::from(format!("{:>2}", r + 1)),
                Cell::from(data.item_ids.get(i as usize).cloned().unwrap_or_default()),
            ];
            if meta_col.is_some() {
                cells.push(Cell::from(data.item_label(i).unwrap_or("").to_string()));
            }
            cells.extend([
                Cell::from(if compact {
                    format!("{s:>5.2}")
                } else {
                    format!("{s:>7.3}")
                }),
                move_cell(mv, spec.absent_is_out, compact),
            ]);
            if !compact {
                let pop = app.ctx.popularity.get(i as usize).copied().unwrap_or(0);
                cells.push(Cell::from(format!("{pop:>4}")));
            }
            cells.push(held_cell(app.ctx.held_out(user, i)));
            let row = Row::new(cells);
            if focused && r == app.user.cursor {
                row.style(style(Meaning::Selected))
            } else {
                row
            }
        })
        .collect();
    let mark = if focused { "▶ " } else { "" };
    let block = panel_line(Line::styled(format!("{mark}{}", spec.title), style(m)));
    let block = if focused {
        block.border_style(style(m))
    } else {
        block
    };
    let pop_head = clip(&app.ctx.target_name(), 4);
    let (mut widths, mut header) = if compact {
        (
            vec![
                Constraint::Length(2),
                Constraint::Min(4),
                Constraint::Length(5),
                Constraint::Length(3),
                Constraint::Length(2),
            ],
            vec![
                "#".to_string(),
                "item".into(),
                "score".into(),
                "mv".into(),
                "ho".into(),
            ],
        )
    } else {
        (
            vec![
                Constraint::Length(2),
                Constraint::Min(4),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(4),
                Constraint::Length(2),
            ],
            vec![
                "#".to_string(),
                "item".into(),
                "score".into(),
                "move".into(),
                pop_head,
                "ho".into(),
            ],
        )
    };
    // With item metadata, a column of its label (name or category) follows the id.
    if let Some(c) = meta_col {
        let id_w = list
            .iter()
            .map(|&(i, _)| {
                data.item_ids
                    .get(i as usize)
                    .map_or(0, |s| s.chars().count())
            })
            .max()
            .unwrap_or(4)
            .clamp(4, 10) as u16;
        widths[1] = Constraint::Length(id_w);
        widths.insert(2, Constraint::Min(4));
        header.insert(2, clip(&data.item_meta.columns[c], 8));
    }
    Table::new(rows, widths)
        .header(Row::new(header).style(style(Meaning::Muted)))
        .column_spacing(1)
        .block(block)
        .render(area, buf);
}

fn render_summary(app: &App, view: &UserView, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![
        Line::from(vec![
            Span::styled("do vs raw  ", style(Meaning::Muted)),
            Span::raw(format!(
                "Jaccard {:.2} · RBO({RBO_P}) {:.2}",
                view.jaccard, view.rbo
            )),
        ]),
        Line::from(vec![
            Span::styled("popularity ", style(Meaning::Muted)),
            Span::styled(
                format!("do {}", precise(view.pop_do)),
                style(Meaning::Debiased),
            ),
            Span::raw(" · "),
            Span::styled(
                format!("raw {}", precise(view.pop_raw)),
                style(Meaning::Biased),
            ),
            Span::styled(
                if area.width >= 76 {
                    format!(
                        " · all {} (training `{}` events per item)",
                        precise(view.pop_catalog),
                        app.ctx.target_name()
                    )
                } else {
                    format!(" · all {}", precise(view.pop_catalog))
                },
                style(Meaning::Muted),
            ),
        ]),
    ];
    match (&app.other, app.model_overlap) {
        (Some(o), Some((j, r))) => lines.push(Line::from(vec![
            Span::styled(format!("vs {} (do) ", o.label), style(Meaning::Muted)),
            Span::raw(format!("Jaccard {j:.2} · RBO {r:.2}")),
        ])),
        _ if !view.causal => lines.push(Line::styled(
            "this model has no causal scorer: the two lists are identical",
            style(Meaning::Muted),
        )),
        _ => lines.push(Line::styled(
            "ho: held out (T test, D interventional test)",
            style(Meaning::Muted),
        )),
    }
    Paragraph::new(lines)
        .block(panel("Lists"))
        .render(area, buf);
}

/// A mean with the precision its size needs: `61.0`, `3.40`, `0.012` (a sparse log's means
/// are far below 1 and must not all read `0.0`).
pub fn precise(x: f64) -> String {
    if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.3}")
    }
}

/// An item for a short list: `id(label)` with metadata, else the id.
pub(crate) fn short_display(data: &crate::data::Dataset, i: u32) -> String {
    let id = data.item_ids.get(i as usize).cloned().unwrap_or_default();
    match data.item_label(i) {
        Some(l) => format!("{id}({})", clip(l, 14)),
        None => id,
    }
}
