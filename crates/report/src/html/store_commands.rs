//! What each system asks of its store, command by command and key pattern by key pattern, as
//! the store showed it (Redis `MONITOR` during the first warm-up).

use maud::{Markup, html};

use crate::model::Report;

/// The sample's table per system that has one; nothing when none has.
pub fn section(report: &Report) -> Markup {
    let sampled: Vec<_> = report
        .systems
        .iter()
        .filter_map(|system| Some((system, system.store_commands.as_ref()?)))
        .collect();
    html! {
        @if !sampled.is_empty() {
            h3 { "Store commands by key pattern" }
            p {
                "What each system's requests ask of its Redis, as Redis itself showed them: "
                code { "MONITOR" } " during the first warm-up (never in a measured window, which "
                "it would slow down), each command's key with ids and user names as "
                code { "*" } ". A command on a session key for every protected request is the "
                "session read; the steps table gives the store's commands per request."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th { "System" } th { "Command" } th { "Key pattern" }
                            th.num { "Seen" } th.num { "Share" }
                        }
                    }
                    tbody {
                        @for (system, sample) in &sampled {
                            @for pattern in &sample.patterns {
                                tr {
                                    th scope="row" { (system.name) }
                                    td { code { (pattern.command) } }
                                    td {
                                        @if pattern.key_pattern.is_empty() {
                                            "(no key)"
                                        } @else {
                                            code { (pattern.key_pattern) }
                                        }
                                    }
                                    td.num { (pattern.count) }
                                    td.num {
                                        (format!("{:.1}%", share(pattern.count, sample.commands_seen)))
                                    }
                                }
                            }
                            @if sample.patterns.is_empty() {
                                tr {
                                    th scope="row" { (system.name) }
                                    td colspan="4" {
                                        (format!("no commands in {:.1} s", sample.seconds))
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

fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 * 100.0 / total as f64
    }
}
