//! The contract between authbench's crates: the names the servers, the load generator, the
//! reports and the CLI must agree on, each defined once. Every enum has serde, `FromStr` and
//! `Display` with one spelling, the one users write in scenario files and flags and that
//! report.json records.
//!
//! # Layout
//!
//! - `name`: the macro behind every enum here, and [`UnknownName`], the error of its `FromStr`.
//! - [`operation`]: [`Operation`], the requests a flow makes, and their [`routes`].
//! - [`kind`]: what a system is and how it is set up: [`SystemKind`], [`Alg`], [`Touch`],
//!   [`Revocation`], [`Transport`], [`BalanceSource`], [`Routing`], [`LoadModel`].
//! - [`store_url`]: [`StoreUrl`] and [`StoreKind`], and [`redact`] for anything that may hold a
//!   password.
//! - [`error`]: how error messages read: [`error::Cause`] for a foreign root cause,
//!   [`error::Chain`] to print a chain.
//! - [`population`]: [`population::PopulationLoad`], what `authbench populate` reports.
//! - [`redis_cluster`]: a Redis Cluster's masters and their slots, from `CLUSTER NODES`.
//! - [`metrics`]: the Prometheus metric and label names the servers expose and the probes read.

#[macro_use]
mod name;
pub mod error;
pub mod kind;
pub mod metrics;
pub mod operation;
pub mod population;
pub mod redis_cluster;
pub mod routes;
pub mod store_url;

pub use kind::{
    AccessToken, Alg, BalanceSource, Balancer, LoadModel, Revocation, Routing, SystemKind, Touch,
    Transport, Verify,
};
pub use name::UnknownName;
pub use operation::Operation;
pub use store_url::{StoreKind, StoreUrl, StoreUrlError, redact};
