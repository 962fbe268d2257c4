//! C7: signing algorithms differ in cost (server CPU per request, step by step) and in risk (not
//! something a load run measures).

use super::{Cell, Claim, Run, Style, System, Verdict};
use crate::format::{extent, micros, number, span};
use crate::model::Operation;

/// Algorithms "differ in cost" when one costs this much more server CPU at every step...
const DIFFERENT: f64 = 1.15;
/// ...and cost the same when they are this close at every step.
const SAME: f64 = 1.05;

pub(super) fn judge(run: &Run<'_>) -> Claim {
    let jwts: Vec<&System<'_>> = run
        .of(Style::Jwt)
        .filter(|s| s.extent(|d| d.server_cpu_us_per_request).is_some())
        .collect();
    let mut algs: Vec<&str> = jwts.iter().filter_map(|s| s.setting("alg")).collect();
    algs.sort_unstable();
    algs.dedup();
    if algs.len() < 2 {
        let ran = if algs.is_empty() {
            "none".to_owned()
        } else {
            algs.join(", ")
        };
        return Claim::not_measured(
            "C7",
            &format!("Fewer than two JWT algorithms ran (with server CPU measured): {ran}."),
        );
    }
    let mean = |s: &System<'_>| {
        let values: Vec<f64> = s
            .cells
            .iter()
            .filter_map(|c| c.result.derived.server_cpu_us_per_request)
            .collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let mut ranked = jwts.clone();
    ranked.sort_by(|a, b| mean(a).total_cmp(&mean(b)));
    let mut evidence: Vec<String> = ranked
        .iter()
        .filter_map(|s| {
            let (low, high) = s.extent(|d| d.server_cpu_us_per_request)?;
            Some(format!(
                "{} ({}): {} of server CPU per request ({}).",
                s.name(),
                s.setting("alg").unwrap_or("?"),
                span(low, high, micros),
                run.loads(s)
            ))
        })
        .collect();
    let cheapest = ranked[0];
    let mut ratios = Vec::new();
    for other in &ranked[1..] {
        let pairs: Vec<f64> = other
            .cells
            .iter()
            .filter_map(|cell| {
                let theirs = cell.result.derived.server_cpu_us_per_request?;
                let base = cheapest.cells.iter().find(|c| c.load == cell.load)?;
                let ours = base
                    .result
                    .derived
                    .server_cpu_us_per_request
                    .filter(|v| *v > 0.0)?;
                Some(theirs / ours)
            })
            .collect();
        if let Some((low, high)) = extent(pairs.iter().copied()) {
            evidence.push(format!(
                "{} used {}× the server CPU per request of {} at the same step, over {} steps.",
                other.name(),
                span(low, high, number),
                cheapest.name(),
                pairs.len()
            ));
        }
        ratios.extend(pairs);
    }
    evidence.extend(ranked.iter().filter_map(|s| top_line(run, s)));
    let verdict = match extent(ratios) {
        None => Verdict::NotMeasured,
        Some((low, _)) if low >= DIFFERENT => Verdict::Supports,
        Some((_, high)) if high < SAME => Verdict::Contradicts,
        Some(_) => Verdict::Mixed,
    };
    let mut caveats = vec![
        "Server CPU per request covers everything the server does for a request (HTTP, \
         routing, the balance), so the ratios understate the gap between the algorithms alone."
            .to_owned(),
        "Risk, and the rule that the alg header must never choose the algorithm, are properties \
         of the validation code (the JWT server pins --alg and never reads it from a token), \
         covered by its tests, not by a load run."
            .to_owned(),
    ];
    caveats.extend(run.flag_caveat(jwts));
    Claim::new("C7", verdict, evidence, caveats)
}

/// Throughput at the top step with its spread over repeats, and the login (signing) latency.
fn top_line(run: &Run<'_>, system: &System<'_>) -> Option<String> {
    let top: &Cell<'_> = system.top()?;
    let login = system
        .cells
        .first()
        .and_then(|cell| cell.operation(Operation::Login))
        .map_or(String::new(), |stats| {
            format!(
                "; login p50 {} at the lowest step",
                micros(stats.latency.p50_us as f64)
            )
        });
    Some(format!(
        "{} at {}: {} req/s{}{login}.",
        system.name(),
        run.load(top.load),
        number(top.result.requests_per_second),
        top.repeat_spread()
    ))
}
