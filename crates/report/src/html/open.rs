//! The open model's section: latency counted from the intended send time beside latency from
//! the actual send (coordinated omission), as a table and a chart, and how well the load
//! generator kept the schedule.

use std::fmt::Write as _;

use plotters::style::RGBColor;

use super::charts::{Dash, Scale};
use super::plots::{
    Draft, Figure, Legend, axis, capitalised, figure, load_axis, operation, operations, per_system,
    slo_guide,
};
use super::tables::{cell, system_cell};
use super::{Error, escape, figures};
use crate::format::{self as format, count, micros, micros_short, number};
use crate::model::{Report, SystemStep};

/// The explanation, the side-by-side table, one chart per operation and the schedule.
pub fn section(report: &Report) -> Result<String, Error> {
    let mut body = omission(report);
    body.push_str(&figures(&omission_figures(report))?);
    body.push_str(&schedule(report));
    Ok(body)
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
fn omission(report: &Report) -> String {
    let mut html = String::from(
        "<p>In the open model flows start on a schedule whether or not the system kept up. \
         Corrected latency counts from when a request should have been sent; uncorrected from \
         when it was actually sent. When the system stalls, requests queue behind the stall and \
         the uncorrected figure leaves that wait out (coordinated omission), so the corrected one \
         can be much larger: it is what a user arriving on schedule would have seen.</p>\n\
         <div class=\"table-wrap\"><table class=\"data\"><thead><tr>\
         <th rowspan=\"2\">Step</th><th rowspan=\"2\">System</th>\
         <th rowspan=\"2\">Operation</th>\
         <th colspan=\"3\" class=\"group\">Corrected</th>\
         <th colspan=\"3\" class=\"group\">Uncorrected</th>\
         <th rowspan=\"2\" class=\"num\">p99 ratio</th></tr>\
         <tr><th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th>\
         <th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th></tr>\
         </thead>\n<tbody>\n",
    );
    for step in &report.steps {
        for result in &step.results {
            for stats in &result.operations {
                let Some(raw) = &stats.latency_uncorrected else {
                    continue;
                };
                let fixed = &stats.latency;
                let ratio = (raw.p99_us > 0)
                    .then(|| format!("{}×", number(fixed.p99_us as f64 / raw.p99_us as f64)));
                let _ = write!(
                    html,
                    "<tr><td>{}</td>{}<td>{}</td>",
                    escape(&format::load(report.load_model, step.load)),
                    system_cell(report, &result.system),
                    stats.operation.as_str()
                );
                for latency in [fixed, raw] {
                    for value in [latency.p50_us, latency.p99_us, latency.p999_us] {
                        html.push_str(&cell(Some(micros(value as f64))));
                    }
                }
                let _ = writeln!(html, "{}</tr>", cell(ratio));
            }
        }
    }
    html.push_str("</tbody></table></div>\n");
    html
}

/// Open model: how well the load generator kept the schedule.
fn schedule(report: &Report) -> String {
    let mut rows = String::new();
    for step in &report.steps {
        for result in &step.results {
            let Some(schedule) = &result.schedule else {
                continue;
            };
            let _ = writeln!(
                rows,
                "<tr><td>{}</td>{}{}{}{}{}</tr>",
                escape(&format::load(report.load_model, step.load)),
                system_cell(report, &result.system),
                cell(Some(count(schedule.flows_intended))),
                cell(Some(count(schedule.flows_late))),
                cell(Some(count(schedule.flows_waited_for_connection))),
                cell(Some(micros(schedule.max_lag_us as f64))),
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Schedule</h3>\n<p>Flows that started more than 1 ms late, and those among them that \
         waited because every connection was busy (too few connections for the rate).</p>\n\
         <div class=\"table-wrap\"><table class=\"data\"><thead><tr><th>Step</th><th>System</th>\
         <th class=\"num\">Flows intended</th><th class=\"num\">Late</th>\
         <th class=\"num\">Waited for a connection</th>\
         <th class=\"num\">Largest lag</th></tr></thead>\n<tbody>\n{rows}</tbody></table></div>\n"
    )
}
