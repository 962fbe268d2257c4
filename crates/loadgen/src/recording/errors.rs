//! Failed requests counted by cause; a failure never reaches a latency histogram.

use std::collections::BTreeMap;

use crate::client::ErrorKind;

/// Failed requests by cause.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub protocol: u64,
    /// Non-2xx answers by status code.
    pub status: BTreeMap<u16, u64>,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.protocol + self.status.values().sum::<u64>()
    }

    pub fn count(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Protocol => self.protocol += 1,
            ErrorKind::Status(code) => *self.status.entry(code).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.protocol += other.protocol;
        for (code, count) in &other.status {
            *self.status.entry(*code).or_default() += count;
        }
    }
}
