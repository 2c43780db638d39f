//! Which files make an event log: `[events] file` (a path or a glob) or the only log file of
//! a directory.

use std::path::{Path, PathBuf};

use super::is_event_log;
use crate::error::{Error, Result};

/// The event-log files of a directory and the path that names the log: `[events] file`
/// (relative to the directory; `*` and `?` in its file name match several files, read in name
/// order) or the only `.csv` / `.tsv` / `.parquet` file in it.
pub fn events_files(dir: &Path, file: Option<&Path>) -> Result<(Vec<PathBuf>, PathBuf)> {
    match file {
        Some(f) => {
            let p = dir.join(f);
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.contains(['*', '?']) {
                let parent = p.parent().unwrap_or(dir);
                let mut found = Vec::new();
                let entries = std::fs::read_dir(parent).map_err(|e| {
                    Error::bad_data(parent, None, format!("cannot list the folder of the glob ({})", crate::data::textscan::os_reason(&e)), f.display().to_string(), "fix `file` in the [events] table of dataset.toml (relative to the dataset directory)")
                })?;
                for entry in entries {
                    let e = entry.map_err(|e| Error::io(parent, e))?.path();
                    let matches = e
                        .file_name()
                        .is_some_and(|n| wildcard(name.as_bytes(), n.to_string_lossy().as_bytes()));
                    if matches && e.is_file() {
                        found.push(e);
                    }
                }
                found.sort();
                if found.is_empty() {
                    return Err(Error::bad_data(
                        &p,
                        None,
                        "no file matches the event-log glob",
                        f.display().to_string(),
                        "fix `file` in the [events] table of dataset.toml (`*` matches any run of characters, `?` one; relative to the dataset directory)",
                    ));
                }
                return Ok((found, p));
            }
            if p.is_file() {
                Ok((vec![p.clone()], p))
            } else {
                Err(Error::bad_data(
                    &p,
                    None,
                    if p.exists() { "event log is not a file" } else { "event log does not exist" },
                    f.display().to_string(),
                    "fix `file` in the [events] table of dataset.toml (relative to the dataset directory)",
                ))
            }
        }
        None => {
            let p = lone_event_log(dir)?.ok_or_else(|| {
                Error::bad_data(
                    dir,
                    None,
                    "no event log found (layout = \"events\" needs exactly one .csv/.tsv/.parquet file)",
                    dir.display().to_string(),
                    "name the file in dataset.toml: [events] file = \"events.csv\" (or a glob such as \"part-*.csv\")",
                )
            })?;
            Ok((vec![p.clone()], p))
        }
    }
}

/// Shell-style match of a file name: `*` any run of bytes, `?` one byte.
fn wildcard(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// The only event-log file of a directory that holds no `test.txt`, if there is exactly one.
pub fn lone_event_log(dir: &Path) -> Result<Option<PathBuf>> {
    if dir.join("test.txt").exists() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.is_file() && is_event_log(&p) {
            found.push(p);
        }
    }
    Ok(if found.len() == 1 { found.pop() } else { None })
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        let m = |p: &str, n: &str| wildcard(p.as_bytes(), n.as_bytes());
        assert!(m("JData_Action_2016*.csv", "JData_Action_201602.csv"));
        assert!(m("part-?.csv", "part-1.csv"));
        assert!(m("*", "x"));
        assert!(!m("JData_Action_2016*.csv", "JData_Action_201602.csv.bak"));
        assert!(!m("part-?.csv", "part-12.csv"));
        assert!(m("a*b*c", "aXbYbc"));
    }
}
