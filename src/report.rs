//! `mclmr report`: one self-contained HTML or Markdown file to share (issue 16): the dataset
//! card, the causal graph, `do`/`raw` metrics, the bias figures as inline SVG, the most pushed
//! items and the explanations of a few sampled users. No scripts, no network, no external
//! assets; the HTML is well-formed XML (XHTML syntax) so that a test can parse it.

pub mod svg;

use std::path::Path;

use crate::analysis::ranking::top_k_scored;
use crate::analysis::{bias, sample};
use crate::data::stats::DataStats;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval;
use crate::explain::explain;
use crate::model::causal_graph::CausalGraph;
use crate::model::{Mode, Ranker};
use svg::esc;

/// What goes into a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// List length of the bias figures.
    pub k: usize,
    /// Users whose explanations are shown.
    pub users: usize,
    /// How the model is named in the title.
    pub model_name: String,
}

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.html` / `.htm`.
    Html,
    /// `.md`.
    Markdown,
}

impl Format {
    /// The format of `out`, or an error naming the extension and the fix.
    pub fn of(out: &Path) -> Result<Format> {
        match out.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => Ok(Format::Html),
            Some("md") => Ok(Format::Markdown),
            _ => Err(Error::bad_arg(
                "unknown report format",
                out.display().to_string(),
                "end --out with .html or .md",
            )),
        }
    }
}

/// A document being written in one of the formats.
struct Doc {
    fmt: Format,
    body: String,
}

impl Doc {
    fn h(&mut self, level: usize, text: &str) {
        match self.fmt {
            Format::Html => self
                .body
                .push_str(&format!("<h{level}>{}</h{level}>\n", esc(text))),
            Format::Markdown => self
                .body
                .push_str(&format!("{} {text}\n\n", "#".repeat(level))),
        }
    }

    fn p(&mut self, text: &str) {
        match self.fmt {
            Format::Html => self.body.push_str(&format!("<p>{}</p>\n", esc(text))),
            Format::Markdown => self.body.push_str(&format!("{text}\n\n")),
        }
    }

    fn pre(&mut self, text: &str) {
        match self.fmt {
            Format::Html => self.body.push_str(&format!("<pre>{}</pre>\n", esc(text))),
            Format::Markdown => self.body.push_str(&format!("```text\n{text}\n```\n\n")),
        }
    }

    fn svg(&mut self, svg: &str) {
        self.body
            .push_str(&format!("<div class=\"figure\">{svg}</div>\n\n"));
    }

    fn table(&mut self, head: &[&str], rows: &[Vec<String>]) {
        match self.fmt {
            Format::Html => {
                self.body.push_str("<table><thead><tr>");
                for h in head {
                    self.body.push_str(&format!("<th>{}</th>", esc(h)));
                }
                self.body.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    self.body.push_str("<tr>");
                    for c in r {
                        self.body.push_str(&format!("<td>{}</td>", esc(c)));
                    }
                    self.body.push_str("</tr>\n");
                }
                self.body.push_str("</tbody></table>\n");
            }
            Format::Markdown => {
                let cell = |s: &str| s.replace('|', "\\|");
                self.body.push_str(&format!("| {} |\n", head.join(" | ")));
                self.body
                    .push_str(&format!("|{}\n", " --- |".repeat(head.len())));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
                    self.body.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                self.body.push('\n');
            }
        }
    }

    fn finish(self, title: &str) -> String {
        match self.fmt {
            Format::Html => format!(
                "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\
                 <head><meta charset=\"utf-8\"/><title>{t}</title><style>\
                 body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}\
                 table{{border-collapse:collapse;margin:1em 0}}\
                 td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
                 pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}\
                 </style></head><body>\n<h1>{t}</h1>\n{}</body></html>\n",
                self.body,
                t = esc(title)
            ),
            Format::Markdown => format!("# {title}\n\n{}", self.body),
        }
    }
}

fn f4(x: f64) -> String {
    format!("{x:.4}")
}

/// The report of `ranker` on `data`, in the format of `out`'s extension.
pub fn build(ranker: &Ranker, data: &Dataset, o: &ReportOptions, out: &Path) -> Result<String> {
    let mut doc = Doc {
        fmt: Format::of(out)?,
        body: String::new(),
    };
    doc.p(&format!(
        "Model {} on dataset {}. Generated by mclmr {}.",
        o.model_name,
        data.name,
        env!("CARGO_PKG_VERSION")
    ));

    doc.h(2, "Dataset");
    doc.pre(&DataStats::compute(data).card());

    graph_section(&mut doc, data);

    metrics_section(&mut doc, ranker, data)?;

    if ranker.has_causal() {
        bias_section(&mut doc, ranker, data, o.k)?;
    } else {
        doc.h(2, "Bias");
        doc.p("This model has no confounder terms (plain or rule): do and raw rank alike.");
    }

    explanations_section(&mut doc, ranker, data, o.users)?;
    Ok(doc.finish(&format!("mclmr report: {}", data.name)))
}

/// The causal graph as SVG and the backdoor verdict.
fn graph_section(doc: &mut Doc, data: &Dataset) {
    doc.h(2, "Causal graph");
    let names = data.behavior_names();
    let aux: Vec<String> = names[..names.len().saturating_sub(1)].to_vec();
    let g = CausalGraph::mclmr(&aux);
    let verdict = g.mclmr_verdict();
    doc.svg(&svg::dag("MCLMR causal graph", &g.layers(), &g.edges()));
    doc.p(&format!(
        "Backdoor adjustment by the strata of H and G: {} ({})",
        if verdict.holds { "holds" } else { "fails" },
        verdict.reason
    ));
}

/// `do` / `raw` metrics and the bias figures of the full-ranking evaluation.
fn metrics_section(doc: &mut Doc, ranker: &Ranker, data: &Dataset) -> Result<()> {
    doc.h(2, "Metrics on the test split");
    let rep = eval::full_report(ranker, data)?;
    let mut keys: Vec<&String> = rep.do_.keys().collect();
    keys.sort_by_key(|k| (k.split('@').nth(1).and_then(|n| n.parse::<u32>().ok()), *k));
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.to_string(),
                f4(rep.do_[*k]),
                f4(*rep.raw.get(*k).unwrap_or(&0.0)),
            ]
        })
        .collect();
    doc.p(&format!("{} test users.", rep.users));
    doc.table(&["metric", "do", "raw"], &rows);
    let brows: Vec<Vec<String>> = rep
        .bias
        .iter()
        .map(|(m, b)| {
            vec![
                m.clone(),
                format!("{:.1}", b.mean_popularity),
                f4(b.coverage),
                f4(b.gini),
                f4(b.longtail_hr10),
            ]
        })
        .collect();
    doc.table(
        &[
            "mode",
            "mean popularity",
            "coverage",
            "gini",
            "long-tail HR@10",
        ],
        &brows,
    );
    Ok(())
}

/// The score split of the top item of `users` sampled test users.
fn explanations_section(
    doc: &mut Doc,
    ranker: &Ranker,
    data: &Dataset,
    users: usize,
) -> Result<()> {
    doc.h(2, "Explanations of sampled users");
    let mut test_users: Vec<u32> = data.test.iter().map(|&(u, _)| u).collect();
    test_users.dedup();
    for r in sample::nodes(test_users.len(), users, 7) {
        let u = test_users[r];
        let mask = data.target_train().user_items(u);
        let Some(&(i, _)) = top_k_scored(ranker, u, Mode::Do, 1, &mask)?.first() else {
            continue;
        };
        let e = explain(ranker, data, u, i);
        doc.h(3, &format!("User {}: top item {}", e.user, e.item));
        let mut rows = vec![
            vec!["score do".into(), f4(f64::from(e.score_do))],
            vec!["score raw".into(), f4(f64::from(e.score_raw))],
            vec!["target term".into(), f4(f64::from(e.target_term))],
        ];
        for x in &e.experts {
            rows.push(vec![
                format!("expert {} (g={:.3})", x.name, x.gate),
                f4(f64::from(x.term)),
            ]);
        }
        for x in &e.evidence {
            rows.push(vec![
                format!("evidence {} (n={})", x.behavior, x.count),
                f4(f64::from(x.term)),
            ]);
        }
        rows.push(vec!["raw − do".into(), f4(f64::from(e.raw_minus_do))]);
        doc.table(&["term", "value"], &rows);
    }
    Ok(())
}

fn bias_section(doc: &mut Doc, ranker: &Ranker, data: &Dataset, k: usize) -> Result<()> {
    let a = bias::analyse(ranker, data, k, 15, &|_, _| {})?;
    doc.h(2, &format!("Bias: top-{k} exposure of {} users", a.users));
    let labels: Vec<String> = a.deciles.iter().map(|d| d.decile.to_string()).collect();
    doc.svg(&svg::bars(
        "Exposure share by popularity decile (1 = least popular)",
        &labels,
        &[
            ("do", a.deciles.iter().map(|d| d.share_do).collect()),
            ("raw", a.deciles.iter().map(|d| d.share_raw).collect()),
        ],
    ));
    let slabels: Vec<String> = a.strata.iter().map(|s| s.stratum.to_string()).collect();
    doc.svg(&svg::bars(
        "do vs raw top-K overlap per user habit stratum",
        &slabels,
        &[
            ("Jaccard", a.strata.iter().map(|s| s.jaccard).collect()),
            ("RBO", a.strata.iter().map(|s| s.rbo).collect()),
        ],
    ));
    let srows: Vec<Vec<String>> = a
        .strata
        .iter()
        .map(|s| {
            vec![
                s.stratum.to_string(),
                s.users.to_string(),
                f4(s.jaccard),
                f4(s.rbo),
                format!("{:+.4}", s.push),
            ]
        })
        .collect();
    doc.table(
        &["user stratum", "users", "Jaccard", "RBO", "mean push"],
        &srows,
    );
    doc.h(3, "Most pushed items (mean raw − do over all users)");
    let rows: Vec<Vec<String>> = a
        .most_pushed
        .iter()
        .map(|r| {
            let meta: Vec<String> = r.meta.iter().map(|(c, v)| format!("{c}={v}")).collect();
            vec![
                r.item.clone(),
                r.stratum.to_string(),
                r.popularity.to_string(),
                format!("{:+.4}", r.push),
                r.exposure_do.to_string(),
                r.exposure_raw.to_string(),
                meta.join(" "),
            ]
        })
        .collect();
    doc.table(
        &[
            "item",
            "stratum",
            "popularity",
            "push",
            "exposure do",
            "exposure raw",
            "meta",
        ],
        &rows,
    );
    Ok(())
}
