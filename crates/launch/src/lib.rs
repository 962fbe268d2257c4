//! Starting the servers a run owns: Redis, PostgreSQL and nginx from the system's binaries, on free
//! 127.0.0.1 ports in throwaway folders, inside a CPU cap the kernel enforces and on the cores
//! asked for, stopped and removed when dropped (and by the kernel if this process dies). The run
//! and the tests start their stores through this one crate.
//!
//! # Layout
//!
//! - [`redis`]: [`RedisServer`] and its [`RedisSettings`].
//! - [`redis_cluster`]: [`RedisCluster`], several Redis nodes joined into one cluster.
//! - [`postgres`]: [`PostgresServer`] and its [`PostgresSettings`].
//! - [`nginx`]: [`NginxBalancer`], nginx balancing a system's replicas.
//! - [`limits`]: [`Limits`], the CPU cap and cores a server gets.
//! - [`cgroup`]: the kernel's CPU controller (v2 `cpu.max`, v1 CFS quota): caps, and what it
//!   enforced.
//! - [`process`]: binaries, free ports, temp dirs, and children placed in their group, on their
//!   cores, as their user, that die with us; `log_file`: server logs and their tails.
//! - [`relay`]: a TCP relay that holds each chunk for half a round trip each way: a network
//!   distance between servers and a store where the kernel has no `netem`.
//! - `error`: [`Error`].

pub mod cgroup;
mod error;
pub mod limits;
mod log_file;
pub mod nginx;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod redis_cluster;
pub mod relay;

pub use error::Error;
pub use limits::Limits;
pub use nginx::{BalancerRouting, NginxBalancer};
pub use postgres::{PostgresServer, PostgresSettings};
pub use redis::{RedisServer, RedisSettings};
pub use redis_cluster::RedisCluster;
