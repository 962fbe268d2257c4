//! The claims about what tokens cost beyond a signature check: C3 (size on the wire), C4
//! (revocation) and C5 (refresh).

use super::{Claim, Run, Style, System, Verdict};
use crate::format::{bytes, count, extent, micros, number, percent, span};
use crate::model::{Operation, Revocation};

/// Browsers keep at most this many bytes of one cookie (name and value).
const COOKIE_LIMIT: f64 = 4096.0;
/// A revoking JWT system "brings store load back" from this many store operations per request.
const READS_STATE: f64 = 0.5;
/// It brings none back below this.
const READS_NO_STATE: f64 = 0.25;

/// The balance request's size as sent, over the measured steps.
fn balance_bytes(system: &System<'_>) -> Option<(f64, f64)> {
    extent(
        system
            .cells
            .iter()
            .filter_map(|cell| cell.operation(Operation::Balance))
            .map(|stats| stats.bytes_sent_per_request),
    )
}

fn login_received(system: &System<'_>) -> Option<f64> {
    let stats = system
        .cells
        .iter()
        .find_map(|cell| cell.operation(Operation::Login))?;
    Some(stats.bytes_received_per_request)
}

pub(super) fn size(run: &Run<'_>) -> Claim {
    let measured = |style| -> Vec<(&System<'_>, (f64, f64))> {
        run.of(style)
            .filter_map(|s| Some((s, balance_bytes(s)?)))
            .collect()
    };
    let (sessions, jwts) = (measured(Style::Session), measured(Style::Jwt));
    let Some(smallest) = sessions.iter().min_by(|a, b| a.1.0.total_cmp(&b.1.0)) else {
        return Claim::not_measured(
            "C3",
            "No session system made balance requests, so there is no session id to compare.",
        );
    };
    if jwts.is_empty() {
        return Claim::not_measured(
            "C3",
            "No JWT system made balance requests, so there is no token to compare.",
        );
    }
    let (session, (session_low, session_high)) = *smallest;
    let mut evidence = vec![format!(
        "Balance request as sent: {} {}.",
        session.name(),
        span(session_low, session_high, bytes)
    )];
    for (jwt, (low, high)) in &jwts {
        evidence.push(format!(
            "{} ({} in the {}): {}, {} more than {} ({}× its size).",
            jwt.name(),
            jwt.setting("alg").unwrap_or("JWT"),
            jwt.setting("transport").unwrap_or("header"),
            span(*low, *high, bytes),
            bytes(high - session_high),
            session.name(),
            number(high / session_high.max(1.0))
        ));
        if let Some(top) = jwt
            .top()
            .and_then(|top| Some((top, top.operation(Operation::Balance)?)))
        {
            let (cell, stats) = top;
            evidence.push(format!(
                "At {}, {}'s {} balance requests/s carried {}/s more than as many session \
                 requests.",
                run.load(cell.load),
                jwt.name(),
                number(stats.requests_per_second),
                bytes((stats.bytes_sent_per_request - session_high) * stats.requests_per_second)
            ));
        }
    }
    let logins: Vec<String> = sessions
        .iter()
        .chain(&jwts)
        .filter_map(|(s, _)| Some(format!("{} {}", s.name(), bytes(login_received(s)?))))
        .collect();
    if !logins.is_empty() {
        evidence.push(format!("Login answer received: {}.", logins.join(", ")));
    }
    let largest = jwts.iter().map(|(_, (_, high))| *high).fold(0.0, f64::max);
    evidence.push(if largest < COOKIE_LIMIT {
        format!(
            "The largest JWT request was {}, so the token in it stays at least {} under the \
             4,096-byte cookie limit.",
            bytes(largest),
            bytes(COOKIE_LIMIT - largest)
        )
    } else {
        format!(
            "A JWT request of {} is over 4,096 B: its token may not fit in one cookie.",
            bytes(largest)
        )
    });
    let session_largest = sessions
        .iter()
        .map(|(_, (_, high))| *high)
        .fold(0.0, f64::max);
    let jwt_smallest = jwts
        .iter()
        .map(|(_, (low, _))| *low)
        .fold(f64::INFINITY, f64::min);
    let verdict = if jwt_smallest > session_largest {
        Verdict::Supports
    } else if largest <= session_low {
        Verdict::Contradicts
    } else {
        Verdict::Mixed
    };
    let caveats = vec![
        "Sizes are whole requests as sent (request line, headers, credential); the difference \
         between rows is what the credential costs on every request."
            .to_owned(),
    ];
    Claim::new("C3", verdict, evidence, caveats)
}

pub(super) fn revocation(run: &Run<'_>) -> Claim {
    let mut evidence = Vec::new();
    for system in run.of(Style::Session) {
        let logouts = system.requests(Operation::Logout);
        if logouts == 0 {
            continue;
        }
        let deletes: u64 = system
            .cells
            .iter()
            .filter_map(|cell| cell.result.store.as_ref())
            .flat_map(|store| store.breakdown.iter())
            .filter(|(kind, _)| kind.contains("delete") || kind.as_str() == "del")
            .map(|(_, n)| n)
            .sum();
        evidence.push(format!(
            "{}: {} logouts, {} store deletes counted.",
            system.name(),
            count(logouts),
            count(deletes)
        ));
    }
    let revoking: Vec<&System<'_>> = run
        .of(Style::Jwt)
        .filter(|s| s.revocation() != Revocation::None)
        .collect();
    evidence.extend(crate::services::c4_evidence(run.report));
    if revoking.is_empty() {
        evidence.insert(
            0,
            "No JWT system had revocation on: every one ran with revocation = none, so a \
             logged-out or stolen access token stays valid until it expires."
                .to_owned(),
        );
        let caveats = vec![
            "Add JWT systems with revocation = \"denylist\" or \"cutoff\" (as \
             scenarios/revocation.toml does) to measure what revocation costs."
                .to_owned(),
        ];
        return Claim::new("C4", Verdict::NotMeasured, evidence, caveats);
    }
    let ops_line = |system: &System<'_>, label: String| {
        let (low, high) = system.extent(|d| d.store_operations_per_request)?;
        let cpu = system
            .extent(|d| d.store_cpu_us_per_request)
            .map_or(String::new(), |(l, h)| {
                format!(" and {} of store CPU", span(l, h, micros))
            });
        Some((
            low,
            high,
            format!(
                "{label}: {} store operations{cpu} per request.",
                span(low, high, number)
            ),
        ))
    };
    let mut revoking_lowest = f64::INFINITY;
    let mut revoking_highest = 0.0f64;
    for system in &revoking {
        let label = format!("{} (revocation = {})", system.name(), system.revocation());
        if let Some((low, high, line)) = ops_line(system, label) {
            revoking_lowest = revoking_lowest.min(low);
            revoking_highest = revoking_highest.max(high);
            evidence.push(line);
        }
    }
    let mut plain_highest = None::<f64>;
    let others = run
        .of(Style::Jwt)
        .filter(|s| s.revocation() == Revocation::None)
        .chain(run.of(Style::Session));
    for system in others {
        let label = format!("For comparison, {}", system.name());
        if let Some((_, high, line)) = ops_line(system, label) {
            if system.style == Style::Jwt {
                plain_highest = Some(plain_highest.map_or(high, |p| p.max(high)));
            }
            evidence.push(line);
        }
    }
    let verdict = if !revoking_lowest.is_finite() {
        Verdict::NotMeasured
    } else if revoking_lowest >= READS_STATE
        && plain_highest.is_none_or(|p| revoking_lowest > 2.0 * p)
    {
        Verdict::Supports
    } else if revoking_highest < READS_NO_STATE {
        Verdict::Contradicts
    } else {
        Verdict::Mixed
    };
    evidence.extend(
        revoking
            .iter()
            .filter_map(|system| super::store::through_faults(system)),
    );
    let mut caveats = vec![
        "Counting a user's active logins (GET /sessions) is not part of the flow, so it is not \
         measured."
            .to_owned(),
    ];
    caveats.extend(run.flag_caveat(revoking));
    Claim::new("C4", verdict, evidence, caveats)
}

pub(super) fn refresh(run: &Run<'_>) -> Claim {
    let refreshing: Vec<&System<'_>> = run
        .of(Style::Jwt)
        .filter(|s| s.requests(Operation::Refresh) > 0)
        .collect();
    if refreshing.is_empty() {
        return Claim::not_measured(
            "C5",
            "No flow refreshed a token (the scenario sets no refresh_every), so refresh traffic \
             was not measured.",
        );
    }
    let mut evidence = Vec::new();
    let mut caveats = Vec::new();
    let mut every_refresh_touches_state = true;
    for system in &refreshing {
        let refreshes = system.requests(Operation::Refresh);
        let all: u64 = system.cells.iter().map(|cell| cell.result.requests).sum();
        let logins = system.requests(Operation::Login);
        let operations = system.store_operations();
        let per_refresh = operations.map_or(String::new(), |ops| {
            format!(
                "; the store made {} operations, {} per refresh or login",
                count(ops),
                number(ops as f64 / (refreshes + logins).max(1) as f64)
            )
        });
        every_refresh_touches_state &= operations.is_some_and(|ops| ops >= refreshes);
        evidence.push(format!(
            "{}: {} refreshes, {} of its requests{per_refresh}.",
            system.name(),
            count(refreshes),
            percent(refreshes as f64 / all.max(1) as f64)
        ));
        if let Some(line) = latency_against_balance(run, system, Operation::Refresh) {
            evidence.push(line);
        }
        let ttl = system
            .setting("access-ttl")
            .unwrap_or("15m (the server's default)");
        caveats.push(format!(
            "{}'s access tokens lived {ttl}: the exposure window is a setting, not a measurement.",
            system.name()
        ));
    }
    let verdict = if every_refresh_touches_state {
        Verdict::Supports
    } else {
        Verdict::Contradicts
    };
    caveats.extend(run.flag_caveat(refreshing));
    Claim::new("C5", verdict, evidence, caveats)
}

/// "refresh p50 / p99 against balance p50 / p99 at the lowest step".
fn latency_against_balance(
    run: &Run<'_>,
    system: &System<'_>,
    operation: Operation,
) -> Option<String> {
    let cell = system.cells.first()?;
    let (other, balance) = (
        cell.operation(operation)?,
        cell.operation(Operation::Balance)?,
    );
    Some(format!(
        "At {}, {}'s {} took p50 {} / p99 {}, against balance p50 {} / p99 {}.",
        run.load(cell.load),
        system.name(),
        operation.as_str(),
        micros(other.latency.p50_us as f64),
        micros(other.latency.p99_us as f64),
        micros(balance.latency.p50_us as f64),
        micros(balance.latency.p99_us as f64),
    ))
}
