//! What each system asks of its store, command by command and key pattern by key pattern (or
//! statement by statement), as the store showed it during the first warm-up.

use maud::{Markup, html};

use crate::format::share_percent;
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
            h3 { "Store commands by key pattern or statement" }
            p {
                "What each system's requests ask of its store, as the store itself showed them "
                "during the first warm-up: Redis's " code { "MONITOR" } " (never on in a measured "
                "window, which it would slow down), each command's key with ids and user names as "
                code { "*" } "; PostgreSQL's " code { "pg_stat_statements" } ", calls per "
                "normalized statement. A read of a session key or row for every protected request "
                "is the session read; the steps table gives the store's commands per request."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th { "System" } th { "Command" } th { "Key pattern or statement" }
                            th.num { "Seen" } th.num { "Share" }
                        }
                    }
                    tbody {
                        @for (system, sample) in &sampled {
                            tr.source {
                                th scope="row" { (system.name) }
                                td colspan="4" {
                                    (format!(
                                        "{}: {} commands in {:.1} s",
                                        sample.source, sample.commands_seen, sample.seconds
                                    ))
                                }
                            }
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
                                        (format!("{:.1}%", share_percent(pattern.count, sample.commands_seen)))
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
