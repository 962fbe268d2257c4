//! Which session store a server keeps its state in, parsed from a URL.
//!
//! The URL forms are the ones users type on the command line and in scenario files:
//! `memory`, `sqlite://PATH` (or `sqlite::memory:`), `redis://HOST:PORT[/DB]`,
//! `postgres://USER@HOST:PORT/DB` (`postgresql://` too).

use std::fmt;
use std::str::FromStr;

/// A validated store location. The original URL is kept so that it can be handed to the driver
/// unchanged; [`fmt::Display`] redacts any password in it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A map inside the server process: fastest, but not shared between replicas.
    Memory,
    /// An SQLite file (or `sqlite::memory:`), in the server process.
    Sqlite(String),
    /// A Redis server.
    Redis(String),
    /// A PostgreSQL server.
    Postgres(String),
}

/// Why a store URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "store URL is empty; use memory, sqlite://PATH, redis://HOST:PORT or postgres://HOST/DB"
    )]
    Empty,
    #[error(
        "store URL scheme `{0}` is not supported; use memory, sqlite://PATH, redis://HOST:PORT or postgres://HOST/DB"
    )]
    UnknownScheme(String),
    #[error("store URL `{0}` names no host or path after the scheme")]
    MissingLocation(String),
}

impl StoreUrl {
    /// The short name of the backend, used in metrics labels and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreUrl::Memory => "memory",
            StoreUrl::Sqlite(_) => "sqlite",
            StoreUrl::Redis(_) => "redis",
            StoreUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL as given, for the driver. Not for logs: it may hold a password.
    pub fn as_driver_url(&self) -> &str {
        match self {
            StoreUrl::Memory => "memory",
            StoreUrl::Sqlite(url) | StoreUrl::Redis(url) | StoreUrl::Postgres(url) => url,
        }
    }
}

impl FromStr for StoreUrl {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::Empty);
        }
        if raw == "memory" || raw == "memory://" {
            return Ok(StoreUrl::Memory);
        }
        if raw == "sqlite::memory:" {
            return Ok(StoreUrl::Sqlite(raw.to_owned()));
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(Error::UnknownScheme(raw.to_owned()));
        };
        if rest.is_empty() {
            return Err(Error::MissingLocation(redact(raw)));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(StoreUrl::Sqlite(raw.to_owned())),
            "redis" | "rediss" => Ok(StoreUrl::Redis(raw.to_owned())),
            "postgres" | "postgresql" => Ok(StoreUrl::Postgres(raw.to_owned())),
            other => Err(Error::UnknownScheme(other.to_owned())),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(self.as_driver_url()))
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// Replaces the password in `scheme://user:password@host` with `***`, so URLs can be logged.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_backend() {
        assert_eq!("memory".parse(), Ok(StoreUrl::Memory));
        assert_eq!(
            "sqlite://s.db".parse::<StoreUrl>().map(|u| u.kind()),
            Ok("sqlite")
        );
        assert_eq!(
            "sqlite::memory:".parse::<StoreUrl>().map(|u| u.kind()),
            Ok("sqlite")
        );
        assert_eq!(
            "redis://127.0.0.1:6379"
                .parse::<StoreUrl>()
                .map(|u| u.kind()),
            Ok("redis")
        );
        assert_eq!(
            "postgresql://u@h/db".parse::<StoreUrl>().map(|u| u.kind()),
            Ok("postgres")
        );
    }

    #[test]
    fn refuses_unknown_and_empty_urls() {
        assert_eq!("".parse::<StoreUrl>(), Err(Error::Empty));
        assert_eq!(
            "mysql://h/db".parse::<StoreUrl>(),
            Err(Error::UnknownScheme("mysql".into()))
        );
        assert_eq!(
            "redis://".parse::<StoreUrl>(),
            Err(Error::MissingLocation("redis://".into()))
        );
        assert!(matches!(
            "localhost:6379".parse::<StoreUrl>(),
            Err(Error::UnknownScheme(_))
        ));
    }

    #[test]
    fn display_hides_passwords() {
        let url: StoreUrl = "postgres://bench:s3cret@db:5432/auth".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://bench:***@db:5432/auth");
        assert_eq!(url.as_driver_url(), "postgres://bench:s3cret@db:5432/auth");
    }
}
