//! The report's tables: one row per system at its best step, every step in full, flags and
//! faults, and failed requests by kind.

use maud::{Markup, html};

use super::plots::{color, hex, operations};
use crate::format::{self, bytes, count, micros, micros_short, number, percent, short, span};
use crate::model::{Latency, Operation, Report, Step, SystemStep};

/// A numeric cell, or a dash where nothing was measured.
pub fn cell(value: Option<String>) -> Markup {
    html! { td.num { (value.as_deref().unwrap_or("–")) } }
}

fn latency(result: &SystemStep, op: Operation, pick: fn(&Latency) -> u64) -> Option<String> {
    let stats = result
        .operations
        .iter()
        .find(|s| s.operation == op && s.latency.count > 0)?;
    Some(micros(pick(&stats.latency) as f64))
}

/// The system's name with its colour, `×2` beside it where it ran as two processes, and
/// `notes` (the step's flags, say) beneath.
pub fn system_cell_with(report: &Report, name: &str, notes: Markup) -> Markup {
    let position = report.systems.iter().position(|s| s.name == name);
    let system = position.map(|i| &report.systems[i]);
    let replicas = system.map_or(1, |s| s.replica_count());
    let routed = system
        .and_then(|s| s.routing)
        .map_or(String::new(), |mode| {
            format!(", {} routing", format::routing(mode))
        });
    html! {
        th scope="row" {
            span.dot style={ "background: " (hex(color(position.unwrap_or(0)))) } {}
            (name)
            @if replicas > 1 {
                " "
                span.replicas title={ (replicas) " server processes" (routed) } { "×" (replicas) }
            }
            (notes)
        }
    }
}

pub fn system_cell(report: &Report, name: &str) -> Markup {
    system_cell_with(report, name, html! {})
}

/// The flags of a step, one line each, to sit under what they qualify.
fn flag_notes(result: &SystemStep) -> Markup {
    html! {
        @for flag in &result.flags {
            span.flag-note { "⚑ " (format::flag(flag)) }
        }
    }
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
pub fn summary(report: &Report) -> Markup {
    let slo = &report.slo;
    let ops: Vec<&str> = slo.operations.iter().map(|op| op.as_str()).collect();
    html! {
        p {
            "SLO: p" (short(slo.percentile)) " of " (ops.join(", ")) " at most "
            (micros_short(slo.latency_us as f64)) ", errors at most "
            (percent(slo.max_error_rate)) ". Each row is the system at the highest step that \
             met it; requests/s is the step's figure, with the spread of its "
            (report.scenario.repeats) " repeats beneath."
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th rowspan="2" { "System" }
                        th rowspan="2" { "Highest step within the SLO" }
                        th.num rowspan="2" { "Requests/s" }
                        th.group colspan="3" { "Balance latency" }
                        th.group colspan="3" { "Login latency" }
                        th.num rowspan="2" { "Errors" }
                        th.group colspan="4" { "Per request" }
                    }
                    tr {
                        @for _ in 0..2 {
                            th.num { "p50" } th.num { "p99" } th.num { "p99.9" }
                        }
                        th.num { "Bytes sent" } th.num { "Store ops" }
                        th.num { "Store CPU" } th.num { "Server CPU" }
                    }
                }
                tbody {
                    @for system in &report.systems { (summary_row(report, &system.name)) }
                }
            }
        }
        p.note {
            "Bytes sent are per balance request, credential included. Store ops are the store's \
             own count where it has one (Redis commands, Postgres transactions), else the \
             server's count of store calls. A dash: not measured for this system."
        }
    }
}

/// A system at the highest step that met the SLO, else at its first step.
fn summary_row(report: &Report, system: &str) -> Markup {
    let ran: Vec<(&Step, &SystemStep)> = report
        .steps
        .iter()
        .filter_map(|step| Some((step, find(step, system)?)))
        .collect();
    let met = ran.iter().rev().find(|(_, r)| r.slo_met);
    let Some(&(step, result)) = met.or(ran.first()) else {
        return html! { tr { (system_cell(report, system)) td colspan="13" { "did not run" } } };
    };
    let load = format::step(report, step);
    let balance = result
        .operations
        .iter()
        .find(|s| s.operation == Operation::Balance);
    let derived = &result.derived;
    let picks: [fn(&Latency) -> u64; 3] = [|l| l.p50_us, |l| l.p99_us, |l| l.p999_us];
    html! {
        tr {
            (system_cell(report, system))
            td {
                @if met.is_some() {
                    (load)
                } @else {
                    span.missed { "none" } " (figures at " (load) ")"
                }
                // Flags sit under the step they qualify, so the row says what to distrust.
                (flag_notes(result))
            }
            td.num { (requests_per_second(result)) }
            @for op in [Operation::Balance, Operation::Login] {
                @for pick in picks { (cell(latency(result, op, pick))) }
            }
            td.num { (errors(result)) }
            (cell(balance.map(|s| bytes(s.bytes_sent_per_request))))
            (cell(derived.store_operations_per_request.map(number)))
            (cell(derived.store_cpu_us_per_request.map(micros)))
            (cell(derived.server_cpu_us_per_request.map(micros)))
        }
    }
}

/// A column of the every-step table after the latencies: its header and its figure.
type Column = (&'static str, fn(&SystemStep) -> Option<String>);

const COST_COLUMNS: [Column; 7] = [
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
    ("Store ops / ceiling", |r| {
        r.derived.store_ops_of_ceiling.map(percent)
    }),
    ("Store CPU / ceiling", |r| {
        r.derived.store_cpu_of_ceiling.map(percent)
    }),
    ("Load gen. CPU", |r| {
        Some(percent(r.resources.loadgen_cpu_share))
    }),
];

/// Every system at every step, grouped by step; flags under the system they qualify. Columns
/// nothing measured are left out.
pub fn steps(report: &Report) -> Markup {
    let ops = operations(report);
    let results = || report.steps.iter().flat_map(|s| &s.results);
    let costs: Vec<&Column> = COST_COLUMNS
        .iter()
        .filter(|(_, figure)| results().any(|r| figure(r).is_some()))
        .collect();
    let columns = 4 + 2 * ops.len() + costs.len();
    html! {
        div.table-wrap {
            table.data.steps {
                thead {
                    tr {
                        th { "System" } th.num { "Requests/s" } th { "SLO" }
                        @for op in &ops {
                            th.num { (op.as_str()) " p50" } th.num { (op.as_str()) " p99" }
                        }
                        th.num { "Errors" }
                        @for (header, _) in &costs { th.num { (header) } }
                    }
                }
                @for step in &report.steps {
                    tbody {
                        tr.step-head {
                            th colspan=(columns) scope="rowgroup" {
                                (format::step(report, step))
                            }
                        }
                        @for result in &step.results {
                            tr class=[(!result.flags.is_empty()).then_some("flagged")] {
                                (system_cell_with(report, &result.system, flag_notes(result)))
                                td.num { (requests_per_second(result)) }
                                @if result.slo_met {
                                    td.met { "met" }
                                } @else {
                                    td.missed { "missed" }
                                }
                                @for op in &ops {
                                    (cell(latency(result, *op, |l| l.p50_us)))
                                    (cell(latency(result, *op, |l| l.p99_us)))
                                }
                                td.num { (errors(result)) }
                                @for (_, figure) in &costs { (cell(figure(result))) }
                            }
                        }
                    }
                }
            }
        }
        p.note {
            "Requests/s is the step's figure with the spread of its repeats beneath. Load \
             generator CPU is its CPU time over wall time, divided by the cores it may use: near \
             100% it, not the system, sets the pace."
        }
    }
}

/// The step's requests/s, the spread of its repeats beneath.
fn requests_per_second(result: &SystemStep) -> Markup {
    html! {
        (number(result.requests_per_second))
        @if let Some(spread) = repeats(result) { span.spread { (spread) } }
    }
}

/// Flagged steps and the faults systems reported, or a plain statement that there were none.
pub fn flags(report: &Report) -> Markup {
    let flagged: Vec<(&Step, &SystemStep)> = report
        .steps
        .iter()
        .flat_map(|step| step.results.iter().map(move |result| (step, result)))
        .filter(|(_, result)| !result.flags.is_empty())
        .collect();
    let events: Vec<(&str, &crate::model::Event)> = report
        .systems
        .iter()
        .flat_map(|system| {
            system
                .events
                .iter()
                .map(|event| (system.name.as_str(), event))
        })
        .collect();
    html! {
        p {
            "A flag marks a step whose figures may not show the system's own limits: the load \
             generator was the bottleneck, requests failed, the turn stopped early, the system \
             was down, or flows waited for a free connection. Flagged steps are drawn with a \
             ring on every chart and marked ⚑ in the tables."
        }
        @if flagged.is_empty() {
            p.ok { "No step was flagged." }
        } @else {
            div.table-wrap {
                table.data {
                    thead { tr { th { "Step" } th { "System" } th { "Flag" } } }
                    tbody {
                        @for (step, result) in &flagged {
                            @for flag in &result.flags {
                                tr.flagged {
                                    td { (format::step(report, step)) }
                                    (system_cell(report, &result.system))
                                    td { (format::flag(flag)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if events.is_empty() {
            p.ok { "No system reported a fault (start failure, exit, store loss)." }
        } @else {
            h3 { "Faults" }
            ul.events {
                @for (system, event) in &events {
                    li { (system) " at " (number(event.at_s)) " s: " (event.message) }
                }
            }
        }
    }
}

/// Failed requests by kind, where there were any.
pub fn error_kinds(report: &Report) -> Markup {
    let mut failures = Vec::new();
    for step in &report.steps {
        for result in &step.results {
            for stats in &result.operations {
                for (kind, n) in stats.errors.iter().filter(|(_, n)| **n > 0) {
                    failures.push((step, result, stats.operation, kind, *n));
                }
            }
        }
    }
    if failures.is_empty() {
        return html! { p.ok { "No request failed at any step." } };
    }
    html! {
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Step" } th { "System" } th { "Operation" } th { "Kind" }
                        th.num { "Requests" }
                    }
                }
                tbody {
                    @for (step, result, operation, kind, n) in failures {
                        tr {
                            td { (format::step(report, step)) }
                            (system_cell(report, &result.system))
                            td { (operation.as_str()) }
                            td { (kind) }
                            td.num { (count(n)) }
                        }
                    }
                }
            }
        }
    }
}
