//! [`Log`]: where a server's output goes, and the part of it a startup failure should show.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::process::Stdio;

/// A server's log file, and where the current launch's part of it begins: after a restart, an
/// earlier launch's "address already in use" must not be taken for this one's.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    start: u64,
}

impl Log {
    /// Opens `path` for appending; the two handles are for the child's stdout and stderr.
    pub fn open(path: PathBuf) -> io::Result<(Log, Stdio, Stdio)> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let start = file.metadata()?.len();
        let copy = file.try_clone()?;
        Ok((Log { path, start }, Stdio::from(file), Stdio::from(copy)))
    }

    /// The last `lines` lines written since `open`, for error messages.
    pub fn tail(&self, lines: usize) -> String {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) => return format!("(cannot read {}: {err})", self.path.display()),
        };
        let start = usize::try_from(self.start).unwrap_or(usize::MAX);
        let text = String::from_utf8_lossy(bytes.get(start..).unwrap_or_default());
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("{} (last {lines} lines):\n{tail}", self.path.display())
    }
}
