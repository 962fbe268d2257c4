//! Overload: a burst of arrivals far above what the servers can answer, inside a measured step.
//! Both servers keep answering (fast 503s once a request has waited past their timeout, never a
//! dropped connection or a hang), stay up, and are back at their rate within seconds of the
//! burst's end; the report records the burst, the timeline and the recovery.

mod common;

use common::{assert_matches_schema, report_json, run_scenario};

/// Seconds after the burst in which recovery must come: the step's end.
const AFTER_BURST_S: f64 = 14.0;

const SCENARIO: &str = r#"
description = "a burst of arrivals 20 times the rate"
main_db = "sqlite"
request_timeout = "5s"
server_timeout = "1s"

[users]
accounts = 1000
max_active = 1000

[argon2]
memory_kib = 1024
iterations = 1

[flow]
balances_per_login = 10

[load]
model = "open"
flows_per_second = [20]

[overload]
factor = 20
start = "3s"
duration = "2s"

[timing]
step_duration = "19s"
warmup = "1s"

[[systems]]
name = "session"
kind = "session"
store = "memory"

[[systems]]
name = "jwt"
kind = "jwt"
store = "memory"
alg = "HS256"
"#;

#[test]
fn servers_answer_through_a_burst_and_recover_after_it() {
    let (_dir, run_dir, _output) = run_scenario(SCENARIO);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let results = report["steps"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for result in results {
        let system = result["system"].as_str().unwrap();
        let flags = result["flags"].as_array().unwrap();
        assert!(
            !flags
                .iter()
                .any(|f| f["kind"] == "system_down" || f["kind"] == "partial"),
            "{system}: {flags:?}"
        );
        // Every failure is an answer: a 503, not a timeout, a reset or a 500.
        for op in result["operations"].as_array().unwrap() {
            for (kind, _) in op["errors"].as_object().unwrap() {
                assert_eq!(
                    kind, "status_503",
                    "{system} {}: {}",
                    op["operation"], op["errors"]
                );
            }
        }
        let timeline = &result["timeline"];
        assert_eq!(timeline["burst"]["start_s"], 3.0);
        assert_eq!(timeline["burst"]["end_s"], 5.0);
        assert!(
            timeline["points"].as_array().unwrap().len() >= 30,
            "{system}: {timeline}"
        );
        let figures = &result["overload"];
        eprintln!("{system}: {figures}");
        let (before, during) = (
            figures["before_p99_us"].as_u64().unwrap(),
            figures["during_p99_us"].as_u64().unwrap(),
        );
        // Felt, on a machine fast enough to take much of it: the p99 at least doubled.
        assert!(
            during > 2 * before,
            "{system}: the burst was not felt: {figures}"
        );
        let recovery = figures["recovery_s"].as_f64().unwrap_or_else(|| {
            panic!("{system} did not recover within {AFTER_BURST_S} s: {figures}")
        });
        assert!(recovery < AFTER_BURST_S, "{system}: {figures}");
    }
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"overload\"") && html.contains("Recovered after"));
}
