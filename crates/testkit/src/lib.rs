//! Test harness shared by the workspace's integration tests: throwaway Redis and PostgreSQL
//! servers started from the system's own binaries on free ports, and the endpoint suite that
//! every server under test must pass.
//!
//! # Layout
//!
//! - [`redis`]: [`redis::RedisServer`], one `redis-server` per test, stoppable for outage tests;
//!   [`redis::RedisCluster`], a cluster of them.
//! - [`postgres`]: [`postgres::PostgresServer`], a throwaway cluster (`initdb` + `postgres`).
//!   Both are the product's launcher (`authbench-launch`) with panics instead of errors.
//! - [`stores`]: a store backend picked by a test, with its throwaway server.
//! - [`in_process`]: a server under test in the test's runtime, on a free port.
//! - [`http_suite`]: the endpoint cases every server must pass, and [`endpoint_suite!`].

pub mod http_suite;
pub mod in_process;
pub mod postgres;
pub mod redis;
pub mod stores;
