//! Screen 6, bias across the catalogue (all users, `mclmr bias`'s numbers): items ranked by their
//! mean confounder push (`raw − do`) and by the top-K exposure `raw` gains over `do`, with item
//! stratum, popularity and metadata; the share of all top-K slots per popularity decile, `do`
//! against `raw`; per user habit stratum, the overlap of the two lists and the mean push.
//! Computed once per checkpoint by a worker ([`crate::ui::bias_cache`]).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use crate::analysis::bias::{BiasAnalysis, ItemPush};
use crate::ui::action::{BiasResult, CacheNote};
use crate::ui::app::App;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::{clip, load_text, message, panel, panel_line, put, put_line};

/// Draws the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let placeholder = |buf: &mut Buffer, m: Meaning, text: &str| {
        let block = panel("Bias across the catalogue");
        let inner = block.inner(area);
        block.render(area, buf);
        message(inner, buf, m, text);
    };
    if !app.active.ranker().has_causal() {
        placeholder(
            buf,
            Meaning::Muted,
            "This checkpoint has no confounder terms (a baseline or a plain backbone): do and raw \
             rank alike, so the confounders push nothing. Train a +MCLMR model on screen 5.",
        );
        return;
    }
    let Some(r) = app.active.bias.ready() else {
        let (m, t) = load_text(
            &app.active.bias,
            "bias analysis (both rankings of every user)",
        )
        .unwrap_or_default();
        placeholder(buf, m, &t);
        return;
    };
    let right_w = (area.width * 2 / 5).clamp(32, 56);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(area);
    let [pushed, gained] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    let a = &r.analysis;
    let target = app.ctx.target_name();
    render_items(
        app,
        &a.most_pushed,
        !app.bias_exposure,
        &format!("most pushed: mean raw − do over {} users", a.users),
        pushed,
        buf,
    );
    render_items(
        app,
        &a.exposure_gain,
        app.bias_exposure,
        &format!("top-{} exposure gained under raw (users)", a.k),
        gained,
        buf,
    );
    let chart_h = if area.height >= 30 { 16 } else { 12 };
    let [chart, strata] =
        Layout::vertical([Constraint::Length(chart_h), Constraint::Min(0)]).areas(right);
    render_deciles(a, &target, chart, buf);
    render_strata(app, r, strata, buf);
}

fn render_items(
    app: &App,
    rows: &[ItemPush],
    focused: bool,
    title: &str,
    area: Rect,
    buf: &mut Buffer,
) {
    let data = app.data();
    let meta_col = data.item_meta.label_column();
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let mut cells = vec![
                Cell::from(format!("{:>2}", n + 1)),
                Cell::from(r.item.clone()),
            ];
            if meta_col.is_some() {
                let label = data
                    .item_index(&r.item)
                    .and_then(|i| data.item_label(i))
                    .unwrap_or("");
                cells.push(Cell::from(label.to_string()));
            }
            cells.extend([
                Cell::from(Span::styled(
                    format!("{:>2}", r.stratum),
                    style(Meaning::Confounder),
                )),
                Cell::from(format!("{:>4}", r.popularity)),
                Cell::from(Span::styled(
                    format!("{:>+7.3}", r.push),
                    style(crate::ui::theme::signed(r.push)),
                )),
                Cell::from(Span::styled(
                    format!("{:>5}", r.exposure_do),
                    style(Meaning::Debiased),
                )),
                Cell::from(Span::styled(
                    format!("{:>5}", r.exposure_raw),
                    style(Meaning::Biased),
                )),
            ]);
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(2),
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(5),
    ];
    let mut header = vec![
        "#".to_string(),
        "item".into(),
        "g".into(),
        clip(&app.ctx.target_name(), 4),
        "   push".into(),
        "   do".into(),
        "  raw".into(),
    ];
    if let Some(c) = meta_col {
        let id_w = rows
            .iter()
            .map(|r| r.item.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 10) as u16;
        widths[1] = Constraint::Length(id_w);
        widths.insert(2, Constraint::Min(4));
        header.insert(2, clip(&data.item_meta.columns[c], 8));
    }
    let mark = if focused { "▶ " } else { "" };
    let block = panel_line(Line::styled(
        format!("{mark}{title}"),
        style(Meaning::Title),
    ));
    let block = if focused {
        block.border_style(style(Meaning::Biased))
    } else {
        block
    };
    let table = Table::new(body, widths)
        .header(Row::new(header).style(style(Meaning::Muted)))
        .column_spacing(1)
        .row_highlight_style(style(Meaning::Selected))
        .block(block);
    let mut state = TableState::default();
    if focused && !rows.is_empty() {
        state.select(Some(app.bias_row.min(rows.len() - 1)));
    }
    StatefulWidget::render(table, area, buf, &mut state);
}

/// Vertical bars, two per decile (`do` then `raw`), in eighths of a cell.
fn render_deciles(a: &BiasAnalysis, target: &str, area: Rect, buf: &mut Buffer) {
    let block = panel("slots by popularity decile");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 5 || inner.width < 20 {
        return;
    }
    let top = a.deciles.last();
    let head = Line::from(vec![
        Span::styled(
            if inner.width >= 40 {
                "most popular tenth: "
            } else {
                "top tenth: "
            },
            style(Meaning::Muted),
        ),
        Span::styled(
            format!("do {:.1}%", top.map_or(0.0, |d| d.share_do * 100.0)),
            style(Meaning::Debiased),
        ),
        Span::raw(" "),
        Span::styled(
            format!("raw {:.1}%", top.map_or(0.0, |d| d.share_raw * 100.0)),
            style(Meaning::Biased),
        ),
    ]);
    put_line(buf, inner.x, inner.y, &head, inner.width);
    let bars_h = inner.height - 3;
    let bottom = inner.y + 1 + bars_h; // the row of decile numbers
    let group = (inner.width / 10).max(3);
    let bar_w = ((group - 1) / 2).max(1);
    let max = a
        .deciles
        .iter()
        .flat_map(|d| [d.share_do, d.share_raw])
        .fold(0f64, f64::max)
        .max(1e-12);
    const EIGHTHS: [&str; 8] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇"];
    for (n, d) in a.deciles.iter().enumerate() {
        let x0 = inner.x + n as u16 * group;
        for (j, (share, m)) in [
            (d.share_do, Meaning::Debiased),
            (d.share_raw, Meaning::Biased),
        ]
        .into_iter()
        .enumerate()
        {
            let x = x0 + j as u16 * bar_w;
            let eighths = (share / max * f64::from(bars_h) * 8.0).round() as u16;
            for row in 0..bars_h {
                let level = eighths.saturating_sub(row * 8).min(8);
                let glyph = if level == 8 {
                    "█"
                } else {
                    EIGHTHS[level as usize]
                };
                if level > 0 {
                    let y = bottom - 1 - row;
                    put(buf, x, y, &glyph.repeat(bar_w as usize), m, bar_w);
                }
            }
        }
        put(
            buf,
            x0,
            bottom,
            &format!("{}", d.decile),
            Meaning::Muted,
            group,
        );
    }
    let legend = Line::from(vec![
        Span::styled("█ do", style(Meaning::Debiased)),
        Span::raw(" "),
        Span::styled("█ raw", style(Meaning::Biased)),
        Span::styled(
            if inner.width >= 40 {
                format!(" · 1 = least popular (training `{target}`)")
            } else {
                " · 1 = least popular".to_string()
            },
            style(Meaning::Muted),
        ),
    ]);
    put_line(buf, inner.x, bottom + 1, &legend, inner.width);
}

fn render_strata(app: &App, r: &BiasResult, area: Rect, buf: &mut Buffer) {
    let a = &r.analysis;
    let mine = app
        .active
        .user_strata
        .assign
        .get(app.user.user as usize)
        .copied();
    let rows: Vec<Row> = a
        .strata
        .iter()
        .map(|s| {
            let mark = if Some(s.stratum) == mine { "▶" } else { " " };
            Row::new(vec![
                Cell::from(Span::styled(
                    format!("{mark}{}", s.stratum),
                    style(Meaning::Confounder),
                )),
                Cell::from(format!("{:>5}", s.users)),
                Cell::from(format!("{:.2}", s.jaccard)),
                Cell::from(format!("{:.2}", s.rbo)),
                Cell::from(Span::styled(
                    format!("{:>+7.3}", s.push),
                    style(crate::ui::theme::signed(s.push)),
                )),
            ])
        })
        .collect();
    let note = match &r.cache {
        CacheNote::Loaded => "from the cache file".to_string(),
        CacheNote::Written => "computed, cached".to_string(),
        CacheNote::NotWritten(e) => format!("computed; cache not written ({e})"),
    };
    let note = if app.show_timings {
        format!("{note} · {:.2} s", a.seconds)
    } else {
        note
    };
    let widths = [
        Constraint::Length(3),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Min(7),
    ];
    let block = panel("do vs raw per habit stratum");
    let inner = block.inner(area);
    block.render(area, buf);
    let [table, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let t = Table::new(rows, widths)
        .header(Row::new(vec!["h", "users", "Jacc", "RBO", "   push"]).style(style(Meaning::Muted)))
        .column_spacing(1);
    Widget::render(t, table, buf);
    put(buf, foot.x, foot.y, &note, Meaning::Muted, foot.width);
}
