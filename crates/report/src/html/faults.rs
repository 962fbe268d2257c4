//! A run with faults against the stores or the systems' own servers (`[[faults]]`): each system's rate and errors tick by
//! tick through them, and per fault when errors began, when the system was back, what failed,
//! and the credentials the store forgot.

use maud::{Markup, html};

use super::charts::{Axis, Dash, Mark, Scale};
use super::overload::series;
use super::plots::{Draft, Figure, Legend, color, figure, slug};
use super::tables::{cell, system_cell};
use crate::faults::RECOVERED_RATE;
use crate::format::{self, count, number, short};
use crate::model::{FaultFigures, Report, Step, SystemStep, TimelinePoint};

/// Whether any step had a fault.
pub fn present(report: &Report) -> bool {
    faulted(report).next().is_some()
}

fn faulted(report: &Report) -> impl Iterator<Item = &Step> {
    report
        .steps
        .iter()
        .filter(|step| step.results.iter().any(|r| !r.faults.is_empty()))
}

pub fn section(report: &Report) -> Markup {
    html! {
        p {
            "In every measured turn the run did the same faults to the system's own store (or its \
             own servers), at the same offsets, so each system met them under its own load: "
            code { "pause" }
            " stops the store (SIGSTOP; it keeps its connections and answers nothing) and resumes \
             it, " code { "kill" } " ends it (SIGKILL) for the rest of the turn, "
            code { "restart" } " kills it and starts it again on the same port with the same \
             settings (what it kept depends on its persistence), " code { "partition" } " stops \
             the delay relay in front of it (the store runs on, unreachable), "
            code { "issuer-pause" } " stops the system's own servers (SIGSTOP) and resumes them, "
            code { "rotate-key" } " gives a JWT system a new signing key (see Across services). \
             First error is counted from the \
             fault to the first half-second with a failed request; recovery from the store's \
             return to the first half-second at " (number(RECOVERED_RATE * 100.0)) "% or \
             more of the rate before the fault, after which none had an error (a later \
             half-second's dip in rate alone, the noise of a shared machine, does not undo \
             it). \
             Availability is what the system served without error while the fault lasted, as a \
             share of what it served per second before the fault (a user who waits for each \
             answer sends less when answers stop coming, so failures alone would hide a stall). \
             Credentials refused are the step's authenticated requests answered 401 or 403: a \
             session or refresh family the store no longer had (the user then logged in again)."
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Step" } th { "System" } th { "Fault" }
                        th.num { "Req/s before" } th.num { "First error after" }
                        th.num { "Recovered after" } th.num { "Failed requests" }
                        th.num { "Availability" } th.num { "Credentials refused" }
                    }
                }
                tbody {
                    @for step in faulted(report) {
                        @for result in &step.results {
                            @for fault in &result.faults {
                                (row(report, step, result, fault))
                            }
                        }
                    }
                }
            }
        }
        p.note {
            "Rates here are per half-second, as the load generator counted requests live; a \
             first error or a recovery is known to the half-second."
        }
    }
}

fn row(report: &Report, step: &Step, result: &SystemStep, fault: &FaultFigures) -> Markup {
    let window = match fault.end_s {
        Some(end) => format!(
            "{} at {} s, back {} s later",
            fault.kind,
            number(fault.start_s),
            number(end - fault.start_s)
        ),
        None => format!(
            "{} at {} s, down to the turn's end",
            fault.kind,
            number(fault.start_s)
        ),
    };
    let first_error = Some(match fault.first_error_s {
        Some(seconds) => format!("{} s", number(seconds)),
        None => "no error".to_owned(),
    });
    let recovered = Some(match (fault.end_s, fault.recovery_s) {
        _ if fault.first_error_s.is_none() => "unaffected".to_owned(),
        (None, _) => "store not back".to_owned(),
        (Some(_), Some(seconds)) => format!("{} s", number(seconds)),
        (Some(_), None) => "not within the step".to_owned(),
    });
    html! {
        tr {
            td { (format::step(report, step)) }
            (system_cell(report, &result.system))
            td { (window) }
            (cell(Some(number(fault.before_rps))))
            (cell(first_error))
            (cell(recovered))
            (cell(Some(count(fault.failed_requests))))
            (cell(Some(format!("{}%", number(fault.availability * 100.0)))))
            (cell(result.credentials_refused.map(count)))
        }
    }
}

/// Per step with faults: requests and errors per second, tick by tick, faults marked.
pub fn figures(report: &Report) -> Vec<Figure> {
    let mut figures = Vec::new();
    for step in faulted(report) {
        let position = format::step(report, step);
        let windows = step
            .results
            .iter()
            .find_map(|r| Some(&r.timeline.as_ref()?.faults).filter(|f| !f.is_empty()));
        let mut marks = Vec::new();
        for window in windows.into_iter().flatten() {
            marks.push(Mark {
                x: window.start_s,
                label: window.kind.clone(),
            });
            if let Some(end) = window.end_s {
                marks.push(Mark {
                    x: end,
                    label: "back".into(),
                });
            }
        }
        let rate = |p: &TimelinePoint| Some(p.requests as f64 / p.seconds.max(f64::EPSILON));
        let errors = |p: &TimelinePoint| Some(p.errors as f64 / p.seconds.max(f64::EPSILON));
        let (mut lines, mut legend) = series(report, step, Dash::Solid, "", &rate);
        lines.extend(series(report, step, Dash::Dashed, " errors", &errors).0);
        legend.push(Legend::Line {
            label: "errors/s (dashed)".into(),
            color: color(report.systems.len()),
            dash: Dash::Dashed,
        });
        let draft = Draft {
            id: &format!("chart-faults-rate-{}", slug(&position)),
            title: &format!("Requests and errors per second through the faults, {position}"),
            caption: "Requests finished per half-second (solid) and failed ones (dashed), per \
                      second; the first turn of the step, the faults as that turn did them."
                .into(),
            x: Axis {
                label: "seconds into the step".into(),
                scale: Scale::Linear,
                ticks: None,
                format: short,
            },
            y: Axis {
                label: "requests/s".into(),
                scale: Scale::Linear,
                ticks: None,
                format: short,
            },
            series: lines,
            legend,
            guides: Vec::new(),
        };
        if let Some(mut figure) = figure(draft) {
            figure.chart.marks = marks;
            figures.push(figure);
        }
    }
    figures
}
