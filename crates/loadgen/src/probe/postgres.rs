//! The PostgreSQL server's own account of its load: `pg_stat_database`, `pg_stat_statements`
//! where installed, the size of the store's tables, and the server processes' CPU from `/proc`.
//!
//! `pg_stat_database` lags: a backend publishes its counters when it goes idle, at most once a
//! second (PostgreSQL 15 and later; older servers go through the stats collector, with a
//! similar delay). A step's delta may therefore miss up to about a second of its end and carry
//! as much of the time before its start. That is why the store's own per-operation counts come
//! from the server's `/metrics` ([`super::metrics`]), and these figures are the database's view.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio_postgres::config::Host;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use authbench_contract::error::Cause;

use super::process::Stat;
use super::{CONNECT_TIMEOUT, Error, SAMPLE_TIMEOUT, counter_delta, redact, signed_change};

/// The tables the store creates, one per namespace, named in the contract crate.
pub const STORE_TABLES: [&str; 5] = authbench_contract::population::namespace::ALL;

/// What the server offers: its version (as a number, and as shown to people), and
/// `pg_stat_statements` in this database.
const SETUP: &str = "SELECT current_setting('server_version_num')::int4, \
    (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'), \
    current_setting('server_version')";
/// PostgreSQL 15 added `pg_stat_force_next_flush()`.
const FORCE_FLUSH_SINCE: i32 = 150_000;

/// A connection of its own to the store's database.
#[derive(Debug)]
pub struct PostgresProbe {
    client: Client,
    statement: Statement,
    /// The URL with its password redacted, for messages.
    url: String,
    /// The server runs on this machine, so its processes' CPU can be read from `/proc`.
    local: bool,
    /// Samples started so far: each is one transaction of the probe's own.
    samples: AtomicU64,
    /// `PostgreSQL 15.14 (Debian 15.14-0+deb12u1)`.
    version: String,
}

impl PostgresProbe {
    /// Connects (two-second timeout), finds out what the server offers, and prepares the one
    /// statement every sample runs.
    pub async fn connect(url: &str) -> Result<PostgresProbe, Error> {
        let shown = redact(url);
        let mut config: tokio_postgres::Config =
            url.parse()
                .map_err(|error: tokio_postgres::Error| Error::InvalidUrl {
                    probe: "PostgreSQL",
                    url: shown.clone(),
                    why: error.to_string(),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("authbench-probe");
        let local = is_local(&config);
        let (client, connection) = ask(
            &shown,
            "a connection",
            CONNECT_TIMEOUT,
            config.connect(NoTls),
        )
        .await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "the PostgreSQL probe's connection ended");
            }
        });

        let setup = async {
            let row = client.query_one(SETUP, &[]).await?;
            let version: i32 = row.try_get(0)?;
            let extension: Option<String> = row.try_get(1)?;
            let shown_version: String = row.try_get(2)?;
            Ok((version, extension, shown_version))
        };
        let (version, extension, shown_version) =
            ask(&shown, "setup", SAMPLE_TIMEOUT, setup).await?;
        // The view fails unless the library is preloaded too, which only a superuser may check
        // in the settings: asking the view is the one test that works for everyone.
        let statements_time = match extension.as_deref().map(exec_time_column) {
            Some(column) => {
                let probe = format!("SELECT sum({column}) FROM pg_stat_statements");
                let answer = ask(&shown, "setup", SAMPLE_TIMEOUT, client.query(&probe, &[]));
                answer.await.is_ok().then_some(column)
            }
            None => None,
        };
        let force_flush = version >= FORCE_FLUSH_SINCE;
        let sql = sample_sql(statements_time, force_flush);
        let statement = ask(&shown, "setup", SAMPLE_TIMEOUT, client.prepare(&sql)).await?;
        if force_flush {
            // Publishes the setup's own transactions now, before the first sample reads.
            let flush = client.query("SELECT pg_stat_force_next_flush()", &[]);
            ask(&shown, "setup", SAMPLE_TIMEOUT, flush).await?;
        }
        Ok(PostgresProbe {
            client,
            statement,
            url: shown,
            local,
            samples: AtomicU64::new(0),
            version: format!("PostgreSQL {shown_version}"),
        })
    }

    /// The server's name and version, as shown in reports.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the server's processes are on this machine (by host name; a sample also checks
    /// that `/proc` shows them).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// One statement (one transaction) reading every counter, then `/proc` when local.
    pub async fn sample(&self) -> Result<PostgresSample, Error> {
        let probe_transactions = self.samples.fetch_add(1, Ordering::Relaxed);
        let tables: &[&str] = &STORE_TABLES;
        let params: [&(dyn ToSql + Sync); 1] = [&tables];
        let query = async {
            let row = self.client.query_one(&self.statement, &params).await?;
            Ok((
                read_row(&row)?,
                row.try_get("own_pid")?,
                row.try_get("pids")?,
            ))
        };
        let (mut sample, own, pids): (PostgresSample, i32, Vec<i32>) =
            ask(&self.url, "pg_stat_database", SAMPLE_TIMEOUT, query).await?;
        sample.probe_transactions = probe_transactions;
        if self.local {
            sample.cpu = server_cpu(own, &pids);
        }
        Ok(sample)
    }
}

/// One reading of the database's counters (cumulative since the stats were last reset).
#[derive(Debug, Clone, Serialize)]
pub struct PostgresSample {
    pub xact_commit: u64,
    pub xact_rollback: u64,
    pub tup_returned: u64,
    pub tup_fetched: u64,
    pub tup_inserted: u64,
    pub tup_updated: u64,
    pub tup_deleted: u64,
    pub blks_hit: u64,
    pub blks_read: u64,
    /// Statements executed in this database, per `pg_stat_statements`; `None` without it.
    pub statements: Option<u64>,
    /// Their total execution time, per `pg_stat_statements`.
    pub statement_time: Option<Duration>,
    /// `pg_total_relation_size` (tables, indexes, TOAST) summed over the store's tables that
    /// exist.
    pub relation_bytes: u64,
    /// CPU (user + system) of the postmaster, its live children and its exited children;
    /// `None` when the server is not on this machine or `/proc` does not show it.
    pub cpu: Option<Duration>,
    /// Transactions the probe ran before this sample's, to take out of the delta.
    pub probe_transactions: u64,
}

impl PostgresSample {
    /// The database's load from this sample (a step's start) to `end` (the step's end).
    ///
    /// The probe's own transactions are taken out of `xact_commit`: each sample is one
    /// transaction, published (PostgreSQL 15+) as it ends, so the start sample's shows in the
    /// end sample's counters while the end sample's own does not yet. The same holds for
    /// `pg_stat_statements`. Before PostgreSQL 15 the correction holds once samples are more
    /// than about a second apart. The probe's few catalog rows in `tup_*` are left in.
    pub fn delta(&self, end: &PostgresSample) -> PostgresLoad {
        let own = end
            .probe_transactions
            .saturating_sub(self.probe_transactions);
        let both = |start: Option<u64>, end: Option<u64>| Some(counter_delta(start?, end?));
        PostgresLoad {
            xact_commit: counter_delta(self.xact_commit, end.xact_commit).saturating_sub(own),
            xact_rollback: counter_delta(self.xact_rollback, end.xact_rollback),
            tup_returned: counter_delta(self.tup_returned, end.tup_returned),
            tup_fetched: counter_delta(self.tup_fetched, end.tup_fetched),
            tup_inserted: counter_delta(self.tup_inserted, end.tup_inserted),
            tup_updated: counter_delta(self.tup_updated, end.tup_updated),
            tup_deleted: counter_delta(self.tup_deleted, end.tup_deleted),
            blks_hit: counter_delta(self.blks_hit, end.blks_hit),
            blks_read: counter_delta(self.blks_read, end.blks_read),
            statements: both(self.statements, end.statements).map(|n| n.saturating_sub(own)),
            statement_time: match (self.statement_time, end.statement_time) {
                (Some(start), Some(end)) if end >= start => Some(end - start),
                (Some(_), Some(end)) => Some(end),
                _ => None,
            },
            cpu: match (self.cpu, end.cpu) {
                (Some(start), Some(end)) => Some(end.saturating_sub(start)),
                _ => None,
            },
            relation_bytes: signed_change(self.relation_bytes, end.relation_bytes),
        }
    }
}

/// The database's load over one step; see [`PostgresSample::delta`] for what is corrected.
#[derive(Debug, Clone, Serialize)]
pub struct PostgresLoad {
    /// Transactions committed, less the probe's own.
    pub xact_commit: u64,
    pub xact_rollback: u64,
    /// Rows read by sequential scans plus index entries returned by index scans.
    pub tup_returned: u64,
    /// Rows fetched by index scans.
    pub tup_fetched: u64,
    pub tup_inserted: u64,
    pub tup_updated: u64,
    pub tup_deleted: u64,
    /// Block reads served from shared buffers.
    pub blks_hit: u64,
    /// Block reads that went to the OS (page cache or disk).
    pub blks_read: u64,
    /// Statements executed (less the probe's), when `pg_stat_statements` is installed here.
    pub statements: Option<u64>,
    /// Their execution time, when `pg_stat_statements` is installed here.
    pub statement_time: Option<Duration>,
    /// The server processes' CPU, when the server is on this machine.
    pub cpu: Option<Duration>,
    /// Growth of the store's tables (with indexes and TOAST), in bytes; negative when they
    /// shrank.
    pub relation_bytes: i64,
}

impl PostgresLoad {
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.cpu.map(|cpu| cpu.as_secs_f64())
    }
}

fn read_row(row: &Row) -> Result<PostgresSample, tokio_postgres::Error> {
    let count = |name: &str| -> Result<u64, tokio_postgres::Error> {
        let value: Option<i64> = row.try_get(name)?;
        Ok(value.unwrap_or(0).max(0).unsigned_abs())
    };
    let calls: Option<i64> = row.try_get("statement_calls")?;
    let exec_ms: Option<f64> = row.try_get("statement_ms")?;
    Ok(PostgresSample {
        xact_commit: count("xact_commit")?,
        xact_rollback: count("xact_rollback")?,
        tup_returned: count("tup_returned")?,
        tup_fetched: count("tup_fetched")?,
        tup_inserted: count("tup_inserted")?,
        tup_updated: count("tup_updated")?,
        tup_deleted: count("tup_deleted")?,
        blks_hit: count("blks_hit")?,
        blks_read: count("blks_read")?,
        statements: calls.map(|calls| calls.max(0).unsigned_abs()),
        statement_time: exec_ms
            .map(|ms| Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).unwrap_or_default()),
        relation_bytes: count("relation_bytes")?,
        cpu: None,
        probe_transactions: 0,
    })
}

/// The one statement a sample runs. `$1` is the list of store tables.
fn sample_sql(statements_time: Option<&str>, force_flush: bool) -> String {
    let statements = match statements_time {
        Some(column) => format!(
            "(SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements s WHERE s.dbid = d.datid) \
                AS statement_calls, \
             (SELECT coalesce(sum({column}), 0)::float8 FROM pg_stat_statements s \
                WHERE s.dbid = d.datid) AS statement_ms"
        ),
        None => "NULL::int8 AS statement_calls, NULL::float8 AS statement_ms".to_owned(),
    };
    // Publishing the probe's own counters as its transaction ends makes the correction in
    // `PostgresSample::delta` exact instead of subject to the one-second lag.
    let flush = if force_flush {
        ", pg_stat_force_next_flush() AS flushed"
    } else {
        ""
    };
    format!(
        "SELECT d.xact_commit, d.xact_rollback, d.tup_returned, d.tup_fetched, d.tup_inserted, \
            d.tup_updated, d.tup_deleted, d.blks_hit, d.blks_read, {statements}, \
            (SELECT coalesce(sum(pg_total_relation_size(r)), 0)::int8 \
               FROM unnest($1::text[]) AS t(name), to_regclass(t.name) AS r \
              WHERE r IS NOT NULL) AS relation_bytes, \
            array(SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) AS pids, \
            pg_backend_pid() AS own_pid \
         FROM pg_stat_database d{flush} WHERE d.datname = current_database()"
    )
}

/// `pg_stat_statements` 1.8 (PostgreSQL 13) renamed `total_time` to `total_exec_time`.
pub fn exec_time_column(extension_version: &str) -> &'static str {
    let mut parts = extension_version
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if version >= (1, 8) {
        "total_exec_time"
    } else {
        "total_time"
    }
}

/// Whether every host the URL names is this machine: a loopback name or address, or a unix
/// socket directory.
fn is_local(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let host_is_local = |host: &Host| match host {
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Host::Unix(_) => true,
    };
    (!hosts.is_empty() || !addrs.is_empty())
        && hosts.iter().all(host_is_local)
        && addrs.iter().all(IpAddr::is_loopback)
}

/// The CPU of the server that owns backend `own`: the postmaster (with the time of children it
/// has reaped, so backends that ended since the last sample still count) plus its live children
/// among `pids`. `None` unless `/proc` shows our backend and its parent as PostgreSQL processes:
/// a server in a container reports PIDs of its own namespace, which here may be anyone's.
fn server_cpu(own: i32, pids: &[i32]) -> Option<Duration> {
    let is_postgres = |stat: &Stat| matches!(stat.comm.as_str(), "postgres" | "postmaster");
    let own = Stat::read(u32::try_from(own).ok()?)
        .ok()
        .filter(is_postgres)?;
    let postmaster_pid = own.ppid;
    let postmaster = Stat::read(postmaster_pid).ok().filter(is_postgres)?;
    let mut total = postmaster.cpu + postmaster.reaped_children_cpu;
    for pid in pids.iter().filter_map(|&pid| u32::try_from(pid).ok()) {
        if pid == postmaster_pid {
            continue;
        }
        // A child that exited since the query is in the postmaster's reaped time, or will be.
        if let Ok(stat) = Stat::read(pid)
            && stat.ppid == postmaster_pid
        {
            total += stat.cpu;
        }
    }
    Some(total)
}

/// Runs a query with a deadline; its error, or the timeout, names the step.
async fn ask<T>(
    url: &str,
    what: &'static str,
    limit: Duration,
    future: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result.map_err(|error| Error::Postgres {
            url: url.to_owned(),
            what,
            source: Cause::of(&error),
        }),
        Err(_) => Err(Error::PostgresTimeout {
            url: url.to_owned(),
            what,
            seconds: limit.as_secs(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_sockets_are_local() {
        let local = |url: &str| is_local(&url.parse().expect("valid URL"));
        assert!(local("postgres://u@127.0.0.1:5432/db"));
        assert!(local("postgres://u@localhost/db"));
        assert!(local("postgres://u@[::1]:5432/db"));
        assert!(local("postgres://u@%2Fvar%2Frun%2Fpostgresql/db"));
        assert!(!local("postgres://u@db.example:5432/db"));
        assert!(!local("postgres://u@10.0.0.5/db"));
    }

    #[test]
    fn statement_time_column_follows_the_extension_version() {
        assert_eq!(exec_time_column("1.10"), "total_exec_time");
        assert_eq!(exec_time_column("1.8"), "total_exec_time");
        assert_eq!(exec_time_column("1.7"), "total_time");
    }
}
