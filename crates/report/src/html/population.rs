//! A population run's stores: what each step loaded, what the store counted, and what it cost
//! in memory, beside the lookup latency and store CPU at that population.

use maud::{Markup, html};

use super::tables::{cell, system_cell};
use crate::format::{self, bytes, count, micros, number};
use crate::model::{Operation, Report};

pub fn section(report: &Report) -> Markup {
    html! {
        p {
            "Before each step the run loaded live sessions for synthetic users straight into each "
            "system's store (Redis pipelines, PostgreSQL COPY), then the store counted them itself. "
            "The load was the same at every step: what changes from row to row is the population."
        }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Population" } th { "System" } th { "Loaded into" }
                        th.num { "Live records (store's count)" } th.num { "Load time" }
                        th.num { "Store memory" } th.num { "Bytes per record" }
                        th.num { "Balance p50" } th.num { "Balance p99" }
                        th.num { "Store CPU per request" }
                    }
                }
                tbody {
                    @for step in &report.steps {
                        @for result in step.results.iter().filter(|r| r.population.is_some()) {
                            @let population = result.population.as_ref();
                            @let balance = result.operations.iter()
                                .find(|op| op.operation == Operation::Balance && op.latency.count > 0);
                            tr {
                                td { (format::step(report, step)) }
                                (system_cell(report, &result.system))
                                td { (population.map(|p| p.namespaces.join(", ")).unwrap_or_default()) }
                                (cell(population.map(|p| count(p.live_records))))
                                (cell(population.map(|p| format!("{} s", number(p.load_seconds)))))
                                (cell(population.and_then(|p| p.memory_bytes).map(|b| bytes(b as f64))))
                                (cell(population.and_then(|p| p.bytes_per_record).map(bytes)))
                                (cell(balance.map(|op| micros(op.latency.p50_us as f64))))
                                (cell(balance.map(|op| micros(op.latency.p99_us as f64))))
                                (cell(result.derived.store_cpu_us_per_request.map(|us| format!("{} µs", number(us)))))
                            }
                        }
                    }
                }
            }
        }
        p.note {
            "Live records count every record in the namespaces loaded, the run's own logins \
             included. Memory is Redis's used_memory or the PostgreSQL tables' total relation \
             size (heap, indexes, TOAST); bytes per record is its growth since before the first \
             load over the records loaded since, all systems on that store together. The load \
             time is not part of any measured step."
        }
    }
}
