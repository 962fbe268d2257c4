//! Writing results so that a crash never leaves half a file, and reading report.json back with
//! a clear error for files from another version or another tool.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{READS_VERSIONS, Report, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON")]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not an authbench report (no schema_version field)")]
    Foreign { path: PathBuf },
    #[error(
        "{path} has schema_version {found}; this authbench reads versions 1 to {SCHEMA_VERSION} \
         (re-run the scenario, or use the authbench that wrote it)"
    )]
    Version { path: PathBuf, found: u64 },
    #[error("{path} does not match the report schema")]
    Shape {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        fail(source)
    })
}

/// [`write_atomic`] of pretty JSON.
pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> Result<(), Error> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|source| Error::Write {
        path: path.to_owned(),
        source: std::io::Error::other(source),
    })?;
    text.push(b'\n');
    write_atomic(path, &text)
}

/// Reads a report.json, checking the version before the shape so an old file says so.
pub fn read(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// A report.json's bytes, as if read from `path` (named in errors): the version first, then the
/// shape.
pub fn parse(path: &Path, text: &[u8]) -> Result<Report, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|source| Error::NotJson {
            path: path.to_owned(),
            source,
        })?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Error::Foreign {
            path: path.to_owned(),
        })?;
    if !READS_VERSIONS
        .iter()
        .any(|&version| u64::from(version) == found)
    {
        return Err(Error::Version {
            path: path.to_owned(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|source| Error::Shape {
        path: path.to_owned(),
        source,
    })
}
