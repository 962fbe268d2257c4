//! `authbench run` with a store the run starts itself: a Redis capped to a fraction of a core,
//! pinned, and 1 ms away behind a delay relay, that the session server uses by name. The report
//! records the store, the cap the kernel enforced and how often it throttled, and the round trip
//! measured through the relay; the store and the relay are gone when the run ends.

mod common;

use common::{assert_matches_schema, report_json, run_scenario, text};

const SCENARIO: &str = r#"
description = "a session server on a Redis the run starts, capped at a fifth of a core"

[users]
accounts = 20

[argon2]
memory_kib = 256
iterations = 1
parallelism = 1

[flow]
balances_per_login = 20

[load]
model = "closed"
vus = [8]

[timing]
step_duration = "1s"
warmup = "200ms"

[[stores]]
name = "small-redis"
kind = "redis"
cpus = 0.2
cores = [0]
maxmemory = "64MB"
rtt = "1ms"

[[systems]]
name = "session-redis"
kind = "session"
store = "small-redis"
"#;

#[test]
fn a_run_owned_capped_store_is_started_recorded_and_removed() {
    let (_dir, run_dir, output) = run_scenario(SCENARIO);
    assert!(
        text(&output).contains("started store small-redis (redis) at redis://127.0.0.1:"),
        "{}",
        text(&output)
    );
    assert_matches_schema(&report_json(&run_dir));
    let report = authbench_report::read(&run_dir.join("report.json")).expect("reads back");
    let [store] = report.stores.as_slice() else {
        panic!("one store: {:?}", report.stores)
    };
    assert_eq!(store.name, "small-redis");
    assert_eq!(store.cores.as_deref(), Some("0"));
    assert_eq!(store.settings["maxmemory"], "64MB");
    let cap = store.cpu_cap.as_ref().expect("the cap is recorded");
    assert_eq!(cap.cores, 0.2);
    assert!((cap.enforced_cores - 0.2).abs() < 1e-9, "{cap:?}");
    assert!(cap.periods > 0, "the store ran under the cap: {cap:?}");
    let network = store.network.as_ref().expect("the distance is recorded");
    assert_eq!(network.rtt_ms, 1.0);
    assert!(
        (0.9..1.3).contains(&network.measured_rtt_ms),
        "measured {network:?}"
    );
    assert!(network.relay_cpu_s > 0.0, "the relay's own CPU is counted");
    let log = store.log.as_deref().expect("the store's log is kept");
    assert_eq!(log, "logs/store-small-redis.log");
    let kept = std::fs::read_to_string(run_dir.join(log)).expect("the kept log reads");
    assert!(kept.contains("Ready to accept connections"), "{kept}");
    let system = &report.systems[0];
    assert!(system.base_url.starts_with("http://"));
    assert_eq!(
        system
            .store_version
            .as_deref()
            .map(|v| v.starts_with("Redis")),
        Some(true),
        "the run probed the store it started"
    );
    let result = &report.steps[0].results[0];
    assert!(result.requests > 0 && result.errors == 0, "{result:?}");
    assert!(
        result
            .store
            .as_ref()
            .is_some_and(|load| load.operations > 0),
        "the store's own counters were read"
    );
    let pid = store.pid.expect("its pid");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the store is stopped when the run ends"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{}", network.relay_pid)).exists(),
        "the relay is stopped when the run ends"
    );
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Stores the run started"));
}
