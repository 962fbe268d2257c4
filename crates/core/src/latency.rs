//! A histogram of durations for `/metrics` that records without a lock: every request of every
//! route and every store operation is timed, so recording must cost a few atomic adds, not a
//! mutex and a search through the buckets (prometheus-client's own histogram takes both).
//!
//! Buckets double from a first upper bound, so a duration's bucket is a bit count away; the
//! exposition is the usual Prometheus histogram (`_bucket{le=...}`, `_sum`, `_count`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// How many doubling buckets every [`Latency`] has, past which durations count as `+Inf`.
const BUCKETS: usize = 20;

/// Durations in doubling buckets from `first`; cheap to clone (the counts are shared).
#[derive(Clone, Debug)]
pub struct Latency {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    first_nanos: u64,
    /// Per bucket, not cumulative; the last one is `+Inf`.
    counts: [AtomicU64; BUCKETS + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    /// Buckets with upper bounds `first`, `2 × first`, ... (20 of them), then `+Inf`.
    pub fn doubling_from(first: Duration) -> Latency {
        Latency {
            inner: Arc::new(Inner {
                first_nanos: u64::try_from(first.as_nanos()).unwrap_or(u64::MAX).max(1),
                counts: std::array::from_fn(|_| AtomicU64::new(0)),
                sum_nanos: AtomicU64::new(0),
            }),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let nanos = elapsed
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(elapsed.subsec_nanos()));
        let inner = &*self.inner;
        inner.counts[bucket(nanos, inner.first_nanos)].fetch_add(1, Ordering::Relaxed);
        inner.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Each bucket's upper bound in seconds (the last `+Inf`) and its own count.
    fn buckets(&self) -> Vec<(f64, u64)> {
        let first = self.inner.first_nanos as f64 / 1e9;
        self.inner
            .counts
            .iter()
            .enumerate()
            .map(|(index, count)| {
                let bound = if index == BUCKETS {
                    f64::INFINITY
                } else {
                    first * f64::from(1u32 << index)
                };
                (bound, count.load(Ordering::Relaxed))
            })
            .collect()
    }
}

/// The smallest bucket whose upper bound (`first << index`) holds `nanos`.
fn bucket(nanos: u64, first: u64) -> usize {
    if nanos <= first {
        return 0;
    }
    // ceil(log2(nanos / first)) as the bit length of (nanos - 1) / first.
    let index = (u64::BITS - ((nanos - 1) / first).leading_zeros()) as usize;
    index.min(BUCKETS)
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let buckets = self.buckets();
        let count = buckets.iter().map(|(_, count)| count).sum();
        let sum = self.inner.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_lands_in_the_first_bucket_that_holds_it() {
        let first = 1_000;
        assert_eq!(bucket(0, first), 0);
        assert_eq!(bucket(1_000, first), 0);
        assert_eq!(bucket(1_001, first), 1);
        assert_eq!(bucket(2_000, first), 1);
        assert_eq!(bucket(2_001, first), 2);
        assert_eq!(bucket(4_000, first), 2);
        assert_eq!(bucket(1_000 << 19, first), 19);
        assert_eq!(bucket((1_000 << 19) + 1, first), BUCKETS);
        assert_eq!(bucket(u64::MAX, first), BUCKETS);
    }

    #[test]
    fn exposition_is_a_prometheus_histogram_with_cumulative_buckets() {
        let mut registry = prometheus_client::registry::Registry::default();
        let latency = Latency::doubling_from(Duration::from_micros(20));
        registry.register("op_seconds", "time", latency.clone());
        for micros in [10, 30, 30, 5_000_000_000] {
            latency.observe(Duration::from_micros(micros));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "op_seconds_count 4",
            "op_seconds_bucket{le=\"0.00002\"} 1",
            "op_seconds_bucket{le=\"0.00004\"} 3",
            "op_seconds_bucket{le=\"+Inf\"} 4",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.contains("op_seconds_sum 5000.00007"), "{text}");
    }
}
