//! What one turn measured, per operation: HDR latency histograms (microseconds, 3 significant
//! digits), ok and error counts, bytes on the wire; in the open model also the raw latency beside
//! the corrected one, and how well the arrival schedule was kept.
//!
//! Memory stays bounded however many requests a turn makes: latencies only ever go into
//! auto-resizing histograms, whose size depends on the largest latency seen, not on the count.
//! While a turn runs, its tasks record into one [`Recording`] per runtime thread
//! ([`Recorder`]), not one per virtual user: 512 VUs x 4 operations x 2 histograms
//! of up to ~100 KB each would be hundreds of MB, while a few threads' are a few MB.
//!
//! # Layout
//!
//! - `operation`: [`OperationStats`], one operation's histograms, counts and bytes.
//! - `errors`: [`ErrorCounts`], failures by cause.
//! - `schedule`: [`ScheduleStats`], open-model lateness and its warnings.
//! - `recorder`: [`Recorder`], where the VU tasks of a turn record concurrently.
//! - `histogram`: creating, filling, adding and reading the HDR histograms.

mod errors;
mod histogram;
mod operation;
mod recorder;
mod schedule;

use std::time::Duration;

use hdrhistogram::Histogram;

pub use errors::ErrorCounts;
pub use operation::OperationStats;
pub use recorder::Recorder;
pub use schedule::ScheduleStats;

use crate::client::ErrorKind;
use crate::scenario::Operation;
use histogram::{combine, value_at};

/// Which latency the main histogram holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyModel {
    /// From the actual send; there is no separate raw histogram.
    Closed,
    /// From the intended send (coordinated omission corrected), with the raw latency (from the
    /// actual send) in a second histogram.
    Open,
}

/// One finished request, as the recording needs it.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub operation: Operation,
    /// `None` for a success (2xx).
    pub error: Option<ErrorKind>,
    /// From the intended send to the end of the response body (equal to `raw_latency` but for
    /// the first request of an open-model flow). Recorded only for successes.
    pub latency: Duration,
    /// From the actual send to the end of the response body.
    pub raw_latency: Duration,
    /// HTTP/1.1 message sizes computed from the head and body (see [`crate::client`]); zero when
    /// no exchange happened (connect failure, timeout, broken connection).
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[cfg(test)]
impl Sample {
    /// A request that took `millis` (half that from its actual send), with 100 bytes sent and
    /// 200 received; for the tests here and [`crate::drive::Recorder`]'s.
    pub(crate) fn for_test(operation: Operation, error: Option<ErrorKind>, millis: u64) -> Sample {
        Sample {
            operation,
            error,
            latency: Duration::from_millis(millis),
            raw_latency: Duration::from_millis(millis / 2),
            bytes_sent: 100,
            bytes_received: 200,
        }
    }
}

/// Everything one turn (or several merged) measured.
#[derive(Clone, Debug)]
pub struct Recording {
    model: LatencyModel,
    operations: [Option<OperationStats>; Operation::ALL.len()],
    schedule: Option<ScheduleStats>,
    elapsed: Duration,
}

impl Recording {
    /// Empty; histograms are created on an operation's first request.
    pub fn new(model: LatencyModel) -> Recording {
        Recording {
            model,
            operations: Default::default(),
            schedule: (model == LatencyModel::Open).then(ScheduleStats::default),
            elapsed: Duration::ZERO,
        }
    }

    pub fn model(&self) -> LatencyModel {
        self.model
    }

    pub fn record(&mut self, sample: &Sample) {
        let model = self.model;
        self.operations[sample.operation.index()]
            .get_or_insert_with(|| OperationStats::new(model))
            .record(sample);
    }

    /// Open model: a flow started `lag` after its intended time.
    pub fn record_flow_start(&mut self, lag: Duration, waited_for_connection: bool) {
        self.schedule
            .get_or_insert_with(ScheduleStats::default)
            .record_start(lag, waited_for_connection);
    }

    /// `None` when the operation was never attempted.
    pub fn operation(&self, operation: Operation) -> Option<&OperationStats> {
        self.operations[operation.index()].as_ref()
    }

    pub fn requests(&self, operation: Operation) -> u64 {
        self.operation(operation)
            .map_or(0, OperationStats::requests)
    }

    pub fn ok(&self, operation: Operation) -> u64 {
        self.operation(operation).map_or(0, OperationStats::ok)
    }

    pub fn errors(&self, operation: Operation) -> u64 {
        self.operation(operation)
            .map_or(0, |stats| stats.errors().total())
    }

    pub fn total_requests(&self) -> u64 {
        self.each().map(OperationStats::requests).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.each().map(|stats| stats.errors().total()).sum()
    }

    pub fn bytes_sent(&self) -> u64 {
        self.each().map(OperationStats::bytes_sent).sum()
    }

    pub fn bytes_received(&self) -> u64 {
        self.each().map(OperationStats::bytes_received).sum()
    }

    /// The latency histograms of `operations` added together (e.g. the SLO's operations);
    /// `None` when none of them had a success.
    pub fn latency(&self, operations: &[Operation]) -> Option<Histogram<u64>> {
        combine(
            operations
                .iter()
                .filter_map(|op| Some(self.operation(*op)?.latency())),
        )
    }

    /// Open model: the raw latency histograms of `operations` added together.
    pub fn raw_latency(&self, operations: &[Operation]) -> Option<Histogram<u64>> {
        combine(
            operations
                .iter()
                .filter_map(|op| self.operation(*op)?.raw_latency()),
        )
    }

    /// `percentile` in [0, 100] over the successes of `operations`.
    pub fn percentile(&self, operations: &[Operation], percentile: f64) -> Option<Duration> {
        value_at(&self.latency(operations)?, percentile)
    }

    pub fn raw_percentile(&self, operations: &[Operation], percentile: f64) -> Option<Duration> {
        value_at(&self.raw_latency(operations)?, percentile)
    }

    /// Open model only.
    pub fn schedule(&self) -> Option<&ScheduleStats> {
        self.schedule.as_ref()
    }

    pub fn schedule_mut(&mut self) -> &mut ScheduleStats {
        self.schedule.get_or_insert_with(ScheduleStats::default)
    }

    /// Measured wall time of the turn: from its start until nothing was in flight.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
    }

    /// Adds `other` in. Elapsed times add up too: merged turns ran one after another, so
    /// requests / elapsed stays a rate.
    pub fn merge(&mut self, other: Recording) {
        for (mine, theirs) in self.operations.iter_mut().zip(other.operations) {
            match (mine, theirs) {
                (Some(mine), Some(theirs)) => mine.merge(&theirs),
                (mine @ None, theirs) => *mine = theirs,
                (Some(_), None) => {}
            }
        }
        match (&mut self.schedule, other.schedule) {
            (Some(mine), Some(theirs)) => mine.merge(&theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.elapsed += other.elapsed;
    }

    fn each(&self) -> impl Iterator<Item = &OperationStats> {
        self.operations.iter().flatten()
    }
}

#[cfg(test)]
mod tests;
