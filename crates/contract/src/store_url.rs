//! Where a server keeps its state, as users write it: `memory`, `sqlite://PATH` (or
//! `sqlite::memory:`), `redis://HOST:PORT[/DB]` (`rediss://`, `redis+unix://`, `unix://`),
//! `redis+cluster://HOST:PORT[,HOST:PORT...]` (any nodes of a Redis Cluster: the client learns the
//! rest from them), `postgres://USER@HOST:PORT/DB` (`postgresql://`). The one place a store URL is
//! classified.

use std::fmt;
use std::str::FromStr;

names! {
    /// The store backend, as metrics labels and report.json name it.
    pub enum StoreKind("a store kind") {
        /// A map inside the server process: fastest, but not shared between replicas.
        Memory = "memory",
        /// An SQLite file, in the server process.
        Sqlite = "sqlite",
        /// A Redis server.
        Redis = "redis",
        /// A Redis Cluster: several masters, each holding a share of the 16,384 hash slots.
        RedisCluster = "redis-cluster",
        /// A PostgreSQL server.
        Postgres = "postgres",
    }
}

/// A validated store location. The URL is kept as given, to hand to the driver unchanged;
/// [`fmt::Display`] and [`fmt::Debug`] redact any password in it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    Sqlite(String),
    Redis(String),
    RedisCluster(String),
    Postgres(String),
}

/// Why a store URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreUrlError {
    #[error("store URL is empty; use {FORMS}")]
    Empty,
    #[error("{0:?} is not a store URL; use {FORMS}")]
    UnknownScheme(String),
    #[error("store URL {0:?} names no host or path after the scheme")]
    MissingLocation(String),
    #[error("store URL {url:?}: node {node:?} is not HOST:PORT")]
    BadClusterNode { url: String, node: String },
}

/// The forms a store URL may take, for messages.
pub const FORMS: &str = "memory, sqlite://PATH, redis://HOST:PORT (rediss://, redis+unix://, \
                         unix://), redis+cluster://HOST:PORT[,HOST:PORT...] or \
                         postgres://USER@HOST/DB (postgresql://)";

const REDIS_SCHEMES: [&str; 4] = ["redis", "rediss", "redis+unix", "unix"];
const POSTGRES_SCHEMES: [&str; 2] = ["postgres", "postgresql"];
const CLUSTER_SCHEME: &str = "redis+cluster";

/// `redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]`: every node must name its port,
/// as a cluster has no default one worth guessing.
fn parse_cluster(raw: &str, rest: &str) -> Result<StoreUrl, StoreUrlError> {
    let hosts = rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts);
    let hosts = hosts.trim_end_matches('/');
    if hosts.is_empty() {
        return Err(StoreUrlError::MissingLocation(redact(raw)));
    }
    for node in hosts.split(',') {
        let node = node.trim();
        let port = node
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        if !matches!(port, Some((host, Ok(port))) if !host.is_empty() && port > 0) {
            return Err(StoreUrlError::BadClusterNode {
                url: redact(raw),
                node: node.to_owned(),
            });
        }
    }
    Ok(StoreUrl::RedisCluster(raw.to_owned()))
}

impl StoreUrl {
    pub const fn kind(&self) -> StoreKind {
        match self {
            StoreUrl::Memory => StoreKind::Memory,
            StoreUrl::Sqlite(_) => StoreKind::Sqlite,
            StoreUrl::Redis(_) => StoreKind::Redis,
            StoreUrl::RedisCluster(_) => StoreKind::RedisCluster,
            StoreUrl::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// The URL as given, for the driver. Not for logs: it may hold a password.
    pub fn as_driver_url(&self) -> &str {
        match self {
            StoreUrl::Memory => "memory",
            StoreUrl::Sqlite(url)
            | StoreUrl::Redis(url)
            | StoreUrl::RedisCluster(url)
            | StoreUrl::Postgres(url) => url,
        }
    }

    /// The nodes of a `redis+cluster://` URL as `redis://` URLs, one per node, with the
    /// userinfo given once applied to each; empty for any other store.
    pub fn cluster_nodes(&self) -> Vec<String> {
        let StoreUrl::RedisCluster(url) = self else {
            return Vec::new();
        };
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let (userinfo, hosts) = match rest.rsplit_once('@') {
            Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
            None => (String::new(), rest),
        };
        let hosts = hosts.trim_end_matches('/');
        hosts
            .split(',')
            .map(|node| format!("redis://{userinfo}{}", node.trim()))
            .collect()
    }

    /// The URL with any password replaced by `***`: what messages and reports show.
    pub fn redacted(&self) -> String {
        redact(self.as_driver_url())
    }
}

impl FromStr for StoreUrl {
    type Err = StoreUrlError;

    fn from_str(raw: &str) -> Result<Self, StoreUrlError> {
        let raw = raw.trim();
        match raw {
            "" => return Err(StoreUrlError::Empty),
            "memory" | "memory://" => return Ok(StoreUrl::Memory),
            "sqlite::memory:" => return Ok(StoreUrl::Sqlite(raw.to_owned())),
            _ => {}
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(StoreUrlError::UnknownScheme(redact(raw)));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme == CLUSTER_SCHEME {
            return parse_cluster(raw, rest);
        }
        let variant = if scheme == "sqlite" {
            StoreUrl::Sqlite
        } else if REDIS_SCHEMES.contains(&scheme.as_str()) {
            StoreUrl::Redis
        } else if POSTGRES_SCHEMES.contains(&scheme.as_str()) {
            StoreUrl::Postgres
        } else {
            return Err(StoreUrlError::UnknownScheme(redact(raw)));
        };
        if rest.is_empty() {
            return Err(StoreUrlError::MissingLocation(redact(raw)));
        }
        Ok(variant(raw.to_owned()))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// `url` fit for a message or a report: the password of `scheme://user:password@host` and any
/// `password=...` parameter (a Postgres URL's query, or a key=value connection string) become
/// `***`.
pub fn redact(url: &str) -> String {
    let mut text = url.to_owned();
    if let Some(scheme_end) = text.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = text[authority_start..]
            .find(['/', '?', '#'])
            .map_or(text.len(), |at| authority_start + at);
        // The last '@' ends the userinfo: a password may itself contain '@'.
        if let Some(at) = text[authority_start..authority_end].rfind('@') {
            let userinfo_end = authority_start + at;
            if let Some(colon) = text[authority_start..userinfo_end].find(':') {
                text.replace_range(authority_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    redact_password_parameters(&text)
}

fn redact_password_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = find_password_key(rest) {
        let value_start = found + "password=".len();
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        let value = &rest[value_start..];
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |end| end + 2)
        } else {
            value.find(['&', ' ', '#']).unwrap_or(value.len())
        };
        rest = &value[value_len..];
    }
    out.push_str(rest);
    out
}

/// Where a `password=` key starts: at the start of the text or after a separator, so that
/// `nopassword=` is left alone.
fn find_password_key(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("password=") {
        let start = from + at;
        let before = lower[..start].chars().next_back();
        if before.is_none_or(|c| matches!(c, '?' | '&' | ' ' | '\t')) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(url: &str) -> Result<StoreKind, StoreUrlError> {
        url.parse::<StoreUrl>().map(|url| url.kind())
    }

    #[test]
    fn parses_every_backend_and_scheme() {
        assert_eq!("memory".parse(), Ok(StoreUrl::Memory));
        assert_eq!(kind("sqlite://s.db"), Ok(StoreKind::Sqlite));
        assert_eq!(kind("sqlite::memory:"), Ok(StoreKind::Sqlite));
        for redis in [
            "redis://127.0.0.1:6379",
            "rediss://h:6380",
            "redis+unix:///run/redis.sock",
            "unix:///run/redis.sock",
            "REDIS://h:1",
        ] {
            assert_eq!(kind(redis), Ok(StoreKind::Redis), "{redis}");
        }
        assert_eq!(
            kind("redis+cluster://127.0.0.1:7000,127.0.0.1:7001"),
            Ok(StoreKind::RedisCluster)
        );
        assert_eq!(kind("postgresql://u@h/db"), Ok(StoreKind::Postgres));
        assert_eq!(kind("postgres://u@h/db"), Ok(StoreKind::Postgres));
    }

    #[test]
    fn refuses_unknown_and_empty_urls_without_showing_passwords() {
        assert_eq!("".parse::<StoreUrl>(), Err(StoreUrlError::Empty));
        assert_eq!(
            "mysql://u:pw@h/db".parse::<StoreUrl>(),
            Err(StoreUrlError::UnknownScheme("mysql://u:***@h/db".into()))
        );
        assert_eq!(
            "redis://".parse::<StoreUrl>(),
            Err(StoreUrlError::MissingLocation("redis://".into()))
        );
        assert!(matches!(
            "localhost:6379".parse::<StoreUrl>(),
            Err(StoreUrlError::UnknownScheme(_))
        ));
    }

    #[test]
    fn cluster_urls_name_every_node_with_its_port() {
        let url: StoreUrl = "redis+cluster://:pw@10.0.0.1:7000, 10.0.0.2:7001/"
            .parse()
            .unwrap();
        assert_eq!(
            url.cluster_nodes(),
            ["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7001"]
        );
        assert_eq!(
            url.to_string(),
            "redis+cluster://:***@10.0.0.1:7000, 10.0.0.2:7001/"
        );
        assert_eq!(
            "redis+cluster://h:7000,h".parse::<StoreUrl>(),
            Err(StoreUrlError::BadClusterNode {
                url: "redis+cluster://h:7000,h".into(),
                node: "h".into()
            })
        );
        assert_eq!(
            "redis+cluster://".parse::<StoreUrl>(),
            Err(StoreUrlError::MissingLocation("redis+cluster://".into()))
        );
        assert!(StoreUrl::Memory.cluster_nodes().is_empty());
    }

    #[test]
    fn display_hides_passwords_and_the_driver_gets_them() {
        let url: StoreUrl = "postgres://bench:s3cret@db:5432/auth".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://bench:***@db:5432/auth");
        assert_eq!(
            format!("{url:?}"),
            "StoreUrl(postgres://bench:***@db:5432/auth)"
        );
        assert_eq!(url.as_driver_url(), "postgres://bench:s3cret@db:5432/auth");
    }

    #[test]
    fn url_passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact("redis://user:s3cr@t@db.example:6379/0"),
            "redis://user:***@db.example:6379/0"
        );
        assert_eq!(
            redact("redis://:pw@127.0.0.1:1"),
            "redis://:***@127.0.0.1:1"
        );
        assert_eq!(
            redact("postgres://app@127.0.0.1:5432/x?password=pw&sslmode=disable"),
            "postgres://app@127.0.0.1:5432/x?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("host=/tmp user=app password='a b' dbname=x"),
            "host=/tmp user=app password=*** dbname=x"
        );
        assert_eq!(
            redact("http://127.0.0.1:8080/metrics"),
            "http://127.0.0.1:8080/metrics"
        );
        assert_eq!(redact("x?nopassword=1"), "x?nopassword=1");
    }
}
