//! The HDR histograms every latency goes into, and the few operations on them that recording and
//! reading need.

use std::time::Duration;

use hdrhistogram::Histogram;

/// HDR precision of every latency histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

pub(super) fn new_histogram() -> Histogram<u64> {
    // Auto-resizing from the smallest range: memory follows the largest latency seen.
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is within hdrhistogram's 0..=5")
}

pub(super) fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    into.add(from)
        .expect("auto-resizing histograms accept any value and share the same precision");
}

pub(super) fn combine<'a>(
    mut histograms: impl Iterator<Item = &'a Histogram<u64>>,
) -> Option<Histogram<u64>> {
    let mut total = histograms.next()?.clone();
    for histogram in histograms {
        add_histogram(&mut total, histogram);
    }
    (!total.is_empty()).then_some(total)
}

pub(super) fn value_at(histogram: &Histogram<u64>, percentile: f64) -> Option<Duration> {
    (!histogram.is_empty())
        .then(|| Duration::from_micros(histogram.value_at_quantile(percentile / 100.0)))
}

/// Latencies are clamped to this, which bounds a histogram's size (an hour is far beyond any
/// request timeout or schedule lag worth telling apart).
const LONGEST_RECORDED: Duration = Duration::from_secs(3600);

pub(super) fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = latency.min(LONGEST_RECORDED).as_micros() as u64;
    // `record` grows the histogram to fit; `saturating_record` never does, so it is only the
    // fallback for a resize that can't happen with values this small.
    if histogram.record(micros).is_err() {
        histogram.saturating_record(micros);
    }
}
