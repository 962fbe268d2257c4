//! What the host must provide to run PostgreSQL: its binaries, and a user other than root.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::process::{self, User};

/// The directory with `initdb` and `postgres`: beside an `initdb` on `PATH`, else the highest
/// version under `/usr/lib/postgresql` (Debian puts no server binaries on `PATH`).
pub(super) fn bin_dir() -> Result<PathBuf, Error> {
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
        .ok_or(Error::NotInstalled {
            what: "PostgreSQL's initdb and postgres (on PATH or under /usr/lib/postgresql/*/bin)",
            hint: "install Debian's `postgresql` package (scripts/test.sh does this when run as \
                   root)",
        })
}

/// `psql` from the server's own directory (same version), else from `PATH`.
pub(super) fn psql(bin_dir: &Path) -> Result<PathBuf, Error> {
    Some(bin_dir.join("psql"))
        .filter(|path| process::is_executable(path))
        .or_else(|| process::find_on_path("psql"))
        .ok_or(Error::NotInstalled {
            what: "psql",
            hint: "install Debian's `postgresql-client` package (scripts/test.sh does this when \
                   run as root)",
        })
}

/// PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
pub(super) fn server_user() -> Result<Option<User>, Error> {
    if !process::is_root() {
        return Ok(None);
    }
    process::lookup_user("postgres")
        .map(Some)
        .ok_or(Error::NotInstalled {
            what: "a `postgres` user to run PostgreSQL as (it refuses to run as root)",
            hint: "install Debian's `postgresql` package (it creates one)",
        })
}
