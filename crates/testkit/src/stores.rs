//! The four session-store backends as a test picks one: a URL, plus the throwaway server behind
//! it when there is one.

use std::path::Path;

use crate::postgres::PostgresServer;
use crate::redis::RedisServer;

/// A store backend to run a test against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Redis,
    Postgres,
}

/// A store ready for a server: its URL, and the Redis server to keep alive (and to stop, in
/// outage tests) when the backend is Redis.
#[derive(Debug)]
pub struct StoreUnderTest {
    pub url: String,
    pub redis: Option<RedisServer>,
}

impl Backend {
    /// A fresh store: a memory store, an SQLite file in `dir`, a new Redis server, or a new
    /// database on the shared Postgres cluster.
    pub fn start(self, dir: &Path) -> StoreUnderTest {
        match self {
            Backend::Memory => StoreUnderTest {
                url: "memory".into(),
                redis: None,
            },
            Backend::Sqlite => StoreUnderTest {
                url: format!("sqlite://{}", dir.join("store.db").display()),
                redis: None,
            },
            Backend::Redis => {
                let server = RedisServer::start();
                StoreUnderTest {
                    url: server.url(),
                    redis: Some(server),
                }
            }
            Backend::Postgres => StoreUnderTest {
                url: PostgresServer::shared().fresh_database(),
                redis: None,
            },
        }
    }
}
