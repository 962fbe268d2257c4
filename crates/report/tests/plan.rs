//! `authbench plan` on real runs: instances, store throughput and CPU follow from the measured
//! figures of the best step meeting the SLO, and a run that never met it is refused rather than
//! extrapolated. An SLO is judged from the run's own latencies (fields or histograms).

mod common;

use common::{FIXTURES, fixture};

use std::time::Duration;

use authbench_report::plan::{PlanError, PlanInput, plan, render_text};
use authbench_report::slo::{Bound, SloTarget};
use authbench_report::{Operation, Replica, Report, Routing, Step, SystemStep};

fn slo(text: &str) -> SloTarget {
    text.parse().expect("a valid SLO")
}

fn balance_p99_us(result: &SystemStep) -> u64 {
    result
        .operations
        .iter()
        .find(|op| op.operation == Operation::Balance)
        .expect("balance ran")
        .latency
        .p99_us
}

/// The step an instance's capacity comes from, found straight from the fixture: the highest
/// requests/s among steps with p99 balance latency under `limit_us` and errors within the
/// run's limit.
fn best_step<'a>(report: &'a Report, system: &str, limit_us: u64) -> (&'a Step, &'a SystemStep) {
    report
        .steps
        .iter()
        .filter_map(|step| Some((step, step.results.iter().find(|r| r.system == system)?)))
        .filter(|(_, r)| balance_p99_us(r) < limit_us)
        .filter(|(_, r)| r.errors as f64 / r.requests as f64 <= report.slo.max_error_rate)
        .max_by(|a, b| a.1.requests_per_second.total_cmp(&b.1.requests_per_second))
        .expect("some step met the SLO")
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

#[test]
fn instances_are_the_target_over_the_best_step_meeting_the_slo() {
    let report = fixture("redis-vs-jwt");
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    assert_eq!(planned.systems.len(), 2);
    for system in &planned.systems {
        let (_, best) = best_step(&report, &system.name, 50_000);
        let capacity = system.line("capacity per instance").expect("planned");
        assert_eq!(capacity.value, best.requests_per_second, "{}", system.name);
        let instances = system.line("app instances").expect("planned").value;
        assert_eq!(
            instances,
            (100_000.0 / best.requests_per_second).ceil(),
            "{}",
            system.name
        );
    }
}

#[test]
fn store_throughput_and_cpu_are_the_target_times_the_measured_per_request_figures() {
    let report = fixture("redis-vs-jwt");
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    for system in &planned.systems {
        let (_, best) = best_step(&report, &system.name, 50_000);
        let derived = &best.derived;
        let commands = system
            .line("store throughput (Redis commands)")
            .expect("Redis");
        let per_request = derived.store_operations_per_request.expect("measured");
        assert!(
            close(commands.value, 100_000.0 * per_request),
            "{commands:?}"
        );
        let cpu = system.line("store CPU").expect("Redis CPU measured");
        let cpu_us = derived.store_cpu_us_per_request.expect("measured");
        assert!(close(cpu.value, 100_000.0 * cpu_us / 1e6), "{cpu:?}");
        let memory = system.line("store memory").expect("Redis memory measured");
        let login_share = best.operations[0].requests as f64 / best.requests as f64;
        let lifetime = if system.name.starts_with("jwt") {
            24.0 * 3600.0
        } else {
            8.0 * 3600.0
        };
        let bytes = derived.store_bytes_per_session.expect("measured");
        let expected = 100_000.0 * login_share * lifetime * bytes;
        assert!(
            close(memory.value, expected),
            "{memory:?} against {expected}"
        );
    }
}

#[test]
fn the_text_names_each_figure_its_step_and_field() {
    let report = fixture("redis-vs-jwt");
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    let text = render_text(&planned);
    for system in &planned.systems {
        let (step, best) = best_step(&report, &system.name, 50_000);
        let at = format!("at vus={} (steps[{}])", step.load, step.index);
        let instances = (100_000.0 / best.requests_per_second).ceil();
        for expected in [
            format!("requests_per_second {at}, the highest of"),
            format!("{instances} instances"),
            "derived.store_operations_per_request = ".to_owned(),
            "derived.store_cpu_us_per_request = ".to_owned(),
            "derived.server_cpu_us_per_request = ".to_owned(),
            format!(
                "operations[login].requests / requests = {} / {}",
                best.operations[0].requests, best.requests
            ),
            "balance.latency.p99_us = ".to_owned(),
        ] {
            assert!(text.contains(&expected), "{expected:?} in\n{text}");
        }
    }
    for assumption in [
        "session server's default session lifetime",
        "pinned to CPU 0",
    ] {
        assert!(text.contains(assumption), "{assumption} in\n{text}");
    }
}

#[test]
fn a_run_that_never_met_the_slo_is_refused_not_extrapolated() {
    let report = fixture("redis-vs-jwt");
    let error = plan(&report, &PlanInput::new(100_000.0, slo("p99<10us"))).expect_err("refused");
    let PlanError::NeverMetSlo { ref best, .. } = error else {
        panic!("expected NeverMetSlo, got {error:?}");
    };
    assert_eq!(best.len(), 2);
    let message = error.to_string();
    for part in [
        "no system met p99<10us",
        "does not extrapolate",
        "session-redis",
        "jwt-hs256",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    let lowest = report.steps[0]
        .results
        .iter()
        .map(balance_p99_us)
        .min()
        .expect("results");
    assert!(message.contains(&format!("{lowest}µs")), "{message}");
}

#[test]
fn systems_that_never_met_the_slo_are_named_while_the_others_are_planned() {
    let report = fixture("redis-vs-jwt");
    let lowest = |system: &str| {
        report
            .steps
            .iter()
            .flat_map(|s| s.results.iter().filter(|r| r.system == system))
            .map(balance_p99_us)
            .min()
            .expect("results")
    };
    let (session, jwt) = (lowest("session-redis"), lowest("jwt-hs256"));
    assert!(
        jwt < session,
        "the JWT system is the faster one at low load"
    );
    let target = SloTarget {
        latency: Duration::from_micros((session + jwt) / 2),
        ..slo("p99<1ms")
    };
    let planned = plan(&report, &PlanInput::new(100_000.0, target)).expect("a plan for one");
    let session_plan = &planned.systems[0];
    assert!(session_plan.never_met.is_some() && session_plan.lines.is_empty());
    assert!(planned.systems[1].line("app instances").is_some());
    assert!(render_text(&planned).contains("no plan: never met it at any measured step"));
}

#[test]
fn headroom_and_a_given_ttl_change_the_figures() {
    let report = fixture("redis-vs-jwt");
    let input = PlanInput {
        headroom: 0.5,
        ttl: Some(Duration::from_secs(3600)),
        ..PlanInput::new(100_000.0, slo("p99<50ms"))
    };
    let planned = plan(&report, &input).expect("a plan");
    let session = &planned.systems[0];
    let (_, best) = best_step(&report, "session-redis", 50_000);
    let instances = session.line("app instances").expect("planned").value;
    assert_eq!(instances, (150_000.0 / best.requests_per_second).ceil());
    let logins = session.line("logins").expect("planned").value;
    let active = session.line("active sessions").expect("planned").value;
    assert!(close(active, logins * 3600.0));
    assert!(render_text(&planned).contains("lifetime 1h as given for the plan"));
}

#[test]
fn a_target_rate_of_zero_or_less_is_refused() {
    let report = fixture("quickstart");
    for target in [0.0, -1.0, f64::NAN] {
        let error = plan(&report, &PlanInput::new(target, slo("p99<50ms"))).expect_err("refused");
        assert!(matches!(error, PlanError::InvalidTarget(_)), "{error}");
    }
}

#[test]
fn the_runs_own_slo_reproduces_its_slo_met() {
    for name in FIXTURES {
        let report = fixture(name);
        let own = SloTarget {
            percentile: report.slo.percentile,
            latency: Duration::from_micros(report.slo.latency_us),
            latency_bound: Bound::AtMost,
            max_error_rate: None,
            error_bound: Bound::AtMost,
            operations: Vec::new(),
        };
        for result in report.steps.iter().flat_map(|s| &s.results) {
            let verdict = own.evaluate(result, &report.slo).expect("judged");
            assert_eq!(verdict.met, result.slo_met, "{name} {}", result.system);
        }
    }
}

#[test]
fn percentiles_without_a_report_field_come_from_the_histogram() {
    let report = fixture("quickstart");
    let result = &report.steps[1].results[0];
    let verdict = slo("p95<50ms")
        .evaluate(result, &report.slo)
        .expect("decoded");
    let latency = &result.operations[1].latency;
    let p95 = verdict.latency_us.expect("measured");
    assert!(
        latency.p90_us <= p95 && p95 <= latency.p99_us,
        "{p95} within p90..p99"
    );
    assert!(
        verdict.latency_source.contains("histogram"),
        "{}",
        verdict.latency_source
    );
    let merged = slo("p99<50ms,on=login+balance")
        .evaluate(result, &report.slo)
        .expect("merged");
    assert!(merged.latency_source.contains("merged login+balance"));
}

#[test]
fn a_denylist_adds_a_lookup_per_request_and_entries_per_logout() {
    let mut report = fixture("redis-vs-jwt");
    report.scenario.logout = true;
    let jwt = report.systems.iter_mut().find(|s| s.name == "jwt-hs256");
    let jwt = jwt.expect("the fixture has a JWT system");
    jwt.settings.insert("revocation".into(), "denylist".into());
    for result in report.steps.iter_mut().flat_map(|s| &mut s.results) {
        // One logout per login, as the flow with `logout = true` sends.
        let mut logout = result.operations[0].clone();
        logout.operation = Operation::Logout;
        result.requests += logout.requests;
        result.operations.push(logout);
    }
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    let system = planned
        .systems
        .iter()
        .find(|s| s.name == "jwt-hs256")
        .expect("planned");
    let (_, best) = best_step(&report, "jwt-hs256", 50_000);
    let logins = best.operations[0].requests as f64;
    let share = logins / best.requests as f64;
    let logouts = system.line("logouts (revocations)").expect("planned").value;
    assert!(close(logouts, 100_000.0 * share), "{logouts}");
    let lookups = system.line("revocation lookups").expect("denylist").value;
    assert!(close(lookups, 100_000.0 * (1.0 - share)), "{lookups}");
    let entries = system.line("denylist entries").expect("denylist").value;
    assert!(
        close(entries, logouts * 15.0 * 60.0),
        "the default 15m access-token lifetime"
    );
    let text = render_text(&planned);
    assert!(text.contains("settings.revocation = denylist"), "{text}");
    assert!(text.contains("an upper bound, since users who log out end theirs early"));
    let session = planned
        .systems
        .iter()
        .find(|s| s.name == "session-redis")
        .expect("planned");
    assert!(
        session.line("revocation lookups").is_none(),
        "sessions are revoked by deletion"
    );
}

#[test]
fn the_store_version_the_figures_came_from_is_an_assumption() {
    let mut report = fixture("redis-vs-jwt");
    for system in &mut report.systems {
        system.store_version = Some("Redis 7.0.15".into());
    }
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    for system in &planned.systems {
        assert!(
            system
                .assumptions
                .iter()
                .any(|a| a.contains("measured on Redis 7.0.15")),
            "{}: {:?}",
            system.name,
            system.assumptions
        );
    }
}

#[test]
fn a_flow_that_logs_out_gets_no_store_memory_figure_rather_than_a_negative_one() {
    // A real revocation run: every flow logs out, and Redis's memory grew by less than nothing
    // over some steps.
    let report = fixture("revocation");
    assert!(report.scenario.logout);
    let planned = plan(&report, &PlanInput::new(50_000.0, slo("p99<50ms"))).expect("a plan");
    for system in &planned.systems {
        assert!(system.line("store memory").is_none(), "{}", system.name);
        assert!(
            system
                .assumptions
                .iter()
                .any(|a| a.contains("not measured in a flow that logs out")),
            "{}: {:?}",
            system.name,
            system.assumptions
        );
        assert!(system.line("store throughput (Redis commands)").is_some());
        for line in &system.lines {
            assert!(line.value >= 0.0, "{}: {line:?}", system.name);
        }
    }
}

#[test]
fn a_replicated_systems_capacity_per_instance_is_its_throughput_divided_by_its_replicas() {
    let mut report = fixture("quickstart");
    let jwt = report
        .systems
        .iter_mut()
        .find(|s| s.name == "jwt-hs256")
        .expect("the fixture has jwt-hs256");
    // Both replicas pinned to core 0, as scenarios/scale-out.toml runs them.
    jwt.replicas = (0..2u32)
        .map(|k| Replica {
            base_url: format!("http://127.0.0.1:{}", 40_000 + k),
            pid: Some(1000 + k),
            cores: Some("0".into()),
            log: None,
        })
        .collect();
    jwt.routing = Some(Routing::Sticky);
    let planned = plan(&report, &PlanInput::new(100_000.0, slo("p99<50ms"))).expect("a plan");
    let system = |name: &str| {
        planned
            .systems
            .iter()
            .find(|s| s.name == name)
            .expect("planned")
    };
    let replicated = system("jwt-hs256");
    let (step, best) = best_step(&report, "jwt-hs256", 50_000);
    let capacity = replicated.line("capacity per instance").expect("planned");
    assert!(
        close(capacity.value, best.requests_per_second / 2.0),
        "{capacity:?} against {}",
        best.requests_per_second
    );
    assert!(
        capacity.from.contains(&format!(
            "requests_per_second at vus={} (steps[{}]) / 2 replicas = {:.1} / 2",
            step.load, step.index, best.requests_per_second
        )),
        "{}",
        capacity.from
    );
    let instances = replicated.line("app instances").expect("planned").value;
    assert_eq!(
        instances,
        (100_000.0 / (best.requests_per_second / 2.0)).ceil()
    );
    assert!(
        replicated.assumptions.iter().any(|a| a
            .contains("one instance = one of the 2 measured server processes")
            && a.contains("2 processes on 1 core(s)")),
        "{:#?}",
        replicated.assumptions
    );
    assert!(
        planned
            .assumptions
            .iter()
            .any(|a| a.contains("divided by the replica count")),
        "{:#?}",
        planned.assumptions
    );

    // A single process keeps its step's figure whole.
    let (_, single) = best_step(&report, "jwt-eddsa", 50_000);
    let capacity = system("jwt-eddsa").line("capacity per instance");
    assert_eq!(capacity.expect("planned").value, single.requests_per_second);
}

/// Store memory from a loaded population: the bytes per record measured at the largest one.
#[test]
fn a_population_run_prices_store_memory_from_the_largest_population_loaded() {
    let report = fixture("population");
    let planned = plan(&report, &PlanInput::new(10_000.0, slo("p99<50ms"))).expect("a plan");
    let session = planned
        .systems
        .iter()
        .find(|s| s.name == "session-postgres")
        .expect("session-postgres planned");
    let memory = session.line("store memory").expect("a memory figure");
    assert!(
        memory
            .from
            .contains("measured by loading 1,000,000 sessions"),
        "{memory:?}"
    );
    let top = report.steps.last().expect("steps");
    let bytes = top
        .results
        .iter()
        .find(|r| r.system == "session-postgres")
        .and_then(|r| r.population.as_ref()?.bytes_per_record)
        .expect("bytes per record at the top step");
    let active = session.line("active sessions").expect("active sessions");
    assert!((memory.value - active.value * bytes).abs() < 1e-6 * memory.value.max(1.0));
}

#[test]
fn a_measured_store_ceiling_plans_the_stores_the_target_needs_and_says_which_tier_binds() {
    let report = fixture("store-bound");
    let target = 50_000.0;
    let planned = plan(&report, &PlanInput::new(target, slo("p99<50ms"))).expect("a plan");
    let session = planned
        .systems
        .iter()
        .find(|s| s.name == "session-redis")
        .expect("session-redis planned");
    let info = report
        .systems
        .iter()
        .find(|s| s.name == "session-redis")
        .expect("session-redis ran");
    let ceiling = info.store_ceiling.as_ref().expect("a measured ceiling");
    let (_, best) = best_step(&report, "session-redis", 50_000);
    let cpu_us = best.derived.store_cpu_us_per_request.expect("Redis CPU");
    let by_cpu = session
        .line("stores by CPU")
        .expect("planned from the ceiling");
    let cores = ceiling.cpu_cores.expect("CPU at the ceiling");
    assert_eq!(
        by_cpu.value,
        (target * cpu_us / 1e6 / cores).ceil(),
        "{by_cpu:?}"
    );
    assert!(
        by_cpu.value > 1.0,
        "a 0.05-core Redis cannot carry 50,000 req/s"
    );
    let ops = best.derived.store_operations_per_request.expect("measured");
    let by_ops = session.line("stores by operations/s").expect("planned");
    assert_eq!(
        by_ops.value,
        (target * ops / ceiling.operations_per_second).ceil()
    );
    let text = render_text(&planned);
    assert!(text.contains("the store binds"), "{text}");
    assert!(!text.contains("own limits (e.g. one Redis core) were not measured"));

    // A run without a ceiling still says it is assuming.
    let old = plan(
        &fixture("redis-vs-jwt"),
        &PlanInput::new(target, slo("p99<50ms")),
    )
    .expect("a plan");
    let text = render_text(&old);
    assert!(
        text.contains("own limits (e.g. one Redis core) were not measured"),
        "{text}"
    );
    assert!(
        old.systems
            .iter()
            .all(|s| s.line("stores by CPU").is_none())
    );
}
