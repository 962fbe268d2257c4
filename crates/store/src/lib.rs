//! The state a server keeps between requests: TTL'd records with a per-user index, on five
//! backends chosen by URL (memory, SQLite, Redis, Redis Cluster, Postgres).
//!
//! # Layout
//!
//! - [`record`]: the [`Record`] every backend stores, and the [`Namespace`]s that keep sessions,
//!   refresh families, denylist entries and cutoffs apart.
//! - [`backend`]: the [`Backend`] trait with its contract, and the [`Options`] a backend opens with.
//! - `memory`, `sqlite`, `redis_store`, `redis_cluster`, `postgres`: the five backends;
//!   `redis_value`: the record format and Lua pieces both Redis backends share.
//! - [`store`]: [`Store`], a backend chosen by URL, with each operation bounded in time, counted
//!   and timed.
//! - [`metrics`]: the `/metrics` families for store operations.
//! - [`population`]: synthetic live records, shaped like the servers' own, for population loads.
//! - [`error`]: what can go wrong, as one [`Error`] enum.

pub mod backend;
pub mod error;
mod memory;
pub mod metrics;
pub mod population;
mod postgres;
pub mod record;
mod redis_cluster;
mod redis_store;
mod redis_value;
mod sqlite;
pub mod store;

pub use backend::{Backend, Options};
pub use error::Error;
pub use metrics::StoreMetrics;
pub use record::{Namespace, Record, UnixMillis, now_millis};
pub use store::Store;
