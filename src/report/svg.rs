//! Small inline SVG charts for the report: grouped bars and a layered DAG. Hand-written (a few
//! dozen lines) rather than plotters, whose build on this project's 2-core machines costs more
//! than the charts are worth; the output is well-formed XML, which the report test parses.

/// Escapes text for XML and HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Colors of the series (`do`, `raw`, …).
const COLORS: [&str; 3] = ["#1f77b4", "#d62728", "#2ca02c"];

/// A grouped bar chart: one group per label, one bar per series; `title` names the chart.
pub fn bars(title: &str, labels: &[String], series: &[(&str, Vec<f64>)]) -> String {
    let (w, h, left, bottom, top) = (640.0, 260.0, 50.0, 40.0, 30.0);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let n = labels.len().max(1) as f64;
    let gw = (w - left - 10.0) / n;
    let bw = gw * 0.8 / series.len().max(1) as f64;
    let ph = h - bottom - top;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"{left}\" y=\"18\" font-size=\"14\" font-family=\"sans-serif\">{t}</text>\
         <line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <text x=\"4\" y=\"{yt}\" font-size=\"10\" font-family=\"sans-serif\">{max:.3}</text>",
        t = esc(title),
        y0 = h - bottom,
        x1 = w - 10.0,
        yt = top + 4.0,
    );
    for (g, label) in labels.iter().enumerate() {
        let gx = left + g as f64 * gw + gw * 0.1;
        for (k, (name, v)) in series.iter().enumerate() {
            let val = v.get(g).copied().unwrap_or(0.0).max(0.0);
            let bh = ph * val / max;
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {:.4}</title></rect>",
                gx + k as f64 * bw,
                h - bottom - bh,
                bw,
                bh,
                COLORS[k % COLORS.len()],
                esc(name),
                esc(label),
                val
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" \
             font-family=\"sans-serif\">{}</text>",
            gx + gw * 0.4,
            h - bottom + 14.0,
            esc(label)
        ));
    }
    for (k, (name, _)) in series.iter().enumerate() {
        let x = w - 150.0 + k as f64 * 70.0;
        s.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" font-family=\"sans-serif\">{}</text>",
            COLORS[k % COLORS.len()],
            x + 14.0,
            h - 6.0,
            esc(name),
            y = h - 15.0,
        ));
    }
    s.push_str("</svg>");
    s
}

/// A layered DAG: `layers[k]` are the node names at depth `k`, drawn left to right.
pub fn dag(title: &str, layers: &[Vec<String>], edges: &[(String, String)]) -> String {
    let (cw, rh) = (140.0, 56.0);
    let rows = layers.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let (w, h) = (cw * layers.len() as f64 + 20.0, rh * rows + 40.0);
    let mut pos = std::collections::HashMap::new();
    for (c, layer) in layers.iter().enumerate() {
        for (r, name) in layer.iter().enumerate() {
            pos.insert(name.as_str(), (30.0 + c as f64 * cw, 50.0 + r as f64 * rh));
        }
    }
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" \
         fill=\"#555\"/></marker></defs>",
        t = esc(title)
    );
    for (a, b) in edges {
        if let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(a.as_str()), pos.get(b.as_str())) {
            s.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{y2:.1}\" stroke=\"#555\" \
                 marker-end=\"url(#arrow)\"/>",
                x1 + 60.0,
                x2 - 2.0
            ));
        }
    }
    for (name, &(x, y)) in &pos {
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"60\" height=\"22\" rx=\"5\" fill=\"#eef\" \
             stroke=\"#335\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" \
             text-anchor=\"middle\" font-family=\"sans-serif\">{}</text>",
            y - 11.0,
            x + 30.0,
            y + 4.0,
            esc(name)
        ));
    }
    s.push_str("</svg>");
    s
}
