//! Small drawing helpers shared by the screens: panels, clipped text, fractional bars, load-state
//! placeholders and popups. All of them clip to the buffer, so no size can make them panic.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::load::Load;
use super::theme::{style, Meaning};

/// A bordered panel with a bold title.
pub fn panel(title: &str) -> Block<'_> {
    Block::bordered().title(Span::styled(format!(" {title} "), style(Meaning::Title)))
}

/// A bordered panel with a styled title line.
pub fn panel_line(title: Line<'_>) -> Block<'_> {
    let mut spans = vec![Span::raw(" ")];
    spans.extend(title.spans);
    spans.push(Span::raw(" "));
    Block::bordered().title(Line::from(spans))
}

/// Writes `text` at `(x, y)` if that cell exists, at most `max` columns wide; returns the column
/// after the text.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, m: Meaning, max: u16) -> u16 {
    let a = buf.area;
    if max == 0 || y < a.y || y >= a.bottom() || x < a.x || x >= a.right() {
        return x;
    }
    let room = max.min(a.right() - x) as usize;
    buf.set_stringn(x, y, text, room, style(m)).0
}

/// Writes a line of spans, clipped like [`put`].
pub fn put_line(buf: &mut Buffer, x: u16, y: u16, line: &Line<'_>, max: u16) {
    let a = buf.area;
    if max == 0 || y < a.y || y >= a.bottom() || x < a.x || x >= a.right() {
        return;
    }
    buf.set_line(x, y, line, max.min(a.right() - x));
}

/// A horizontal bar of `frac ∈ [0, 1]` of `width` cells, in eighths.
pub fn bar(frac: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (frac * width as f64 * 8.0).round() as usize;
    let (full, rest) = (eighths / 8, eighths % 8);
    let mut s = "█".repeat(full.min(width));
    if full < width && rest > 0 {
        s.push(PARTS[rest]);
    }
    s
}

/// The text a panel shows instead of its content while it is not ready; `None` when ready.
pub fn load_text<T>(load: &Load<T>, what: &str) -> Option<(Meaning, String)> {
    match load {
        Load::Ready(_) => None,
        Load::Idle => Some((Meaning::Muted, format!("{what}: not computed yet"))),
        Load::Loading { progress: Some(p) } => Some((
            Meaning::Muted,
            format!("{what}: computing… {:.0}%", p * 100.0),
        )),
        Load::Loading { progress: None } => Some((Meaning::Muted, format!("{what}: computing…"))),
        Load::Failed(e) => Some((Meaning::Alert, format!("{what} failed: {e}"))),
    }
}

/// Draws wrapped text in `area` (used for placeholders and errors).
pub fn message(area: Rect, buf: &mut Buffer, m: Meaning, text: &str) {
    Paragraph::new(Span::styled(text.to_string(), style(m)))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// A rectangle of at most `w × h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears `area` and draws a titled panel there; returns its inner area.
pub fn popup(area: Rect, buf: &mut Buffer, title: &str) -> Rect {
    Clear.render(area, buf);
    let block = panel(title).border_style(style(Meaning::Alert));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Formats a float with a sign and `digits` decimals.
pub fn signed(v: f32, digits: usize) -> String {
    format!("{v:+.digits$}")
}

/// Shortens `s` to `max` characters with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else if max == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_in_eighths() {
        assert_eq!(bar(0.0, 4), "");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██");
        assert_eq!(bar(0.5 + 1.0 / 32.0, 4), "██▏");
        assert_eq!(bar(f64::NAN, 4), "");
        assert_eq!(bar(7.0, 2), "██");
    }

    #[test]
    fn put_clips_outside_the_buffer() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 5, 2));
        assert_eq!(put(&mut buf, 3, 0, "hello", Meaning::Normal, 99), 5);
        assert_eq!(put(&mut buf, 9, 9, "x", Meaning::Normal, 99), 9);
        assert_eq!(buf[(4, 0)].symbol(), "e");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
