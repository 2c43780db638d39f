//! The user search overlay (opened with `/`): the typed id, the number of matches and the best
//! matches with their interaction counts, the highlighted one first in view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::ui::app::App;
use crate::ui::search::MAX_MATCHES;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::{clip, popup, put, put_line};

/// Draws the search overlay over the left part of `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(s) = &app.user.search else { return };
    let r = Rect {
        width: area.width.min(48),
        ..area
    };
    let inner = popup(r, buf, "Find user (Enter jumps, Esc closes)");
    if inner.height < 2 {
        return;
    }
    let data = app.data();
    put_line(
        buf,
        inner.x + 1,
        inner.y,
        &Line::from(vec![
            Span::styled("id: ", style(Meaning::Muted)),
            Span::styled(format!("{}█", s.query), style(Meaning::Title)),
        ]),
        inner.width.saturating_sub(1),
    );
    let shown = if s.matches.len() >= MAX_MATCHES {
        format!("{}+ matches", s.matches.len())
    } else {
        format!("{} matches", s.matches.len())
    };
    put(
        buf,
        inner.x + 1,
        inner.y + 1,
        &shown,
        Meaning::Muted,
        inner.width.saturating_sub(1),
    );
    let rows = inner.height.saturating_sub(2) as usize;
    let start = s.sel.saturating_sub(rows.saturating_sub(1));
    for (row, (idx, &u)) in s
        .matches
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + 2 + row as u16;
        let n_hist: usize = app.ctx.csr.iter().map(|c| c.row(u as usize).len()).sum();
        let text = format!(
            " {:<16} {n_hist:>5} interactions",
            clip(data.user_ids.get(u as usize).map_or("", String::as_str), 16)
        );
        let m = if idx == s.sel {
            Meaning::Selected
        } else {
            Meaning::Normal
        };
        put(buf, inner.x, y, &text, m, inner.width);
    }
}
