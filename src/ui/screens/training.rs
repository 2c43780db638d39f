//! Screen 5, training: the settings form, a run's live progress (epoch and batch gauges, ETA,
//! batch-loss and validation-metric charts), and the comparison of the two checkpoints (metrics
//! side by side from full evaluations, ranking overlap for the selected user) with, where the
//! panel is at least 90 columns wide, the active checkpoint's `do` and `raw` NDCG@10 per user
//! habit stratum and popularity bucket.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, LineGauge, Paragraph, Row, Table, Widget, Wrap};

use crate::eval::EvalReport;
use crate::ui::app::App;
use crate::ui::load::Load;
use crate::ui::session::{file_label, ModelSlot};
use crate::ui::theme::{style, Meaning};
use crate::ui::training_state::Field;
use crate::ui::widgets::{clip, load_text, panel, put_line, signed};

use super::training_charts;

/// Draws the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [left, right] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(0)]).areas(area);
    render_form(app, left, buf);
    let compare_h = if area.height >= 34 { 14 } else { 8 };
    let [progress, charts, compare] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(0),
        Constraint::Length(compare_h),
    ])
    .areas(right);
    render_progress(app, progress, buf);
    let [loss, valid] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    training_charts::render(app.training.progress.as_ref(), loss, valid, buf);
    render_compare(app, compare, buf);
}

fn render_form(app: &App, area: Rect, buf: &mut Buffer) {
    let f = &app.training.form;
    let running = app.training_running();
    let rows: Vec<Row> = Field::ALL
        .iter()
        .enumerate()
        .map(|(k, &field)| {
            let m = if f.inactive(field) {
                Meaning::Muted
            } else {
                Meaning::Normal
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(field.label(), style(m))),
                Cell::from(Span::styled(f.value(field), style(m))),
            ]);
            if k == f.field && !running {
                row.style(style(Meaning::Selected))
            } else {
                row
            }
        })
        .collect();
    let block = panel("Settings");
    let inner = block.inner(area);
    block.render(area, buf);
    let table_h = (Field::ALL.len() as u16).min(inner.height);
    Table::new(rows, [Constraint::Length(9), Constraint::Min(6)])
        .column_spacing(1)
        .render(
            Rect {
                height: table_h,
                ..inner
            },
            buf,
        );
    let help = if running {
        "x cancels the run"
    } else {
        "↑↓ select · ←→ change · Space flip · s start"
    };
    let rest = Rect {
        y: inner.y + table_h + 1,
        height: inner.height.saturating_sub(table_h + 1),
        ..inner
    };
    Paragraph::new(Line::styled(help, style(Meaning::Muted)))
        .wrap(Wrap { trim: true })
        .render(rest, buf);
}

fn render_progress(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.training;
    let block = panel("Run");
    let inner = block.inner(area);
    block.render(area, buf);
    let mut y = inner.y;
    let mut line = |buf: &mut Buffer, l: Line| {
        if y < inner.bottom() {
            put_line(buf, inner.x, y, &l, inner.width);
            y += 1;
        }
    };
    let status = match &t.result {
        Load::Idle => Line::styled(
            format!("no run yet · next: {}", t.form.describe()),
            style(Meaning::Muted),
        ),
        Load::Loading { .. } => Line::styled("running…", style(Meaning::Alert)),
        Load::Ready(info) => {
            let v = info.best_valid.map_or("n/a".into(), |v| format!("{v:.4}"));
            Line::from(vec![
                Span::styled(format!("{} ", info.status), style(Meaning::Ok)),
                Span::raw(format!(
                    "best epoch {} · valid NDCG@10 {v} · saved ",
                    info.best_epoch
                )),
                Span::styled(file_label(&info.path), style(Meaning::Title)),
                Span::styled(
                    info.note
                        .as_ref()
                        .map_or(String::new(), |n| format!(" ({n})")),
                    style(Meaning::Alert),
                ),
            ])
        }
        Load::Failed(e) => Line::styled(format!("failed: {e}"), style(Meaning::Alert)),
    };
    line(buf, status);
    let Some(p) = &t.progress else { return };
    let eta = match (&t.result, p.eta_secs) {
        (Load::Loading { .. }, Some(s)) => format!(" · ETA ≤ {}", fmt_secs(s)),
        _ => String::new(),
    };
    line(
        buf,
        Line::styled(
            format!("{} · {} parameters{eta}", p.description, p.params),
            style(Meaning::Muted),
        ),
    );
    for (label, ratio, text) in [
        ("epoch", p.fraction(), format!("{}/{}", p.epoch, p.epochs)),
        (
            "batch",
            p.epoch_fraction(),
            format!("{}/{}", p.batch, p.batches),
        ),
    ] {
        if y < inner.bottom() {
            LineGauge::default()
                .ratio(ratio)
                .label(format!("{label} {text:>9} "))
                .filled_symbol("█")
                .unfilled_symbol("░")
                .filled_style(style(Meaning::Debiased))
                .unfilled_style(style(Meaning::Muted))
                .render(
                    Rect {
                        y,
                        height: 1,
                        ..inner
                    },
                    buf,
                );
            y += 1;
        }
    }
    if let Some(r) = &p.stopped {
        if y < inner.bottom() {
            put_line(
                buf,
                inner.x,
                y,
                &Line::styled(format!("stopped: {r}"), style(Meaning::Muted)),
                inner.width,
            );
        }
    }
}

fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        "?".into()
    } else if s < 60.0 {
        format!("{:.0} s", s.ceil())
    } else {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    }
}

/// `(label, value)` rows of the comparison table.
fn metric_rows(r: &EvalReport) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = ["HR@10", "NDCG@10", "Recall@20", "NDCG@50"]
        .iter()
        .map(|k| (format!("do {k}"), r.do_.get(*k).copied().unwrap_or(0.0)))
        .collect();
    rows.push((
        "raw HR@10".into(),
        r.raw.get("HR@10").copied().unwrap_or(0.0),
    ));
    if let Some(iv) = &r.interventional {
        for k in ["HR@10", "NDCG@10"] {
            let v = iv.get("do").and_then(|m| m.get(k)).copied().unwrap_or(0.0);
            rows.push((format!("interv. do {k}"), v));
        }
    }
    if let Some(b) = r.bias.get("do") {
        rows.push(("do mean popularity".into(), b.mean_popularity));
        rows.push(("do coverage".into(), b.coverage));
    }
    rows
}

fn fmt_metric(v: f64) -> String {
    if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

fn eval_cell(slot: &ModelSlot, k: usize) -> (String, Option<f64>) {
    match &slot.eval {
        Load::Ready(r) => metric_rows(r)
            .get(k)
            .map_or(("–".into(), None), |x| (fmt_metric(x.1), Some(x.1))),
        other => (
            load_text(other, "").map_or(String::new(), |x| clip(x.1.trim_start_matches(": "), 10)),
            None,
        ),
    }
}

fn render_compare(app: &App, area: Rect, buf: &mut Buffer) {
    let area = if area.width >= 90 {
        let [left, right] =
            Layout::horizontal([Constraint::Min(60), Constraint::Length(area.width - 60)])
                .areas(area);
        render_strata(app, right, buf);
        left
    } else {
        area
    };
    let a = &app.active;
    let labels: Vec<String> = match a
        .eval
        .ready()
        .or(app.other.as_ref().and_then(|o| o.eval.ready()))
    {
        Some(r) => metric_rows(r).into_iter().map(|x| x.0).collect(),
        None => vec!["do HR@10".into(), "do NDCG@10".into()],
    };
    let mut rows: Vec<Row> = labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            let (ta, va) = eval_cell(a, k);
            let (tb, vb) = app
                .other
                .as_ref()
                .map_or((String::new(), None), |o| eval_cell(o, k));
            let delta = match (va, vb) {
                (Some(x), Some(y)) => {
                    let d = y - x;
                    // Lower popularity is the debiased direction; everything else: higher is better.
                    let better = if label.contains("popularity") {
                        d <= 0.0
                    } else {
                        d >= 0.0
                    };
                    let m = if better { Meaning::Gain } else { Meaning::Loss };
                    let t = if d.abs() >= 10.0 {
                        format!("{d:+.1}")
                    } else {
                        signed(d as f32, 4)
                    };
                    Span::styled(t, style(m))
                }
                _ => Span::raw(""),
            };
            Row::new(vec![
                Cell::from(label.clone()),
                Cell::from(ta),
                Cell::from(tb),
                Cell::from(delta),
            ])
        })
        .collect();
    let other_label = app
        .other
        .as_ref()
        .map_or("none yet: train one".to_string(), |o| o.label.clone());
    let user = app
        .data()
        .user_ids
        .get(app.user.user as usize)
        .map_or("", String::as_str);
    if let Some((j, r)) = app.model_overlap {
        rows.push(Row::new(vec![
            Cell::from(format!("user {user} top-{} do", app.user.k)),
            Cell::from("vs other:"),
            Cell::from(format!("Jaccard {j:.2}")),
            Cell::from(format!("RBO {r:.2}")),
        ]));
    }
    let title = format!("Compare: active {} vs other {other_label}", a.label);
    Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Min(6),
        ],
    )
    .header(
        Row::new(vec!["test metric", "active", "other", "other − active"])
            .style(style(Meaning::Muted)),
    )
    .column_spacing(1)
    .block(panel(&title))
    .render(area, buf);
}

/// `do` and `raw` NDCG@10 of the active checkpoint per user habit stratum, then per popularity
/// bucket (`eval::groups::by_stratum`, as `mclmr eval --by stratum`).
fn render_strata(app: &App, area: Rect, buf: &mut Buffer) {
    let block = panel("NDCG@10 by group (active)");
    let Some(groups) = app.active.groups.ready() else {
        let (m, t) = load_text(&app.active.groups, "per-stratum metrics").unwrap_or_default();
        let inner = block.inner(area);
        block.render(area, buf);
        crate::ui::widgets::message(inner, buf, m, &t);
        return;
    };
    let get = |m: &std::collections::BTreeMap<String, f64>| m.get("NDCG@10").copied();
    let rows: Vec<Row> = groups
        .iter()
        .filter(|g| g.by == "user_stratum" || g.by == "popularity")
        .map(|g| {
            let name = if g.by == "popularity" {
                format!("pop {}", g.group)
            } else {
                format!("h {}", g.group)
            };
            let (d, r) = (get(&g.do_), get(&g.raw));
            let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
            let delta = match (d, r) {
                (Some(d), Some(r)) => Span::styled(
                    format!("{:+.3}", r - d),
                    style(crate::ui::theme::signed(r - d)),
                ),
                _ => Span::raw(""),
            };
            Row::new(vec![
                Cell::from(Span::styled(name, style(Meaning::Confounder))),
                Cell::from(format!("{:>5}", g.users)),
                Cell::from(Span::styled(f(d), style(Meaning::Debiased))),
                Cell::from(Span::styled(f(r), style(Meaning::Biased))),
                Cell::from(delta),
            ])
        })
        .collect();
    Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Min(6),
        ],
    )
    .header(Row::new(vec!["group", "users", "do", "raw", "raw−do"]).style(style(Meaning::Muted)))
    .column_spacing(1)
    .block(block)
    .render(area, buf);
}
