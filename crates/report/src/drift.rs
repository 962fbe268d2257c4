//! A long run's drift: a system's first repeats of a step against its last, for latency, the
//! server's memory and open file descriptors, and the keys its store holds. A leak shows as a
//! figure that keeps rising from the first window to the last.

use crate::model::{Operation, RepeatStats, SystemStep};

/// Each window covers the repeats of the first (or last) this many seconds of measured time...
pub const WINDOW_S: f64 = 600.0;

/// A system's first and last windows of repeats at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// Repeats in each window.
    pub window_repeats: usize,
    /// Measured seconds in each window.
    pub window_s: f64,
    pub repeats: usize,
    /// The median over each window's repeats of the operation's p50 and p99.
    pub p50_us: Edges<u64>,
    pub p99_us: Edges<u64>,
    /// At the end of each window: the first window's last repeat, the run's last repeat.
    pub server_rss_bytes: Option<Edges<u64>>,
    pub server_open_fds: Option<Edges<u64>>,
    pub store_keys: Option<Edges<u64>>,
    /// The highest of any repeat.
    pub server_rss_max_bytes: Option<u64>,
    pub store_keys_max: Option<u64>,
}

/// A figure at the first window and at the last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edges<T> {
    pub first: T,
    pub last: T,
}

/// The drift of `step` on `operation`; `None` below three repeats, where first and last
/// windows would be most of the run.
pub fn of(step: &SystemStep, operation: Operation) -> Option<Drift> {
    let repeats = &step.repeats;
    if repeats.len() < 3 {
        return None;
    }
    // Repeats within the first WINDOW_S, at most a third of them, at least one.
    let mut window_repeats = 0;
    let mut seconds = 0.0;
    for repeat in repeats.iter().take(repeats.len() / 3) {
        if window_repeats > 0 && seconds + repeat.duration_s > WINDOW_S {
            break;
        }
        seconds += repeat.duration_s;
        window_repeats += 1;
    }
    let window_repeats = window_repeats.max(1);
    let first = &repeats[..window_repeats];
    let last = &repeats[repeats.len() - window_repeats..];
    let name = operation.as_str();
    let latency = |pick: fn(&RepeatStats) -> &std::collections::BTreeMap<String, u64>| Edges {
        first: median(first.iter().filter_map(|r| pick(r).get(name).copied())),
        last: median(last.iter().filter_map(|r| pick(r).get(name).copied())),
    };
    let at_ends = |pick: fn(&RepeatStats) -> Option<u64>| {
        Some(Edges {
            first: pick(first.last()?)?,
            last: pick(last.last()?)?,
        })
    };
    Some(Drift {
        window_repeats,
        window_s: first.iter().map(|r| r.duration_s).sum(),
        repeats: repeats.len(),
        p50_us: latency(|r| &r.p50_us),
        p99_us: latency(|r| &r.p99_us),
        server_rss_bytes: at_ends(|r| r.server_rss_bytes),
        server_open_fds: at_ends(|r| r.server_open_fds),
        store_keys: at_ends(|r| r.store_keys),
        server_rss_max_bytes: repeats.iter().filter_map(|r| r.server_rss_bytes).max(),
        store_keys_max: repeats.iter().filter_map(|r| r.store_keys).max(),
    })
}

/// The middle value (the lower of the two middle ones); 0 for none.
fn median(values: impl Iterator<Item = u64>) -> u64 {
    let mut values: Vec<u64> = values.collect();
    values.sort_unstable();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn repeat(p99: u64, rss: u64, keys: u64) -> RepeatStats {
        RepeatStats {
            duration_s: 60.0,
            requests: 100,
            errors: 0,
            requests_per_second: 100.0 / 60.0,
            slo_percentile_us: BTreeMap::new(),
            p50_us: BTreeMap::from([("balance".to_owned(), p99 / 2)]),
            p99_us: BTreeMap::from([("balance".to_owned(), p99)]),
            store_operations_per_request: None,
            store_cpu_us_per_request: None,
            server_cpu_us_per_request: None,
            window: None,
            server_rss_bytes: Some(rss),
            server_open_fds: Some(20),
            store_keys: Some(keys),
        }
    }

    #[test]
    fn windows_are_the_first_and_last_ten_minutes_at_most_a_third_of_the_run() {
        // 30 one-minute repeats: windows of 10; latency, memory and keys rising.
        let repeats: Vec<RepeatStats> = (0..30u64)
            .map(|i| repeat(1000 + i * 10, 1 << 20 | i, 50 + i))
            .collect();
        let drift = drift_of(repeats).expect("30 repeats");
        assert_eq!(
            (drift.window_repeats, drift.window_s, drift.repeats),
            (10, 600.0, 30)
        );
        assert_eq!(
            drift.p99_us,
            Edges {
                first: 1040,
                last: 1240
            }
        );
        assert_eq!(
            drift.server_rss_bytes,
            Some(Edges {
                first: 1 << 20 | 9,
                last: 1 << 20 | 29
            })
        );
        assert_eq!(
            drift.store_keys,
            Some(Edges {
                first: 59,
                last: 79
            })
        );
        assert_eq!(drift.store_keys_max, Some(79));
        // Three repeats: one each.
        let drift = drift_of((0..3).map(|i| repeat(1000, 10, i)).collect()).expect("3 repeats");
        assert_eq!(drift.window_repeats, 1);
        assert_eq!(drift.store_keys, Some(Edges { first: 0, last: 2 }));
        assert_eq!(drift_of(vec![repeat(1, 1, 1); 2]), None);
    }

    fn drift_of(repeats: Vec<RepeatStats>) -> Option<Drift> {
        let step: SystemStep = serde_json::from_value(serde_json::json!({
            "system": "a", "duration_s": 1.0, "requests": 1, "errors": 0,
            "requests_per_second": 1.0, "operations": [], "repeats": repeats,
            "resources": {"server_cpu_s": null, "server_peak_rss_bytes": null, "loadgen_cpu_s": 0.0,
                          "loadgen_cpu_share": 0.0, "loadgen_peak_rss_bytes": 0},
            "store": null, "server_requests": null,
            "derived": {"store_operations_per_request": null, "store_cpu_us_per_request": null,
                        "server_cpu_us_per_request": null, "store_bytes_per_session": null,
                        "store_ops_of_ceiling": null, "store_cpu_of_ceiling": null},
            "schedule": null, "slo_met": true, "flags": []
        }))
        .expect("a step");
        of(&step, Operation::Balance)
    }
}
