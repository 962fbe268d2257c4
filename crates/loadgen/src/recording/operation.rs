//! One operation's results within a recording.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::histogram::{add_histogram, new_histogram, record_latency, value_at};
use super::{ErrorCounts, LatencyModel, Sample};

/// One operation's results.
#[derive(Clone, Debug)]
pub struct OperationStats {
    latency: Histogram<u64>,
    raw_latency: Option<Histogram<u64>>,
    ok: u64,
    errors: ErrorCounts,
    bytes_sent: u64,
    bytes_received: u64,
}

impl OperationStats {
    pub(super) fn new(model: LatencyModel) -> OperationStats {
        OperationStats {
            latency: new_histogram(),
            raw_latency: (model == LatencyModel::Open).then(new_histogram),
            ok: 0,
            errors: ErrorCounts::default(),
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// Successful requests' latency in microseconds: from the intended send in the open model.
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// Open model only: successful requests' latency from their actual send.
    pub fn raw_latency(&self) -> Option<&Histogram<u64>> {
        self.raw_latency.as_ref()
    }

    /// `percentile` in [0, 100] of [`OperationStats::latency`]; `None` without successes.
    pub fn percentile(&self, percentile: f64) -> Option<Duration> {
        value_at(&self.latency, percentile)
    }

    pub fn raw_percentile(&self, percentile: f64) -> Option<Duration> {
        value_at(self.raw_latency.as_ref()?, percentile)
    }

    pub fn ok(&self) -> u64 {
        self.ok
    }

    pub fn errors(&self) -> &ErrorCounts {
        &self.errors
    }

    /// Successes and failures.
    pub fn requests(&self) -> u64 {
        self.ok + self.errors.total()
    }

    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    pub(super) fn record(&mut self, sample: &Sample) {
        self.bytes_sent += sample.bytes_sent;
        self.bytes_received += sample.bytes_received;
        match sample.error {
            Some(kind) => self.errors.count(kind),
            None => {
                self.ok += 1;
                record_latency(&mut self.latency, sample.latency);
                if let Some(raw) = &mut self.raw_latency {
                    record_latency(raw, sample.raw_latency);
                }
            }
        }
    }

    pub(super) fn merge(&mut self, other: &OperationStats) {
        add_histogram(&mut self.latency, &other.latency);
        match (&mut self.raw_latency, &other.raw_latency) {
            (Some(mine), Some(theirs)) => add_histogram(mine, theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
            (_, None) => {}
        }
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
    }
}
