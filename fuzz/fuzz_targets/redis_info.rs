//! Redis `INFO` answers as the store probe reads them (any Redis, or anything that answers on
//! its port).
//!
//! The input is split at its first 0xFF byte into two answers, a step's start and end.
//!
//! Property: parsing and the delta between any two parsed answers never panic (no overflow on
//! counters that went backwards or wrapped), and a delta counts only commands the end names.
#![no_main]

use authbench_loadgen::probe::RedisSample;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (start, end) = text.split_once('\u{FFFD}').unwrap_or((&text, &text));
    let (Ok(start), Ok(end)) = (RedisSample::parse(start), RedisSample::parse(end)) else {
        return;
    };
    for (from, to) in [(&start, &end), (&end, &start), (&start, &start)] {
        let load = from.delta(to);
        let counted: u64 = load
            .calls
            .values()
            .fold(0u64, |sum, &n| sum.saturating_add(n));
        assert_eq!(counted, load.total_calls);
        let _ = load.cpu_seconds();
    }
});
