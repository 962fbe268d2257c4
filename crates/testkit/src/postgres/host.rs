//! What the host must provide to run PostgreSQL: its binaries, and a user other than root.

use std::fs;
use std::path::{Path, PathBuf};

use crate::process::{self, User};

/// The directory with `initdb` and `postgres`: beside an `initdb` on `PATH`, else the highest
/// version under `/usr/lib/postgresql` (Debian puts no server binaries on `PATH`).
pub(super) fn bin_dir() -> PathBuf {
    let on_path = process::find_on_path("initdb")
        .and_then(|initdb| fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let version: Option<Vec<u32>> = name
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect();
            Some((version?, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    let has = |dir: &Path, name: &str| process::is_executable(&dir.join(name));
    on_path
        .into_iter()
        .chain(versions.into_iter().map(|(_, dir)| dir))
        .find(|dir| has(dir, "initdb") && has(dir, "postgres"))
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL's initdb and postgres not found on PATH or under \
                 /usr/lib/postgresql/*/bin: install Debian's `postgresql` package \
                 (scripts/test.sh does this when run as root)"
            )
        })
}

/// `psql` from the server's own directory (same version), else from `PATH`.
pub(super) fn psql(bin_dir: &Path) -> PathBuf {
    Some(bin_dir.join("psql"))
        .filter(|path| process::is_executable(path))
        .or_else(|| process::find_on_path("psql"))
        .unwrap_or_else(|| {
            panic!(
                "psql not found: install Debian's `postgresql-client` package \
                 (scripts/test.sh does this when run as root)"
            )
        })
}

/// PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
pub(super) fn server_user() -> Option<User> {
    if !process::is_root() {
        return None;
    }
    Some(process::lookup_user("postgres").unwrap_or_else(|| {
        panic!(
            "running as root, which PostgreSQL refuses, and there is no `postgres` user to run it \
             as: install Debian's `postgresql` package (it creates one)"
        )
    }))
}
