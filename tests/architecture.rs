//! Imports run one way: data → model → train / eval → explain / analysis → cli / ui → main.
//!
//! Scans every file under `src/` and fails when a library module reaches up into `cli` (which
//! holds the bench command) or `ui`, when `ui` reaches into `cli`, or when `data` imports
//! anything but `error` and `runtime`. Paths are resolved the way rustc does for
//! `crate::`, `self::` and `super::` (inline `mod tests { … }` blocks included), in `use` trees
//! with `{a, b::c}` groups and in inline paths such as `crate::cli::x(…)`; comments and string
//! literals are skipped.

use std::path::{Path, PathBuf};

/// Top-level modules that only the binary side may import.
const FRONT: [&str; 2] = ["cli", "ui"];
/// What `data`, the bottom layer, may import.
const DATA_MAY_USE: [&str; 3] = ["data", "error", "runtime"];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Other(char),
}

/// Tokens of Rust source without comments, string/char literals and whitespace.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r'
            && (next == Some('#') || next == Some('"'))
            && raw_string_end(&c, i).is_some()
        {
            i = raw_string_end(&c, i).unwrap_or(c.len());
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip the literal only.
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            if !ch.is_whitespace() {
                out.push(match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    ';' => Tok::Semi,
                    _ => Tok::Other(ch),
                });
            }
            i += 1;
        }
    }
    out
}

/// End (exclusive) of a raw string literal `r#"…"#` starting at `i`, if one starts there.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(c.len())
}

/// The module path of a file under `src/` (`src/train/checkpoint.rs` → `[train, checkpoint]`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// Every crate-relative path in `src`, resolved to an absolute path (`["::", top, …]`).
fn crate_paths(module: &[String], src: &str) -> Vec<Vec<String>> {
    let t = tokens(src);
    let mut paths = Vec::new();
    // Inline modules: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(k) if k == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (t.get(i + 1), t.get(i + 2)) {
                    inline.push((name.clone(), depth));
                }
            }
            Tok::Ident(k) if matches!(k.as_str(), "crate" | "self" | "super" | "mclmr") => {
                let prev_is_sep = i > 0 && t[i - 1] == Tok::PathSep;
                if !prev_is_sep && t.get(i + 1) == Some(&Tok::PathSep) {
                    let mut here: Vec<String> = module.to_vec();
                    here.extend(inline.iter().map(|m| m.0.clone()));
                    let (end, found) = parse_tree(&t, i, &here, Vec::new());
                    paths.extend(found);
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    paths
}

/// Parses a path (and its `{…}` groups) starting at `t[i]`; returns the index after it and the
/// absolute paths it names.
fn parse_tree(
    t: &[Tok],
    mut i: usize,
    here: &[String],
    prefix: Vec<String>,
) -> (usize, Vec<Vec<String>>) {
    let mut path = prefix;
    let mut out = Vec::new();
    loop {
        match t.get(i) {
            Some(Tok::Ident(s)) => {
                match s.as_str() {
                    "crate" | "mclmr" if path.is_empty() => path = vec!["::".into()],
                    "self" if path.is_empty() => {
                        path = [vec!["::".to_string()], here.to_vec()].concat()
                    }
                    "self" => {}
                    "super" => {
                        if path.is_empty() {
                            path = [vec!["::".to_string()], here.to_vec()].concat();
                        }
                        if path.len() > 1 {
                            path.pop();
                        }
                    }
                    _ => path.push(s.clone()),
                }
                i += 1;
                if t.get(i) == Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                out.push(path);
                return (i, out);
            }
            Some(Tok::Open) => {
                i += 1;
                while i < t.len() && t[i] != Tok::Close {
                    if t[i] == Tok::Comma {
                        i += 1;
                        continue;
                    }
                    if t[i] == Tok::Other('*') {
                        out.push(path.clone());
                        i += 1;
                        continue;
                    }
                    let (end, found) = parse_tree(t, i, here, path.clone());
                    out.extend(found);
                    // Skip `as name` and anything else up to the next element.
                    i = end;
                    while i < t.len() && t[i] != Tok::Comma && t[i] != Tok::Close {
                        i += 1;
                    }
                }
                return (i + 1, out);
            }
            _ => {
                out.push(path);
                return (i, out);
            }
        }
    }
}

/// The rule broken by `file` (module path) importing `target` (absolute path), if any.
fn broken_rule(module: &[String], target: &[String]) -> Option<String> {
    let from = module.first().map(String::as_str).unwrap_or("");
    let to = target.get(1).map(String::as_str).unwrap_or("");
    let is_main = module.is_empty() && from.is_empty();
    if is_main {
        return None;
    }
    let front = |m: &str| FRONT.contains(&m);
    if !front(from) && front(to) {
        return Some(format!("library module `{from}` imports `{to}`"));
    }
    if from == "ui" && to == "cli" {
        return Some("`ui` imports `cli`".into());
    }
    if from == "data" && !DATA_MAY_USE.contains(&to) {
        return Some(format!(
            "`data` imports `{to}` (it may import only {DATA_MAY_USE:?})"
        ));
    }
    None
}

fn violations(rel: &Path, src: &str) -> Vec<String> {
    let name = rel.to_string_lossy();
    if name == "main.rs" || name == "lib.rs" {
        return Vec::new();
    }
    let module = module_of(rel);
    crate_paths(&module, src)
        .into_iter()
        .filter_map(|p| {
            broken_rule(&module, &p)
                .map(|why| format!("src/{name}: {why} (`{}`)", p[1..].join("::")))
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn imports_run_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let mut bad = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).expect("source readable");
        bad.extend(violations(f.strip_prefix(&root).expect("under src"), &src));
    }
    assert!(
        bad.is_empty(),
        "imports must run data → model → train / eval → explain / analysis → cli / ui → main; \
         move the shared code down a layer instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scanner_catches_each_form_of_import() {
    let caught = |file: &str, src: &str| !violations(Path::new(file), src).is_empty();
    // Groups, nested groups, inline paths, `super` chains and inline test modules.
    assert!(caught(
        "train/run.rs",
        "use crate::{data::Dataset, cli::DataOpts};"
    ));
    assert!(caught(
        "eval.rs",
        "use crate::{model::{Mode, Ranker}, ui::{App, bench}};"
    ));
    assert!(caught(
        "train/run.rs",
        "fn f() { let d = crate::cli::model_cmd::load_data(p); }"
    ));
    assert!(caught("train/checkpoint.rs", "use super::super::ui::App;"));
    assert!(caught(
        "analysis/bias.rs",
        "mod tests { use super::super::super::cli::x; }"
    ));
    assert!(caught("ui/app.rs", "use crate::cli::model_cmd::open;"));
    assert!(caught(
        "ui/update/train.rs",
        "use super::super::super::cli::bench;"
    ));
    assert!(caught("data/load.rs", "use crate::model::Config;"));
    assert!(caught(
        "memory.rs",
        "pub fn f() -> crate::cli::bench::BenchArgs { todo!() }"
    ));
    // Not imports: comments, doc links, strings; and the allowed directions.
    assert!(!caught(
        "eval.rs",
        "// crate::cli::x\n/// [`crate::ui::App`]\nconst S: &str = \"crate::ui\";"
    ));
    assert!(!caught(
        "eval.rs",
        "const S: &str = r#\"crate::cli \"#; use crate::model::Ranker;"
    ));
    assert!(!caught(
        "cli/bench.rs",
        "use crate::ui::App; use crate::cli::DataOpts;"
    ));
    assert!(!caught(
        "ui/app.rs",
        "use crate::{data::Dataset, train::checkpoint::restore};"
    ));
    assert!(!caught(
        "train/checkpoint.rs",
        "mod tests { use super::*; }"
    ));
    assert!(!caught(
        "data/prepare.rs",
        "use crate::runtime::epoch_rng; use super::Dataset;"
    ));
}
