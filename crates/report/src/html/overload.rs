//! A run with a burst of arrivals (`[overload]`): each system's rate, errors and p99 tick by
//! tick through the burst, and what it took to recover.

use maud::{Markup, html};

use super::charts::{Axis, Dash, Mark, Point, Scale, Series};
use super::plots::{Draft, Figure, Legend, color, figure, slug};
use super::tables::{cell, system_cell};
use crate::format::{self, bytes, count, micros, micros_short, number, short};
use crate::model::{BurstWindow, Report, Step, SystemStep};
use crate::overload::{RECOVERED_P99_FACTOR, RECOVERED_P99_SLACK_US, RECOVERED_RATE};

/// Whether any step had a burst.
pub fn present(report: &Report) -> bool {
    bursts(report).next().is_some()
}

fn bursts(report: &Report) -> impl Iterator<Item = (&Step, BurstWindow)> {
    report.steps.iter().filter_map(|step| {
        let burst = step
            .results
            .iter()
            .find_map(|r| r.timeline.as_ref()?.burst)?;
        Some((step, burst))
    })
}

pub fn section(report: &Report) -> Markup {
    let first = bursts(report).next().map(|(_, burst)| burst);
    html! {
        @if let Some(burst) = first {
            p {
                "In every measured step, from " (number(burst.start_s)) " s to " (number(burst.end_s))
                " s, flows arrived " (short(burst.factor)) " times as fast as the step's rate, then \
                 at the step's rate again: the same burst at the same offset in every system's \
                 turn. Recovery is the time from the burst's end to the first half-second from \
                 which every half-second to the step's end finished at least "
                (number(RECOVERED_RATE * 100.0)) "% of the requests per second before the burst, \
                 with no errors and a p99 within " (RECOVERED_P99_FACTOR) "× the p99 before it (or "
                (micros(RECOVERED_P99_SLACK_US as f64)) " above it)."
            }
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Rate" } th { "System" }
                        th.num { "Req/s before" } th.num { "Req/s during" }
                        th.num { "p99 before" } th.num { "p99 during" }
                        th.num { "Errors during" } th.num { "Errors after" } th { "Errors by kind" }
                        th.num { "Late flows" } th.num { "Server peak RSS" } th.num { "Recovered after" }
                    }
                }
                tbody {
                    @for (step, _) in bursts(report) {
                        @for result in &step.results {
                            (row(report, step, result))
                        }
                    }
                }
            }
        }
        p.note {
            "Rates and p99s here are per half-second, as the load generator counted requests \
             live (p99 from log-spaced buckets, at most 12.5% high); the step's own percentiles \
             elsewhere come from its full histograms. Latency counts from each flow's intended \
             start, so a flow that waited for a free connection during the burst counts its wait. \
             Errors by kind are the whole step's. Server peak RSS is the highest resident memory \
             of the server's processes during the step."
        }
    }
}

fn row(report: &Report, step: &Step, result: &SystemStep) -> Markup {
    let figures = result.overload.as_ref();
    let kinds: Vec<String> = result
        .operations
        .iter()
        .flat_map(|op| {
            op.errors
                .iter()
                .map(move |(kind, n)| format!("{} {kind} {}", op.operation.as_str(), count(*n)))
        })
        .collect();
    let recovered = figures.map(|f| match f.recovery_s {
        Some(seconds) => format!("{} s", number(seconds)),
        None => "not within the step".to_owned(),
    });
    html! {
        tr {
            td { (format::step(report, step)) }
            (system_cell(report, &result.system))
            (cell(figures.map(|f| number(f.before_rps))))
            (cell(figures.map(|f| number(f.during_rps))))
            (cell(figures.map(|f| micros(f.before_p99_us as f64))))
            (cell(figures.map(|f| micros(f.during_p99_us as f64))))
            (cell(figures.map(|f| count(f.during_errors))))
            (cell(figures.map(|f| count(f.after_errors))))
            td { @if kinds.is_empty() { "none" } @else { (kinds.join(", ")) } }
            (cell(result.schedule.as_ref().map(|s| count(s.flows_late))))
            (cell(result.resources.server_peak_rss_bytes.map(|b| bytes(b as f64))))
            (cell(recovered))
        }
    }
}

/// Per step with a burst: requests and errors per second, and p99, tick by tick.
pub fn figures(report: &Report) -> Vec<Figure> {
    let mut figures = Vec::new();
    for (step, burst) in bursts(report) {
        let position = format::step(report, step);
        let marks = vec![
            Mark {
                x: burst.start_s,
                label: format!("burst ×{}", short(burst.factor)),
            },
            Mark {
                x: burst.end_s,
                label: "burst ends".into(),
            },
        ];
        let rate =
            |p: &crate::model::TimelinePoint| p.requests as f64 / p.seconds.max(f64::EPSILON);
        let errors =
            |p: &crate::model::TimelinePoint| p.errors as f64 / p.seconds.max(f64::EPSILON);
        let p99 = |p: &crate::model::TimelinePoint| (p.p99_us > 0).then_some(p.p99_us as f64);
        let (mut rates, legend) = series(report, step, Dash::Solid, "", &|p| Some(rate(p)));
        let (error_series, _) = series(report, step, Dash::Dashed, " errors", &|p| Some(errors(p)));
        rates.extend(error_series);
        let mut legend = legend;
        legend.push(Legend::Line {
            label: "errors/s (dashed)".into(),
            color: color(report.systems.len()),
            dash: Dash::Dashed,
        });
        let x = Axis {
            label: "seconds into the step".into(),
            scale: Scale::Linear,
            ticks: None,
            format: short,
        };
        let drafts = [
            Draft {
                id: &format!("chart-overload-rate-{}", slug(&position)),
                title: &format!("Requests and errors per second through the burst, {position}"),
                caption: "Requests finished per half-second (solid) and failed ones (dashed), per second.".into(),
                x: x.clone(),
                y: Axis { label: "requests/s".into(), scale: Scale::Linear, ticks: None, format: short },
                series: rates,
                legend,
                guides: Vec::new(),
            },
            Draft {
                id: &format!("chart-overload-p99-{}", slug(&position)),
                title: &format!("p99 through the burst, {position}"),
                caption: "The p99 of each half-second's answered requests.".into(),
                x,
                y: Axis { label: "p99".into(), scale: Scale::Log, ticks: None, format: micros_short },
                series: series(report, step, Dash::Solid, " p99", &p99).0,
                legend: series(report, step, Dash::Solid, " p99", &p99).1,
                guides: Vec::new(),
            },
        ];
        for draft in drafts {
            if let Some(mut figure) = figure(draft) {
                figure.chart.marks.clone_from(&marks);
                figures.push(figure);
            }
        }
    }
    figures
}

pub(super) fn series(
    report: &Report,
    step: &Step,
    dash: Dash,
    suffix: &str,
    y: &dyn Fn(&crate::model::TimelinePoint) -> Option<f64>,
) -> (Vec<Series>, Vec<Legend>) {
    let mut series = Vec::new();
    let mut legend = Vec::new();
    for (index, system) in report.systems.iter().enumerate() {
        let Some(timeline) = step
            .results
            .iter()
            .find(|r| r.system == system.name)
            .and_then(|r| r.timeline.as_ref())
        else {
            continue;
        };
        let points: Vec<Point> = timeline
            .points
            .iter()
            .filter(|p| !p.is_sliver())
            .filter_map(|p| {
                Some(Point {
                    x: p.at_s,
                    y: y(p)?,
                    flagged: false,
                })
            })
            .collect();
        series.push(Series {
            label: format!("{}{suffix}", system.name),
            color: color(index),
            dash,
            points,
        });
        legend.push(Legend::Line {
            label: system.name.clone(),
            color: color(index),
            dash: Dash::Solid,
        });
    }
    (series, legend)
}
