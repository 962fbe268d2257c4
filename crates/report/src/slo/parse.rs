//! The `--slo` text form: parsing it into an [`SloTarget`] with errors that show the accepted
//! form, and writing a target back in the same form.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::model::Operation;

use super::{Bound, SloTarget};

/// The accepted form, repeated in every parse error so the fix is one read away.
const ACCEPTED_FORM: &str = "expected pPERCENTILE<LATENCY with optional `,errors<RATE%` and \
     `,on=OPERATION+OPERATION`, e.g. `p99<50ms`, `p99.9<=200ms` or `p50<2ms,errors<0.1%`";

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SloParseError {
    #[error("the SLO is empty; {ACCEPTED_FORM}")]
    Empty,
    #[error("`{term}` has no `<` or `<=`; {ACCEPTED_FORM}")]
    NoComparison { term: String },
    #[error(
        "`{term}`: `{measure}` is neither a percentile (p50, p99.9) nor `errors`; {ACCEPTED_FORM}"
    )]
    UnknownMeasure { term: String, measure: String },
    #[error("`{term}`: the percentile must be above 0 and below 100; {ACCEPTED_FORM}")]
    Percentile { term: String },
    #[error(
        "`{term}`: `{value}` is not a latency of at least 1us (a number with us, µs, ms or s); \
         {ACCEPTED_FORM}"
    )]
    Latency { term: String, value: String },
    #[error(
        "`{term}`: `{value}` is not an error rate (a percentage from 0% to 100%); {ACCEPTED_FORM}"
    )]
    ErrorRate { term: String, value: String },
    #[error(
        "`{term}`: `{value}` is not an operation (login, balance, refresh, logout); {ACCEPTED_FORM}"
    )]
    UnknownOperation { term: String, value: String },
    #[error("`{term}` gives the {what} a second time; {ACCEPTED_FORM}")]
    Repeated { term: String, what: &'static str },
    #[error("no latency percentile given; {ACCEPTED_FORM}")]
    NoPercentile,
}

impl FromStr for SloTarget {
    type Err = SloParseError;

    fn from_str(text: &str) -> Result<Self, SloParseError> {
        if text.trim().is_empty() {
            return Err(SloParseError::Empty);
        }
        let mut latency_term: Option<(f64, Duration, Bound)> = None;
        let mut error_term: Option<(f64, Bound)> = None;
        let mut operations: Option<Vec<Operation>> = None;
        for raw in text.split(',') {
            let term = raw.trim();
            let repeated = |what| SloParseError::Repeated {
                term: term.to_owned(),
                what,
            };
            if let Some(list) = term.strip_prefix("on=") {
                let parsed = parse_operations(term, list)?;
                if operations.replace(parsed).is_some() {
                    return Err(repeated("operation list"));
                }
                continue;
            }
            let (measure, bound, value) = split_comparison(term)?;
            if measure == "errors" {
                let rate = parse_error_rate(term, value)?;
                if error_term.replace((rate, bound)).is_some() {
                    return Err(repeated("error rate"));
                }
            } else if let Some(digits) = measure.strip_prefix('p') {
                let percentile = parse_percentile(term, digits)?;
                let latency = parse_latency(term, value)?;
                if latency_term.replace((percentile, latency, bound)).is_some() {
                    return Err(repeated("latency percentile"));
                }
            } else {
                return Err(SloParseError::UnknownMeasure {
                    term: term.to_owned(),
                    measure: measure.to_owned(),
                });
            }
        }
        let (percentile, latency, latency_bound) =
            latency_term.ok_or(SloParseError::NoPercentile)?;
        Ok(SloTarget {
            percentile,
            latency,
            latency_bound,
            max_error_rate: error_term.map(|(rate, _)| rate),
            error_bound: error_term.map_or(Bound::AtMost, |(_, bound)| bound),
            operations: operations.unwrap_or_default(),
        })
    }
}

fn split_comparison(term: &str) -> Result<(&str, Bound, &str), SloParseError> {
    let no_comparison = || SloParseError::NoComparison {
        term: term.to_owned(),
    };
    let at = term.find('<').ok_or_else(no_comparison)?;
    let (measure, rest) = term.split_at(at);
    let (bound, value) = match rest.strip_prefix("<=") {
        Some(value) => (Bound::AtMost, value),
        None => (Bound::Below, &rest[1..]),
    };
    Ok((measure.trim(), bound, value.trim()))
}

fn parse_percentile(term: &str, digits: &str) -> Result<f64, SloParseError> {
    digits
        .parse::<f64>()
        .ok()
        .filter(|p| *p > 0.0 && *p < 100.0)
        .ok_or_else(|| SloParseError::Percentile {
            term: term.to_owned(),
        })
}

fn parse_latency(term: &str, value: &str) -> Result<Duration, SloParseError> {
    latency(value).ok_or_else(|| SloParseError::Latency {
        term: term.to_owned(),
        value: value.to_owned(),
    })
}

/// A latency target as the scenario's `slo.latency` and `--slo` both write it: a number with
/// `us`, `µs`, `ms` or `s`, at least 1 µs (histograms record whole microseconds, so a finer
/// target could never be judged).
pub fn latency(value: &str) -> Option<Duration> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = value.split_at(split);
    let nanos_per_unit: u128 = match unit.trim() {
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return None,
    };
    let nanos = decimal_times(number, nanos_per_unit)?;
    if nanos < 1_000 {
        return None;
    }
    Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
}

/// `number` (digits, with at most one `.`) times `factor`, to the nearest whole number, in
/// integers: a float would move the last digits of a large target, which then would not read
/// back as itself.
fn decimal_times(number: &str, factor: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    // Past twelve decimals a digit is worth less than a thousandth of a nanosecond: dropped.
    let fraction = &fraction[..fraction.len().min(12)];
    let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
    let parse = |text: &str| {
        if text.is_empty() {
            Some(0)
        } else {
            text.parse::<u128>().ok()
        }
    };
    let scaled = parse(whole)?
        .checked_mul(scale)?
        .checked_add(parse(fraction)?)?
        .checked_mul(factor)?;
    Some(scaled.checked_add(scale / 2)? / scale)
}

fn parse_error_rate(term: &str, value: &str) -> Result<f64, SloParseError> {
    error_rate(value).ok_or_else(|| SloParseError::ErrorRate {
        term: term.to_owned(),
        value: value.to_owned(),
    })
}

/// An error-rate limit as the scenario's `slo.max_error_rate` and `--slo` both write it: a
/// percentage from 0% to 100%, as a share in [0, 1]. A bare number is refused: `1` could mean
/// 1% or 100%.
pub fn error_rate(value: &str) -> Option<f64> {
    value
        .trim()
        .strip_suffix('%')
        .and_then(|number| number.trim().parse::<f64>().ok())
        .filter(|percent| (0.0..=100.0).contains(percent))
        .map(|percent| percent / 100.0)
}

fn parse_operations(term: &str, list: &str) -> Result<Vec<Operation>, SloParseError> {
    list.split('+')
        .map(|name| {
            let name = name.trim();
            name.parse::<Operation>()
                .ok()
                .filter(|op| op.as_str() == name)
                .ok_or_else(|| SloParseError::UnknownOperation {
                    term: term.to_owned(),
                    value: name.to_owned(),
                })
        })
        .collect()
}

impl fmt::Display for SloTarget {
    /// The same form the parser reads, so a target can be quoted back in a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p{}{}{}",
            // Every digit, so that the text reads back as this very target.
            self.percentile,
            self.latency_bound.symbol(),
            format_duration(self.latency)
        )?;
        if let Some(rate) = self.max_error_rate {
            let percent = rate * 100.0;
            write!(f, ",errors{}{percent}%", self.error_bound.symbol())?;
        }
        if !self.operations.is_empty() {
            let names: Vec<&str> = self.operations.iter().map(|op| op.as_str()).collect();
            write!(f, ",on={}", names.join("+"))?;
        }
        Ok(())
    }
}

/// A duration in the largest unit that keeps it exact, as the parser reads it back.
fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else {
        // Whole microseconds and a decimal part in integers: exact, however large.
        let decimals = format!("{:03}", nanos % 1_000);
        let decimals = decimals.trim_end_matches('0');
        if decimals.is_empty() {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{}.{decimals}us", nanos / 1_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(text: &str) -> SloTarget {
        text.parse().expect("a valid SLO")
    }

    #[test]
    fn accepted_forms_parse_and_print_back() {
        let plain = slo("p99<50ms");
        assert_eq!(plain, SloTarget::default());
        assert_eq!(plain.percentile, 99.0);
        assert_eq!(plain.latency, Duration::from_millis(50));
        assert_eq!(
            (plain.latency_bound, plain.max_error_rate),
            (Bound::Below, None)
        );
        assert_eq!(slo("p99.9<=200ms").latency_bound, Bound::AtMost);
        assert_eq!(slo("p50<2ms,errors<0.1%").max_error_rate, Some(0.001));
        let spaced = slo(" p95 < 1.5ms , errors <= 1% , on=balance+login ");
        assert_eq!(spaced.latency, Duration::from_micros(1500));
        assert_eq!(spaced.error_bound, Bound::AtMost);
        assert_eq!(spaced.operations, [Operation::Balance, Operation::Login]);
        for text in [
            "p99<50ms",
            "p99.9<=200ms",
            "p50<2ms,errors<0.1%",
            "p95<1500us,on=balance",
        ] {
            assert_eq!(slo(text).to_string(), text);
        }
        // Found by the slo fuzz target: a percentile with more digits than the text kept, and
        // a latency too large for a float to hold to the nanosecond.
        for text in [
            "p.1900099<=20ms",
            "p99<4419451.4144144s",
            "p99<1.0005ms",
            "p99<.5ms",
        ] {
            let target = slo(text);
            assert_eq!(slo(&target.to_string()), target, "{text}");
        }
        assert_eq!(
            slo("p99<4419451.4144144s").latency,
            Duration::new(4_419_451, 414_414_400)
        );
    }

    #[test]
    fn errors_say_what_is_wrong_and_show_the_accepted_form() {
        for (text, says) in [
            ("", "the SLO is empty"),
            ("p99", "`p99` has no `<` or `<=`"),
            ("p99>5ms", "`p99>5ms` has no `<` or `<=`"),
            ("p99<50", "`50` is not a latency"),
            ("p99<0.5us", "`0.5us` is not a latency of at least 1us"),
            ("p100<5ms", "the percentile must be above 0 and below 100"),
            ("q99<5ms", "`q99` is neither a percentile"),
            (
                "p99<5ms,errors<0.1",
                "`0.1` is not an error rate (a percentage",
            ),
            (
                "p99<5ms,p90<1ms",
                "gives the latency percentile a second time",
            ),
            ("errors<1%", "no latency percentile given"),
            ("p99<5ms,on=signup", "`signup` is not an operation"),
        ] {
            let message = text.parse::<SloTarget>().expect_err(text).to_string();
            assert!(message.contains(says), "{text}: {message}");
            assert!(message.contains("e.g. `p99<50ms`"), "{text}: {message}");
        }
    }
}
