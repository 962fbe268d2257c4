//! The load generator: replays login-then-balance flows at rising concurrency (closed model) or
//! arrival rate (open model) against each system under test, records latency in HDR histograms,
//! and probes the servers' and the session store's own resource use at every step.
//!
//! # Layout
//!
//! The public API is [`scenario`], [`run`] and [`probe`], and the pieces the benchmarks drive load
//! with directly ([`Driver`], [`fixed`], [`Endpoint`], [`Credential`], [`Live`], [`Recording`]);
//! every other module is the crate's own.
//!
//! - [`scenario`]: the TOML file, its validation into a typed [`scenario::Scenario`].
//! - `client`: one raw HTTP/1.1 connection per virtual user (the hot path).
//! - `flow`: a virtual user's login -> balance -> refresh -> logout cycle.
//! - `recording`: per-operation HDR histograms, error counts and bytes, merged across VUs.
//! - `live`: lock-free counters for the progress line.
//! - `drive`: the closed and open load models.
//! - [`probe`]: process CPU/RSS and the machine from /proc (the only reader of /proc), Redis INFO,
//!   pg_stat_*, a server's /metrics.
//! - `system`: seeding main_DB and starting `authbench serve ...` as child processes.
//! - [`run`]: steps x systems x repeats, probes around every turn, the results.
//! - `output`: the results folder: report.json, hdr/*.hlog, written atomically.
//! - `progress`: the live progress line, or plain lines when not on a terminal.

pub(crate) mod client;
pub(crate) mod drive;
pub(crate) mod flow;
pub(crate) mod live;
pub(crate) mod output;
pub mod probe;
pub(crate) mod progress;
pub(crate) mod recording;
pub mod run;
pub mod scenario;
pub(crate) mod system;

// The API beside `scenario`, `run` and `probe`: what drives load without a scenario (the
// benchmarks' load generator, the coordinated-omission tests).
pub use client::Endpoint;
pub use drive::{Arrivals, Burst, CancellationToken, Driver, fixed};
pub use flow::Credential;
pub use live::Live;
pub use recording::Recording;
