//! What one turn measured, per operation: HDR latency histograms (microseconds, 3 significant
//! digits), ok and error counts, bytes on the wire; in the open model also the raw latency beside
//! the corrected one, and how well the arrival schedule was kept.
//!
//! Memory stays bounded however many requests a turn makes: latencies only ever go into
//! auto-resizing histograms, whose size depends on the largest latency seen, not on the count.
//! While a turn runs, its tasks record into one [`Recording`] per runtime thread
//! ([`crate::drive::Recorder`]), not one per virtual user: 512 VUs x 4 operations x 2 histograms
//! of up to ~100 KB each would be hundreds of MB, while a few threads' are a few MB.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::client::ErrorKind;
use crate::scenario::Operation;

/// HDR precision of every latency histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

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
    fn new(model: LatencyModel) -> OperationStats {
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

    fn record(&mut self, sample: &Sample) {
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

    fn merge(&mut self, other: &OperationStats) {
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

/// Open model: how well flows kept to their intended start times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScheduleStats {
    /// Flows whose intended start fell inside the turn.
    pub intended: u64,
    pub started: u64,
    /// Started more than [`ScheduleStats::LATE_AFTER`] after their intended time.
    pub late: u64,
    /// Of the late ones, those that waited because every connection was busy.
    pub late_waiting_for_connection: u64,
    /// Intended but never started: the turn ended (or was cancelled) while they waited.
    pub not_started: u64,
    /// The largest start lag of any flow.
    pub max_lag: Duration,
    /// The connection pool size (`max_active`) the turn ran with.
    pub max_active: u64,
}

impl ScheduleStats {
    /// Lateness below this is timer jitter, not a schedule miss.
    pub const LATE_AFTER: Duration = Duration::from_millis(1);

    pub fn record_start(&mut self, lag: Duration, waited_for_connection: bool) {
        self.started += 1;
        self.max_lag = self.max_lag.max(lag);
        if lag > Self::LATE_AFTER {
            self.late += 1;
            if waited_for_connection {
                self.late_waiting_for_connection += 1;
            }
        }
    }

    /// Flows that waited for a free connection: the pool is too small for the rate, so the
    /// offered load was not what the scenario asked for.
    pub fn too_few_connections(&self) -> bool {
        self.late_waiting_for_connection > 0
    }

    /// Flows late with a connection free: the load generator itself fell behind.
    pub fn late_with_idle_connections(&self) -> u64 {
        self.late - self.late_waiting_for_connection
    }

    /// Plain sentences for a report, one per problem; empty when the schedule was kept.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.too_few_connections() || self.not_started > 0 {
            warnings.push(format!(
                "{} of {} flows waited for a free connection (all {} busy) and {} never \
                 started: too few connections (max_active) for this rate; latency counts from \
                 the intended start, so it shows the queueing",
                self.late_waiting_for_connection, self.intended, self.max_active, self.not_started
            ));
        }
        if self.late_with_idle_connections() > 0 {
            warnings.push(format!(
                "{} of {} flows started late with a connection free (max lag {:?}): the load \
                 generator fell behind its schedule",
                self.late_with_idle_connections(),
                self.intended,
                self.max_lag
            ));
        }
        warnings
    }

    pub fn merge(&mut self, other: &ScheduleStats) {
        self.intended += other.intended;
        self.started += other.started;
        self.late += other.late;
        self.late_waiting_for_connection += other.late_waiting_for_connection;
        self.not_started += other.not_started;
        self.max_lag = self.max_lag.max(other.max_lag);
        self.max_active = self.max_active.max(other.max_active);
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
            .map_or(0, |stats| stats.errors.total())
    }

    pub fn total_requests(&self) -> u64 {
        self.each().map(OperationStats::requests).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.each().map(|stats| stats.errors.total()).sum()
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
                .filter_map(|op| Some(&self.operation(*op)?.latency)),
        )
    }

    /// Open model: the raw latency histograms of `operations` added together.
    pub fn raw_latency(&self, operations: &[Operation]) -> Option<Histogram<u64>> {
        combine(
            operations
                .iter()
                .filter_map(|op| self.operation(*op)?.raw_latency.as_ref()),
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

fn new_histogram() -> Histogram<u64> {
    // Auto-resizing from the smallest range: memory follows the largest latency seen.
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is within hdrhistogram's 0..=5")
}

fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    into.add(from)
        .expect("auto-resizing histograms accept any value and share the same precision");
}

fn combine<'a>(mut histograms: impl Iterator<Item = &'a Histogram<u64>>) -> Option<Histogram<u64>> {
    let mut total = histograms.next()?.clone();
    for histogram in histograms {
        add_histogram(&mut total, histogram);
    }
    (!total.is_empty()).then_some(total)
}

fn value_at(histogram: &Histogram<u64>, percentile: f64) -> Option<Duration> {
    (!histogram.is_empty())
        .then(|| Duration::from_micros(histogram.value_at_quantile(percentile / 100.0)))
}

/// Latencies are clamped to this, which bounds a histogram's size (an hour is far beyond any
/// request timeout or schedule lag worth telling apart).
const LONGEST_RECORDED: Duration = Duration::from_secs(3600);

fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = latency.min(LONGEST_RECORDED).as_micros() as u64;
    // `record` grows the histogram to fit; `saturating_record` never does, so it is only the
    // fallback for a resize that can't happen with values this small.
    if histogram.record(micros).is_err() {
        histogram.saturating_record(micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(operation: Operation, error: Option<ErrorKind>, millis: u64) -> Sample {
        Sample {
            operation,
            error,
            latency: Duration::from_millis(millis),
            raw_latency: Duration::from_millis(millis / 2),
            bytes_sent: 100,
            bytes_received: 200,
        }
    }

    #[test]
    fn successes_go_to_histograms_and_failures_to_error_counts() {
        let mut recording = Recording::new(LatencyModel::Closed);
        recording.record(&sample(Operation::Balance, None, 3));
        recording.record(&sample(Operation::Balance, Some(ErrorKind::Status(401)), 9));
        recording.record(&sample(Operation::Balance, Some(ErrorKind::Timeout), 9));
        let balance = recording.operation(Operation::Balance).unwrap();
        assert_eq!((balance.ok(), balance.requests()), (1, 3));
        assert_eq!(balance.errors().status.get(&401), Some(&1));
        assert_eq!(balance.errors().timeout, 1);
        assert_eq!(balance.latency().len(), 1);
        assert!(balance.raw_latency().is_none());
        assert_eq!(recording.bytes_sent(), 300);
        assert!(recording.operation(Operation::Login).is_none());
        assert_eq!(recording.requests(Operation::Login), 0);
    }

    #[test]
    fn open_recordings_keep_raw_latency_beside_the_corrected_one() {
        let mut recording = Recording::new(LatencyModel::Open);
        recording.record(&sample(Operation::Login, None, 1000));
        let login = recording.operation(Operation::Login).unwrap();
        let corrected = login.percentile(99.0).unwrap();
        let raw = login.raw_percentile(99.0).unwrap();
        assert!(corrected.abs_diff(Duration::from_secs(1)) < Duration::from_millis(2));
        assert!(raw.abs_diff(Duration::from_millis(500)) < Duration::from_millis(1));
    }

    #[test]
    fn merge_adds_counts_histograms_schedule_and_elapsed() {
        let mut first = Recording::new(LatencyModel::Open);
        first.record(&sample(Operation::Balance, None, 2));
        first.record_flow_start(Duration::from_millis(5), true);
        first.set_elapsed(Duration::from_secs(1));
        let mut second = Recording::new(LatencyModel::Open);
        second.record(&sample(Operation::Balance, None, 400));
        second.record(&sample(Operation::Logout, Some(ErrorKind::Connect), 0));
        second.record_flow_start(Duration::from_micros(10), false);
        second.set_elapsed(Duration::from_secs(2));

        first.merge(second);
        assert_eq!(first.total_requests(), 3);
        assert_eq!(first.total_errors(), 1);
        assert_eq!(first.elapsed(), Duration::from_secs(3));
        let p100 = first.percentile(&[Operation::Balance], 100.0).unwrap();
        assert!(p100 >= Duration::from_millis(399), "{p100:?}");
        let schedule = first.schedule().unwrap();
        assert_eq!((schedule.started, schedule.late), (2, 1));
        assert_eq!(schedule.late_waiting_for_connection, 1);
        assert_eq!(schedule.max_lag, Duration::from_millis(5));
        assert!(schedule.too_few_connections());
    }
}
