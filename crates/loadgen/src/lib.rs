//! The load generator: replays login-then-balance flows at rising concurrency (closed model) or
//! arrival rate (open model) against each system under test, records latency in HDR histograms,
//! and probes the servers' and the session store's own resource use at every step.
//!
//! # Layout
//!
//! - [`scenario`]: the TOML file, its validation into a typed [`scenario::Scenario`].
//! - [`client`]: one raw HTTP/1.1 connection per virtual user (the hot path).
//! - [`flow`]: a virtual user's login -> balance -> refresh -> logout cycle.
//! - [`recording`]: per-operation HDR histograms, error counts and bytes, merged across VUs.
//! - [`live`]: lock-free counters for the progress line.
//! - [`drive`]: the closed and open load models.
//! - [`probe`]: process CPU/RSS from /proc, Redis INFO, pg_stat_*, a server's /metrics.
//! - [`system`]: seeding main_DB and starting `authbench serve ...` as child processes.
//! - [`run`]: steps x systems x repeats, probes around every turn, the results.
//! - [`output`]: the results folder: report.json, hdr/*.hlog, written atomically.
//! - [`progress`]: the live progress line, or plain lines when not on a terminal.

pub mod client;
pub mod drive;
pub mod flow;
pub mod live;
pub mod output;
pub mod probe;
pub mod progress;
pub mod recording;
pub mod run;
pub mod scenario;
pub mod system;
