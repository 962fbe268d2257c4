//! Tokens across services end to end: a short run of the three styles a resource server can
//! check a credential by (a JWT with the issuer's JWKS, an opaque token by introspection, a
//! session from the shared store), with the issuer paused and then its key rotated mid-turn.
//! The balance requests go to the resource servers; while the issuer is paused, the balance
//! requests of logged-in users go on with the JWKS and the shared store and fail with
//! introspection; the JWKS resource server follows the rotation with one fetch and no failed
//! request; report.json carries the resource servers' costs and passes the schema, and no
//! process outlives the run.
//!
//! The pause comes before the rotation on purpose: a token signed with a key the resource server
//! has not fetched yet cannot verify while the issuer is down (that is the JWKS style's one need
//! of the issuer), so with the rotation first the outcome would hang on whether some user logged
//! in again between the two. Short, staggered logins (100 balances) make sure one does after the
//! rotation.

mod common;

use common::{assert_matches_schema, report_json, run_scenario, text};

const SCENARIO: &str = r#"
description = "three ways to check a token at another service"
main_db = "sqlite"
balance_source = "in-process"
request_timeout = "500ms"
store_ceiling = "0s"

[users]
accounts = 40

[argon2]
memory_kib = 1024
iterations = 1

[flow]
balances_per_login = 100
logout = false
think_time = "5ms"
stagger = true

[load]
model = "closed"
vus = [4]

[timing]
step_duration = "7s"
warmup = "1s"

[[faults]]
kind = "issuer-pause"
at = "1500ms"
duration = "1500ms"

[[faults]]
kind = "rotate-key"
at = "4s"

[[systems]]
name = "jwt"
kind = "jwt"
alg = "EdDSA"
store = "sqlite"
resource = "jwks"

[[systems]]
name = "opaque"
kind = "opaque"
store = "sqlite"
resource = "introspect"

[[systems]]
name = "session"
kind = "session"
store = "sqlite"
resource = "store"
"#;

fn result<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["steps"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["system"] == name)
        .unwrap_or_else(|| panic!("no results for {name}"))
}

fn balance_errors(result: &serde_json::Value) -> u64 {
    let balance = result["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["operation"] == "balance")
        .expect("balance requests");
    balance["requests"].as_u64().unwrap() - balance["ok"].as_u64().unwrap()
}

fn fault<'a>(result: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    result["faults"]
        .as_array()
        .and_then(|faults| faults.iter().find(|f| f["kind"] == kind))
}

#[test]
fn a_resource_server_per_style_through_an_issuer_pause_and_a_key_rotation() {
    let (_dir, run_dir, output) = run_scenario(SCENARIO);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let stdout = text(&output);

    let jwt = result(&report, "jwt");
    let resource = &jwt["resource"];
    assert!(resource["requests"].as_u64().unwrap() > 100, "{resource}");
    assert_eq!(resource["issuer_calls"], 0, "{resource}");
    assert_eq!(resource["store_operations"], 0, "{resource}");
    assert!(
        resource["unknown_kid_refetches"].as_u64().unwrap() >= 1,
        "the new key was never fetched: {resource}"
    );
    let rotation = fault(jwt, "rotate-key").expect("the rotation happened");
    assert_eq!(rotation["failed_requests"], 0, "{rotation}");
    assert_eq!(
        balance_errors(jwt),
        0,
        "JWT balances need nothing of the issuer: {}",
        jwt["operations"]
    );
    assert!(fault(jwt, "issuer-pause").is_some());

    let opaque = result(&report, "opaque");
    let resource = &opaque["resource"];
    let calls = resource["issuer_calls_per_request"].as_f64().unwrap();
    assert!((0.95..=1.05).contains(&calls), "{resource}");
    assert!(
        balance_errors(opaque) > 0,
        "introspection cannot answer while its issuer is paused"
    );
    assert!(
        resource["issuer_calls_failed"].as_u64().unwrap() > 0,
        "{resource}"
    );
    assert!(
        fault(opaque, "rotate-key").is_none(),
        "an opaque issuer has no key to rotate"
    );

    let session = result(&report, "session");
    let resource = &session["resource"];
    let reads = resource["store_operations_per_request"].as_f64().unwrap();
    assert!(reads >= 0.95, "{resource}");
    assert_eq!(resource["issuer_calls"], 0, "{resource}");
    assert_eq!(
        balance_errors(session),
        0,
        "the store, not the issuer, answers: {}",
        session["operations"]
    );

    let systems = report["systems"].as_array().unwrap();
    let verifies: Vec<&str> = systems
        .iter()
        .map(|s| s["resource"]["verify"].as_str().unwrap())
        .collect();
    assert_eq!(verifies, ["jwks", "introspect", "store"]);
    assert_eq!(systems[1]["kind"], "opaque");
    assert!(
        stdout.contains("At the resource server, per balance request:"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Across services"));

    for pid in systems
        .iter()
        .flat_map(|s| [s["pid"].as_u64(), s["resource"]["pid"].as_u64()])
        .flatten()
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "process {pid} outlived the run"
        );
    }
}
