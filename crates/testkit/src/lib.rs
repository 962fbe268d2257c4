//! Test harness shared by the workspace's integration tests: throwaway Redis and PostgreSQL
//! servers started from the system's own binaries on free ports, and the endpoint suite that
//! every server under test must pass.
//!
//! # Layout
//!
//! - [`redis`]: [`redis::RedisServer`], one `redis-server` per test, stoppable for outage tests.
//! - [`postgres`]: [`postgres::PostgresServer`], a throwaway cluster (`initdb` + `postgres`).
//! - `process`: what both need from the OS: binaries, free ports, temp dirs, and children that
//!   die with the test process; `log_file`: server logs, whose tails go into panic messages.
//! - [`stores`]: a store backend picked by a test, with its throwaway server.
//! - [`in_process`]: a server under test in the test's runtime, on a free port.
//! - [`http_suite`]: the endpoint cases every server must pass, and [`endpoint_suite!`].

pub mod http_suite;
pub mod in_process;
mod log_file;
pub mod postgres;
mod process;
pub mod redis;
pub mod stores;
