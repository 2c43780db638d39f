//! Running this binary as a child process. `bench` and `grid` run each measured step in its own
//! process, so that its peak RSS is its own and a crash ends that step, not the command.

use std::process::Command;

use serde_json::Value;

/// Runs `mclmr <args>` and parses the JSON it prints on its last non-empty stdout line. The
/// error names the subcommand, its exit status and the last lines of its stderr.
pub fn run_json(args: &[String]) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the mclmr binary: {e}"))?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start mclmr: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(4).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "`mclmr {}` exited with {}: {}",
            args.first().map(String::as_str).unwrap_or(""),
            out.status.code().unwrap_or(-1),
            tail.join(" | ")
        ));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("unreadable JSON from mclmr: {e}"))
}
