//! How a sharded store's load spread over its shards, step by step: each node's commands,
//! share and CPU from its own `INFO`, so that a hot shard shows.

use maud::{Markup, html};

use crate::format::{share_percent, short};
use crate::model::{Report, StoreNodeLoad, SystemStep};

/// A table of every step and system whose store had several nodes; nothing when none had.
pub fn section(report: &Report) -> Markup {
    let rows: Vec<(f64, &SystemStep)> = report
        .steps
        .iter()
        .flat_map(|step| step.results.iter().map(move |result| (step.load, result)))
        .filter(|(_, result)| result.store.as_ref().is_some_and(|s| !s.nodes.is_empty()))
        .collect();
    html! {
        @if !rows.is_empty() {
            h3 { "Store load by shard" }
            p {
                "Each shard's commands, read from its own " code { "INFO" } ", as a share of the "
                "store's, and the CPU it spent per second of the step. Shards that share the load "
                "evenly each take one over the shard count; one far above that is a hot shard, "
                "and the cluster's ceiling is then that shard's."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th.num { "Load" } th { "System" } th { "Shard" }
                            th.num { "Commands" } th.num { "Share" } th.num { "Even share" }
                            th.num { "CPU (cores)" } th.num { "Keys at end" }
                        }
                    }
                    tbody {
                        @for (load, result) in &rows {
                            @if let Some(store) = &result.store {
                                @for node in &store.nodes {
                                    (node_row(*load, result, node, store.operations, store.nodes.len()))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn node_row(
    load: f64,
    result: &SystemStep,
    node: &StoreNodeLoad,
    total: u64,
    shards: usize,
) -> Markup {
    html! {
        tr {
            td.num { (short(load)) }
            th scope="row" { (result.system) }
            td { code { (node.address) } }
            td.num { (node.operations) }
            td.num { (format!("{:.1}%", share_percent(node.operations, total))) }
            td.num { (format!("{:.1}%", 100.0 / shards.max(1) as f64)) }
            td.num { (format!("{:.3}", node.cpu_s / result.duration_s.max(f64::EPSILON))) }
            td.num { (node.keys) }
        }
    }
}
