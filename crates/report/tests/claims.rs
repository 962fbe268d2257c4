//! The claims (C1–C7) judged from the committed reports of real runs: the verdicts follow the
//! data, and the figures they quote are the report's own, formatted as the report writes them.
//! Also the stored latency histograms, which the spectra are drawn from.

mod common;

use common::{fixture, fixtures};

use authbench_report::claims::figures::{bytes, count, micros, number, span};
use authbench_report::claims::{self, Claim, Verdict};
use authbench_report::{Operation, Report, SystemStep, histogram};

fn claim<'a>(claims: &'a [Claim], id: &str) -> &'a Claim {
    claims
        .iter()
        .find(|claim| claim.id == id)
        .expect("every claim is assessed")
}

fn results(report: &Report) -> impl Iterator<Item = &SystemStep> {
    report.steps.iter().flat_map(|step| &step.results)
}

/// The smallest and largest of a figure over one system's steps.
fn extent(
    report: &Report,
    system: &str,
    figure: impl Fn(&SystemStep) -> Option<f64>,
) -> (f64, f64) {
    results(report)
        .filter(|r| r.system == system)
        .filter_map(figure)
        .fold((f64::MAX, 0.0), |(low, high), v| (low.min(v), high.max(v)))
}

#[test]
fn redis_sessions_read_the_store_every_request_but_the_server_saturated_first_so_c1_is_mixed() {
    let report = fixture("redis-vs-jwt");
    let claims = claims::assess(&report);
    let ids: Vec<&str> = claims.iter().map(|claim| claim.id).collect();
    assert_eq!(ids, ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]);
    let c1 = claim(&claims, "C1");
    // One store read per request (the first half of C1), but the one-core server saturated
    // while Redis had room (the second half did not happen in this run).
    assert_eq!(c1.verdict, Verdict::Mixed);
    assert!(
        c1.evidence
            .iter()
            .any(|line| line
                .contains("first thing to saturate in this run was session-redis's server")),
        "{:#?}",
        c1.evidence
    );
    let (low, high) = extent(&report, "session-redis", |r| {
        r.derived.store_operations_per_request
    });
    let expected = format!(
        "session-redis: {} Redis commands per request",
        span(low, high, number)
    );
    assert!(
        c1.evidence.iter().any(|line| line.contains(&expected)),
        "{expected} in {:#?}",
        c1.evidence
    );
    assert!(
        c1.evidence.iter().any(|line| line.contains("jwt-hs256")),
        "JWT for comparison"
    );
    assert_eq!(claim(&claims, "C2").verdict, Verdict::Supports);
    assert_eq!(
        claim(&claims, "C7").verdict,
        Verdict::NotMeasured,
        "one algorithm only"
    );
}

#[test]
fn scale_out_is_never_measured_by_a_single_instance_run() {
    for (name, report) in fixtures() {
        let claims = claims::assess(&report);
        assert_eq!(claim(&claims, "C6").verdict, Verdict::NotMeasured, "{name}");
    }
}

#[test]
fn in_process_stores_say_their_cpu_is_not_separable() {
    let claims = claims::assess(&fixture("quickstart"));
    let c1 = claim(&claims, "C1");
    assert!(
        c1.caveats
            .iter()
            .any(|c| c.contains("session-sqlite") && c.contains("inside the server process"))
    );
}

#[test]
fn quickstart_compares_the_server_cpu_of_its_two_algorithms() {
    let report = fixture("quickstart");
    let c7 = claims::assess(&report)
        .into_iter()
        .find(|c| c.id == "C7")
        .expect("C7");
    assert_ne!(c7.verdict, Verdict::NotMeasured);
    for system in ["jwt-hs256", "jwt-eddsa"] {
        let (low, high) = extent(&report, system, |r| r.derived.server_cpu_us_per_request);
        let expected = format!("{} of server CPU per request", span(low, high, micros));
        assert!(
            c7.evidence
                .iter()
                .any(|line| line.starts_with(system) && line.contains(&expected)),
            "{system}: {expected} in {:#?}",
            c7.evidence
        );
    }
    assert!(
        c7.evidence
            .iter()
            .any(|line| line.contains("jwt-eddsa used") && line.contains("of jwt-hs256"))
    );
}

#[test]
fn c3_quotes_the_balance_request_size_of_sessions_and_jwt() {
    let report = fixture("quickstart");
    let c3 = claims::assess(&report)
        .into_iter()
        .find(|c| c.id == "C3")
        .expect("C3");
    assert_eq!(c3.verdict, Verdict::Supports);
    let sent = |system: &str| {
        let (low, high) = extent(&report, system, |r| {
            let balance = r
                .operations
                .iter()
                .find(|s| s.operation == Operation::Balance)?;
            Some(balance.bytes_sent_per_request)
        });
        span(low, high, bytes)
    };
    let text = c3.evidence.join("\n");
    assert!(
        text.contains(&format!("session-sqlite {}", sent("session-sqlite"))),
        "{text}"
    );
    assert!(text.contains(&sent("jwt-hs256")), "{text}");
    assert!(text.contains("4,096"), "the cookie limit: {text}");
}

#[test]
fn decoded_histograms_match_the_percentiles_beside_them() {
    for (name, report) in fixtures() {
        for stats in results(&report)
            .flat_map(|r| &r.operations)
            .filter(|s| s.latency.count > 0)
        {
            let decoded = histogram::decode(&stats.histogram).expect("decodes");
            assert_eq!(decoded.len(), stats.latency.count, "{name}: count");
            assert_eq!(
                decoded.value_at_quantile(0.99),
                stats.latency.p99_us,
                "{name}: p99"
            );
            let spectrum = histogram::spectrum(&decoded);
            let last = spectrum.last().expect("points");
            assert_eq!(
                last.value_us,
                decoded.highest_equivalent(stats.latency.max_us),
                "{name}: max"
            );
        }
    }
    assert!(histogram::decode("not base64!").is_err());
}
#[test]
fn a_real_revocation_run_shows_denylist_and_cutoff_reading_the_store_on_every_request() {
    let report = fixture("revocation");
    let claims = claims::assess(&report);
    let c4 = claim(&claims, "C4");
    let ops = |system: &str| extent(&report, system, |r| r.derived.store_operations_per_request);
    let (_, plain_highest) = ops("jwt-none");
    for system in ["jwt-denylist", "jwt-cutoff"] {
        let (low, high) = ops(system);
        // Every request looks up the denylist or the user's cutoff: at least one store read
        // each, on top of what the same flow costs without revocation.
        assert!(
            low >= 1.0 && low > 2.0 * plain_highest,
            "{system}: {low} vs {plain_highest}"
        );
        let revocation = system.trim_start_matches("jwt-");
        let expected = format!(
            "{system} (revocation = {revocation}): {} store operations",
            span(low, high, number)
        );
        assert!(
            c4.evidence.iter().any(|line| line.contains(&expected)),
            "{expected} in {:#?}",
            c4.evidence
        );
    }
    assert_eq!(c4.verdict, Verdict::Supports, "{:#?}", c4.evidence);

    // Logout deletes the session: one store delete per logout, counted by Redis.
    let logouts: u64 = results(&report)
        .filter(|r| r.system == "session-redis")
        .flat_map(|r| &r.operations)
        .filter(|op| op.operation == Operation::Logout)
        .map(|op| op.ok)
        .sum();
    assert!(logouts > 0);
    assert!(
        c4.evidence
            .iter()
            .any(|line| line.starts_with("session-redis: ") && line.contains("logouts")),
        "{:#?}",
        c4.evidence
    );

    // Every refresh rotates its family in the store.
    let c5 = claim(&claims, "C5");
    assert_eq!(c5.verdict, Verdict::Supports, "{:#?}", c5.evidence);
    for system in ["jwt-none", "jwt-denylist", "jwt-cutoff"] {
        let refreshes: u64 = results(&report)
            .filter(|r| r.system == system)
            .flat_map(|r| &r.operations)
            .filter(|op| op.operation == Operation::Refresh)
            .map(|op| op.requests)
            .sum();
        let store: u64 = results(&report)
            .filter(|r| r.system == system)
            .filter_map(|r| r.store.as_ref())
            .map(|s| s.operations)
            .sum();
        assert!(refreshes > 0 && store >= refreshes, "{system}");
        assert!(
            c5.evidence
                .iter()
                .any(|line| line.starts_with(&format!("{system}: {} refreshes", count(refreshes)))),
            "{system} in {:#?}",
            c5.evidence
        );
    }
}

#[test]
fn revocation_and_refresh_are_judged_when_the_scenario_has_them() {
    let mut report = fixture("redis-vs-jwt");
    let jwt = report
        .systems
        .iter_mut()
        .find(|s| s.name == "jwt-hs256")
        .expect("jwt");
    jwt.settings
        .insert("revocation".to_owned(), "denylist".to_owned());
    for result in results_mut(&mut report).filter(|r| r.system == "jwt-hs256") {
        result.derived.store_operations_per_request = Some(1.05);
        let mut refresh = result.operations[1].clone();
        refresh.operation = Operation::Refresh;
        refresh.requests = result.store.as_ref().map_or(0, |s| s.operations / 2);
        result.operations.push(refresh);
    }
    let claims = claims::assess(&report);
    let c4 = claim(&claims, "C4");
    assert_eq!(c4.verdict, Verdict::Supports, "{:#?}", c4.evidence);
    assert!(
        c4.evidence
            .iter()
            .any(|line| line.contains("jwt-hs256 (revocation = denylist): 1.05 store operations"))
    );
    let c5 = claim(&claims, "C5");
    assert_eq!(c5.verdict, Verdict::Supports, "{:#?}", c5.evidence);
    let page = authbench_report::html::render(&report).expect("renders");
    assert!(
        page.contains("id=\"chart-latency-refresh\""),
        "refresh gets its latency chart"
    );
}

fn results_mut(report: &mut Report) -> impl Iterator<Item = &mut SystemStep> {
    report.steps.iter_mut().flat_map(|step| &mut step.results)
}
