//! [`PostgresServer`]: a throwaway PostgreSQL cluster (`initdb` + `postgres`) on a free port: the
//! product's launcher ([`authbench_launch::PostgresServer`]), not durable (durability buys a
//! throwaway cluster nothing), with panics instead of errors: tests must fail, not skip, when the
//! database cannot be had.
//!
//! `initdb` takes a second or two, so tests share one cluster per test process
//! ([`PostgresServer::shared`], in `shared`) and isolate themselves with
//! [`PostgresServer::fresh_database`]; outage tests start their own with
//! [`PostgresServer::start`].

mod shared;

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};

use authbench_contract::error::Chain;
use authbench_launch::PostgresSettings;

/// A PostgreSQL cluster on 127.0.0.1 with trust auth for the superuser `postgres`. Dropping it
/// shuts the server down and removes its temp dir.
#[derive(Debug)]
pub struct PostgresServer(authbench_launch::PostgresServer);

impl PostgresServer {
    /// Runs `initdb` into a fresh temp dir and starts `postgres` on a free port (fsync off,
    /// 200 connections for parallel tests that each open a pool), returning once it accepts
    /// connections.
    ///
    /// # Panics
    ///
    /// When the binaries are missing or the cluster does not come up; the message carries the
    /// log tail.
    pub fn start() -> PostgresServer {
        let settings = PostgresSettings {
            durable: false,
            max_connections: 200,
            ..PostgresSettings::default()
        };
        match authbench_launch::PostgresServer::start(&settings) {
            Ok(server) => PostgresServer(server),
            Err(error) => panic!("{}", Chain(&error)),
        }
    }

    /// Creates an empty database with a name unique in this cluster and returns its URL, so tests
    /// sharing the cluster cannot see each other's tables.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{serial}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.database_url(&name)
    }

    /// Runs `sql` with the system's `psql` on `database` (a name in this cluster, or a URL) and
    /// returns its unaligned, tuples-only output, trimmed.
    ///
    /// # Panics
    ///
    /// When `psql` fails; the message carries its stderr.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        self.0
            .psql(database, sql)
            .unwrap_or_else(|error| panic!("{}", Chain(&error)))
    }

    /// Stops the server (see the launcher's `stop`); named here so tests can pass it as a
    /// function.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts the server again on the same port and data.
    ///
    /// # Panics
    ///
    /// When the port stays taken for 10 s or the server fails to start.
    pub fn restart(&mut self) {
        if let Err(error) = self.0.restart() {
            panic!("{}", Chain(&error));
        }
    }
}

impl Deref for PostgresServer {
    type Target = authbench_launch::PostgresServer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for PostgresServer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
