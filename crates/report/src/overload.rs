//! How a system went through a burst of arrivals (`[overload]`), read off its timeline.

use crate::model::{OverloadFigures, Timeline, TimelinePoint};

/// A tick at this share of the rate before the burst is back at full rate.
pub const RECOVERED_RATE: f64 = 0.9;
/// A tick's p99 within this many times the p99 before the burst is back to normal latency...
pub const RECOVERED_P99_FACTOR: u64 = 2;
/// ...or within this much above it, so that a sub-millisecond p99 doubling on noise is not read
/// as still overloaded.
pub const RECOVERED_P99_SLACK_US: u64 = 1_000;

/// The figures for a timeline with a burst; `None` without one, or without ticks before it.
pub fn figures(timeline: &Timeline) -> Option<OverloadFigures> {
    let burst = timeline.burst?;
    // A tick belongs to the part of the window its end falls in.
    let before: Vec<&TimelinePoint> = timeline
        .points
        .iter()
        .filter(|p| p.at_s <= burst.start_s)
        .collect();
    let during: Vec<&TimelinePoint> = timeline
        .points
        .iter()
        .filter(|p| p.at_s > burst.start_s && p.at_s <= burst.end_s)
        .collect();
    let after: Vec<&TimelinePoint> = timeline
        .points
        .iter()
        .filter(|p| p.at_s > burst.end_s)
        .collect();
    if before.is_empty() {
        return None;
    }
    let before_rps = rate(&before);
    let before_p99_us = max_p99(&before);
    let recovered = |point: &TimelinePoint| {
        let p99_limit =
            (before_p99_us * RECOVERED_P99_FACTOR).max(before_p99_us + RECOVERED_P99_SLACK_US);
        point.errors == 0
            && point.requests as f64 / point.seconds.max(f64::EPSILON)
                >= RECOVERED_RATE * before_rps
            && point.p99_us <= p99_limit
    };
    // The first tick after the burst from which every later tick is recovered.
    let first_of_last_run = after
        .iter()
        .rposition(|p| !recovered(p))
        .map_or(0, |i| i + 1);
    let recovery_s = after.get(first_of_last_run).map(|point| {
        // The tick started `seconds` before its end: recovery is counted from its start.
        (point.at_s - point.seconds - burst.end_s).max(0.0)
    });
    Some(OverloadFigures {
        before_rps,
        before_p99_us,
        during_rps: rate(&during),
        during_errors: during.iter().map(|p| p.errors).sum(),
        during_p99_us: max_p99(&during),
        after_errors: after.iter().map(|p| p.errors).sum(),
        recovery_s,
    })
}

fn rate(points: &[&TimelinePoint]) -> f64 {
    let seconds: f64 = points.iter().map(|p| p.seconds).sum();
    let requests: u64 = points.iter().map(|p| p.requests).sum();
    if seconds > 0.0 {
        requests as f64 / seconds
    } else {
        0.0
    }
}

fn max_p99(points: &[&TimelinePoint]) -> u64 {
    points.iter().map(|p| p.p99_us).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BurstWindow;

    fn timeline(ticks: &[(u64, u64, u64)]) -> Timeline {
        Timeline {
            faults: Vec::new(),
            points: ticks
                .iter()
                .enumerate()
                .map(|(i, &(requests, errors, p99_us))| TimelinePoint {
                    at_s: (i + 1) as f64,
                    seconds: 1.0,
                    requests,
                    errors,
                    p99_us,
                })
                .collect(),
            burst: Some(BurstWindow {
                start_s: 2.0,
                end_s: 4.0,
                factor: 8.0,
            }),
        }
    }

    #[test]
    fn recovery_counts_from_the_burst_end_to_the_first_tick_of_the_last_healthy_run() {
        // Two ticks before, two in the burst, then: still failing, slow, healthy, healthy.
        let figures = figures(&timeline(&[
            (100, 0, 2_000),
            (100, 0, 3_000),
            (150, 40, 900_000),
            (160, 60, 1_000_000),
            (120, 5, 800_000),
            (100, 0, 50_000),
            (95, 0, 4_000),
            (100, 0, 3_500),
        ]))
        .expect("a burst with ticks before it");
        assert_eq!(figures.before_rps, 100.0);
        assert_eq!(figures.before_p99_us, 3_000);
        assert_eq!(figures.during_rps, 155.0);
        assert_eq!(figures.during_errors, 100);
        assert_eq!(figures.during_p99_us, 1_000_000);
        assert_eq!(figures.after_errors, 5);
        assert_eq!(figures.recovery_s, Some(2.0));
    }

    #[test]
    fn a_system_still_failing_at_the_end_has_not_recovered() {
        let figures = figures(&timeline(&[
            (100, 0, 2_000),
            (100, 0, 2_000),
            (10, 90, 0),
            (10, 90, 0),
            (50, 1, 3_000),
        ]))
        .expect("figures");
        assert_eq!(figures.recovery_s, None);
    }

    #[test]
    fn an_untouched_system_recovers_at_once() {
        let figures = figures(&timeline(&[(100, 0, 2_000); 6])).expect("figures");
        assert_eq!(figures.recovery_s, Some(0.0));
    }
}
