//! Numbers as every rendering writes them (units always, precision that matches what was
//! measured): the claims, the HTML page, the plan, compare, the summary table and the live
//! progress line; and the spans over steps or repeats the claims quote.

use crate::model::{Flag, LoadModel, Routing};

/// A plain number: integers from 100 up (with thousands separators), one decimal from 10, two
/// from 1, and two significant digits below, so that 0.0050 and 1.10 both keep their meaning.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if !value.is_finite() {
        "–".to_owned()
    } else if magnitude >= 100.0 {
        thousands(value.round())
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        format!("{value:.2}")
    } else {
        let decimals = (1 - magnitude.log10().floor() as i32).max(0) as usize;
        format!("{value:.decimals$}")
    }
}

/// A number without trailing zeros, for axis ticks and loads: "32", "2.5", "0.075".
pub fn short(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 {
        return thousands(value);
    }
    let text = number(value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// [`micros`] for axis ticks, without trailing zeros: "300 µs", "3 ms".
pub fn micros_short(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{} s", short(us / 1_000_000.0))
    } else if us >= 1_000.0 {
        format!("{} ms", short(us / 1_000.0))
    } else {
        format!("{} µs", short(us))
    }
}

/// An RFC 3339 time as "2026-11-24 05:20:31 UTC".
pub fn timestamp(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((date, time)) if rfc3339.ends_with('Z') => {
            let time = time.trim_end_matches('Z');
            let time = time.split_once('.').map_or(time, |(whole, _)| whole);
            format!("{date} {time} UTC")
        }
        _ => rfc3339.to_owned(),
    }
}

/// An integer count with thousands separators.
pub fn count(value: u64) -> String {
    thousands(value as f64)
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// A latency or CPU time given in microseconds, in the unit that reads best.
pub fn micros(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{} s", number(us / 1_000_000.0))
    } else if us >= 1_000.0 {
        format!("{} ms", number(us / 1_000.0))
    } else {
        format!("{} µs", number(us))
    }
}

/// A size in bytes: exact below 10 kB, binary multiples above.
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if value.abs() < 10_000.0 {
        return format!("{} B", thousands(value.round()));
    }
    let mut scaled = value / 1024.0;
    let mut unit = 0;
    while scaled.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    format!("{} {}", number(scaled), UNITS[unit])
}

/// A share in [0, 1] as a percentage.
/// `part` of `whole` in percent; 0 of nothing.
pub fn share_percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

pub fn percent(share: f64) -> String {
    format!("{}%", number(share * 100.0))
}

/// `low–high` in one formatter, or a single figure where both read the same.
pub fn span(low: f64, high: f64, format: impl Fn(f64) -> String) -> String {
    let (low, high) = (format(low), format(high));
    if low == high {
        low
    } else {
        // Both ends carry the unit only once: "3.8–19 µs", not "3.8 µs–19 µs".
        match (low.rsplit_once(' '), high.rsplit_once(' ')) {
            (Some((low_value, low_unit)), Some((high_value, high_unit)))
                if low_unit == high_unit =>
            {
                format!("{low_value}–{high_value} {high_unit}")
            }
            _ => format!("{low}–{high}"),
        }
    }
}

/// The smallest and largest of some figures, none when there are none.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|value| value.is_finite())
        .fold(None, |acc, value| match acc {
            None => Some((value, value)),
            Some((low, high)) => Some((f64::min(low, value), f64::max(high, value))),
        })
}

/// A step's load as a reader would say it: "32 VUs", "1,000 flows/s".
pub fn load(model: LoadModel, value: f64) -> String {
    match model {
        LoadModel::Closed if value == 1.0 => "1 VU".to_owned(),
        LoadModel::Closed => format!("{} VUs", short(value)),
        LoadModel::Open => format!("{} flows/s", short(value)),
    }
}

/// A step's position (see [`crate::model::Step::position`]) with its unit: "1,000,000
/// sessions" in a population run, the load otherwise.
pub fn position(report: &crate::model::Report, value: f64) -> String {
    if report.steps_population() {
        format!("{} sessions", short(value))
    } else {
        load(report.load_model, value)
    }
}

/// A range of step positions with the unit once: "1,000–1,000,000 sessions", or [`loads`].
pub fn positions(report: &crate::model::Report, low: f64, high: f64) -> String {
    if report.steps_population() {
        format!("{}–{} sessions", short(low), short(high))
    } else {
        loads(report.load_model, low, high)
    }
}

/// A step's heading: its load, and its population where it has one.
pub fn step(report: &crate::model::Report, step: &crate::model::Step) -> String {
    match step.population {
        Some(sessions) => format!(
            "{} sessions, {}",
            short(sessions as f64),
            load(report.load_model, step.load)
        ),
        None => load(report.load_model, step.load),
    }
}

/// A range of loads with the unit once: "1–256 VUs", "500–8,000 flows/s".
pub fn loads(model: LoadModel, low: f64, high: f64) -> String {
    match model {
        LoadModel::Closed => format!("{}–{} VUs", short(low), short(high)),
        LoadModel::Open => format!("{}–{} flows/s", short(low), short(high)),
    }
}

/// What the load axis is called.
pub fn load_axis(model: LoadModel) -> &'static str {
    match model {
        LoadModel::Closed => "virtual users (concurrency)",
        LoadModel::Open => "arrival rate (flows/s)",
    }
}

/// How requests reached a system's replicas, as the report names it.
pub fn routing(routing: Routing) -> &'static str {
    match routing {
        Routing::RoundRobin => "round robin",
        Routing::Sticky => "sticky",
    }
}

/// A flag as the report names it.
pub fn flag(flag: &Flag) -> String {
    match flag {
        Flag::LoadgenBound { reason } => format!("load generator bound ({reason})"),
        Flag::Errors { rate } => format!("errors ({} of requests)", percent(*rate)),
        Flag::Partial { reason } => format!("partial ({reason})"),
        Flag::SystemDown { reason } => format!("system down ({reason})"),
        Flag::ConnectionsExhausted { waited } => {
            format!(
                "too few connections ({} flows waited for one)",
                count(*waited)
            )
        }
    }
}

/// Microseconds in the unit that fits, compact (`850µs`, `12.3ms`, `1.20s`): the summary table
/// and the progress line.
pub fn latency_compact(micros: f64) -> String {
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1e6 {
        format!("{:.1}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

/// `8` rather than `8.0`, `99.9` as is.
pub fn trim_number(value: f64) -> String {
    trim_number_to(value, 6)
}

/// [`trim_number`] with at most `decimals` decimals.
pub fn trim_number_to(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_the_precision_that_matters() {
        assert_eq!(number(16708.4), "16,708");
        assert_eq!(number(119.34), "119");
        assert_eq!(number(19.02), "19.0");
        assert_eq!(number(1.105), "1.10");
        assert_eq!(number(0.085), "0.085");
        assert_eq!(number(0.004977), "0.0050");
        assert_eq!(number(0.0), "0.00");
    }

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short(32.0), "32");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(0.075), "0.075");
        assert_eq!(short(99.9), "99.9");
        assert_eq!(micros_short(30_000.0), "30 ms");
        assert_eq!(
            timestamp("2026-11-24T05:20:31.619Z"),
            "2026-11-24 05:20:31 UTC"
        );
    }

    #[test]
    fn spans_name_the_unit_once() {
        assert_eq!(span(3.79, 18.89, micros), "3.79–18.9 µs");
        assert_eq!(span(1.0, 1.0, number), "1.00");
        assert_eq!(span(900.0, 1500.0, micros), "900 µs–1.50 ms");
    }

    #[test]
    fn sizes_and_latencies_pick_their_unit() {
        assert_eq!(bytes(89.4), "89 B");
        assert_eq!(bytes(4096.0), "4,096 B");
        assert_eq!(bytes(25_276_502_016.0), "23.5 GiB");
        assert_eq!(micros(2687.0), "2.69 ms");
        assert_eq!(micros(511_487.0), "511 ms");
    }
}
