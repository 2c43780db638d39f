//! The alignment screen's chart: the shares of same-node and other-node cosines of the
//! selected row, as two lines over [-1, 1].

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Chart, Dataset as ChartData, GraphType, LegendPosition, Widget};

use super::side_name;
use crate::analysis::AlignRow;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::panel;

fn shares(h: &[u32]) -> Vec<(f64, f64)> {
    let total = h.iter().sum::<u32>().max(1) as f64;
    let n = h.len().max(1) as f64;
    h.iter()
        .enumerate()
        .map(|(k, &c)| (-1.0 + (k as f64 + 0.5) * 2.0 / n, c as f64 / total))
        .collect()
}

pub(super) fn render_histogram(row: &AlignRow, area: Rect, buf: &mut Buffer) {
    let same = shares(&row.hist_same);
    let other = shares(&row.hist_other);
    let ymax = same
        .iter()
        .chain(&other)
        .map(|p| p.1)
        .fold(0.0f64, f64::max)
        .max(0.01);
    let ymax = (ymax * 10.0).ceil() / 10.0;
    let title = format!(
        "cos(aux, P^T): {} {} · {}",
        side_name(row.side),
        row.behavior,
        row.space.label()
    );
    let data = vec![
        ChartData::default()
            .name("same node")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(Meaning::Gain))
            .data(&same),
        ChartData::default()
            .name("other node")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(Meaning::Biased))
            .data(&other),
    ];
    Chart::new(data)
        .block(panel(&title))
        .legend_position(Some(LegendPosition::TopLeft))
        .x_axis(
            Axis::default()
                .bounds([-1.0, 1.0])
                .labels(["-1", "0", "1"])
                .style(style(Meaning::Muted)),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax])
                .labels(["0".to_string(), format!("{ymax:.1}")])
                .style(style(Meaning::Muted)),
        )
        .render(area, buf);
}
