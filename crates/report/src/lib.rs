//! The results of a run: `report.json` (versioned, described by a JSON Schema) and what is made
//! from it for people: report.html with a verdict per claim, comparisons, capacity plans.
//!
//! # Layout
//!
//! - [`model`]: the types report.json is made of.
//! - [`schema`]: the JSON Schema generated from them (committed as `schema/report.schema.json`).
//! - [`file`](mod@file): atomic writes, and reads that refuse old or foreign files with a clear message.
//! - [`slo`]: latency targets as written on the command line, judged against measured steps.
//! - [`compare`]: two runs side by side, and which changes are regressions.
//! - [`histogram`]: the stored latency histograms, decoded, and their percentile spectra.
//! - [`claims`]: the claims under test (C1a–C7), judged from what a run measured.
//! - [`html`]: report.html, one self-contained page with charts, tables and the claims.
//! - [`summary`]: the text table a run prints when it ends.
//! - [`format`](mod@format): numbers, latencies, sizes and spans as every rendering writes them.
//! - [`drift`]: a long run's first repeats against its last (latency, memory, descriptors, keys).
//! - [`overload`]: how a system went through a burst of arrivals, from its timeline.
//! - [`faults`]: how a system went through each fault (store or issuer), from its timeline.
//! - [`plan`]: capacity needed for a target rate, from the measured per-request figures.
//! - [`services`]: tokens across services: what a resource server paid per request, and what
//!   it went through in a key rotation and an issuer pause.

pub mod claims;
pub mod compare;
pub mod drift;
pub mod faults;
pub mod file;
pub mod format;
pub mod histogram;
pub mod html;
pub mod merge;
pub mod model;
pub mod overload;
pub mod plan;
pub mod schema;
pub mod services;
pub mod slo;
pub mod summary;

pub use file::{Error, read, write_atomic, write_json_atomic};
pub use model::*;
