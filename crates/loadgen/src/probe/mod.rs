//! Probes: what a step cost, read from outside the load generator's own timings. Each probe
//! (a [`Probe`]) takes a sample (cumulative counters) at a step's start and end, and the delta
//! between the two is the step's load.
//!
//! - the servers' and the load generator's processes: CPU and memory from `/proc`;
//! - the session store, from the store itself: Redis `INFO`, PostgreSQL `pg_stat_*`;
//! - each server's own count of requests and store operations, from its `/metrics`.
//!
//! The store's figures and the server's figures answer different questions: the server counts
//! the store operations it asked for and how long they took to come back; the store counts the
//! commands and transactions it ran and the CPU it spent on them.
//!
//! # Layout
//!
//! - `ping`: the round trip to a store in its own protocol (with and without a delay relay).
//! - [`ceiling`]: the store's own ceiling for session lookups, measured by saturating it.
//! - `machine`: the machine the run ran on (CPU, memory, OS, kernel).
//! - [`process`]: CPU time, RSS and peak RSS of a PID, and resetting the peak per step.
//! - [`redis`]: [`RedisProbe`], from `INFO all`.
//! - [`redis_cluster`]: [`RedisClusterProbe`]: every master's `INFO`, summed, each kept.
//! - [`key_sample`]: which commands on which key patterns a system sends its Redis (`MONITOR`,
//!   during a warm-up).
//! - [`postgres`]: [`PostgresProbe`], from `pg_stat_database`, `pg_stat_statements` and `/proc`.
//! - [`metrics`]: [`MetricsProbe`], from a server's Prometheus text.
//! - `prometheus`: the text-format reader behind it.
//! - `window`: the [`Probe`] trait every probe implements (sample, delta), a turn's [`Window`]
//!   on one, and [`Replicas`]: one probe per replica, summed.
//! - `error`: [`Error`].

pub mod ceiling;
mod error;
pub mod key_sample;
pub(crate) mod machine;
pub mod metrics;
pub(crate) mod ping;
pub mod postgres;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod redis_cluster;
mod window;

use std::time::Duration;

use authbench_contract::StoreUrl;
use serde::Serialize;

pub use authbench_contract::redact;
pub use error::Error;
pub use metrics::{IssuerCounts, MetricsLoad, MetricsProbe, MetricsSample};
pub use postgres::{PostgresLoad, PostgresProbe, PostgresSample};
pub use process::{ProcessLoad, ProcessProbe, ProcessSample, reset_peak_rss, total_cpu};
pub use redis::{RedisLoad, RedisProbe, RedisSample};
pub use redis_cluster::{RedisClusterProbe, RedisClusterSample};
pub use window::{Probe, Replicas, Summable, Window};

/// How long a probe waits to connect: long enough for a busy server on this machine or the
/// next, short enough that a wrong URL fails a run at once.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a sample may take on a connection that is up: a saturated store answers late, and
/// a late figure beats none.
pub(crate) const SAMPLE_TIMEOUT: Duration = Duration::from_secs(5);

/// A probe on the session store a server uses.
#[derive(Debug)]
pub enum StoreProbe {
    Redis(RedisProbe),
    RedisCluster(RedisClusterProbe),
    Postgres(PostgresProbe),
}

impl StoreProbe {
    /// Connects the probe that fits the URL's scheme: `redis://`, `rediss://`, `redis+unix://`
    /// or `unix://` for Redis; `redis+cluster://` for every master of a Redis Cluster;
    /// `postgres://` or `postgresql://` for PostgreSQL. The in-process
    /// stores (memory, SQLite) have no server of their own to ask.
    pub async fn connect(url: &str) -> Result<StoreProbe, Error> {
        match url.parse::<StoreUrl>() {
            Ok(StoreUrl::Redis(url)) => Ok(StoreProbe::Redis(RedisProbe::connect(&url).await?)),
            Ok(cluster @ StoreUrl::RedisCluster(_)) => Ok(StoreProbe::RedisCluster(
                RedisClusterProbe::connect(&cluster.cluster_nodes()).await?,
            )),
            Ok(StoreUrl::Postgres(url)) => {
                Ok(StoreProbe::Postgres(PostgresProbe::connect(&url).await?))
            }
            _ => Err(Error::UnsupportedStore { url: redact(url) }),
        }
    }

    /// The store server's name and version, e.g. `Redis 7.0.15`.
    pub fn version(&self) -> &str {
        match self {
            StoreProbe::Redis(probe) => probe.version(),
            StoreProbe::RedisCluster(probe) => probe.version(),
            StoreProbe::Postgres(probe) => probe.version(),
        }
    }

    pub async fn sample(&self) -> Result<StoreSample, Error> {
        match self {
            StoreProbe::Redis(probe) => probe.sample().await.map(StoreSample::Redis),
            StoreProbe::RedisCluster(probe) => probe.sample().await.map(StoreSample::RedisCluster),
            StoreProbe::Postgres(probe) => probe.sample().await.map(StoreSample::Postgres),
        }
    }
}

impl Probe for StoreProbe {
    type Sample = StoreSample;
    type Load = StoreLoad;

    async fn sample(&self) -> Result<StoreSample, Error> {
        StoreProbe::sample(self).await
    }

    fn delta(start: &StoreSample, end: &StoreSample) -> Option<StoreLoad> {
        start.delta(end)
    }
}

/// One reading of the store.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "store", rename_all = "lowercase")]
pub enum StoreSample {
    Redis(RedisSample),
    RedisCluster(RedisClusterSample),
    Postgres(PostgresSample),
}

impl StoreSample {
    /// The store's load from this sample (a step's start) to `end`; `None` when the two come
    /// from different kinds of store.
    pub fn delta(&self, end: &StoreSample) -> Option<StoreLoad> {
        match (self, end) {
            (StoreSample::Redis(start), StoreSample::Redis(end)) => {
                Some(StoreLoad::Redis(start.delta(end)))
            }
            (StoreSample::RedisCluster(start), StoreSample::RedisCluster(end)) => {
                Some(StoreLoad::Redis(start.delta(end)))
            }
            (StoreSample::Postgres(start), StoreSample::Postgres(end)) => {
                Some(StoreLoad::Postgres(start.delta(end)))
            }
            _ => None,
        }
    }
}

/// The store's load over one step.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "store", rename_all = "lowercase")]
pub enum StoreLoad {
    Redis(RedisLoad),
    Postgres(PostgresLoad),
}

impl StoreLoad {
    /// The store server's CPU time, where it could be measured.
    pub fn cpu(&self) -> Option<Duration> {
        match self {
            StoreLoad::Redis(load) => Some(load.cpu),
            StoreLoad::Postgres(load) => load.cpu,
        }
    }

    pub fn cpu_seconds(&self) -> Option<f64> {
        self.cpu().map(|cpu| cpu.as_secs_f64())
    }
}

/// How much a cumulative counter grew from `start` to `end`. One that went down was reset (a
/// restart, or stats reset by hand), so it counted from zero and `end` is the growth.
pub(crate) fn counter_delta(start: u64, end: u64) -> u64 {
    if end >= start { end - start } else { end }
}

/// `end - start` for gauges that may shrink (memory, keys, table sizes).
pub(crate) fn signed_change(start: u64, end: u64) -> i64 {
    let change = i128::from(end) - i128::from(start);
    i64::try_from(change).unwrap_or(if change < 0 { i64::MIN } else { i64::MAX })
}
