//! Draws a layered DAG with boxes and arrows: edges as braille lines on a [`Canvas`], boxes on
//! top (bordered when there is room, one-line otherwise), and an arrowhead where each edge enters
//! its target. Edges that skip layers are routed around the outside of the boxes in between, so
//! that they never look like they pass through a node.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::symbols::Marker;
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine};
use ratatui::widgets::{Block, Widget};

use crate::ui::theme::{style, Meaning};
use crate::ui::widgets::put;

/// A node to draw: name (as in the edges), label, meaning.
pub struct Node {
    /// Name used by the edges.
    pub name: String,
    /// Text in the box.
    pub label: String,
    /// How it is styled.
    pub meaning: Meaning,
}

struct Placed {
    x: u16,
    y: u16,
    w: u16,
    h: u16,
    layer: usize,
}

fn color(m: Meaning) -> Color {
    style(m).fg.unwrap_or(Color::Reset)
}

/// Draws `layers` of nodes and `edges` (by name) into `area`; `edge_meaning` styles each edge.
pub fn draw(
    area: Rect,
    buf: &mut Buffer,
    layers: &[Vec<Node>],
    edges: &[(String, String)],
    edge_meaning: impl Fn(&str, &str) -> Meaning,
) {
    let area = area.intersection(buf.area);
    let n = layers.len() as u16;
    if n == 0 || area.width < 8 || area.height < n {
        return;
    }
    let box_h = if area.height >= 3 * n + 2 * (n - 1) {
        3
    } else {
        1
    };
    let gap = if n > 1 {
        (area.height - n * box_h) / (n - 1)
    } else {
        0
    };
    let mut placed: Vec<(String, Placed)> = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        let k = layer.len().max(1) as u32;
        for (j, node) in layer.iter().enumerate() {
            let pad = if box_h == 3 { 4 } else { 2 };
            let w = (node.label.chars().count() as u16 + pad).min(area.width);
            let cx = area.x as u32 + (2 * j as u32 + 1) * area.width as u32 / (2 * k);
            let x = (cx as u16)
                .saturating_sub(w / 2)
                .max(area.x)
                .min(area.right() - w);
            let y = area.y + l as u16 * (box_h + gap);
            placed.push((
                node.name.clone(),
                Placed {
                    x,
                    y,
                    w,
                    h: box_h,
                    layer: l,
                },
            ));
        }
    }
    let find = |name: &str| placed.iter().find(|p| p.0 == name).map(|p| &p.1);
    // Entry columns: spread the edges entering a node over its top side.
    let mut entries: Vec<(usize, u16)> = Vec::new();
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); placed.len()];
    for (e, (_, b)) in edges.iter().enumerate() {
        if let Some(t) = placed.iter().position(|p| &p.0 == b) {
            incoming[t].push(e);
        }
    }
    for (t, list) in incoming.iter().enumerate() {
        let p = &placed[t].1;
        // Sort by source x so that edges do not cross right above the box.
        let mut list = list.clone();
        list.sort_by_key(|&e| find(&edges[e].0).map_or(0, |s| s.x + s.w / 2));
        for (j, &e) in list.iter().enumerate() {
            let span = p.w.saturating_sub(2).max(1) as u32;
            let x = p.x + 1 + ((2 * j as u32 + 1) * span / (2 * list.len() as u32)) as u16;
            entries.push((e, x));
        }
    }
    let (w, h) = (area.width as f64, area.height as f64);
    let to_canvas =
        |col: f64, row: f64| (col - area.x as f64 + 0.5, h - (row - area.y as f64) - 0.5);
    let mut segments: Vec<(f64, f64, f64, f64, Color)> = Vec::new();
    let mut heads: Vec<(u16, u16, Meaning)> = Vec::new();
    for (e, (a, b)) in edges.iter().enumerate() {
        let (Some(s), Some(t)) = (find(a), find(b)) else {
            continue;
        };
        let Some(&(_, ex)) = entries.iter().find(|x| x.0 == e) else {
            continue;
        };
        let m = edge_meaning(a, b);
        let start = (s.x as f64 + s.w as f64 / 2.0, (s.y + s.h) as f64);
        let end = (ex as f64, t.y as f64 - 1.0);
        let mut points = vec![start];
        // Waypoints beside the intermediate layers for edges that skip layers.
        for l in s.layer + 1..t.layer {
            let row_boxes: Vec<&Placed> = placed
                .iter()
                .map(|p| &p.1)
                .filter(|p| p.layer == l)
                .collect();
            let (left, right) = row_boxes
                .iter()
                .fold((area.right(), area.x), |(lo, hi), p| {
                    (lo.min(p.x), hi.max(p.x + p.w))
                });
            let mid = (area.x + area.width / 2) as f64;
            let x = if start.0 < mid {
                left.saturating_sub(2).max(area.x) as f64
            } else {
                (right + 1).min(area.right() - 1) as f64
            };
            let y = row_boxes
                .first()
                .map_or(0.0, |p| p.y as f64 + p.h as f64 / 2.0);
            points.push((x, y));
        }
        points.push(end);
        for pair in points.windows(2) {
            let (x1, y1) = to_canvas(pair[0].0, pair[0].1);
            let (x2, y2) = to_canvas(pair[1].0, pair[1].1);
            segments.push((x1, y1, x2, y2, color(m)));
        }
        heads.push((ex, t.y.saturating_sub(1), m));
    }
    Canvas::default()
        .marker(Marker::Braille)
        .x_bounds([0.0, w])
        .y_bounds([0.0, h])
        .paint(|ctx| {
            for &(x1, y1, x2, y2, c) in &segments {
                ctx.draw(&CanvasLine::new(x1, y1, x2, y2, c));
            }
        })
        .render(area, buf);
    for (x, y, m) in heads {
        if y >= area.y {
            put(buf, x, y, "▼", m, 1);
        }
    }
    for (layer, nodes) in layers.iter().enumerate() {
        for node in nodes {
            let Some(p) = find(&node.name) else { continue };
            debug_assert_eq!(p.layer, layer);
            let r = Rect::new(p.x, p.y, p.w, p.h).intersection(area);
            if p.h == 3 {
                let block = Block::bordered().border_style(style(node.meaning));
                let inner = block.inner(r);
                ratatui::widgets::Clear.render(r, buf);
                block.render(r, buf);
                put(
                    buf,
                    inner.x + 1,
                    inner.y,
                    &node.label,
                    node.meaning,
                    inner.width.saturating_sub(1),
                );
            } else {
                put(
                    buf,
                    r.x,
                    r.y,
                    &format!("[{}]", node.label),
                    node.meaning,
                    r.width,
                );
            }
        }
    }
}
