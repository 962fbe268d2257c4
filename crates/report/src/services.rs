//! Tokens across services: for each system with a resource server beside it, what checking a
//! credential there cost per balance request (the resource server's CPU, its calls to the
//! issuer, store operations), what a key rotation cost, and what the balance requests of users
//! already logged in went through while the issuer was paused. One set of figures, shown by
//! the run's summary, report.html and the claims.

use crate::model::{FaultFigures, Operation, Report, SystemStep, Verify};

/// One system at one step, seen from its resource server.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRow<'a> {
    pub system: &'a str,
    pub verify: Verify,
    pub load: f64,
    /// Introspection with a cache: how long a revoked token may still pass, in ms.
    pub staleness_ms: Option<u64>,
    pub balance_per_second: f64,
    pub balance_requests: u64,
    pub balance_errors: u64,
    pub cpu_us_per_request: Option<f64>,
    pub issuer_calls_per_request: Option<f64>,
    /// The resource server's own store operations per request (reading sessions).
    pub resource_store_per_request: Option<f64>,
    /// The store's operations per request of the whole system (issuer and resource server), as
    /// the store counted them.
    pub store_per_request: Option<f64>,
    pub unknown_kid_refetches: u64,
    pub jwks_fetches_failed: u64,
    pub rotation: Option<&'a FaultFigures>,
    pub issuer_pause: Option<&'a FaultFigures>,
}

/// Every step and system with a resource server, in step order.
pub fn rows(report: &Report) -> Vec<ServiceRow<'_>> {
    let mut rows = Vec::new();
    for step in &report.steps {
        for result in &step.results {
            let Some(info) = report
                .systems
                .iter()
                .find(|system| system.name == result.system)
                .and_then(|system| system.resource.as_ref())
            else {
                continue;
            };
            let Some(load) = &result.resource else {
                continue;
            };
            let balance = result
                .operations
                .iter()
                .find(|op| op.operation == Operation::Balance);
            rows.push(ServiceRow {
                system: &result.system,
                verify: info.verify,
                load: step.position(),
                staleness_ms: info.introspect_cache_ms.filter(|ms| *ms > 0),
                balance_per_second: balance.map_or(0.0, |op| op.requests_per_second),
                balance_requests: balance.map_or(0, |op| op.requests),
                balance_errors: balance.map_or(0, |op| op.requests - op.ok),
                cpu_us_per_request: load.cpu_us_per_request,
                issuer_calls_per_request: load.issuer_calls_per_request,
                resource_store_per_request: load.store_operations_per_request,
                store_per_request: result.derived.store_operations_per_request,
                unknown_kid_refetches: load.unknown_kid_refetches,
                jwks_fetches_failed: load.jwks_fetches_failed,
                rotation: fault(result, "rotate-key"),
                issuer_pause: fault(result, "issuer-pause"),
            });
        }
    }
    rows
}

fn fault<'a>(result: &'a SystemStep, kind: &str) -> Option<&'a FaultFigures> {
    result.faults.iter().find(|fault| fault.kind == kind)
}

/// What a style asks of the issuer per request, in words.
pub fn what_it_asks(verify: Verify) -> &'static str {
    match verify {
        Verify::Jwks => "nothing: the issuer's published keys, fetched once and cached",
        Verify::Store => "nothing of the issuer; a read of the store it writes",
        Verify::Introspect => "a call per request (or per cache window)",
    }
}

/// C2's evidence from the resource servers: a JWT checked with the JWKS alone asks neither the
/// issuer nor a store, and keeps answering while the issuer is away.
pub fn c2_evidence(report: &Report) -> Vec<String> {
    let rows = rows(report);
    let top = top_rows(&rows);
    let mut lines = Vec::new();
    for row in top.iter().filter(|row| row.verify == Verify::Jwks) {
        lines.push(format!(
            "Across services, {} at its top step: the resource server checked each JWT with the \
             issuer's JWKS alone: {} calls to the issuer and {} store operations of its own per \
             request, {} µs of CPU{} (see Across services).",
            row.system,
            figure(row.issuer_calls_per_request, 3),
            figure(row.resource_store_per_request, 2),
            figure(row.cpu_us_per_request, 1),
            pause_words(row)
        ));
    }
    if !lines.is_empty() {
        for row in top.iter().filter(|row| row.verify != Verify::Jwks) {
            lines.push(format!(
                "For comparison, {} ({}): {} calls to the issuer and {} store operations per \
                 request at the whole system, {} µs of resource-server CPU{}.",
                row.system,
                row.verify.as_str(),
                figure(row.issuer_calls_per_request, 3),
                figure(row.store_per_request, 2),
                figure(row.cpu_us_per_request, 1),
                pause_words(row)
            ));
        }
    }
    lines
}

/// C4's evidence from the resource servers: introspection keeps revocation instant (or within
/// its cache's window) by asking the issuer, whose store answers, on the request path.
pub fn c4_evidence(report: &Report) -> Vec<String> {
    let rows = rows(report);
    top_rows(&rows)
        .iter()
        .filter(|row| row.verify == Verify::Introspect)
        .map(|row| {
            let window = row.staleness_ms.map_or_else(
                || "a revocation at the issuer holds from the next request".to_owned(),
                |ms| format!("a token revoked at the issuer may pass for up to {ms} ms"),
            );
            format!(
                "Across services, {} (introspection): {} calls to the issuer and {} store \
                 operations per request at its top step, {} µs of resource-server CPU: {window}.",
                row.system,
                figure(row.issuer_calls_per_request, 3),
                figure(row.store_per_request, 2),
                figure(row.cpu_us_per_request, 1),
            )
        })
        .collect()
}

/// Each system's row at its highest step.
fn top_rows<'a>(rows: &'a [ServiceRow<'a>]) -> Vec<&'a ServiceRow<'a>> {
    let mut top: Vec<&ServiceRow<'_>> = Vec::new();
    for row in rows {
        match top.iter_mut().find(|seen| seen.system == row.system) {
            Some(seen) if seen.load < row.load => *seen = row,
            Some(_) => {}
            None => top.push(row),
        }
    }
    top
}

fn pause_words(row: &ServiceRow<'_>) -> String {
    row.issuer_pause.map_or_else(String::new, |pause| {
        format!(
            "; through the issuer pause {}% of the pre-pause rate was served, with {} balance \
             errors in the step",
            crate::format::trim_number_to(pause.availability * 100.0, 1),
            row.balance_errors
        )
    })
}

fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}
