//! The report's tables: one row per system at its best step, every step in full, flags and
//! faults, and failed requests by kind.

use std::fmt::Write as _;

use super::escape;
use super::plots::{color, hex, operations};
use crate::format::{self, bytes, count, micros, micros_short, number, percent, short, span};
use crate::model::{Latency, Operation, Report, Step, SystemStep};

pub fn cell(value: Option<String>) -> String {
    format!(
        "<td class=\"num\">{}</td>",
        value.map_or("–".to_owned(), |v| escape(&v))
    )
}

fn latency(result: &SystemStep, op: Operation, pick: fn(&Latency) -> u64) -> Option<String> {
    let stats = result
        .operations
        .iter()
        .find(|s| s.operation == op && s.latency.count > 0)?;
    Some(micros(pick(&stats.latency) as f64))
}

/// The system's name with its colour, and `×2` beside it where it ran as two processes.
pub fn system_cell(report: &Report, name: &str) -> String {
    let position = report.systems.iter().position(|s| s.name == name);
    let index = position.unwrap_or(0);
    let system = position.map(|i| &report.systems[i]);
    let replicas = system.map_or(1, |s| s.replica_count());
    let scaled = match system.and_then(|s| s.routing) {
        _ if replicas == 1 => String::new(),
        Some(mode) => format!(
            " <span class=\"replicas\" title=\"{replicas} server processes, {} routing\">\
             ×{replicas}</span>",
            format::routing(mode)
        ),
        None => format!(
            " <span class=\"replicas\" title=\"{replicas} server processes\">×{replicas}</span>"
        ),
    };
    format!(
        "<th scope=\"row\"><span class=\"dot\" style=\"background: {}\"></span>{}{scaled}</th>",
        hex(color(index)),
        escape(name)
    )
}

/// The flags of a step, one line each, to sit under what they qualify.
fn flag_notes(result: &SystemStep) -> String {
    result
        .flags
        .iter()
        .map(|flag| {
            format!(
                "<span class=\"flag-note\">⚑ {}</span>",
                escape(&format::flag(flag))
            )
        })
        .collect()
}

fn errors(result: &SystemStep) -> String {
    if result.errors == 0 {
        "0".to_owned()
    } else {
        format!(
            "{} ({})",
            count(result.errors),
            percent(result.errors as f64 / result.requests.max(1) as f64)
        )
    }
}

/// The spread of requests/s over repeats, where there is one to show (a fixed arrival rate
/// often gives every repeat the same figure).
fn repeats(result: &SystemStep) -> Option<String> {
    let (low, high) = format::extent(result.repeats.iter().map(|r| r.requests_per_second))?;
    (result.repeats.len() > 1 && number(low) != number(high)).then(|| span(low, high, number))
}

fn find<'a>(step: &'a Step, system: &str) -> Option<&'a SystemStep> {
    step.results
        .iter()
        .find(|r| r.system == system && r.requests > 0)
}

/// One row per system at the highest step that met the SLO.
pub fn summary(report: &Report) -> String {
    let slo = &report.slo;
    let ops: Vec<&str> = slo.operations.iter().map(|op| op.as_str()).collect();
    let mut html = format!(
        "<p>SLO: p{} of {} at most {}, errors at most {}. Each row is the system at the highest \
         step that met it; requests/s is the step's figure, with the spread of its {} repeats \
         beneath.</p>\n<div class=\"table-wrap\"><table class=\"data\">\n<thead>\n<tr>\
         <th rowspan=\"2\">System</th>\
         <th rowspan=\"2\">Highest step within the SLO</th>\
         <th rowspan=\"2\" class=\"num\">Requests/s</th>\
         <th colspan=\"3\" class=\"group\">Balance latency</th>\
         <th colspan=\"3\" class=\"group\">Login latency</th>\
         <th rowspan=\"2\" class=\"num\">Errors</th>\
         <th colspan=\"4\" class=\"group\">Per request</th></tr>\n<tr>\
         <th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th>\
         <th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th>\
         <th class=\"num\">Bytes sent</th><th class=\"num\">Store ops</th>\
         <th class=\"num\">Store CPU</th><th class=\"num\">Server CPU</th></tr>\n\
         </thead>\n<tbody>\n",
        short(slo.percentile),
        escape(&ops.join(", ")),
        micros_short(slo.latency_us as f64),
        percent(slo.max_error_rate),
        report.scenario.repeats,
    );
    for system in &report.systems {
        let ran: Vec<(&Step, &SystemStep)> = report
            .steps
            .iter()
            .filter_map(|step| Some((step, find(step, &system.name)?)))
            .collect();
        let met = ran.iter().rev().find(|(_, r)| r.slo_met);
        let _ = write!(html, "<tr>{}", system_cell(report, &system.name));
        let Some(&(step, result)) = met.or(ran.first()) else {
            html.push_str("<td colspan=\"13\">did not run</td></tr>\n");
            continue;
        };
        let load = format::load(report.load_model, step.load);
        let mut step_text = if met.is_some() {
            escape(&load)
        } else {
            format!(
                "<span class=\"missed\">none</span> (figures at {})",
                escape(&load)
            )
        };
        // Flags sit under the step they qualify, so the row says what to distrust.
        step_text.push_str(&flag_notes(result));
        let _ = write!(
            html,
            "<td>{step_text}</td><td class=\"num\">{}</td>",
            requests_per_second(result)
        );
        for op in [Operation::Balance, Operation::Login] {
            for pick in [
                |l: &Latency| l.p50_us,
                |l: &Latency| l.p99_us,
                |l: &Latency| l.p999_us,
            ] {
                html.push_str(&cell(latency(result, op, pick)));
            }
        }
        let balance = result
            .operations
            .iter()
            .find(|s| s.operation == Operation::Balance);
        let derived = &result.derived;
        let _ = writeln!(
            html,
            "<td class=\"num\">{}</td>{}{}{}{}</tr>",
            escape(&errors(result)),
            cell(balance.map(|s| bytes(s.bytes_sent_per_request))),
            cell(derived.store_operations_per_request.map(number)),
            cell(derived.store_cpu_us_per_request.map(micros)),
            cell(derived.server_cpu_us_per_request.map(micros)),
        );
    }
    html.push_str(
        "</tbody>\n</table></div>\n<p class=\"note\">Bytes sent are per balance request, \
         credential included. Store ops are the store's own count where it has one (Redis \
         commands, Postgres transactions), else the server's count of store calls. A dash: not \
         measured for this system.</p>\n",
    );
    html
}

/// A column of the every-step table after the latencies: its header and its figure.
type Column = (&'static str, fn(&SystemStep) -> Option<String>);

const COST_COLUMNS: [Column; 5] = [
    ("Store ops/req", |r| {
        r.derived.store_operations_per_request.map(number)
    }),
    ("Store CPU/req", |r| {
        r.derived.store_cpu_us_per_request.map(micros)
    }),
    ("Server CPU/req", |r| {
        r.derived.server_cpu_us_per_request.map(micros)
    }),
    ("Server cores", |r| {
        let cpu = r.resources.server_cpu_s.filter(|_| r.duration_s > 0.0)?;
        Some(number(cpu / r.duration_s))
    }),
    ("Load gen. CPU", |r| {
        Some(percent(r.resources.loadgen_cpu_share))
    }),
];

/// Every system at every step, grouped by step; flags under the system they qualify. Columns
/// nothing measured are left out.
pub fn steps(report: &Report) -> String {
    let ops = operations(report);
    let results = || report.steps.iter().flat_map(|s| &s.results);
    let costs: Vec<&Column> = COST_COLUMNS
        .iter()
        .filter(|(_, figure)| results().any(|r| figure(r).is_some()))
        .collect();
    let columns = 4 + 2 * ops.len() + costs.len();
    let mut html = String::from(
        "<div class=\"table-wrap\"><table class=\"data steps\">\n<thead><tr><th>System</th>\
         <th class=\"num\">Requests/s</th><th>SLO</th>",
    );
    for op in &ops {
        let name = op.as_str();
        let _ = write!(
            html,
            "<th class=\"num\">{name} p50</th><th class=\"num\">{name} p99</th>"
        );
    }
    html.push_str("<th class=\"num\">Errors</th>");
    for (header, _) in &costs {
        let _ = write!(html, "<th class=\"num\">{header}</th>");
    }
    html.push_str("</tr></thead>\n");
    for step in &report.steps {
        let _ = writeln!(
            html,
            "<tbody><tr class=\"step-head\"><th colspan=\"{columns}\" scope=\"rowgroup\">{}</th>\
             </tr>",
            escape(&format::load(report.load_model, step.load))
        );
        for result in &step.results {
            let class = if result.flags.is_empty() {
                ""
            } else {
                " class=\"flagged\""
            };
            let slo = if result.slo_met {
                "<td class=\"met\">met</td>"
            } else {
                "<td class=\"missed\">missed</td>"
            };
            let system = system_cell(report, &result.system)
                .replace("</th>", &format!("{}</th>", flag_notes(result)));
            let _ = write!(
                html,
                "<tr{class}>{system}<td class=\"num\">{}</td>{slo}",
                requests_per_second(result),
            );
            for op in &ops {
                html.push_str(&cell(latency(result, *op, |l| l.p50_us)));
                html.push_str(&cell(latency(result, *op, |l| l.p99_us)));
            }
            let _ = write!(html, "<td class=\"num\">{}</td>", escape(&errors(result)));
            for (_, figure) in &costs {
                html.push_str(&cell(figure(result)));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n");
    }
    html.push_str(
        "</table></div>\n<p class=\"note\">Requests/s is the step's figure with the spread of its \
         repeats beneath. Load generator CPU is its CPU time over wall time, divided by the cores \
         it may use: near 100% it, not the system, sets the pace.</p>\n",
    );
    html
}

/// The step's requests/s, the spread of its repeats beneath.
fn requests_per_second(result: &SystemStep) -> String {
    let spread = repeats(result).map_or(String::new(), |r| {
        format!("<span class=\"spread\">{}</span>", escape(&r))
    });
    format!("{}{spread}", escape(&number(result.requests_per_second)))
}

/// Flagged steps and the faults systems reported, or a plain statement that there were none.
pub fn flags(report: &Report) -> String {
    let mut rows = String::new();
    for step in &report.steps {
        for result in &step.results {
            for flag in &result.flags {
                let _ = writeln!(
                    rows,
                    "<tr class=\"flagged\"><td>{}</td>{}<td>{}</td></tr>",
                    escape(&format::load(report.load_model, step.load)),
                    system_cell(report, &result.system),
                    escape(&format::flag(flag))
                );
            }
        }
    }
    let mut html = String::from(
        "<p>A flag marks a step whose figures may not show the system's own limits: the load \
         generator was the bottleneck, requests failed, the turn stopped early, the system was \
         down, or flows waited for a free connection. Flagged steps are drawn with a ring on \
         every chart and marked ⚑ in the tables.</p>\n",
    );
    if rows.is_empty() {
        html.push_str("<p class=\"ok\">No step was flagged.</p>\n");
    } else {
        let _ = writeln!(
            html,
            "<div class=\"table-wrap\"><table class=\"data\"><thead><tr><th>Step</th>\
             <th>System</th>\
             <th>Flag</th></tr></thead>\n<tbody>\n{rows}</tbody></table></div>"
        );
    }
    let events: Vec<String> = report
        .systems
        .iter()
        .flat_map(|system| {
            system.events.iter().map(move |event| {
                format!(
                    "<li>{} at {} s: {}</li>",
                    escape(&system.name),
                    number(event.at_s),
                    escape(&event.message)
                )
            })
        })
        .collect();
    if events.is_empty() {
        html.push_str(
            "<p class=\"ok\">No system reported a fault (start failure, exit, store loss).</p>\n",
        );
    } else {
        let _ = writeln!(
            html,
            "<h3>Faults</h3>\n<ul class=\"events\">{}</ul>",
            events.concat()
        );
    }
    html
}

/// Failed requests by kind, where there were any.
pub fn error_kinds(report: &Report) -> String {
    let mut rows = String::new();
    for step in &report.steps {
        for result in &step.results {
            for stats in &result.operations {
                for (kind, n) in stats.errors.iter().filter(|(_, n)| **n > 0) {
                    let _ = writeln!(
                        rows,
                        "<tr><td>{}</td>{}<td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                        escape(&format::load(report.load_model, step.load)),
                        system_cell(report, &result.system),
                        stats.operation.as_str(),
                        escape(kind),
                        count(*n)
                    );
                }
            }
        }
    }
    if rows.is_empty() {
        return "<p class=\"ok\">No request failed at any step.</p>\n".to_owned();
    }
    format!(
        "<div class=\"table-wrap\"><table class=\"data\"><thead><tr><th>Step</th><th>System</th>\
         <th>Operation</th><th>Kind</th><th class=\"num\">Requests</th></tr>\
         </thead>\n<tbody>\n{rows}\
         </tbody></table></div>\n"
    )
}
