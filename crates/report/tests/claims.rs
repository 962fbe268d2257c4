//! The claims (C1a, C1b, C2–C7) judged from the committed reports of real runs: the verdicts follow the
//! data, and the figures they quote are the report's own, formatted as the report writes them.
//! Also the stored latency histograms, which the spectra are drawn from.

mod common;

use common::{fixture, fixtures};

use authbench_report::claims::{self, Claim, Verdict};
use authbench_report::format::{bytes, count, micros, number, percent, span};
use authbench_report::{Operation, Replica, Report, Routing, SystemStep, histogram};

fn claim<'a>(claims: &'a [Claim], id: &str) -> &'a Claim {
    claims
        .iter()
        .find(|claim| claim.id == id)
        .expect("every claim is assessed")
}

/// One claim, owned, for tests that change the report and assess it again.
fn assessed(report: &Report, id: &str) -> Claim {
    let claims = claims::assess(report);
    claims
        .into_iter()
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
fn redis_sessions_read_the_store_every_request_but_the_server_saturated_first() {
    let report = fixture("redis-vs-jwt");
    let claims = claims::assess(&report);
    let ids: Vec<&str> = claims.iter().map(|claim| claim.id).collect();
    assert_eq!(ids, ["C1a", "C1b", "C2", "C3", "C4", "C5", "C6", "C7"]);
    let c1 = claim(&claims, "C1a");
    // One store read per request, many times JWT's: the first half of C1 holds.
    assert_eq!(c1.verdict, Verdict::Supports, "{c1:#?}");
    // The one-core server saturated while Redis had most of its one thread free: the second
    // half did not happen in this run, and the claim says why.
    let c1b = claim(&claims, "C1b");
    assert_eq!(c1b.verdict, Verdict::Contradicts, "{c1b:#?}");
    assert!(
        c1b.evidence
            .iter()
            .any(|line| line.contains("the servers saturated first")),
        "{:#?}",
        c1b.evidence
    );
    assert!(
        c1b.caveats
            .iter()
            .any(|line| line.contains("ceiling of Redis was not measured")),
        "{:#?}",
        c1b.caveats
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
    let single = fixtures()
        .into_iter()
        .filter(|(_, report)| report.systems.iter().all(|s| s.replica_count() == 1));
    for (name, report) in single {
        let claims = claims::assess(&report);
        assert_eq!(claim(&claims, "C6").verdict, Verdict::NotMeasured, "{name}");
    }
}

#[test]
fn a_capped_store_shared_by_two_replicas_saturates_first_on_its_measured_ceiling() {
    let report = fixture("store-bound");
    let c1b = assessed(&report, "C1b");
    assert_eq!(c1b.verdict, Verdict::Supports, "{c1b:#?}");
    let system = report
        .systems
        .iter()
        .find(|s| s.name == "session-redis")
        .expect("session-redis");
    let ceiling = system.store_ceiling.as_ref().expect("a measured ceiling");
    assert!(
        c1b.evidence.iter().any(|line| line.contains(&format!(
            "{} GET <session key>/s",
            number(ceiling.operations_per_second)
        ))),
        "the ceiling it rests on: {:#?}",
        c1b.evidence
    );
    // The step it quotes had the store at its CPU limit under the cap, the servers well below.
    let shown = report
        .steps
        .iter()
        .flat_map(|step| &step.results)
        .filter(|r| r.system == "session-redis")
        .find(|r| {
            r.derived
                .store_cpu_of_ceiling
                .is_some_and(|share| share >= 0.8)
        })
        .expect("a step at the store's limit");
    let share = shown.derived.store_cpu_of_ceiling.expect("a CPU share");
    assert!(
        c1b.evidence.iter().any(|line| line
            .contains(&format!("{} of its CPU limit", percent(share)))
            && line.contains("the store saturated first")),
        "{:#?}",
        c1b.evidence
    );
    assert!(
        c1b.evidence
            .iter()
            .any(|line| line.contains("jwt-hs256 served") && line.contains("session-redis's")),
        "JWT beside it at the same load: {:#?}",
        c1b.evidence
    );
    let [store] = report.stores.as_slice() else {
        panic!("one run-owned store: {:?}", report.stores)
    };
    let cap = store.cpu_cap.as_ref().expect("a cap");
    assert_eq!(cap.cores, 0.05);
    assert!(
        cap.throttled_periods > 0,
        "the kernel held it back: {cap:?}"
    );
    assert_eq!(assessed(&report, "C1a").verdict, Verdict::Supports);
}

#[test]
fn a_far_store_adds_its_measured_round_trip_to_every_session_request_and_not_to_jwt() {
    let report = fixture("store-distance");
    // The relay's distance, as measured before the steps, is the distance asked for.
    for store in &report.stores {
        if let Some(network) = &store.network {
            let off = (network.measured_rtt_ms - network.rtt_ms).abs();
            assert!(
                off <= (0.1 * network.rtt_ms).max(0.1),
                "{}: measured {} ms for {} ms",
                store.name,
                network.measured_rtt_ms,
                network.rtt_ms
            );
        }
    }
    let p50 = |system: &str, vus: f64| {
        report
            .steps
            .iter()
            .filter(|step| step.load == vus)
            .flat_map(|step| &step.results)
            .find(|r| r.system == system)
            .and_then(|r| {
                r.operations
                    .iter()
                    .find(|o| o.operation == Operation::Balance)
            })
            .map(|o| o.latency.p50_us as f64)
            .expect("a balance p50")
    };
    // One user in flight: each session request waits one store round trip, so p50 grows by
    // about the RTT, while JWT's does not wait on the store at all.
    let (near, zone, far) = (
        p50("session-rtt0", 1.0),
        p50("session-rtt500us", 1.0),
        p50("session-rtt2ms", 1.0),
    );
    assert!(
        zone - near >= 450.0 && zone - near <= 700.0,
        "{near} → {zone} µs"
    );
    assert!(
        far - near >= 1_900.0 && far - near <= 2_400.0,
        "{near} → {far} µs"
    );
    assert!(p50("jwt-hs256", 1.0) < near, "JWT waits on no store");
}

/// The committed population run: each store counted at least the population it was given, its
/// memory grew with it, and C1b names where (whether) the session systems fell behind JWT.
#[test]
fn a_population_run_records_the_stores_count_and_memory_at_every_step() {
    let report = fixture("population");
    assert!(report.steps_population());
    let mut memory: Vec<(String, u64)> = Vec::new();
    for step in &report.steps {
        let sessions = step.population.expect("every step has its population");
        for result in &step.results {
            let Some(population) = &result.population else {
                continue;
            };
            assert!(
                population.live_records >= sessions,
                "{} at {sessions}: {population:?}",
                result.system
            );
            let bytes = population.memory_bytes.expect("the store was weighed");
            if let Some((_, before)) = memory.iter().find(|(name, _)| *name == result.system) {
                assert!(
                    bytes > *before,
                    "{}: memory grew with the population",
                    result.system
                );
            }
            memory.retain(|(name, _)| *name != result.system);
            memory.push((result.system.clone(), bytes));
        }
    }
    let top = report.steps.last().expect("steps");
    assert!(
        top.population >= Some(1_000_000),
        "a million sessions at least"
    );
    let c1b = assessed(&report, "C1b");
    for system in ["session-redis", "session-postgres"] {
        assert!(
            c1b.evidence
                .iter()
                .any(|line| line.contains("rossover") && line.contains(system)),
            "{:?}",
            c1b.evidence
        );
    }
}

#[test]
fn in_process_stores_leave_which_saturates_first_not_measured() {
    let claims = claims::assess(&fixture("quickstart"));
    let c1b = claim(&claims, "C1b");
    assert_eq!(c1b.verdict, Verdict::NotMeasured, "{c1b:#?}");
    assert!(
        c1b.caveats
            .iter()
            .any(|c| c.contains("session-sqlite") && c.contains("inside the server process"))
    );
}

#[test]
fn quickstart_compares_the_server_cpu_of_its_two_algorithms() {
    let report = fixture("quickstart");
    let c7 = assessed(&report, "C7");
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
    let c3 = assessed(&report, "C3");
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
fn a_real_scale_out_run_loses_per_process_sessions_under_round_robin_only() {
    let report = fixture("scale-out");
    let claims = claims::assess(&report);
    let c6 = claim(&claims, "C6");
    assert_eq!(c6.verdict, Verdict::Supports, "{:#?}", c6.evidence);
    let balance_401 = |system: &str| {
        let (refused, all) = results(&report)
            .filter(|r| r.system == system)
            .flat_map(|r| &r.operations)
            .filter(|op| op.operation == Operation::Balance)
            .fold((0, 0), |(refused, all), op| {
                let status = op.errors.get("status_401").copied().unwrap_or(0);
                (refused + status, all + op.requests)
            });
        (refused, all)
    };
    // Two replicas, round robin: about half the balance requests reach the replica that never
    // saw the login.
    let (refused, all) = balance_401("session-memory");
    let share = refused as f64 / all as f64;
    assert!((0.35..=0.65).contains(&share), "{refused} of {all}");
    assert!(
        c6.evidence.iter().any(|line| line.contains(&format!(
            "balance {} of {}",
            count(refused),
            count(all)
        ))),
        "{:#?}",
        c6.evidence
    );
    // Sticky routing, a shared Redis, and JWT replicas sharing one key: nothing refused.
    for system in ["session-memory-sticky", "session-redis", "jwt-hs256"] {
        assert_eq!(balance_401(system).0, 0, "{system}");
        let errors: u64 = results(&report)
            .filter(|r| r.system == system)
            .map(|r| r.errors)
            .sum();
        assert_eq!(errors, 0, "{system}");
    }
    let replicas = |name: &str| {
        let system = report.systems.iter().find(|s| s.name == name);
        system.expect("ran").replica_count()
    };
    assert!(report.systems.iter().all(|s| replicas(&s.name) == 2));
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

/// Gives `system` two server processes, one on core 0 and one on core 1, and a routing mode.
fn replicate(report: &mut Report, system: &str, routing: Routing) {
    let info = report
        .systems
        .iter_mut()
        .find(|s| s.name == system)
        .expect("the fixture has the system");
    info.replicas = (0..2u32)
        .map(|k| Replica {
            base_url: format!("http://127.0.0.1:{}", 40_000 + k),
            pid: info.pid.map(|pid| pid + k),
            cores: Some(k.to_string()),
            log: Some(format!("logs/{system}.{k}.log")),
        })
        .collect();
    info.routing = Some(routing);
}

/// A second system `name` with the same settings and figures as `from`.
fn copy_system(report: &mut Report, from: &str, name: &str) {
    let mut info = report
        .systems
        .iter()
        .find(|s| s.name == from)
        .cloned()
        .expect("the fixture has the system");
    info.name = name.to_owned();
    report.systems.push(info);
    for step in &mut report.steps {
        let copy = step.results.iter().find(|r| r.system == from).cloned();
        if let Some(mut result) = copy {
            result.system = name.to_owned();
            step.results.push(result);
        }
    }
}

/// Answers `share` of a system's balance requests 401 at every step, as a replica that never
/// saw the login does, with the step's error count to match. Returns the 401s and the balance
/// requests over every step.
fn refuse_balances(report: &mut Report, system: &str, share: f64) -> (u64, u64) {
    let (mut refused, mut requests) = (0, 0);
    for result in results_mut(report).filter(|r| r.system == system) {
        let balance = result
            .operations
            .iter_mut()
            .find(|op| op.operation == Operation::Balance)
            .expect("balance ran");
        let unauthorized = (balance.requests as f64 * share).round() as u64;
        balance.ok -= unauthorized;
        balance.errors.insert("status_401".to_owned(), unauthorized);
        result.errors += unauthorized;
        refused += unauthorized;
        requests += balance.requests;
    }
    (refused, requests)
}

/// The top step's requests/s of a system.
fn top_rps(report: &Report, system: &str) -> f64 {
    results(report)
        .filter(|r| r.system == system)
        .last()
        .expect("ran")
        .requests_per_second
}

#[test]
fn round_robin_over_per_process_sessions_loses_half_of_them_while_sticky_and_jwt_replicas_stay_clean_so_c6_supports()
 {
    let mut report = fixture("quickstart");
    copy_system(&mut report, "session-memory", "session-memory-sticky");
    replicate(&mut report, "session-memory", Routing::RoundRobin);
    replicate(&mut report, "session-memory-sticky", Routing::Sticky);
    replicate(&mut report, "jwt-hs256", Routing::RoundRobin);
    let (refused, balances) = refuse_balances(&mut report, "session-memory", 0.5);
    let c6 = assessed(&report, "C6");
    assert_eq!(c6.verdict, Verdict::Supports, "{:#?}", c6.evidence);
    let text = c6.evidence.join("\n");
    let share = refused as f64 / balances as f64;
    for expected in [
        format!(
            "session-memory (session server, 2 processes, sessions in process memory, one store \
             per replica, round robin routing): 401 on {} of its authenticated requests \
             (balance {} of {};",
            percent(share),
            count(refused),
            count(balances)
        ),
        "Round robin over 2 replicas sends about 50.0% of them to a replica that did not see \
         the login."
            .to_owned(),
        "session-memory-sticky (session server, 2 processes, sessions in process memory, one \
         store per replica, sticky routing): 401 on 0.00%"
            .to_owned(),
        format!(
            "jwt-hs256 (JWT server, 2 processes, refresh state in process memory, one store per \
             replica, round robin routing): 401 on 0.00% of its authenticated requests (balance \
             0 of {};",
            count(
                results(&report)
                    .filter(|r| r.system == "jwt-hs256")
                    .flat_map(|r| &r.operations)
                    .filter(|op| op.operation == Operation::Balance)
                    .map(|op| op.requests)
                    .sum()
            )
        ),
        // Against the single-process system of the same kind at the same (top) step.
        format!(
            "At 32 VUs, jwt-hs256's 2 processes served {} req/s, {}× the {} req/s of jwt-eddsa \
             with one.",
            number(top_rps(&report, "jwt-hs256")),
            number(top_rps(&report, "jwt-hs256") / top_rps(&report, "jwt-eddsa")),
            number(top_rps(&report, "jwt-eddsa"))
        ),
        format!(
            "At 32 VUs, session-memory's 2 processes served {} req/s (its 401 answers",
            number(top_rps(&report, "session-memory"))
        ),
        format!(
            "while jwt-hs256 and session-memory-sticky stayed within the SLO's {} error rate",
            percent(report.slo.max_error_rate)
        ),
    ] {
        assert!(text.contains(&expected), "{expected}\nin\n{text}");
    }
    let caveats = c6.caveats.join("\n");
    for expected in [
        "session-memory on cores 0 / 1",
        "load balancer adds a hop",
        "share their signing key",
    ] {
        assert!(caveats.contains(expected), "{expected} in {caveats}");
    }
    // C2 points at C6 once JWT replicas ran.
    let c2 = assessed(&report, "C2");
    assert!(c2.caveats.iter().any(|c| c.contains("judged in C6")));
}

#[test]
fn per_process_sessions_that_survive_round_robin_contradict_c6() {
    let mut report = fixture("quickstart");
    replicate(&mut report, "session-memory", Routing::RoundRobin);
    let (refused, balances) = refuse_balances(&mut report, "session-memory", 0.002);
    let c6 = assessed(&report, "C6");
    assert_eq!(c6.verdict, Verdict::Contradicts, "{:#?}", c6.evidence);
    let share = percent(refused as f64 / balances as f64);
    let text = c6.evidence.join("\n");
    assert!(
        text.contains(&format!("401 on {share} of its authenticated requests")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "(session-memory {share} answered 401, under 1.00%)"
        )),
        "{text}"
    );
}

#[test]
fn a_shared_store_whose_replicas_also_refuse_sessions_makes_c6_mixed() {
    let mut report = fixture("quickstart");
    replicate(&mut report, "session-memory", Routing::RoundRobin);
    replicate(&mut report, "session-sqlite", Routing::RoundRobin);
    refuse_balances(&mut report, "session-memory", 0.5);
    let (refused, balances) = refuse_balances(&mut report, "session-sqlite", 0.2);
    let c6 = assessed(&report, "C6");
    assert_eq!(c6.verdict, Verdict::Mixed, "{:#?}", c6.evidence);
    let expected = format!(
        "session-sqlite answered 401 to {} of its authenticated requests although its replicas \
         share one store",
        percent(refused as f64 / balances as f64)
    );
    assert!(
        c6.evidence.iter().any(|line| line.contains(&expected)),
        "{expected} in {:#?}",
        c6.evidence
    );
    assert!(
        c6.caveats
            .iter()
            .any(|c| c.contains("session-sqlite's replicas share one SQLite file"))
    );
}

#[test]
fn without_session_replicas_c6_is_not_measured_and_names_the_scenario_that_measures_it() {
    let report = fixture("quickstart");
    let c6 = assessed(&report, "C6");
    assert_eq!(c6.verdict, Verdict::NotMeasured);
    assert!(
        c6.evidence
            .iter()
            .any(|line| line.starts_with("session-memory keeps its sessions in process memory"))
    );
    assert!(
        c6.caveats.iter().any(
            |c| c.starts_with("Every system ran as a single server process")
                && c.contains("scenarios/scale-out.toml")
        ),
        "{:#?}",
        c6.caveats
    );

    // JWT replicas alone say nothing about session servers.
    let mut report = report;
    replicate(&mut report, "jwt-hs256", Routing::RoundRobin);
    let c6 = assessed(&report, "C6");
    assert_eq!(c6.verdict, Verdict::NotMeasured);
    assert!(
        c6.caveats
            .iter()
            .any(|c| c.starts_with("No session system ran as several server processes"))
    );
}
