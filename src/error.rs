//! Typed errors of the library. Every bad-input error carries the file, the line (when there
//! is one), the offending value and a sentence saying how to fix it; the binary maps
//! [`Error::exit_code`] to the process status (2 for bad input, 1 for everything else).

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `mclmr`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or inconsistent input data: exit code 2.
    #[error("{file}{line}: {problem}: `{value}`\n  fix: {fix}", file = .file.display(), line = fmt_line(*.line))]
    BadData {
        /// File the problem was found in.
        file: PathBuf,
        /// 1-based line number, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong, e.g. "non-numeric user id".
        problem: String,
        /// The offending value as found in the file (shortened).
        value: String,
        /// How the user can fix it.
        fix: String,
    },
    /// A bad command-line argument or config value: exit code 2.
    #[error("{what}: `{value}`\n  fix: {fix}")]
    BadArg {
        /// What is wrong.
        what: String,
        /// The offending value.
        value: String,
        /// How to fix it.
        fix: String,
    },
    /// A checkpoint that cannot be used (corrupt, truncated, other dataset or config): exit code 2.
    #[error("{file}: {problem}\n  fix: {fix}", file = .file.display())]
    BadCheckpoint {
        /// The checkpoint file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
    /// A sound checkpoint trained on another dataset than the one given: exit code 2. Its own
    /// variant because the explorer opens on a baseline instead of stopping.
    #[error("{file}: {problem}\n  fix: {fix}", file = .file.display())]
    WrongDataset {
        file: PathBuf,
        problem: String,
        fix: String,
    },
    /// An I/O failure on a named path, with the OS reason and a fix: exit code 2.
    #[error("{path}: {source}\n  fix: {fix}", path = .path.display(), fix = io_fix(.source))]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The work needs more memory than is available (see [`crate::memory`]): exit code 2.
    #[error("{problem}\n  fix: {fix}")]
    TooLarge {
        /// What needs how much, and how much there is.
        problem: String,
        /// What to lower.
        fix: String,
    },
    /// Training stopped on a non-finite loss or gradient.
    #[error("training diverged at epoch {epoch}, batch {batch}: {what} is not finite\n  fix: lower the learning rate (lr) or the loss weights; the last good checkpoint was kept")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// Which quantity went non-finite.
        what: String,
    },
    /// The run was cancelled (Ctrl-C, SIGTERM or the explorer's cancel key).
    #[error("cancelled")]
    Cancelled,
    /// An error from the tensor library.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

/// How to fix an I/O failure, by its kind.
fn io_fix(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "check the path (and that its directory exists)",
        K::PermissionDenied => {
            "give this user access to the path (e.g. `chmod a+r` to read, `chmod u+w` on the directory to write), or run as its owner"
        }
        K::IsADirectory => "name a file here, not a directory",
        K::NotADirectory => "name a directory here, not a file",
        K::StorageFull => "free some disk space, or write to another disk",
        K::ReadOnlyFilesystem => "write to a writable location",
        _ => "check that the path exists and is accessible (the OS reason is above)",
    }
}

fn fmt_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl Error {
    /// Shorthand for a [`Error::BadData`] error.
    pub fn bad_data(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        problem: impl Into<String>,
        value: impl AsRef<str>,
        fix: impl Into<String>,
    ) -> Self {
        Error::BadData {
            file: file.into(),
            line,
            problem: problem.into(),
            value: shorten(value.as_ref()),
            fix: fix.into(),
        }
    }

    /// Shorthand for a [`Error::BadArg`] error.
    pub fn bad_arg(
        what: impl Into<String>,
        value: impl AsRef<str>,
        fix: impl Into<String>,
    ) -> Self {
        Error::BadArg {
            what: what.into(),
            value: shorten(value.as_ref()),
            fix: fix.into(),
        }
    }

    /// Shorthand for an [`Error::Io`] error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Process exit status for this error: 2 for anything the user can fix in their input.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadData { .. }
            | Error::BadArg { .. }
            | Error::BadCheckpoint { .. }
            | Error::WrongDataset { .. }
            | Error::Io { .. }
            | Error::TooLarge { .. } => 2,
            Error::Cancelled => 130,
            _ => 1,
        }
    }
}

/// Shortens a value for an error message: at most 60 characters, control bytes escaped.
pub fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).flat_map(char::escape_debug).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}
