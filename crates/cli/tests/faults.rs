//! Store faults (`[[faults]]`) in short runs end to end: a pause, a restart, a kill and a
//! partition (the delay relay stopped) of a run-owned Redis at the same offsets in every
//! system's turn. The timeline records each fault,
//! the report reads off errors and recovery, a restart without persistence loses the sessions
//! (counted as credentials refused) while one with append-only persistence loses none, the
//! store is whole again for the next turn, the run writes a valid report.json and report.html,
//! and no process outlives it.

mod common;

use common::{assert_matches_schema, report_json, run_scenario};

const COMMON: &str = r#"
main_db = "sqlite"
balance_source = "in-process"
request_timeout = "5s"
store_ceiling = "0s"

[users]
accounts = 50

[argon2]
memory_kib = 1024
iterations = 1

[flow]
# Logins are rare, as in a real service: a JWT system then needs its store only for them.
balances_per_login = 1000
logout = false
# Users with headroom, not a saturated server: a rate steady enough to recover to on a busy
# machine.
think_time = "5ms"

[load]
model = "closed"
vus = [4]

[timing]
step_duration = "7s"
warmup = "1s"
"#;

fn results(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["steps"][0]["results"].as_array().expect("results")
}

fn system<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    results(report)
        .iter()
        .find(|r| r["system"] == name)
        .unwrap_or_else(|| panic!("no results for {name}"))
}

/// No process the run started (its servers, its stores) is alive after it.
fn assert_nothing_outlives(report: &serde_json::Value) {
    let pids = report["systems"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["stores"].as_array().unwrap())
        .filter_map(|entry| entry["pid"].as_u64());
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z ")),
            "process {pid} outlived the run"
        );
    }
}

#[test]
fn a_pause_and_a_restart_without_persistence_cost_sessions_their_users_and_not_jwt() {
    let scenario = format!(
        r#"description = "pause and restart a volatile Redis"
{COMMON}
[[faults]]
kind = "pause"
at = "1500ms"
duration = "1s"

[[faults]]
kind = "restart"
at = "4s"

[[stores]]
name = "redis"
kind = "redis"

[[systems]]
name = "session"
kind = "session"
store = "redis"

[[systems]]
name = "jwt"
kind = "jwt"
store = "redis"
"#
    );
    let (dir, run_dir, output) = run_scenario(&scenario);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Faults at vus=4:"), "{stdout}");

    for result in results(&report) {
        let name = result["system"].as_str().unwrap();
        let windows = result["timeline"]["faults"]
            .as_array()
            .expect("fault windows");
        let kinds: Vec<&str> = windows
            .iter()
            .map(|w| w["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["pause", "restart"], "{name}");
        let pause = &windows[0];
        let (start, end) = (
            pause["start_s"].as_f64().unwrap(),
            pause["end_s"].as_f64().unwrap(),
        );
        assert!(
            (1.4..1.7).contains(&start) && (end - start - 1.0).abs() < 0.2,
            "{name}: {pause}"
        );
        let figures = result["faults"].as_array().expect("figures");
        assert_eq!(figures.len(), 2, "{name}");
        assert!(figures[0]["before_rps"].as_f64().unwrap() > 0.0, "{name}");
    }
    let session = system(&report, "session");
    // Every balance reads the store: the pause fails requests, and the restart forgot every
    // session (each VU's next request was refused once, then it logged in again).
    let pause = &session["faults"][0];
    assert!(pause["failed_requests"].as_u64().unwrap() > 0, "{pause}");
    assert!(pause["first_error_s"].as_f64().is_some(), "{pause}");
    assert!(pause["recovery_s"].as_f64().is_some(), "{pause}");
    assert!(
        session["credentials_refused"].as_u64().unwrap() >= 3,
        "{session}"
    );
    // Tokens are checked without the store: nothing of theirs was lost.
    let jwt = system(&report, "jwt");
    assert_eq!(jwt["credentials_refused"], 0, "{jwt}");
    assert!(run_dir.join("report.html").exists());
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"faults\""));
    assert_nothing_outlives(&report);
    drop(dir);
}

#[test]
fn append_only_persistence_keeps_sessions_through_a_restart_and_a_kill_is_undone_between_turns() {
    let scenario = format!(
        r#"description = "restart and kill a Redis with append-only persistence"
{COMMON}
[[faults]]
kind = "restart"
at = "1500ms"
duration = "500ms"

[[faults]]
kind = "kill"
at = "4s"

[[stores]]
name = "redis"
kind = "redis"
appendfsync = "always"

[[systems]]
name = "first"
kind = "session"
store = "redis"

[[systems]]
name = "second"
kind = "session"
store = "redis"
"#
    );
    let (_dir, run_dir, _output) = run_scenario(&scenario);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    for name in ["first", "second"] {
        let result = system(&report, name);
        assert_eq!(
            result["credentials_refused"], 0,
            "{name}: sessions survived"
        );
        let kill = &result["faults"][1];
        assert_eq!(kill["kind"], "kill");
        assert!(kill["end_s"].is_null(), "{name}: {kill}");
        assert!(
            kill["failed_requests"].as_u64().unwrap() > 0,
            "{name}: {kill}"
        );
        // Up again for this turn, whatever the last one did: no errors before the first fault.
        let points = result["timeline"]["points"].as_array().unwrap();
        let before: u64 = points
            .iter()
            .filter(|p| p["at_s"].as_f64().unwrap() <= 1.5)
            .map(|p| p["errors"].as_u64().unwrap())
            .sum();
        assert_eq!(before, 0, "{name}: the store was down at the turn's start");
    }
    assert_nothing_outlives(&report);
}

#[test]
fn a_partition_stops_the_relay_and_the_store_keeps_its_sessions() {
    let scenario = format!(
        r#"description = "partition a Redis behind the delay relay"
{COMMON}
[[faults]]
kind = "partition"
at = "1500ms"
duration = "1s"

[[stores]]
name = "redis"
kind = "redis"
rtt = "0ms"

[[systems]]
name = "session"
kind = "session"
store = "redis"
"#
    );
    let (_dir, run_dir, _output) = run_scenario(&scenario);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let session = system(&report, "session");
    let partition = &session["faults"][0];
    assert_eq!(partition["kind"], "partition");
    assert!(
        partition["failed_requests"].as_u64().unwrap() > 0,
        "{partition}"
    );
    assert!(partition["recovery_s"].as_f64().is_some(), "{partition}");
    // The store itself ran on: nothing it held was lost.
    assert_eq!(session["credentials_refused"], 0, "{session}");
    assert_nothing_outlives(&report);
}
