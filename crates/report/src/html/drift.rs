//! A long run (several repeats of a step): each system's first repeats against its last, so a
//! leak or a slow degradation shows as a figure that rose.

use maud::{Markup, html};

use super::tables::{cell, system_cell};
use crate::drift::{self, Drift, Edges, WINDOW_S};
use crate::format::{self, bytes, count, micros, short};
use crate::model::{Operation, Report, Step, SystemStep};

/// The operation whose latency drift is shown: the authenticated request every flow repeats.
const OPERATION: Operation = Operation::Balance;

fn drifts(report: &Report) -> impl Iterator<Item = (&Step, &SystemStep, Drift)> {
    report.steps.iter().flat_map(|step| {
        step.results
            .iter()
            .filter_map(move |result| Some((step, result, drift::of(result, OPERATION)?)))
    })
}

/// Whether any system ran enough repeats of a step to compare its first with its last.
pub fn present(report: &Report) -> bool {
    drifts(report).next().is_some()
}

pub fn section(report: &Report) -> Markup {
    html! {
        p {
            "Each system's first repeats of a step against its last: the repeats of the first "
            (short(WINDOW_S / 60.0)) " minutes of measured time (at most a third of them) and as \
             many at the end. Latency is the median of those repeats' " (OPERATION.as_str())
            " percentiles; memory, open descriptors and store keys are read at the end of each \
             window. A leak rises from first to last and keeps rising; a store whose expiry keeps \
             up levels off."
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Step" } th { "System" } th.num { "Repeats (window)" }
                        th.num { "p50 first → last" } th.num { "p99 first → last" }
                        th.num { "Server RSS first → last (max)" }
                        th.num { "Open fds first → last" }
                        th.num { "Store keys first → last (max)" }
                    }
                }
                tbody {
                    @for (step, result, drift) in drifts(report) {
                        tr {
                            td { (format::step(report, step)) }
                            (system_cell(report, &result.system))
                            (cell(Some(format!("{} ({})", drift.repeats, drift.window_repeats))))
                            (cell(Some(edges(drift.p50_us, |us| micros(us as f64)))))
                            (cell(Some(edges(drift.p99_us, |us| micros(us as f64)))))
                            (cell(drift.server_rss_bytes.map(|e| with_max(edges(e, |b| bytes(b as f64)), drift.server_rss_max_bytes.map(|b| bytes(b as f64))))))
                            (cell(drift.server_open_fds.map(|e| edges(e, count))))
                            (cell(drift.store_keys.map(|e| with_max(edges(e, count), drift.store_keys_max.map(count)))))
                        }
                    }
                }
            }
        }
        p.note {
            "Store keys are Redis's own count of every key in the store's databases (a store \
             shared by several systems counts theirs together); other stores show none. Server \
             RSS and descriptors sum a system's replicas."
        }
    }
}

fn edges(edges: Edges<u64>, format: impl Fn(u64) -> String) -> String {
    format!("{} → {}", format(edges.first), format(edges.last))
}

fn with_max(text: String, max: Option<String>) -> String {
    match max {
        Some(max) => format!("{text} ({max})"),
        None => text,
    }
}
