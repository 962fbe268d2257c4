//! Open model: how well the arrival schedule was kept, and what a missed one says about the run.

use std::time::Duration;

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
