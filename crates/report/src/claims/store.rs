//! The claims about state: C1a (every authenticated request reads the session store) and C2
//! (JWT validation needs no store). C1b, whether the store saturates first, is in `saturation`;
//! C6, scaling out, in `scale`.

use super::{Claim, Run, Style, System, Verdict};
use crate::format::{count, extent, micros, number, span};
use crate::model::{Operation, Revocation};

/// A session system "reads the store on every request" when it makes at least this many store
/// operations per request at every step (logins and expiry make it a little above 1, not below).
const READS_EVERY_REQUEST: f64 = 0.9;
/// Below this, the session system skipped the store on most requests (a cache, say).
const READS_SELDOM: f64 = 0.5;
/// Sessions must cost at least this many times the store operations JWT does per request.
const SESSION_OVER_JWT: f64 = 3.0;
/// A JWT system "needs no store" on the request path below this many operations per request:
/// what is left is logins creating refresh families.
const NO_STORE: f64 = 0.25;

pub(super) fn session_load(run: &Run<'_>) -> Claim {
    let sessions: Vec<&System<'_>> = run.of(Style::Session).collect();
    if sessions.is_empty() {
        return Claim::not_measured(
            "C1a",
            "No session-backed system ran in this scenario: there is no session store to measure.",
        );
    }
    let mut evidence = Vec::new();
    let mut caveats = Vec::new();
    let mut lowest = None::<f64>;
    for system in &sessions {
        let Some((low, high)) = system.extent(|d| d.store_operations_per_request) else {
            evidence.push(format!("{}: no store counters were read.", system.name()));
            continue;
        };
        lowest = Some(lowest.map_or(low, |l| l.min(low)));
        evidence.push(per_request_line(run, system, low, high));
        evidence.extend(growth_line(run, system));
    }
    let jwt_highest = extent(
        run.of(Style::Jwt)
            .filter(|system| system.revocation() == Revocation::None)
            .filter_map(|system| system.extent(|d| d.store_operations_per_request))
            .map(|(_, high)| high),
    )
    .map(|(_, high)| high);
    for system in run.of(Style::Jwt) {
        if let Some((low, high)) = system.extent(|d| d.store_operations_per_request) {
            evidence.push(format!(
                "For comparison, {}",
                per_request_line(run, system, low, high)
            ));
        }
    }
    let verdict = match lowest {
        None => Verdict::NotMeasured,
        Some(low) if low < READS_SELDOM => Verdict::Contradicts,
        Some(low)
            if low >= READS_EVERY_REQUEST
                && jwt_highest.is_none_or(|j| low >= SESSION_OVER_JWT * j) =>
        {
            Verdict::Supports
        }
        Some(_) => Verdict::Mixed,
    };
    caveats.extend(run.flag_caveat(sessions));
    Claim::new("C1a", verdict, evidence, caveats)
}

/// "session-redis: 1.08–1.10 Redis commands and 3.79–18.9 µs of Redis CPU per request (…)."
fn per_request_line(run: &Run<'_>, system: &System<'_>, low: f64, high: f64) -> String {
    let mut line = format!(
        "{}: {} {} per request",
        system.name(),
        span(low, high, number),
        system.store_unit()
    );
    if let Some((cpu_low, cpu_high)) = system.extent(|d| d.store_cpu_us_per_request) {
        line.push_str(&format!(
            " and {} of {} CPU per request",
            span(cpu_low, cpu_high, micros),
            system.store_name()
        ));
    }
    line.push_str(&format!(" ({}).", run.loads(system)));
    line
}

/// How the store's rate followed the request rate from the lowest step to the highest.
fn growth_line(run: &Run<'_>, system: &System<'_>) -> Option<String> {
    let (first, last) = (system.cells.first()?, system.cells.last()?);
    if first.load == last.load {
        return None;
    }
    let rate = |cell: &super::Cell<'_>| {
        let store = cell.result.store.as_ref()?;
        (cell.result.duration_s > 0.0).then(|| store.operations as f64 / cell.result.duration_s)
    };
    Some(format!(
        "{}'s {}/s went from {} at {} to {} at {}, as its requests/s went from {} to {}.",
        system.name(),
        system.store_unit(),
        number(rate(first)?),
        run.load(first.load),
        number(rate(last)?),
        run.load(last.load),
        number(first.result.requests_per_second),
        number(last.result.requests_per_second),
    ))
}

pub(super) fn stateless(run: &Run<'_>) -> Claim {
    let jwts: Vec<&System<'_>> = run.of(Style::Jwt).collect();
    if jwts.is_empty() {
        return Claim::not_measured("C2", "No JWT system ran in this scenario.");
    }
    let mut evidence = Vec::new();
    let mut plain_highest = None::<f64>;
    for system in &jwts {
        let Some((low, high)) = system.extent(|d| d.store_operations_per_request) else {
            evidence.push(format!("{}: no store counters were read.", system.name()));
            continue;
        };
        let revocation = system.revocation();
        if revocation != Revocation::None {
            evidence.push(format!(
                "{} (revocation = {revocation}): {} store operations per request: checking \
                 revocation reads state on the request path (C4).",
                system.name(),
                span(low, high, number)
            ));
            continue;
        }
        plain_highest = Some(plain_highest.map_or(high, |h| h.max(high)));
        let logins = system.requests(Operation::Login);
        let per_login =
            system
                .store_operations()
                .filter(|_| logins > 0)
                .map_or(String::new(), |ops| {
                    format!(
                        ", or {} per login over its {} logins",
                        number(ops as f64 / logins as f64),
                        count(logins)
                    )
                });
        evidence.push(format!(
            "{} ({}): {} {} per request{per_login}; by kind at the top step: {}.",
            system.name(),
            system.setting("alg").unwrap_or("JWT"),
            span(low, high, number),
            system.store_unit(),
            breakdown(system)
        ));
    }
    let session_lowest = extent(
        run.of(Style::Session)
            .filter_map(|system| system.extent(|d| d.store_operations_per_request))
            .map(|(low, _)| low),
    )
    .map(|(low, _)| low);
    evidence.extend(cpu_comparison(run, &jwts));
    evidence.extend(crate::services::c2_evidence(run.report));
    evidence.extend(
        jwts.iter()
            .chain(run.of(Style::Session).collect::<Vec<_>>().iter())
            .filter_map(|system| through_faults(system)),
    );
    let verdict = match (plain_highest, session_lowest) {
        (None, _) => Verdict::NotMeasured,
        (Some(high), _) if high >= READS_SELDOM => Verdict::Contradicts,
        (Some(high), Some(session)) if high < NO_STORE && high * SESSION_OVER_JWT <= session => {
            Verdict::Supports
        }
        (Some(high), None) if high < NO_STORE => Verdict::Supports,
        _ => Verdict::Mixed,
    };
    let scaled = jwts.iter().any(|system| system.info.replica_count() > 1);
    let mut caveats = vec![if scaled {
        "Scaling out is judged in C6, where the JWT replicas stand beside the session ones."
            .to_owned()
    } else {
        "Scaling out without shared state is not measured: every JWT system ran as one server \
         process (see C6)."
            .to_owned()
    }];
    caveats.extend(run.flag_caveat(jwts));
    Claim::new("C2", verdict, evidence, caveats)
}

/// What a system served while each fault lasted (`[[faults]]`: its store away, its issuer
/// paused), at its first step with faults: the outage as each auth style meets it.
pub(super) fn through_faults(system: &System<'_>) -> Option<String> {
    let cell = system
        .cells
        .iter()
        .find(|cell| !cell.result.faults.is_empty())?;
    let faults: Vec<String> = cell
        .result
        .faults
        .iter()
        .map(|f| {
            format!(
                "{} {}% served while it lasted",
                f.kind,
                number(f.availability * 100.0)
            )
        })
        .collect();
    let refused = cell
        .result
        .credentials_refused
        .map_or_else(String::new, |n| {
            format!("; {} credentials refused after", count(n))
        });
    Some(format!(
        "Through the faults, {}: {}{refused} (see Faults).",
        system.name(),
        faults.join(", ")
    ))
}

/// The store operations by kind at a system's top step, largest first.
fn breakdown(system: &System<'_>) -> String {
    let Some(store) = system.top().and_then(|top| top.result.store.as_ref()) else {
        return "none recorded".to_owned();
    };
    let mut kinds: Vec<(&String, &u64)> = store.breakdown.iter().filter(|(_, n)| **n > 0).collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    if kinds.is_empty() {
        return "none".to_owned();
    }
    kinds
        .iter()
        .map(|(kind, n)| format!("{kind} {}", count(**n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Server CPU per request, JWT against sessions, at the highest step both ran.
fn cpu_comparison(run: &Run<'_>, jwts: &[&System<'_>]) -> Option<String> {
    let sessions: Vec<&System<'_>> = run.of(Style::Session).collect();
    let load = jwts
        .iter()
        .chain(&sessions)
        .filter_map(|s| s.top())
        .map(|c| c.load)
        .reduce(f64::min)?;
    let at = |system: &System<'_>| {
        let cell = system.cells.iter().find(|cell| cell.load == load)?;
        let us = cell.result.derived.server_cpu_us_per_request?;
        Some(format!("{} {}", system.name(), micros(us)))
    };
    let parts: Vec<String> = jwts.iter().chain(&sessions).filter_map(|s| at(s)).collect();
    (parts.len() > 1).then(|| {
        format!(
            "Server CPU per request at {} (signature check against session lookup, with \
             everything else the server does): {}.",
            run.load(load),
            parts.join(", ")
        )
    })
}
