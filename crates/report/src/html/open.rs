//! The open model's section: latency counted from the intended send time beside latency from
//! the actual send (coordinated omission), as a table and a chart, and how well the load
//! generator kept the schedule.

use maud::{Markup, html};
use plotters::style::RGBColor;

use super::charts::{Dash, Scale};
use super::plots::{
    Draft, Figure, Legend, axis, capitalised, figure, load_axis, operation, operations, per_system,
    slo_guide,
};
use super::tables::{cell, system_cell};
use super::{Error, figures};
use crate::format::{self as format, count, micros, micros_short, number};
use crate::model::{Report, SystemStep};

/// The explanation, the side-by-side table, one chart per operation and the schedule.
pub fn section(report: &Report) -> Result<Markup, Error> {
    Ok(html! {
        (omission(report))
        (figures(&omission_figures(report))?)
        (schedule(report))
    })
}

/// Open model: p99 from the intended send time (solid) and from the actual send (dashed).
fn omission_figures(report: &Report) -> Vec<Figure> {
    let mut figures = Vec::new();
    for op in operations(report) {
        let corrected = |r: &SystemStep| {
            operation(r, op)
                .filter(|s| s.latency_uncorrected.is_some())
                .map(|s| s.latency.p99_us as f64)
        };
        let uncorrected = |r: &SystemStep| {
            operation(r, op)?
                .latency_uncorrected
                .as_ref()
                .map(|l| l.p99_us as f64)
        };
        let (mut series, mut legend) = per_system(report, Dash::Solid, " corrected", &corrected);
        let (raw, _) = per_system(report, Dash::Dashed, " uncorrected", &uncorrected);
        if raw.is_empty() {
            continue;
        }
        series.extend(raw);
        legend.push(Legend::Line {
            label: "corrected (intended send)".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Solid,
        });
        legend.push(Legend::Line {
            label: "uncorrected (actual send)".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Dashed,
        });
        let name = op.as_str();
        // Dashed over solid hides one of them; say so rather than leave a curve missing.
        let same = report
            .steps
            .iter()
            .flat_map(|step| &step.results)
            .all(|r| corrected(r) == uncorrected(r));
        let note = if same {
            " At every step the two are the same, so each dashed curve hides its solid one."
        } else {
            ""
        };
        figures.extend(figure(Draft {
            id: &format!("chart-omission-{name}"),
            title: &format!("{}: corrected and uncorrected p99", capitalised(name)),
            caption: format!(
                "p99 latency of {name} requests counted from the intended send time (solid) and \
                 from the actual send (dashed); log scale.{note}"
            ),
            x: load_axis(report),
            y: axis("p99 latency", Scale::Log, micros_short),
            series,
            legend,
            guides: slo_guide(report, op),
        }));
    }
    figures
}

/// Open model: latency from the intended send time beside latency from the actual send.
fn omission(report: &Report) -> Markup {
    html! {
        p {
            "In the open model flows start on a schedule whether or not the system kept up. \
             Corrected latency counts from when a request should have been sent; uncorrected \
             from when it was actually sent. When the system stalls, requests queue behind the \
             stall and the uncorrected figure leaves that wait out (coordinated omission), so the \
             corrected one can be much larger: it is what a user arriving on schedule would have \
             seen."
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th rowspan="2" { "Step" } th rowspan="2" { "System" }
                        th rowspan="2" { "Operation" }
                        th.group colspan="3" { "Corrected" }
                        th.group colspan="3" { "Uncorrected" }
                        th.num rowspan="2" { "p99 ratio" }
                    }
                    tr {
                        @for _ in 0..2 {
                            th.num { "p50" } th.num { "p99" } th.num { "p99.9" }
                        }
                    }
                }
                tbody {
                    @for step in &report.steps {
                        @for result in &step.results {
                            @for stats in &result.operations {
                                @if let Some(raw) = &stats.latency_uncorrected {
                                    tr {
                                        td { (format::step(report, step)) }
                                        (system_cell(report, &result.system))
                                        td { (stats.operation.as_str()) }
                                        @for latency in [&stats.latency, raw] {
                                            @for value in [latency.p50_us, latency.p99_us, latency.p999_us] {
                                                (cell(Some(micros(value as f64))))
                                            }
                                        }
                                        (cell((raw.p99_us > 0).then(|| format!(
                                            "{}×",
                                            number(stats.latency.p99_us as f64 / raw.p99_us as f64)
                                        ))))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Open model: how well the load generator kept the schedule.
fn schedule(report: &Report) -> Markup {
    let kept: Vec<_> = report
        .steps
        .iter()
        .flat_map(|step| step.results.iter().map(move |result| (step, result)))
        .filter_map(|(step, result)| Some((step, result, result.schedule.as_ref()?)))
        .collect();
    html! {
        @if !kept.is_empty() {
            h3 { "Schedule" }
            p {
                "Flows that started more than 1 ms late, and those among them that waited \
                 because every connection was busy (too few connections for the rate)."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th { "Step" } th { "System" } th.num { "Flows intended" }
                            th.num { "Late" } th.num { "Waited for a connection" }
                            th.num { "Largest lag" }
                        }
                    }
                    tbody {
                        @for (step, result, schedule) in kept {
                            tr {
                                td { (format::step(report, step)) }
                                (system_cell(report, &result.system))
                                (cell(Some(count(schedule.flows_intended))))
                                (cell(Some(count(schedule.flows_late))))
                                (cell(Some(count(schedule.flows_waited_for_connection))))
                                (cell(Some(micros(schedule.max_lag_us as f64))))
                            }
                        }
                    }
                }
            }
        }
    }
}
