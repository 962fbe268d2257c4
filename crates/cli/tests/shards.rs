//! A run split over several load generator processes (`run --shard I/N`) against the same two
//! external servers, then merged: the merged counts are the shards' summed and the servers'
//! own, the merged histograms hold every shard's samples, and bad merges are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use common::{
    BINARY, Server, assert_matches_schema, only_run_dir, report_json, requests_served,
    seed_main_db, serve, text,
};

const USERS: usize = 24;

/// main_DB with the accounts, and their credentials for the scenario.
fn seed(dir: &Path) -> String {
    let main_db = seed_main_db(dir, USERS);
    let mut csv = String::from("username,password\n");
    for n in 1..=USERS {
        csv.push_str(&format!("user{n},pass-{}\n", n % 64));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    main_db
}

fn served(server: &Server) -> u64 {
    requests_served(&server.address)
}

fn scenario(dir: &Path, session: &Server, jwt: &Server) -> PathBuf {
    let text = format!(
        r#"description = "a split run"

[users]
accounts = {USERS}

[flow]
balances_per_login = 20

[load]
model = "closed"
vus = [6, 12]

[timing]
step_duration = "1s"
warmup = "200ms"
repeats = 1

[[systems]]
name = "sessions"
kind = "external"
base_url = "http://{session}"
metrics_url = "http://{session}/metrics"
credentials_csv = "users.csv"

[[systems]]
name = "tokens"
kind = "external"
base_url = "http://{jwt}"
metrics_url = "http://{jwt}/metrics"
credentials_csv = "users.csv"
"#,
        session = session.address,
        jwt = jwt.address,
    );
    let path = dir.join("split.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs every shard of `count` at once, as separate processes; their run folders.
fn run_shards(scenario: &Path, results: &Path, count: u32) -> Vec<PathBuf> {
    let start = SystemTime::now() + Duration::from_secs(3);
    let start = humantime::format_rfc3339_millis(start).to_string();
    let children: Vec<(u32, Child)> = (0..count)
        .map(|index| {
            let child = Command::new(BINARY)
                .arg("run")
                .arg(scenario)
                .arg("--results")
                .arg(results.join(format!("shard-{index}")))
                .args(["--shard", &format!("{index}/{count}"), "--start-at", &start])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (index, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(index, child)| {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "shard {index}: {}", text(&output));
            only_run_dir(&results.join(format!("shard-{index}")))
        })
        .collect()
}

fn merge(shards: &[PathBuf], output: &Path) -> Output {
    Command::new(BINARY)
        .arg("merge")
        .args(shards)
        .arg("--output")
        .arg(output)
        .output()
        .unwrap()
}

/// The load generator's count of one system's requests over every step.
fn requests(report: &serde_json::Value, system: &str) -> u64 {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| step["results"].as_array().unwrap())
        .filter(|result| result["system"] == system)
        .map(|result| result["requests"].as_u64().unwrap())
        .sum()
}

/// One operation's latency histogram at one step, decoded.
fn histogram(
    report: &serde_json::Value,
    step: usize,
    system: &str,
    op: &str,
) -> hdrhistogram::Histogram<u64> {
    let result = report["steps"][step]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["system"] == system)
        .unwrap();
    let operation = result["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == op)
        .unwrap();
    authbench_report::histogram::decode(operation["histogram"].as_str().unwrap()).unwrap()
}

fn check_split(count: u32) {
    let dir = tempfile::tempdir().unwrap();
    let main_db = seed(dir.path());
    let session = serve("session", &main_db, &[]);
    let jwt = serve("jwt", &main_db, &[("AUTHBENCH_ALG", "HS256")]);
    let scenario = scenario(dir.path(), &session, &jwt);
    let shards = run_shards(&scenario, &dir.path().join("results"), count);
    let merged_dir = dir.path().join("merged");
    let output = merge(&shards, &merged_dir);
    assert!(output.status.success(), "{}", text(&output));
    let merged = report_json(&merged_dir);
    assert_matches_schema(&merged);
    assert!(merged_dir.join("report.html").is_file());
    let parts: Vec<serde_json::Value> = shards.iter().map(|shard| report_json(shard)).collect();

    for (system, server) in [("sessions", &session), ("tokens", &jwt)] {
        let sum: u64 = parts.iter().map(|part| requests(part, system)).sum();
        let total = requests(&merged, system);
        assert_eq!(total, sum, "{system}: merged against the shards' sum");
        // Everything any shard sent, warm-ups included, reached the server; the measured
        // windows are a part of it.
        assert!(
            total > 0 && total <= served(server),
            "{system}: {total} measured, {} served",
            served(server)
        );
        for step in 0..2 {
            for op in ["login", "balance"] {
                let whole = histogram(&merged, step, system, op);
                let pieces: Vec<_> = parts
                    .iter()
                    .map(|p| histogram(p, step, system, op))
                    .collect();
                let count: u64 = pieces.iter().map(|h| h.len()).sum();
                let max = pieces.iter().map(|h| h.max()).max().unwrap();
                assert_eq!(
                    (whole.len(), whole.max()),
                    (count, max),
                    "{system} {op} step {step}"
                );
            }
        }
    }
    // The loads add up to the scenario's: 6 and 12 VUs however they were split.
    let loads: Vec<f64> = merged["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["load"].as_f64().unwrap())
        .collect();
    assert_eq!(loads, [6.0, 12.0]);
    let overlap = merged["merged"]["min_window_overlap"].as_f64().unwrap();
    assert!(
        overlap > 0.8,
        "the shards' windows overlapped by only {overlap}"
    );
}

#[test]
fn a_run_split_in_two_merges_to_the_shards_and_the_servers_counts() {
    check_split(2);
}

#[test]
fn a_run_split_in_three_merges_to_the_shards_and_the_servers_counts() {
    check_split(3);
}

#[test]
fn merges_of_missing_duplicate_or_foreign_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = seed(dir.path());
    let session = serve("session", &main_db, &[]);
    let jwt = serve("jwt", &main_db, &[("AUTHBENCH_ALG", "HS256")]);
    let scenario = scenario(dir.path(), &session, &jwt);
    let shards = run_shards(&scenario, &dir.path().join("results"), 2);
    let out = dir.path().join("merged");
    let refused = |dirs: &[PathBuf], expected: &str| {
        let output = merge(dirs, &out);
        assert!(!output.status.success(), "{}", text(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    };
    refused(&shards[..1], "shard is 1 of 2 missing");
    refused(&[shards[0].clone(), shards[0].clone()], "are both shard 0");

    // Another split of the same scenario started at another time is another run.
    let later = run_shards(&scenario, &dir.path().join("later"), 2);
    refused(
        &[shards[0].clone(), later[1].clone()],
        "is from another run than",
    );

    // A run that was not split is not a shard.
    let whole = dir.path().join("whole");
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&scenario)
        .arg("--results")
        .arg(&whole)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    refused(&[only_run_dir(&whole)], "is not a shard");
}
