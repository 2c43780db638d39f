//! Drawing the whole explorer from a read-only [`App`] (STYLE.md 1): tab bar, context line, the
//! current screen, footer, and the overlays (search, help, quit question). Below 80×24 only a
//! "terminal too small" notice is drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use ratatui::Frame;

use super::action::Screen;
use super::app::App;
use super::keymap::{help_sections, hints};
use super::screens;
use super::theme::{style, Meaning};
use super::widgets::{centered, clip, message, popup, put, put_line};

/// Smallest terminal the explorer lays out for.
pub const MIN_WIDTH: u16 = 80;
/// Smallest terminal height.
pub const MIN_HEIGHT: u16 = 24;

/// Draws the app into a frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    app.render(area, frame.buffer_mut());
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            too_small(area, buf);
            return;
        }
        let [tabs, context, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        render_tabs(self, tabs, buf);
        render_context(self, context, buf);
        match self.screen {
            Screen::Graph => screens::graph::render(self, body, buf),
            Screen::User => screens::user::render(self, body, buf),
            Screen::Why => screens::why::render(self, body, buf),
            Screen::Alignment => screens::alignment::render(self, body, buf),
            Screen::Training => screens::training::render(self, body, buf),
            Screen::Bias => screens::bias::render(self, body, buf),
        }
        render_footer(self, footer, buf);
        if self.user.search.is_some() {
            screens::search::render(self, body, buf);
        }
        if let Some(scroll) = self.help {
            render_help(self, scroll, body, buf);
        }
        if self.confirm_quit {
            let inner = popup(centered(area, 56, 6), buf, "Quit?");
            message(
                inner,
                buf,
                Meaning::Alert,
                "A training run is in progress. Quit and cancel it?  y = quit, n = keep running",
            );
        }
    }
}

/// `(screen, first column, column after)` of each tab in the tab bar.
pub fn tab_ranges() -> Vec<(Screen, u16, u16)> {
    let mut x = 0u16;
    Screen::ALL
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let w = format!(" {} {} ", i + 1, s.title(false)).chars().count() as u16;
            let r = (s, x, x + w);
            x += w + 1;
            r
        })
        .collect()
}

/// The tab under column `col` of the tab bar.
pub fn tab_at(col: u16) -> Option<Screen> {
    tab_ranges()
        .into_iter()
        .find(|&(_, a, b)| col >= a && col < b)
        .map(|x| x.0)
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    for (i, (s, x, _)) in tab_ranges().into_iter().enumerate() {
        let text = format!(" {} {} ", i + 1, s.title(false));
        let m = if s == app.screen {
            Meaning::Selected
        } else {
            Meaning::Normal
        };
        let end = put(
            buf,
            area.x + x,
            area.y,
            &text,
            m,
            area.width.saturating_sub(x),
        );
        put(buf, end, area.y, "│", Meaning::Muted, 1);
    }
    let brand = "mclmr explorer";
    let w = brand.len() as u16;
    let tabs_end = tab_ranges().last().map_or(0, |t| t.2 + 1);
    if area.width > tabs_end + 1 + w {
        put(buf, area.right() - w - 1, area.y, brand, Meaning::Muted, w);
    }
}

fn render_context(app: &App, area: Rect, buf: &mut Buffer) {
    let data = app.data();
    let u = app.user.user as usize;
    let mut spans = vec![
        Span::styled("user ", style(Meaning::Muted)),
        Span::styled(
            data.user_ids.get(u).cloned().unwrap_or_default(),
            style(Meaning::Title),
        ),
    ];
    if let Some(i) = app.selected_item() {
        spans.push(Span::styled(" · item ", style(Meaning::Muted)));
        spans.push(Span::styled(data.item_display(i), style(Meaning::Title)));
    }
    spans.push(Span::styled(
        format!(
            " · data {} {}×{}",
            data.name,
            data.n_users(),
            data.n_items()
        ),
        style(Meaning::Muted),
    ));
    spans.push(Span::styled(" · model ", style(Meaning::Muted)));
    spans.push(Span::raw(format!(
        "{} ({})",
        app.active.label, app.active.summary
    )));
    if let Some(o) = &app.other {
        spans.push(Span::styled(" · other ", style(Meaning::Muted)));
        spans.push(Span::raw(o.label.clone()));
    }
    put_line(
        buf,
        area.x + 1,
        area.y,
        &Line::from(spans),
        area.width.saturating_sub(2),
    );
}

fn render_footer(app: &App, area: Rect, buf: &mut Buffer) {
    let timings = app.show_timings.then(|| {
        let f = |v: Option<f64>| v.map_or("–".to_string(), |ms| format!("{ms:.1}"));
        format!(
            "user {} ms · item {} ms · frame {} ms",
            f(app.timings.user_switch_ms),
            f(app.timings.item_switch_ms),
            f(app.timings.frame_ms)
        )
    });
    let right = match (&app.status, timings) {
        (Some((m, s)), Some(t)) => Some((*m, format!("{s} · {t}"))),
        (Some(s), None) => Some(s.clone()),
        (None, Some(t)) => Some((Meaning::Muted, t)),
        (None, None) => None,
    };
    let right_w = right
        .as_ref()
        .map_or(0, |(_, t)| (t.chars().count() as u16).min(area.width / 2));
    // Whole hints only, with at least two columns before the right-hand text.
    let left_w = area.width.saturating_sub(right_w + 4) as usize;
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (keys, hint) in hints(app.screen) {
        let text = format!(" {hint}  ");
        let w = keys.chars().count() + text.chars().count();
        if used + w > left_w {
            break;
        }
        used += w;
        spans.push(Span::styled(keys, style(Meaning::Key)));
        spans.push(Span::styled(text, style(Meaning::Muted)));
    }
    put_line(buf, area.x + 1, area.y, &Line::from(spans), left_w as u16);
    if let Some((m, t)) = right {
        let t = clip(&t, right_w as usize);
        put(buf, area.right() - right_w - 1, area.y, &t, m, right_w);
    }
}

fn render_help(app: &App, scroll: u16, body: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = Vec::new();
    for (title, rows) in help_sections(app.screen) {
        lines.push(Line::styled(title, style(Meaning::Title)));
        for (keys, help) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16}"), style(Meaning::Key)),
                Span::raw(help),
            ]));
        }
    }
    let h = (lines.len() as u16 + 2).min(body.height);
    let w = if body.width <= 84 { body.width } else { 78 };
    let area = popup(
        centered(body, w, h),
        buf,
        "Keys (↑↓ scroll, ? or Esc closes)",
    );
    let skip = (scroll as usize).min(lines.len().saturating_sub(area.height as usize));
    for (row, line) in lines
        .iter()
        .skip(skip)
        .take(area.height as usize)
        .enumerate()
    {
        put_line(
            buf,
            area.x + 1,
            area.y + row as u16,
            line,
            area.width.saturating_sub(1),
        );
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let text = format!(
        "Terminal too small ({}×{}): the explorer needs at least {MIN_WIDTH}×{MIN_HEIGHT}. Enlarge the window, or press q to quit.",
        area.width, area.height
    );
    let h = 6.min(area.height);
    let inner = centered(area, area.width, h);
    message(inner, buf, Meaning::Alert, &text);
}
