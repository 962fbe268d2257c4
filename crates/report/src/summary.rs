//! The short table printed when a run ends: per step and system, throughput, balance latency,
//! errors and the per-request costs, then the highest step that met the SLO for each system.

use std::fmt::Write as _;

use crate::model::{Flag, Latency, Operation, Report, SystemStep};

use crate::format::{latency_compact, trim_number, trim_number_to};

/// The table as text, ready for stdout.
pub fn table(report: &Report) -> String {
    let load = crate::compare::step_unit(report);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{load:>8}  {:<20} {:>10} {:>9} {:>9} {:>9} {:>8} {:>10} {:>11} {:>11}  notes",
        "system",
        "req/s",
        "bal p50",
        "bal p99",
        "login p99",
        "errors",
        "store/req",
        "store µs/req",
        "server µs/req",
    );
    for step in &report.steps {
        for result in &step.results {
            let _ = writeln!(
                out,
                "{:>8}  {:<20} {:>10.0} {:>9} {:>9} {:>9} {:>8} {:>10} {:>11} {:>11}  {}",
                trim_number(step.position()),
                result.system,
                result.requests_per_second,
                percentile(result, Operation::Balance, |l| l.p50_us),
                percentile(result, Operation::Balance, |l| l.p99_us),
                percentile(result, Operation::Login, |l| l.p99_us),
                result.errors,
                optional(result.derived.store_operations_per_request, 2),
                optional(result.derived.store_cpu_us_per_request, 1),
                optional(result.derived.server_cpu_us_per_request, 1),
                notes(result),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nSLO: p{} <= {} on {}, errors <= {}%",
        trim_number(report.slo.percentile),
        latency_compact(report.slo.latency_us as f64),
        report
            .slo
            .operations
            .iter()
            .map(|op| format!("{op:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join("+"),
        trim_number(report.slo.max_error_rate * 100.0),
    );
    for system in &report.systems {
        let best = report.steps.iter().rev().find_map(|step| {
            let result = step.results.iter().find(|r| r.system == system.name)?;
            result
                .slo_met
                .then_some((step.position(), result.requests_per_second))
        });
        let _ = match best {
            Some((load_value, rps)) => writeln!(
                out,
                "  {:<20} met it up to {load}={} ({rps:.0} req/s)",
                system.name,
                trim_number(load_value)
            ),
            None => writeln!(out, "  {:<20} met it at no step", system.name),
        };
    }
    overload(report, &mut out);
    faults(report, &mut out);
    services(report, &mut out);
    server_counts(report, &mut out);
    store_commands(report, &mut out);
    shards(report, &mut out);
    out
}

/// Per system on a sharded store: how its commands spread over the shards at its last step.
fn shards(report: &Report, out: &mut String) {
    let Some(last) = report.steps.last() else {
        return;
    };
    let spread: Vec<(&str, Vec<f64>)> = last
        .results
        .iter()
        .filter_map(|result| {
            let store = result.store.as_ref().filter(|s| !s.nodes.is_empty())?;
            let shares = store
                .nodes
                .iter()
                .map(|node| crate::format::share_percent(node.operations, store.operations))
                .collect();
            Some((result.system.as_str(), shares))
        })
        .collect();
    if spread.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nStore commands by shard (last step):");
    for (system, shares) in spread {
        let shown: Vec<String> = shares
            .iter()
            .map(|share| format!("{}%", trim_number_to(*share, 1)))
            .collect();
        let even = 100.0 / shares.len() as f64;
        let _ = writeln!(
            out,
            "  {system:<20} {} (even: {}% each)",
            shown.join(", "),
            trim_number_to(even, 1)
        );
    }
}

/// Per step with faults: for each system and fault, when errors began, when it was back, what
/// failed, and the credentials its store forgot.
fn faults(report: &Report, out: &mut String) {
    let load = crate::compare::step_unit(report);
    for step in &report.steps {
        if step.results.iter().all(|r| r.faults.is_empty()) {
            continue;
        }
        let _ = writeln!(out, "\nFaults at {load}={}:", trim_number(step.position()));
        for result in &step.results {
            let parts: Vec<String> = result
                .faults
                .iter()
                .map(|f| {
                    let first = f.first_error_s.map_or("no error".to_owned(), |s| {
                        format!("first error after {} s", trim_number_to(s, 1))
                    });
                    let back = match (f.end_s, f.recovery_s) {
                        _ if f.first_error_s.is_none() => "unaffected".to_owned(),
                        (None, _) => "store down to the end".to_owned(),
                        (Some(_), Some(s)) => format!("back {} s after", trim_number_to(s, 1)),
                        (Some(_), None) => "not back by the step's end".to_owned(),
                    };
                    if f.end_s == Some(f.start_s) || f.kind == "rotate-key" {
                        // Done at once: nothing was away, only what followed counts.
                        return format!(
                            "{} at {} s: {} failed until the next fault",
                            f.kind,
                            trim_number_to(f.start_s, 1),
                            f.failed_requests
                        );
                    }
                    format!(
                        "{} at {} s: {first}, {back}, {} failed ({}% available)",
                        f.kind,
                        trim_number_to(f.start_s, 1),
                        f.failed_requests,
                        trim_number_to(f.availability * 100.0, 1)
                    )
                })
                .collect();
            if parts.is_empty() {
                continue;
            }
            let refused = result
                .credentials_refused
                .map_or_else(String::new, |n| format!("; {n} credentials refused"));
            let _ = writeln!(out, "  {:<20} {}{refused}", result.system, parts.join("; "));
        }
    }
}

/// Per step and system with a resource server: what a balance request cost it, and what the
/// issuer's faults did.
fn services(report: &Report, out: &mut String) {
    let rows = crate::services::rows(report);
    if rows.is_empty() {
        return;
    }
    let load = crate::compare::step_unit(report);
    let _ = writeln!(
        out,
        "\nAt the resource server, per balance request:\n{load:>8}  {:<20} {:<10} {:>10} {:>10} {:>13} {:>12} {:>10} {:>11}",
        "system",
        "verify",
        "bal req/s",
        "CPU µs",
        "issuer calls",
        "own store op",
        "store op",
        "bal errors"
    );
    for row in &rows {
        let _ = writeln!(
            out,
            "{:>8}  {:<20} {:<10} {:>10.0} {:>10} {:>13} {:>12} {:>10} {:>11}",
            trim_number(row.load),
            row.system,
            row.verify.as_str(),
            row.balance_per_second,
            optional(row.cpu_us_per_request, 1),
            optional(row.issuer_calls_per_request, 3),
            optional(row.resource_store_per_request, 2),
            optional(row.store_per_request, 2),
            row.balance_errors,
        );
    }
    let mut cached: Vec<&crate::services::ServiceRow<'_>> = rows
        .iter()
        .filter(|row| row.staleness_ms.is_some())
        .collect();
    // One line per system, not per step.
    cached.sort_by_key(|row| row.system);
    cached.dedup_by_key(|row| row.system);
    for row in cached {
        let _ = writeln!(
            out,
            "  {}: a token revoked at the issuer may pass for up to {} ms (its cache)",
            row.system,
            row.staleness_ms.unwrap_or_default()
        );
    }
}

/// Per system: whether its own request counts (its `/metrics`) match the load generator's.
fn server_counts(report: &Report, out: &mut String) {
    let _ = writeln!(out, "\nRequests the servers counted themselves:");
    for system in &report.systems {
        let results = report
            .steps
            .iter()
            .filter_map(|step| step.results.iter().find(|r| r.system == system.name));
        let (mut sent, mut counted) = (0u64, Some(0u64));
        for result in results {
            sent = sent.saturating_add(result.requests);
            counted = counted
                .zip(result.server_requests)
                .map(|(a, b)| a.saturating_add(b));
        }
        let verdict = match counted {
            None => "no server-side count (none exposed, or a scrape failed)".to_owned(),
            // Every shard's load reached the servers while each shard scraped them: a shard's
            // count holds the others' requests too, and a merged report's is shard 0's.
            Some(counted) if report.shard.is_some() => format!(
                "{counted} in this shard's windows, every shard's requests together; this \
                 shard sent {sent}"
            ),
            Some(counted) if report.merged.is_some() => format!(
                "{counted} in shard 0's windows against {sent} sent by all shards in their own \
                 ({} apart)",
                apart(counted, sent)
            ),
            Some(counted) if counted == sent => format!("{counted}, as many as were sent"),
            Some(counted) => format!("{counted} against {sent} sent: they differ"),
        };
        let _ = writeln!(out, "  {:<20} {verdict}", system.name);
    }
}

/// How far two counts are apart, as a share of the larger: `0.03%`.
fn apart(a: u64, b: u64) -> String {
    let share = a.abs_diff(b) as f64 * 100.0 / a.max(b).max(1) as f64;
    format!("{}%", trim_number_to(share, 2))
}

/// Per system with a sample: its store commands by key pattern, as shares of the sample.
fn store_commands(report: &Report, out: &mut String) {
    let sampled: Vec<_> = report
        .systems
        .iter()
        .filter_map(|system| Some((system, system.store_commands.as_ref()?)))
        .collect();
    if sampled.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nStore commands by key pattern or statement (first warm-up):"
    );
    for (system, sample) in sampled {
        let shares: Vec<String> = sample
            .patterns
            .iter()
            .take(4)
            .map(|p| {
                let share = crate::format::share_percent(p.count, sample.commands_seen);
                format!(
                    "{} {} {}%",
                    p.command,
                    p.key_pattern,
                    trim_number_to(share, 1)
                )
            })
            .collect();
        let shown = if shares.is_empty() {
            "none seen".to_owned()
        } else {
            shares.join(", ")
        };
        let _ = writeln!(out, "  {:<20} {shown}", system.name);
    }
}

/// Per step with a burst: how long each system took to recover, and what failed meanwhile.
fn overload(report: &Report, out: &mut String) {
    let load = crate::compare::step_unit(report);
    for step in &report.steps {
        let burst = step.results.iter().find_map(|r| r.timeline.as_ref()?.burst);
        let Some(burst) = burst else { continue };
        let _ = writeln!(
            out,
            "\nBurst at {load}={} ({}x from {} s to {} s):",
            trim_number(step.position()),
            trim_number(burst.factor),
            trim_number(burst.start_s),
            trim_number(burst.end_s),
        );
        for result in &step.results {
            let Some(figures) = &result.overload else {
                continue;
            };
            let recovered = match figures.recovery_s {
                Some(seconds) => format!("back {} s after it", trim_number_to(seconds, 1)),
                None => "not back by the step's end".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:<20} {recovered}; {} errors during it, {} after",
                result.system, figures.during_errors, figures.after_errors,
            );
        }
    }
}

fn percentile(result: &SystemStep, operation: Operation, pick: impl Fn(&Latency) -> u64) -> String {
    result
        .operations
        .iter()
        .find(|o| o.operation == operation && o.latency.count > 0)
        .map(|o| latency_compact(pick(&o.latency) as f64))
        .unwrap_or_else(|| "-".into())
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value
        .map(|v| format!("{v:.decimals$}"))
        .unwrap_or_else(|| "-".into())
}

fn notes(result: &SystemStep) -> String {
    let mut notes: Vec<&str> = result
        .flags
        .iter()
        .map(|flag| match flag {
            Flag::LoadgenBound { .. } => "loadgen-bound",
            Flag::Errors { .. } => "errors",
            Flag::Partial { .. } => "partial",
            Flag::SystemDown { .. } => "down",
            Flag::ConnectionsExhausted { .. } => "too few connections",
        })
        .collect();
    notes.dedup();
    if !result.slo_met {
        notes.push("SLO missed");
    }
    notes.join(", ")
}
