//! Writing files so that a crash or Ctrl-C never leaves half of one: checkpoints, exports,
//! reports, synthetic data and the explorer's files go through [`write`] or [`write_with`]
//! (a temporary file in the same directory, fsync, rename over the target); result rows go
//! through [`append_line`] (one write of a whole line, then fsync).
//!
//! The temporary file is `tempfile`'s: a unique name beside the target, removed when the write
//! fails, so two processes writing the same path cannot trample each other's half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically from a writer (buffered; for files too large to build in memory).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::bad_arg(
            "output directory does not exist",
            dir.display().to_string(),
            "create the directory first or choose another --out path",
        ));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mclmr-").suffix(".tmp");
    // tempfile creates 0600 files; a written file gets the usual 0666 minus the umask instead.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
    fill(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(path, e))?;
    let tmp = out
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Appends `line` and a newline to `path` (created when missing) in one write, then fsyncs:
/// a crash leaves whole lines only.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|_| f.sync_data())
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // A failed fill keeps the old file and removes the temporary one.
        let err = write_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk gone"))
        });
        assert!(err.unwrap_err().to_string().contains("disk gone"));
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        append_line(&dir.path().join("rows"), "{}").unwrap();
        append_line(&dir.path().join("rows"), "[]").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rows")).unwrap(),
            "{}\n[]\n"
        );
        let missing = write(&dir.path().join("no/such/dir/x"), b"x").unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
    }
}
