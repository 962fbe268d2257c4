//! What can go wrong launching a server. Each message names the server and ends with the cause.

use std::io;

use crate::cgroup::CapError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found: {hint}")]
    NotInstalled {
        what: &'static str,
        hint: &'static str,
    },
    #[error("{server} failed: {why}")]
    Failed { server: String, why: String },
    #[error("cannot cap {server} at {cores} cores; refusing to run it uncapped")]
    Cap {
        server: String,
        cores: f64,
        source: CapError,
    },
    #[error("cannot {what} for {server}")]
    Io {
        server: String,
        what: String,
        source: io::Error,
    },
}
