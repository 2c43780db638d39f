//! The graph screen's strata tables: one row per stratum with its prior, size, behavior
//! profile and, once measured, its effect size and β.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState};

use crate::model::strata::Strata;
use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::panel;

/// `0.85` → `.85`, `-0.02` → `-.02`: compact two-decimal numbers for narrow tables.
fn compact(v: f64, sign: bool) -> String {
    let t = if sign {
        format!("{v:+.2}")
    } else {
        format!("{v:.2}")
    };
    for (prefix, keep) in [("0.", ""), ("+0.", "+"), ("-0.", "-")] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return format!("{keep}.{rest}");
        }
    }
    t
}

pub(super) fn strata_table(
    names: &[String],
    strata: &Strata,
    title: &str,
    current: Option<u32>,
    effects: &[Option<(f32, Option<f32>)>],
    area: Rect,
    buf: &mut Buffer,
) {
    let mut header = vec!["k".to_string(), "P".into(), "size".into()];
    header.extend(names.iter().map(|n| n.chars().take(3).collect::<String>()));
    header.push("act".into());
    let has_effect = effects.iter().any(Option::is_some);
    let has_beta = effects.iter().flatten().any(|e| e.1.is_some());
    if has_effect {
        header.push("‖c‖".into());
    }
    if has_beta {
        header.push("β".into());
    }
    let rows: Vec<Row> = (0..strata.k)
        .map(|k| {
            let marker = if current == Some(k as u32) {
                "▶"
            } else {
                " "
            };
            let empty = if strata.empty_stratum == Some(k as u32) {
                "∅"
            } else {
                ""
            };
            let mut cells = vec![
                Cell::from(format!("{marker}{k}{empty}")),
                Cell::from(compact(strata.prior.get(k).copied().unwrap_or(0.0), false)),
                Cell::from(strata.size.get(k).copied().unwrap_or(0).to_string()),
            ];
            let profile = strata.profile.get(k).cloned().unwrap_or_default();
            for j in 0..=names.len() {
                let v = f64::from(profile.get(j).copied().unwrap_or(0.0));
                cells.push(Cell::from(compact(v, false)));
            }
            let eff = effects.get(k).copied().flatten();
            if has_effect {
                cells.push(Cell::from(
                    eff.map_or("–".into(), |e| format!("{:.2}", e.0)),
                ));
            }
            if has_beta {
                cells.push(Cell::from(
                    eff.and_then(|e| e.1)
                        .map_or("–".into(), |b| compact(f64::from(b), true)),
                ));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(5),
    ];
    widths.extend(std::iter::repeat_n(Constraint::Length(3), names.len() + 1));
    if has_effect {
        widths.push(Constraint::Length(4));
    }
    if has_beta {
        widths.push(Constraint::Length(4));
    }
    // Selecting the current stratum keeps it scrolled into view on short terminals.
    let mut state = TableState::default().with_selected(current.map(|k| k as usize));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(style(Meaning::Muted)))
        .column_spacing(1)
        .row_highlight_style(style(Meaning::Selected))
        .block(panel(title));
    StatefulWidget::render(table, area, buf, &mut state);
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_numbers() {
        assert_eq!(super::compact(0.854, false), ".85");
        assert_eq!(super::compact(-0.02, true), "-.02");
        assert_eq!(super::compact(0.02, true), "+.02");
        assert_eq!(super::compact(10.5, false), "10.50");
        assert_eq!(super::compact(1.0, false), "1.00");
    }
}
