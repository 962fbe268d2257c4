//! Cutting off a connection that sends no request head in time: a client that trickles its
//! headers, or one that keeps an idle connection open, is disconnected once it has been waited on
//! for longer than the limit.
//!
//! hyper can do this itself (`header_read_timeout`), but it arms a timer of its own, allocated
//! and registered with the runtime, for every request: a large part of a request's cost on the
//! servers' cheapest routes. Here a request costs two atomic stores: the guard marks the
//! connection busy when a request head has arrived and waiting again when the answer is ready,
//! and one watchdog per connection looks at the mark a few times per limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Marks `waiting_since` as "a request is being answered".
const BUSY: u64 = u64::MAX;

/// Whether a connection is waiting for its next request head, and since when.
#[derive(Debug)]
pub struct Idleness {
    /// The connection's accept time; marks are milliseconds after it.
    epoch: Instant,
    waiting_since: AtomicU64,
}

impl Idleness {
    /// A connection accepted at `epoch`, waiting for its first request head since then.
    pub fn new(epoch: Instant) -> Idleness {
        Idleness {
            epoch,
            waiting_since: AtomicU64::new(0),
        }
    }

    /// A request head has arrived: the connection is not idle while it is answered.
    pub fn busy(&self) {
        self.waiting_since.store(BUSY, Ordering::Relaxed);
    }

    /// The answer was ready at `at`: the connection waits for the next head from then.
    pub fn waiting_from(&self, at: Instant) {
        let millis = at.saturating_duration_since(self.epoch).as_millis();
        let millis = u64::try_from(millis).unwrap_or(BUSY - 1);
        self.waiting_since.store(millis, Ordering::Relaxed);
    }

    /// Whether the connection has been waiting for a request head for longer than `limit`.
    fn waited_past(&self, limit: Duration, now: Instant) -> bool {
        let since = self.waiting_since.load(Ordering::Relaxed);
        if since == BUSY {
            return false;
        }
        let waited = now.saturating_duration_since(self.epoch + Duration::from_millis(since));
        waited > limit
    }

    /// Resolves once the connection has waited for a request head for longer than `limit`
    /// (checked four times per limit, at most once a second).
    pub async fn stalled(&self, limit: Duration) {
        let every = (limit / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            if self.waited_past(limit, Instant::now()) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_connection_never_stalls_and_a_waiting_one_does_after_the_limit() {
        let epoch = Instant::now();
        let idleness = Idleness::new(epoch);
        let limit = Duration::from_secs(10);
        assert!(!idleness.waited_past(limit, epoch + Duration::from_secs(9)));
        assert!(idleness.waited_past(limit, epoch + Duration::from_secs(11)));
        idleness.busy();
        assert!(!idleness.waited_past(limit, epoch + Duration::from_secs(100)));
        idleness.waiting_from(epoch + Duration::from_secs(100));
        assert!(!idleness.waited_past(limit, epoch + Duration::from_secs(105)));
        assert!(idleness.waited_past(limit, epoch + Duration::from_secs(111)));
    }
}
