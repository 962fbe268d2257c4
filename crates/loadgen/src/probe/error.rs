//! What can go wrong reading a probe, and URLs with their secrets taken out for messages.

use std::io;
use std::path::PathBuf;

/// A probe that could not be read. Messages name the probe and the URL (passwords redacted).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Proc { path: PathBuf, source: io::Error },
    #[error("cannot parse {}: {what}", path.display())]
    ProcFormat { path: PathBuf, what: String },
    #[error("cannot reset the peak RSS of process {pid} ({}): {source}", path.display())]
    ResetPeak {
        pid: u32,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read the clock tick rate (sysconf CLK_TCK): {0}")]
    ClockTicks(String),
    #[error("not a store URL the probes know: {url} (expected redis:// or postgres://)")]
    UnsupportedStore { url: String },
    #[error("invalid {probe} URL {url}: {why}")]
    InvalidUrl {
        probe: &'static str,
        url: String,
        why: String,
    },
    #[error("cannot reach Redis at {url} for {what}: {source}")]
    Redis {
        url: String,
        what: &'static str,
        source: redis::RedisError,
    },
    #[error("unexpected INFO reply from Redis at {url}: {what}")]
    RedisInfo { url: String, what: String },
    #[error("cannot reach PostgreSQL at {url} for {what}: {source}")]
    Postgres {
        url: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    #[error("PostgreSQL at {url} did not answer {what} within {seconds} s")]
    PostgresTimeout {
        url: String,
        what: &'static str,
        seconds: u64,
    },
    #[error("cannot fetch metrics from {url}: {source}")]
    Metrics { url: String, source: reqwest::Error },
    #[error("cannot fetch metrics from {url}: HTTP status {status}")]
    MetricsStatus { url: String, status: u16 },
}

/// `url` fit for a message: the password of `scheme://user:password@host` and any
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
    use super::redact;

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
