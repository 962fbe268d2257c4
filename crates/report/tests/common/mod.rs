//! The committed reports of real runs that the report tests read.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use authbench_report::Report;

/// Every committed run.
pub const FIXTURES: [&str; 16] = [
    "quickstart",
    "quickstart-owasp",
    "redis-vs-jwt",
    "postgres-vs-jwt",
    "open-model",
    "revocation",
    "scale-out",
    "store-bound",
    "store-distance",
    "population",
    "overload",
    "soak",
    "foreign-shop",
    "store-outage",
    "store-scale",
    "sso",
];

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("report.json")
}

pub fn fixture(name: &str) -> Report {
    authbench_report::read(&fixture_path(name)).expect("a committed fixture reads")
}

pub fn fixtures() -> Vec<(&'static str, Report)> {
    FIXTURES.iter().map(|name| (*name, fixture(name))).collect()
}
