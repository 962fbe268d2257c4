//! Prometheus text from a server's `/metrics` (ours, or an external system's).
//!
//! The input is split at its first 0xFF byte into two scrapes, a step's start and end.
//!
//! Property: parsing and deltas never panic; every sample has a name and only names and label
//! values that were in the text.
#![no_main]

use authbench_loadgen::probe::MetricsSample;
use authbench_loadgen::probe::prometheus::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for sample in parse(&text) {
        assert!(!sample.name.is_empty());
        assert!(text.contains(sample.name.as_str()), "{:?}", sample.name);
    }
    let (start, end) = text.split_once('\u{FFFD}').unwrap_or((&text, &text));
    let (start, end) = (MetricsSample::parse(start), MetricsSample::parse(end));
    let _ = start.delta(&end);
    let _ = end.delta(&start);
});
