//! Session populations: `authbench populate` loads synthetic live records straight into a real
//! store, which then counts them itself; a `[population]` run tops its stores up before each
//! step and records the population, the store's count and its memory per step.

use std::process::{Command, Stdio};

use authbench_contract::population::PopulationLoad;
use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;

mod common;

use common::{BINARY, assert_matches_schema, report_json, run_scenario, text};

fn populate(args: &[&str]) -> PopulationLoad {
    let output = Command::new(BINARY)
        .arg("populate")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

fn redis_info_field(url: &str, field: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO")
        .arg("all")
        .query(&mut connection)
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

fn redis_keys(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_connection().unwrap();
    redis::cmd("DBSIZE").query(&mut connection).unwrap()
}

#[test]
fn redis_counts_what_populate_loaded_and_grows_by_a_login_per_session() {
    let server = RedisServer::start();
    let url = server.url();
    let before = redis_info_field(&url, "used_memory");
    let first = populate(&["--store", &url, "--to", "20000"]);
    assert_eq!((first.loaded, first.live_records), (20_000, 20_000));
    // One record key and one per-user index key per session, as a login leaves them.
    assert_eq!(redis_keys(&url), 40_000);
    let after = redis_info_field(&url, "used_memory");
    let per_session = (after - before) as f64 / 20_000.0;
    assert!(
        (100.0..2_000.0).contains(&per_session),
        "{per_session} bytes per session"
    );

    // Topped up from where the last load stopped: nothing loaded twice.
    let topped = populate(&["--store", &url, "--from", "20000", "--to", "30000"]);
    assert_eq!((topped.loaded, topped.live_records), (10_000, 30_000));
    let families = populate(&[
        "--store",
        &url,
        "--namespace",
        "refresh_families",
        "--to",
        "500",
    ]);
    assert_eq!(families.live_records, 500, "namespaces are counted apart");
}

#[test]
fn postgres_counts_the_rows_populate_copied() {
    let url = PostgresServer::shared().fresh_database();
    let load = populate(&["--store", &url, "--to", "20000"]);
    assert_eq!((load.loaded, load.live_records), (20_000, 20_000));
    let again = populate(&["--store", &url, "--from", "10000", "--to", "25000"]);
    assert_eq!(
        (again.loaded, again.live_records),
        (15_000, 25_000),
        "records loaded again replace themselves"
    );
}

#[test]
fn populate_refuses_a_namespace_it_does_not_know() {
    let output = Command::new(BINARY)
        .args([
            "populate",
            "--store",
            "memory",
            "--to",
            "1",
            "--namespace",
            "users",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("allowed: sessions, refresh_families, denylist, cutoffs"),
        "{}",
        text(&output)
    );
}

const SCENARIO: &str = r#"
description = "lookups at a rising session population, at one load"

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
vus = [4]

[population]
sessions = [100, 5000]

[timing]
step_duration = "1s"
warmup = "200ms"

[[stores]]
name = "redis"
kind = "redis"

[[systems]]
name = "session-redis"
kind = "session"
store = "redis"

[[systems]]
name = "jwt"
kind = "jwt"
store = "memory"
"#;

#[test]
fn a_population_run_tops_its_store_up_before_each_step_and_records_it() {
    let (_dir, run_dir, _) = run_scenario(SCENARIO);
    assert_matches_schema(&report_json(&run_dir));
    let report = authbench_report::read(&run_dir.join("report.json")).expect("reads back");
    let populations: Vec<Option<u64>> = report.steps.iter().map(|s| s.population).collect();
    assert_eq!(populations, [Some(100), Some(5_000)]);
    assert!(
        report.steps.iter().all(|step| step.load == 4.0),
        "one load throughout"
    );
    for step in &report.steps {
        let session = step
            .results
            .iter()
            .find(|r| r.system == "session-redis")
            .unwrap();
        let population = session
            .population
            .as_ref()
            .expect("the session store's population");
        let sessions = step.population.unwrap();
        assert_eq!(population.namespaces, ["sessions"]);
        // The population, plus the sessions the run's own logins left (under 1,000 at 4 VUs
        // in two short steps, so the first step's count is not the second's population).
        assert!(
            (sessions..sessions + 1_000).contains(&population.live_records),
            "{population:?}"
        );
        assert!(population.memory_bytes.is_some_and(|bytes| bytes > 0));
        let jwt = step.results.iter().find(|r| r.system == "jwt").unwrap();
        assert_eq!(jwt.population, None, "a store inside the server gets none");
    }
    let added: Vec<u64> = report
        .steps
        .iter()
        .map(|step| step.results[0].population.as_ref().unwrap().added_records)
        .collect();
    assert_eq!(
        added,
        [100, 4_900],
        "each step loads only what the last one did not"
    );
    let grown = report.steps[1].results[0].population.as_ref().unwrap();
    assert!(
        grown
            .bytes_per_record
            .is_some_and(|bytes| (50.0..5_000.0).contains(&bytes)),
        "{grown:?}"
    );
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Session population"));
    assert!(
        html.contains("5,000 sessions, 4 VUs"),
        "the step is named by its population"
    );
}
