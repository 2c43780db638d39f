//! The resource guard: how much memory this process may use, how much a load, a training run
//! or an evaluation will need, and an early, explained failure when the need is larger.
//!
//! Why: a dataset too large for the machine would otherwise be killed by the OS minutes into a
//! run, with no message. The available memory is the smaller of the kernel's `MemAvailable`
//! and the headroom under this process's cgroup limit (v2 or v1); `--max-memory` replaces it.
//! When neither is known the guard stays silent. The estimates ([`estimate`]) are calibrated
//! against measured peak RSS and err on the high side.

pub mod estimate;

use std::path::Path;

use crate::error::{Error, Result};
pub use estimate::{Estimate, Shape};

/// How much memory the process may use, and where that figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    pub bytes: u64,
    /// `MemAvailable`, `the cgroup limit` or `--max-memory`.
    pub source: &'static str,
}

/// What the guard compares against: the detected memory, or a fixed budget (`--max-memory`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Budget {
    /// Detect with [`available`] (no guard when nothing can be read).
    #[default]
    Detect,
    /// A fixed number of bytes.
    Fixed(u64),
}

impl Budget {
    /// `Fixed` when a size was given, `Detect` otherwise.
    pub fn from_flag(max_memory: Option<u64>) -> Self {
        max_memory.map_or(Budget::Detect, Budget::Fixed)
    }

    /// The memory this budget allows, if known.
    pub fn available(self) -> Option<Available> {
        match self {
            Budget::Detect => available(),
            Budget::Fixed(bytes) => Some(Available {
                bytes,
                source: "--max-memory",
            }),
        }
    }
}

/// The memory this process can still use: the smaller of `MemAvailable` (/proc/meminfo) and
/// the headroom under the cgroup limit; `None` when neither can be read (no guard then).
pub fn available() -> Option<Available> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let mem = read("/proc/meminfo")
        .as_deref()
        .and_then(meminfo_available)
        .map(|bytes| Available {
            bytes,
            source: "MemAvailable",
        });
    let cg = read("/proc/self/cgroup")
        .and_then(|c| cgroup_headroom(&c))
        .map(|bytes| Available {
            bytes,
            source: "the cgroup memory limit",
        });
    match (mem, cg) {
        (Some(a), Some(b)) => Some(if b.bytes < a.bytes { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Peak resident set size of this process in MiB (`VmHWM`), 0 when unknown.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
pub fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut f = line.split_whitespace().skip(1);
    let v: u64 = f.next()?.parse().ok()?;
    let unit = match f.next() {
        Some("kB") | Some("KB") => 1024,
        None => 1,
        Some(_) => return None,
    };
    v.checked_mul(unit)
}

/// Headroom under this process's cgroup memory limit (v2 `memory.max`, else v1
/// `memory.limit_in_bytes`), given the text of /proc/self/cgroup; `None` without a limit.
fn cgroup_headroom(proc_cgroup: &str) -> Option<u64> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        let (root, files) = if ctrl.is_empty() {
            (
                "/sys/fs/cgroup",
                ["memory.max", "memory.current", "inactive_file"],
            )
        } else if ctrl.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                [
                    "memory.limit_in_bytes",
                    "memory.usage_in_bytes",
                    "total_inactive_file",
                ],
            )
        } else {
            continue;
        };
        // Inside a cgroup namespace the own group is the mount root; otherwise it is `rel`.
        for dir in [Path::new(root).join(rel), Path::new(root).to_path_buf()] {
            if let (Some(limit), Some(usage)) =
                (read(&dir.join(files[0])), read(&dir.join(files[1])))
            {
                let stat = read(&dir.join("memory.stat")).unwrap_or_default();
                if let Some(h) = headroom(&limit, &usage, &stat, files[2]) {
                    return Some(h);
                }
            }
        }
    }
    None
}

/// `limit − (usage − reclaimable page cache)`; `None` for no limit (`max`, or v1's huge value).
pub fn headroom(limit: &str, usage: &str, stat: &str, inactive_key: &str) -> Option<u64> {
    let limit: u64 = limit.trim().parse().ok()?;
    if limit >= 1 << 60 {
        return None;
    }
    let usage: u64 = usage.trim().parse().ok()?;
    let inactive = stat
        .lines()
        .find_map(|l| {
            l.strip_prefix(inactive_key)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0u64);
    Some(limit.saturating_sub(usage.saturating_sub(inactive)))
}

/// Parses a size: plain bytes (`1048576`) or a number with a unit, `K`/`M`/`G`/`T`, optionally
/// followed by `B` or `iB` (`512M`, `2G`, `1.5GiB`, `100 MB`). Units are binary (1 K = 1024
/// bytes), as for other memory caps.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let fix = "expected a size such as 512M, 2G, 1.5GiB or a number of bytes";
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("unknown unit `{unit}`: {fix}")),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size: {fix}"))?;
    let bytes = (v * (1u64 << shift) as f64).round();
    if bytes.is_nan() || bytes < 1.0 || bytes >= u64::MAX as f64 {
        return Err(format!("`{s}` is out of range: {fix} (at least 1 byte)"));
    }
    Ok(bytes as u64)
}

/// A size for people: `512 B`, `44.0 MiB`, `434 MiB`, `37.2 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Fails with [`Error::TooLarge`] when `est` needs more than the budget allows; `fix` says
/// what to lower. Passes when the budget is unknown.
pub fn ensure(est: &Estimate, budget: Budget, fix: &str) -> Result<()> {
    let Some(avail) = budget.available() else {
        return Ok(());
    };
    if est.total() <= avail.bytes {
        return Ok(());
    }
    Err(Error::TooLarge {
        problem: format!(
            "{} needs about {} ({}) but only {} is available ({})",
            est.what,
            format_size(est.total()),
            est.breakdown(),
            format_size(avail.bytes),
            avail.source
        ),
        fix: format!("{fix}, or pass --max-memory SIZE to override"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("100 MB"), Ok(100 << 20));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("3b"), Ok(3));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in [
            "",
            "abc",
            "-1",
            "1.5.2",
            "12X",
            "0",
            "0.1",
            "G",
            "1e3",
            "99999999999T",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("512M"), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes_format() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(44 << 20), "44.0 MiB");
        assert_eq!(format_size(434 << 20), "434 MiB");
        assert_eq!(format_size((372 << 30) / 10), "37.2 GiB");
    }

    #[test]
    fn meminfo_and_cgroup_files() {
        let text = "MemTotal:       24684092 kB\nMemFree: 1 kB\nMemAvailable:   22241900 kB\n";
        assert_eq!(meminfo_available(text), Some(22241900 * 1024));
        assert_eq!(meminfo_available("MemTotal: 1 kB\n"), None);
        let stat = "anon 100\ninactive_file 300\nactive_file 5\n";
        assert_eq!(
            headroom("1000\n", "500\n", stat, "inactive_file"),
            Some(800)
        );
        assert_eq!(headroom("max\n", "500", stat, "inactive_file"), None);
        assert_eq!(headroom("9223372036854771712", "5", "", "x"), None);
        assert_eq!(headroom("100", "500", "", "inactive_file"), Some(0));
        let v1 = "cache 9\ntotal_inactive_file 40\n";
        assert_eq!(headroom("100", "90", v1, "total_inactive_file"), Some(50));
    }

    #[test]
    fn budget_and_guard() {
        assert_eq!(
            Budget::from_flag(Some(5)).available(),
            Some(Available {
                bytes: 5,
                source: "--max-memory"
            })
        );
        let est = Estimate::new("training x", vec![("graphs", 3 << 30), ("data", 1 << 20)]);
        let e = ensure(&est, Budget::Fixed(1 << 30), "lower model.dim")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("training x needs about 3.0 GiB (graphs 3.0 GiB, data 1.0 MiB) but only 1.0 GiB is available (--max-memory)"),
            "{e}"
        );
        assert!(
            e.contains("fix: lower model.dim, or pass --max-memory"),
            "{e}"
        );
        assert!(ensure(&est, Budget::Fixed(4 << 30), "x").is_ok());
        // Whatever this machine reports, it is a positive number when known.
        if let Some(a) = available() {
            assert!(a.bytes > 0);
        }
    }
}
