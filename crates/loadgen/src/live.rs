//! Lock-free counters behind the live progress line: requests, errors and an approximate p99,
//! cheap enough to update on every request from every runtime thread.
//!
//! Latencies land in a fixed array of log-spaced buckets (8 per power of two, so a reported p99
//! is at most 12.5% above the true one). Each runtime thread writes to its own shard, so threads
//! don't fight over cache lines; a snapshot sums the shards.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Values below this many microseconds get one bucket each.
const LINEAR_BUCKETS: usize = 8;
/// Buckets per power of two above the linear range.
const SUB_BUCKETS_BITS: u32 = 3;
/// The largest power of two tracked (2^30 µs ≈ 18 minutes); slower requests count in the top
/// bucket, which is plenty for a progress line.
const TOP_POWER: u32 = 30;
const BUCKETS: usize = LINEAR_BUCKETS + (TOP_POWER as usize - 2) * LINEAR_BUCKETS;
/// More shards than this and threads share one; a shared shard is still correct, only slower.
const SHARDS: usize = 8;

/// A dense number for the calling thread, the same for the thread's whole life. Used to pick a
/// shard so that threads of one runtime write to different memory.
pub(crate) fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
    }
    SLOT.with(|slot| match slot.get() {
        Some(value) => value,
        None => {
            let value = NEXT.fetch_add(1, Ordering::Relaxed);
            slot.set(Some(value));
            value
        }
    })
}

/// Shared handle to the counters; clones count into the same place.
#[derive(Clone, Default)]
pub struct Live {
    shards: Arc<[Shard; SHARDS]>,
}

/// What happened since the previous snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveSnapshot {
    /// Requests that finished, failed ones included.
    pub requests: u64,
    pub errors: u64,
    /// Approximate 99th percentile of the answered requests (failed ones have no latency);
    /// zero when none were answered.
    pub p99: Duration,
}

// Aligned so that two shards never share a cache line.
#[repr(align(128))]
struct Shard {
    latency: [AtomicU64; BUCKETS],
    errors: AtomicU64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard {
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            errors: AtomicU64::new(0),
        }
    }
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Live {
    pub fn new() -> Live {
        Live::default()
    }

    /// An answered request (whatever its status).
    pub fn record_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.shard().latency[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// A request that got no answer (connect failure, timeout, broken connection), or one whose
    /// answer was an error status: counted as a request and as an error. Answered errors should
    /// also go through [`Live::record_latency`], unanswered ones not.
    pub fn record_error(&self, answered: bool) {
        let shard = self.shard();
        shard.errors.fetch_add(1, Ordering::Relaxed);
        if !answered {
            // Keeps `requests` right: requests are the answered ones plus the unanswered errors.
            shard.latency[UNANSWERED].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts since the previous call, which then start again from zero.
    pub fn snapshot_and_reset(&self) -> LiveSnapshot {
        let mut counts = [0u64; BUCKETS];
        let mut errors = 0;
        for shard in self.shards.iter() {
            errors += shard.errors.swap(0, Ordering::Relaxed);
            for (total, bucket) in counts.iter_mut().zip(&shard.latency) {
                *total += bucket.swap(0, Ordering::Relaxed);
            }
        }
        let unanswered = std::mem::take(&mut counts[UNANSWERED]);
        let answered: u64 = counts.iter().sum();
        LiveSnapshot {
            requests: answered + unanswered,
            errors,
            p99: percentile(&counts, answered, 0.99),
        }
    }

    fn shard(&self) -> &Shard {
        &self.shards[thread_slot() % SHARDS]
    }
}

/// Bucket 0 counts unanswered requests, not a latency: it keeps the request count to one atomic
/// add per request. Real 0 µs latencies go to bucket 1 (the p99 is approximate anyway).
const UNANSWERED: usize = 0;

fn bucket_of(micros: u64) -> usize {
    if micros < LINEAR_BUCKETS as u64 {
        return (micros as usize).max(1);
    }
    let power = (63 - micros.leading_zeros()).min(TOP_POWER);
    if power == TOP_POWER && micros >> TOP_POWER != 1 {
        return BUCKETS - 1;
    }
    let sub = (micros >> (power - SUB_BUCKETS_BITS)) as usize & (LINEAR_BUCKETS - 1);
    LINEAR_BUCKETS + (power as usize - SUB_BUCKETS_BITS as usize) * LINEAR_BUCKETS + sub
}

/// The exclusive upper end of a bucket, in microseconds: what a percentile in it reports.
fn bucket_ceiling(bucket: usize) -> u64 {
    if bucket < LINEAR_BUCKETS {
        return bucket as u64 + 1;
    }
    let power = (bucket - LINEAR_BUCKETS) / LINEAR_BUCKETS + SUB_BUCKETS_BITS as usize;
    let sub = ((bucket - LINEAR_BUCKETS) % LINEAR_BUCKETS) as u64;
    (LINEAR_BUCKETS as u64 + sub + 1) << (power - SUB_BUCKETS_BITS as usize)
}

fn percentile(counts: &[u64; BUCKETS], total: u64, quantile: f64) -> Duration {
    if total == 0 {
        return Duration::ZERO;
    }
    let rank = ((total as f64 * quantile).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Duration::from_micros(bucket_ceiling(bucket));
        }
    }
    Duration::from_micros(bucket_ceiling(BUCKETS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_latency_lands_in_a_bucket_whose_ceiling_is_above_it_and_close() {
        for micros in (1..5_000_000u64)
            .step_by(997)
            .chain([1, 7, 8, 9, 15, 16, 1 << 29])
        {
            let bucket = bucket_of(micros);
            assert!(bucket < BUCKETS && bucket != UNANSWERED, "{micros}");
            let ceiling = bucket_ceiling(bucket);
            assert!(ceiling > micros, "{micros} -> {ceiling}");
            assert!(
                ceiling as f64 <= micros as f64 * 1.126 + 1.0,
                "{micros} -> {ceiling}"
            );
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn snapshot_counts_requests_errors_and_p99_then_resets() {
        let live = Live::new();
        for _ in 0..995 {
            live.record_latency(Duration::from_micros(100));
        }
        for _ in 0..5 {
            live.record_latency(Duration::from_millis(50));
        }
        live.record_error(false);
        live.record_latency(Duration::from_millis(2));
        live.record_error(true);

        let snapshot = live.snapshot_and_reset();
        assert_eq!(snapshot.requests, 1002);
        assert_eq!(snapshot.errors, 2);
        assert!(snapshot.p99 >= Duration::from_micros(100));
        assert!(
            snapshot.p99 <= Duration::from_micros(113),
            "{:?}",
            snapshot.p99
        );
        assert_eq!(live.snapshot_and_reset(), LiveSnapshot::default());
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let live = Live::new();
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        live.record_latency(Duration::from_millis(1));
                    }
                });
            }
        });
        assert_eq!(live.snapshot_and_reset().requests, 12_000);
    }
}
