//! What can go wrong reading a probe. URLs in messages are redacted with the contract's
//! [`redact`](authbench_contract::redact).

use std::io;

use authbench_contract::error::Cause;
use std::path::PathBuf;

/// A probe that could not be read. Messages name the probe and the URL (passwords redacted).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Proc { path: PathBuf, source: io::Error },
    #[error("cannot parse {}: {what}", path.display())]
    ProcFormat { path: PathBuf, what: String },
    #[error("cannot reset the peak RSS of process {pid} ({})", path.display())]
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
    #[error("cannot reach Redis at {url} for {what}")]
    Redis {
        url: String,
        what: &'static str,
        source: Cause,
    },
    #[error("unexpected INFO reply from Redis at {url}: {what}")]
    RedisInfo { url: String, what: String },
    #[error("cannot reach PostgreSQL at {url} for {what}")]
    Postgres {
        url: String,
        what: &'static str,
        source: Cause,
    },
    #[error("PostgreSQL at {url} did not answer {what} within {seconds} s")]
    PostgresTimeout {
        url: String,
        what: &'static str,
        seconds: u64,
    },
    #[error("cannot fetch metrics from {url}")]
    Metrics { url: String, source: Cause },
    #[error("cannot fetch metrics from {url}: HTTP status {status}")]
    MetricsStatus { url: String, status: u16 },
}
