//! `[overload]`: a burst of arrivals at several times the step's rate, inside each measured
//! step, with time before it to measure the rate to recover to and time after it to see the
//! recovery. Checked with the load (open model only) and the timing (it must fit in a step).

use super::checker::Checker;
use super::file::OverloadFile;
use super::model::{Load, Overload, Timing};

const EXAMPLE: &str = "e.g. factor = 8, start = \"10s\", duration = \"10s\"";
/// A burst past this many times the rate is a typo, not a test.
const MAX_FACTOR: f64 = 1000.0;

/// The burst; `Some(None)` without the table.
pub fn overload(
    checker: &mut Checker<'_>,
    file: Option<OverloadFile>,
    load: Option<&Load>,
    timing: Option<&Timing>,
) -> Option<Option<Overload>> {
    let Some(file) = file else {
        return Some(None);
    };
    if let Some(Load::Closed { .. }) = load {
        checker.problem(
            "overload",
            "needs `load.model = \"open\"`: in the closed model a user sends only when answered, \
             so a server is never sent more than it can take",
        );
        return None;
    }
    let factor = checker.required(
        file.factor,
        "overload.factor",
        &format!("say how many times the rate the burst is, {EXAMPLE}"),
    );
    let factor = factor.and_then(|factor| {
        if factor > 1.0 && factor <= MAX_FACTOR {
            Some(factor)
        } else {
            checker.problem(
                "overload.factor",
                format!("{factor} is out of range; a burst is above the rate: more than 1, at most {MAX_FACTOR}"),
            );
            None
        }
    });
    let start = checker.required(
        file.start,
        "overload.start",
        &format!("say when in each step the burst starts, {EXAMPLE}"),
    );
    let start = start.and_then(|text| {
        checker.positive_duration(
            &text,
            "overload.start",
            "no time before the burst would give the rate to recover to",
        )
    });
    let duration = checker.required(
        file.duration,
        "overload.duration",
        &format!("say how long the burst lasts, {EXAMPLE}"),
    );
    let duration = duration.and_then(|text| {
        checker.positive_duration(&text, "overload.duration", "there would be no burst")
    });
    let overload = Overload {
        factor: factor?,
        start: start?,
        duration: duration?,
    };
    if let Some(timing) = timing
        && overload.end() >= timing.step_duration
    {
        checker.problem(
            "overload.duration",
            format!(
                "the burst ends at {} into the step, which is not before the step's end \
                 (timing.step_duration = {}); leave time after it to see the recovery",
                humantime::format_duration(overload.end()),
                humantime::format_duration(timing.step_duration)
            ),
        );
        return None;
    }
    Some(Some(overload))
}
