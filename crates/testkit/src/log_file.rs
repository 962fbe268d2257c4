//! [`Log`]: where a server's output goes, and the part of it a startup failure should show.

use std::fs::{self, OpenOptions};
use std::path::PathBuf;
use std::process::Stdio;

/// A server's log file, and where the current launch's part of it begins: after a restart, an
/// earlier launch's "address already in use" must not be taken for this one's.
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    start: usize,
}

impl Log {
    /// Opens `path` for appending; the two handles are for the child's stdout and stderr.
    pub(crate) fn open(path: PathBuf) -> (Log, Stdio, Stdio) {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|err| panic!("cannot open log file {}: {err}", path.display()));
        let start = file.metadata().map_or(0, |meta| meta.len());
        let start = usize::try_from(start).expect("a test server's log fits in memory");
        let copy = file
            .try_clone()
            .unwrap_or_else(|err| panic!("cannot dup a file handle: {err}"));
        (Log { path, start }, Stdio::from(file), Stdio::from(copy))
    }

    /// The last `lines` lines written since `open`, for panic messages.
    pub(crate) fn tail(&self, lines: usize) -> String {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) => return format!("(cannot read {}: {err})", self.path.display()),
        };
        let text = String::from_utf8_lossy(bytes.get(self.start..).unwrap_or_default());
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("{} (last {lines} lines):\n{tail}", self.path.display())
    }
}
