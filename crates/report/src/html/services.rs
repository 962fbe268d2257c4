//! "Across services": for systems whose balance requests went to a resource server beside the
//! issuer, what checking the credential there cost per request, and what the issuer's key
//! rotation and pause did to it (figures from [`crate::services`]).

use maud::{Markup, html};

use crate::format::short;
use crate::services::{ServiceRow, rows, what_it_asks};

/// Whether any system had a resource server.
pub fn present(report: &crate::model::Report) -> bool {
    report
        .systems
        .iter()
        .any(|system| system.resource.is_some())
}

/// The section's body.
pub fn section(report: &crate::model::Report) -> Markup {
    let rows = rows(report);
    html! {
        @if !rows.is_empty() {
            p {
                "Each of these systems issued credentials at its own server (the issuer: logins) "
                "and had them checked by a resource server the run started beside it (the "
                "balance requests), as a single sign-on deployment does. What the resource server "
                "paid per balance request, from its own process and " code { "/metrics" } "; "
                "\"store op\" is what the store itself counted for the whole system, per request."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th.num { "Load" } th { "System" } th { "Checked by" }
                            th { "Asks the issuer" }
                            th.num { "Balance req/s" } th.num { "CPU µs / req" }
                            th.num { "Issuer calls / req" } th.num { "Own store op / req" }
                            th.num { "Store op / req" } th.num { "Balance errors" }
                        }
                    }
                    tbody {
                        @for row in &rows { (cost_row(row)) }
                    }
                }
            }
            (faults(&rows))
        }
    }
}

fn cost_row(row: &ServiceRow<'_>) -> Markup {
    let figure = |value: Option<f64>, decimals: usize| {
        value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
    };
    html! {
        tr {
            td.num { (short(row.load)) }
            th scope="row" { (row.system) }
            td {
                code { (row.verify.as_str()) }
                @if let Some(ms) = row.staleness_ms { " (cache " (ms) " ms)" }
            }
            td { (what_it_asks(row.verify)) }
            td.num { (format!("{:.0}", row.balance_per_second)) }
            td.num { (figure(row.cpu_us_per_request, 1)) }
            td.num { (figure(row.issuer_calls_per_request, 3)) }
            td.num { (figure(row.resource_store_per_request, 2)) }
            td.num { (figure(row.store_per_request, 2)) }
            td.num { (row.balance_errors) " of " (row.balance_requests) }
        }
    }
}

/// The key rotation and the issuer pause, where the run did them.
fn faults(rows: &[ServiceRow<'_>]) -> Markup {
    let rotated: Vec<&ServiceRow<'_>> = rows.iter().filter(|r| r.rotation.is_some()).collect();
    let paused: Vec<&ServiceRow<'_>> = rows.iter().filter(|r| r.issuer_pause.is_some()).collect();
    html! {
        @if !rotated.is_empty() {
            h3 { "Key rotation" }
            p {
                "The issuer took a new signing key mid-turn (a new key file, then SIGHUP); the old "
                "key verifies on for its overlap and stays in the JWKS. Requests that failed from "
                "the rotation to the next fault, and the key-set fetches the resource server "
                "made for a kid it did not know:"
            }
            ul {
                @for row in &rotated {
                    @if let Some(rotation) = row.rotation {
                        li {
                            (row.system) " at " (short(row.load)) ": "
                            (rotation.failed_requests) " failed, "
                            (row.unknown_kid_refetches) " fetch(es) for a new kid"
                            @if row.jwks_fetches_failed > 0 {
                                ", " (row.jwks_fetches_failed) " failed fetch(es)"
                            }
                        }
                    }
                }
            }
        }
        @if !paused.is_empty() {
            h3 { "Issuer paused" }
            p {
                "Every issuer process stopped (SIGSTOP) for the same window in every turn. Logins "
                "need the issuer and fail for every style; the balance requests of users already "
                "logged in go on only where the resource server needs nothing from the issuer. "
                "Availability counts every request (logins too) against the rate before the pause."
            }
            div.table-wrap {
                table.data {
                    thead {
                        tr {
                            th.num { "Load" } th { "System" } th { "Checked by" }
                            th.num { "Available" } th.num { "Failed" }
                            th.num { "Balance errors (step)" }
                        }
                    }
                    tbody {
                        @for row in &paused {
                            @if let Some(pause) = row.issuer_pause {
                                tr {
                                    td.num { (short(row.load)) }
                                    th scope="row" { (row.system) }
                                    td { code { (row.verify.as_str()) } }
                                    td.num { (format!("{:.1}%", pause.availability * 100.0)) }
                                    td.num { (pause.failed_requests) }
                                    td.num { (row.balance_errors) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
