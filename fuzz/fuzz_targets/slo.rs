//! The SLO grammar shared by `--slo` and the scenario's `[slo]` (`p99<50ms,errors<0.1%`).
//!
//! Property: a target that parses is written back (`Display`) as text that parses to the same
//! target, and its figures are in range.
#![no_main]

use authbench_report::slo::SloTarget;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(target) = text.parse::<SloTarget>() else {
        return;
    };
    assert!(
        target.percentile > 0.0 && target.percentile < 100.0,
        "{text:?}: {target:?}"
    );
    if let Some(rate) = target.max_error_rate {
        assert!((0.0..=1.0).contains(&rate), "{text:?}: {target:?}");
    }
    let written = target.to_string();
    let again: SloTarget = written.parse().unwrap_or_else(|error| {
        panic!("{text:?} was written as {written:?}, which is refused: {error}")
    });
    // The error rate is written in percent: x * 100 / 100 may be a last bit away from x.
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= a.abs() * 1e-12,
        (a, b) => a == b,
    };
    assert!(
        close(again.max_error_rate, target.max_error_rate),
        "{text:?} was written as {written:?}"
    );
    let rate = target.max_error_rate;
    assert_eq!(
        SloTarget {
            max_error_rate: rate,
            ..again
        },
        target,
        "{text:?} was written as {written:?}"
    );
});
