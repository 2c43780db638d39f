//! Screen 4, alignment: per auxiliary behavior, side (users, items) and space (backbone `P^b`,
//! expert `E_b(P^b)`), the alignment with the target representation `P^T` and the uniformity of
//! each (Wang & Isola); a histogram of same-node vs other-node cosines for the selected row; and
//! the selected user's own cosines. Numbers come from [`crate::analysis::align`] on a seeded
//! sample, computed by a worker.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use crate::analysis::{AlignmentReport, Space};
use crate::model::strata::Side;
use crate::ui::app::App;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::{bar, clip, load_text, message, panel};

mod histogram;

use histogram::render_histogram;

fn side_name(s: Side) -> &'static str {
    match s {
        Side::User => "users",
        Side::Item => "items",
    }
}

/// Draws the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if app.active.ranker().is_baseline() {
        let block = panel("Alignment");
        let inner = block.inner(area);
        block.render(area, buf);
        let what = match app.active.ranker() {
            crate::model::Ranker::Ease(_) => "the EASE baseline",
            _ => "a rule baseline",
        };
        let text = format!("This checkpoint is {what}: it has no learned representations, so there is nothing to align. Retrain a backbone on screen 5.");
        message(inner, buf, Meaning::Muted, &text);
        return;
    }
    let Some(report) = app.active.alignment.ready() else {
        let (m, t) = load_text(&app.active.alignment, "alignment report").unwrap_or_default();
        let block = panel("Alignment");
        let inner = block.inner(area);
        block.render(area, buf);
        message(inner, buf, m, &t);
        return;
    };
    let table_h = (report.rows.len() as u16 + 3).min(area.height.saturating_sub(9));
    let [top, bottom] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    render_table(app, report, top, buf);
    let [hist, user] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom);
    if let Some(row) = report
        .rows
        .get(app.align_row.min(report.rows.len().saturating_sub(1)))
    {
        render_histogram(row, hist, buf);
    }
    render_user(app, user, buf);
}

fn render_table(app: &App, report: &AlignmentReport, area: Rect, buf: &mut Buffer) {
    let rows: Vec<Row> = report
        .rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let row = Row::new(vec![
                Cell::from(side_name(r.side)),
                Cell::from(r.behavior.clone()),
                Cell::from(r.space.label()),
                Cell::from(format!("{:.3}", r.alignment)),
                Cell::from(format!("{:.3}", r.uniformity)),
                Cell::from(format!("{:.3}", r.uniformity_target)),
                Cell::from(Span::styled(
                    format!("{:+.3}", r.mean_same),
                    style(Meaning::Gain),
                )),
                Cell::from(format!("{:+.3}", r.mean_other)),
            ]);
            if k == app.align_row {
                row.style(style(Meaning::Selected))
            } else {
                row
            }
        })
        .collect();
    let title = format!(
        "Alignment with P^T (0 best…4), uniformity (lower = spread) · {} users, {} items",
        report.users_sampled, report.items_sampled
    );
    Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new(vec![
            "side",
            "behavior",
            "space",
            "align",
            "unif",
            "unif P^T",
            "cos same",
            "cos other",
        ])
        .style(style(Meaning::Muted)),
    )
    .column_spacing(1)
    .block(panel(&title))
    .render(area, buf);
}

fn render_user(app: &App, area: Rect, buf: &mut Buffer) {
    let id = app
        .data()
        .user_ids
        .get(app.user.user as usize)
        .cloned()
        .unwrap_or_default();
    let title = format!("User {id}: cos with P^T_u");
    let Some(view) = app.user.view.ready() else {
        Paragraph::new("").block(panel(&title)).render(area, buf);
        return;
    };
    let bar_w = area.width.saturating_sub(24) as usize;
    let mut lines = Vec::new();
    for (behavior, space, c) in &view.cosines {
        let tag = match space {
            Space::Backbone => "P^b",
            Space::Expert => "E_b",
        };
        let m = if *c < 0.0 {
            Meaning::Loss
        } else {
            Meaning::Gain
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<7} {tag} ", clip(behavior, 7)),
                style(Meaning::Mediator),
            ),
            Span::styled(
                format!("{:<bar_w$}", bar(f64::from(c.abs()), bar_w)),
                style(m),
            ),
            Span::raw(format!(" {c:+.3}")),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "no learned representations",
            style(Meaning::Muted),
        ));
    }
    Paragraph::new(lines).block(panel(&title)).render(area, buf);
}
