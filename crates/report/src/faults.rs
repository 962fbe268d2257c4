//! How a system went through each fault against its store (`[[faults]]`), read off its
//! timeline: when errors began, when it was back, and what failed meanwhile.

use crate::model::{FaultFigures, FaultWindow, Timeline, TimelinePoint};

/// A tick at this share of the rate before the fault, with no error after it, is back: the
/// same share that counts as back after a burst.
pub use crate::overload::RECOVERED_RATE;

/// One figure per fault of the timeline, in order.
pub fn figures(timeline: &Timeline) -> Vec<FaultFigures> {
    let faults = &timeline.faults;
    faults
        .iter()
        .enumerate()
        .map(|(index, fault)| {
            let next = faults.get(index + 1).map_or(f64::INFINITY, |f| f.start_s);
            one(&timeline.points, fault, next)
        })
        .collect()
}

fn one(points: &[TimelinePoint], fault: &FaultWindow, next_start: f64) -> FaultFigures {
    // A tick belongs to the part of the window its end falls in.
    let before: Vec<&TimelinePoint> = points.iter().filter(|p| p.at_s <= fault.start_s).collect();
    let span: Vec<&TimelinePoint> = points
        .iter()
        .filter(|p| p.at_s > fault.start_s && p.at_s <= next_start)
        .collect();
    let seconds: f64 = before.iter().map(|p| p.seconds).sum();
    let before_rps =
        before.iter().map(|p| p.requests).sum::<u64>() as f64 / seconds.max(f64::EPSILON);
    let first_error_s = span
        .iter()
        .find(|p| p.errors > 0)
        .map(|p| (p.at_s - p.seconds - fault.start_s).max(0.0));
    let at_rate = |p: &TimelinePoint| {
        p.requests as f64 / p.seconds.max(f64::EPSILON) >= RECOVERED_RATE * before_rps
    };
    // Back: the first tick at the rate before, once no later tick fails. A later tick's dip in
    // rate alone does not undo it: on a shared machine a half-second runs 10% slow now and
    // then, fault or none, and counting those would date the return to the last such dip.
    let recovery_s = fault.end_s.and_then(|end| {
        let after: Vec<&&TimelinePoint> = span
            .iter()
            .filter(|p| p.at_s > end && !p.is_sliver())
            .collect();
        let after_last_error = after
            .iter()
            .rposition(|p| p.errors > 0)
            .map_or(0, |i| i + 1);
        after[after_last_error..]
            .iter()
            .find(|p| at_rate(p))
            .map(|p| (p.at_s - p.seconds - end).max(0.0))
    });
    let failed_requests: u64 = span.iter().map(|p| p.errors).sum();
    // While the store was away: what was served, against what the rate before would have.
    let away_until = fault.end_s.unwrap_or(next_start);
    let away: Vec<&&TimelinePoint> = span
        .iter()
        .filter(|p| p.at_s - p.seconds < away_until)
        .collect();
    let served: u64 = away
        .iter()
        .map(|p| p.requests - p.errors.min(p.requests))
        .sum();
    let expected = before_rps * away.iter().map(|p| p.seconds).sum::<f64>();
    FaultFigures {
        kind: fault.kind.clone(),
        start_s: fault.start_s,
        end_s: fault.end_s,
        before_rps,
        first_error_s,
        recovery_s,
        failed_requests,
        availability: if expected > 0.0 {
            (served as f64 / expected).min(1.0)
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(at_s: f64, requests: u64, errors: u64) -> TimelinePoint {
        TimelinePoint {
            at_s,
            seconds: 0.5,
            requests,
            errors,
            p99_us: 100,
        }
    }

    #[test]
    fn errors_start_with_the_fault_and_recovery_counts_from_the_stores_return() {
        let timeline = Timeline {
            points: vec![
                tick(0.5, 100, 0),
                tick(1.0, 100, 0),
                tick(1.5, 20, 20),
                tick(2.0, 10, 10),
                tick(2.5, 60, 0),
                tick(3.0, 100, 0),
                tick(3.5, 100, 0),
                TimelinePoint {
                    seconds: 0.001,
                    ..tick(3.501, 1, 0)
                },
            ],
            burst: None,
            faults: vec![FaultWindow {
                kind: "pause".into(),
                start_s: 1.0,
                end_s: Some(2.0),
            }],
        };
        let figures = figures(&timeline);
        assert_eq!(figures.len(), 1);
        let f = &figures[0];
        assert_eq!(f.before_rps, 200.0);
        assert_eq!(f.first_error_s, Some(0.0));
        // 2.0–2.5 is at 120/s, under 90% of 200/s; from 2.5 on it is back.
        assert_eq!(f.recovery_s, Some(0.5));
        assert_eq!(f.failed_requests, 30);
        // Away from 1.0 to 2.0: nothing served, of the 200/s before.
        assert_eq!(f.availability, 0.0);
    }

    /// A store paused from 1.0 to 2.0 s, at 200/s before and nothing in the pause, then `after`.
    fn paused_from_1_to_2(after: [TimelinePoint; 3]) -> FaultFigures {
        let mut points = vec![tick(0.5, 100, 0), tick(1.0, 100, 0), tick(1.5, 0, 0)];
        points.extend(after);
        let timeline = Timeline {
            points,
            burst: None,
            faults: vec![FaultWindow {
                kind: "pause".into(),
                start_s: 1.0,
                end_s: Some(2.0),
            }],
        };
        figures(&timeline).remove(0)
    }

    #[test]
    fn a_later_dip_in_rate_alone_does_not_undo_a_return_but_a_later_error_does() {
        let dip = paused_from_1_to_2([tick(2.5, 100, 0), tick(3.0, 80, 0), tick(3.5, 100, 0)]);
        assert_eq!(dip.recovery_s, Some(0.0));
        let error = paused_from_1_to_2([tick(2.5, 100, 0), tick(3.0, 95, 1), tick(3.5, 100, 0)]);
        assert_eq!(error.recovery_s, Some(1.0));
    }

    #[test]
    fn a_system_that_keeps_serving_while_its_store_is_away_is_fully_available() {
        let timeline = Timeline {
            points: vec![
                tick(0.5, 100, 0),
                tick(1.0, 100, 0),
                tick(1.5, 100, 0),
                tick(2.0, 100, 0),
            ],
            burst: None,
            faults: vec![FaultWindow {
                kind: "pause".into(),
                start_s: 1.0,
                end_s: Some(2.0),
            }],
        };
        let f = &figures(&timeline)[0];
        assert_eq!(
            (f.availability, f.first_error_s, f.recovery_s),
            (1.0, None, None)
        );
    }

    #[test]
    fn a_store_that_never_returns_has_no_recovery() {
        let timeline = Timeline {
            points: vec![tick(0.5, 100, 0), tick(1.0, 5, 5), tick(1.5, 5, 5)],
            burst: None,
            faults: vec![FaultWindow {
                kind: "kill".into(),
                start_s: 0.5,
                end_s: None,
            }],
        };
        let f = &figures(&timeline)[0];
        assert_eq!(f.recovery_s, None);
        assert_eq!(f.first_error_s, Some(0.0));
        assert_eq!(f.availability, 0.0);
    }
}
