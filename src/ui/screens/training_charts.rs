//! The training screen's two live charts: batch losses with the epoch means, and the validation
//! metrics per epoch (`do` HR@10 and NDCG@10, and `raw` NDCG@10 when the trainer reports it).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Chart, Dataset as ChartData, GraphType, LegendPosition, Widget};

use crate::ui::theme::{style, Meaning};
use crate::ui::training_state::RunProgress;
use crate::ui::widgets::panel;

fn bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return [0.0, 1.0];
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    [lo - pad, hi + pad]
}

/// Draws the batch/epoch loss chart in `loss` and the validation metrics chart in `valid`.
pub fn render(p: Option<&RunProgress>, loss: Rect, valid: Rect, buf: &mut Buffer) {
    let empty: Vec<(f64, f64)> = Vec::new();
    let batch = p.map_or(&empty, |p| &p.batch_loss);
    let epochs = p.map_or(1.0, |p| p.epochs.max(1) as f64);
    let ndcg: Vec<(f64, f64)> = p.map_or(Vec::new(), |p| {
        p.reports
            .iter()
            .filter_map(|r| Some((r.epoch as f64, r.valid_ndcg10?)))
            .collect()
    });
    let ndcg_raw: Vec<(f64, f64)> = p.map_or(Vec::new(), |p| {
        p.reports
            .iter()
            .filter_map(|r| Some((r.epoch as f64, r.valid_ndcg10_raw?)))
            .collect()
    });
    let hr: Vec<(f64, f64)> = p.map_or(Vec::new(), |p| {
        p.reports
            .iter()
            .filter_map(|r| Some((r.epoch as f64, r.valid_hr10?)))
            .collect()
    });
    let epoch_loss: Vec<(f64, f64)> = p.map_or(Vec::new(), |p| {
        p.reports
            .iter()
            .map(|r| (r.epoch as f64, f64::from(r.loss.total)))
            .collect()
    });
    let x_axis = |hi: f64| {
        Axis::default()
            .bounds([0.0, hi])
            .labels(["0".to_string(), format!("{hi:.0}")])
            .style(style(Meaning::Muted))
    };
    let yb = bounds(batch.iter().chain(&epoch_loss).map(|x| x.1));
    Chart::new(vec![
        ChartData::default()
            .name("batch")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(Meaning::Muted))
            .data(batch),
        ChartData::default()
            .name("epoch mean")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(style(Meaning::Alert))
            .data(&epoch_loss),
    ])
    .block(panel("Training loss"))
    .x_axis(x_axis(epochs))
    .y_axis(
        Axis::default()
            .bounds(yb)
            .labels([format!("{:.3}", yb[0]), format!("{:.3}", yb[1])])
            .style(style(Meaning::Muted)),
    )
    .render(loss, buf);
    let vb = bounds(ndcg.iter().chain(&hr).chain(&ndcg_raw).map(|x| x.1));
    let mut sets = vec![
        ChartData::default()
            .name("HR@10 do")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(Meaning::Gain))
            .data(&hr),
        ChartData::default()
            .name("NDCG@10 do")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(Meaning::Debiased))
            .data(&ndcg),
    ];
    if !ndcg_raw.is_empty() {
        sets.push(
            ChartData::default()
                .name("NDCG@10 raw")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style(Meaning::Biased))
                .data(&ndcg_raw),
        );
    }
    Chart::new(sets)
        .block(panel("Validation"))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .legend_position(Some(LegendPosition::BottomRight))
        .x_axis(x_axis(epochs))
        .y_axis(
            Axis::default()
                .bounds(vb)
                .labels([format!("{:.3}", vb[0]), format!("{:.3}", vb[1])])
                .style(style(Meaning::Muted)),
        )
        .render(valid, buf);
}
