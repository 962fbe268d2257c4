//! `authbench run` end to end, as a user runs it: the shipped quickstart scenario with tiny
//! durations writes a report.json that matches the committed JSON Schema, with the load
//! generator's request counts equal to the servers' own; a server killed mid-run is recorded and
//! the run goes on; Ctrl-C keeps what was measured, marked partial; a bad file runs nothing.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{BINARY, assert_matches_schema, only_run_dir, report_json, text};

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.toml")
}

fn run_command(results: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("run")
        .arg(quickstart())
        .arg("--results")
        .arg(results)
        .args(extra)
        .stdin(Stdio::null());
    command
}

#[test]
fn quickstart_with_tiny_durations_writes_a_valid_report_whose_counts_match_the_servers() {
    let results = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = run_command(
        results.path(),
        &[
            "--step-duration",
            "400ms",
            "--warmup",
            "100ms",
            "--repeats",
            "2",
            "--steps",
            "2",
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("results: "), "{}", text(&output));
    assert!(stdout.contains("SLO: p99"), "{}", text(&output));

    let run_dir = only_run_dir(results.path());
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let parsed = authbench_report::read(&run_dir.join("report.json")).expect("reads back");
    assert!(matches!(
        parsed.status,
        authbench_report::RunStatus::Complete
    ));
    assert_eq!(parsed.systems.len(), 4);
    assert_eq!(parsed.steps.len(), 2);
    assert_eq!(
        parsed.scenario.overrides.len(),
        4,
        "{:?}",
        parsed.scenario.overrides
    );
    for step in &parsed.steps {
        assert_eq!(step.results.len(), 4);
        for result in &step.results {
            let who = format!("{} at load {}", result.system, step.load);
            assert!(result.requests > 0, "{who}: no requests");
            assert_eq!(result.errors, 0, "{who}: {:?}", result.operations);
            assert_eq!(result.repeats.len(), 2, "{who}");
            assert_eq!(
                result.server_requests,
                Some(result.requests),
                "{who}: the server counted a different number of requests"
            );
            let balance = result
                .operations
                .iter()
                .find(|o| o.operation == authbench_report::Operation::Balance)
                .unwrap_or_else(|| panic!("{who}: no balance requests"));
            assert!(balance.latency.p99_us > 0 && balance.latency.p50_us <= balance.latency.p99_us);
            assert!(balance.bytes_sent_per_request > 0.0);
            assert!(result.resources.server_cpu_s.is_some(), "{who}");
            let step_cpu = result
                .derived
                .server_cpu_us_per_request
                .unwrap_or_else(|| panic!("{who}: no server CPU per request"));
            // Each repeat keeps its own figures for compare's noise rule; the step's figure is
            // their request-weighted mean, so it lies within their range.
            let repeat_cpu: Vec<f64> = result
                .repeats
                .iter()
                .map(|r| r.server_cpu_us_per_request.expect("per repeat"))
                .collect();
            let (low, high) = repeat_cpu
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            assert!(
                low - 1e-9 <= step_cpu && step_cpu <= high + 1e-9,
                "{who}: {step_cpu} outside {repeat_cpu:?}"
            );
            for repeat in &result.repeats {
                // A repeat keeps the operations it ran: a VU logged in during an earlier turn
                // may spend this one on balance requests only.
                assert!(repeat.p50_us.contains_key("balance"), "{who}: {repeat:?}");
                for (name, p50) in &repeat.p50_us {
                    assert!(
                        repeat.p99_us.get(name).is_some_and(|p99| p50 <= p99),
                        "{who}: {name} per repeat {repeat:?}"
                    );
                }
            }
        }
    }
    // Session stores are counted by the server; the JWT servers never touch theirs on balance.
    let first = &parsed.steps[0].results;
    let sqlite = first.iter().find(|r| r.system == "session-sqlite").unwrap();
    let store = sqlite.store.as_ref().expect("session store load");
    assert!(store.operations >= sqlite.requests / 2, "{store:?}");
    for system in &parsed.systems {
        assert!(system.cores.is_some() && system.pid.is_some(), "{system:?}");
        let log = run_dir.join(system.log.as_ref().unwrap());
        assert!(log.is_file(), "{}", log.display());
        for op in ["login", "balance"] {
            let hlog = run_dir
                .join("hdr")
                .join(format!("{}.{op}.hlog", system.name));
            assert!(hlog.is_file(), "{}", hlog.display());
        }
    }
    assert!(!run_dir.join("data").exists(), "scratch files are removed");
}

/// Reads the run's stderr until a line matches, returning it.
/// The pid of `system` from the run's `started <system> (pid N)` line, once it is printed.
fn wait_for_started(child: &mut Child, system: &str) -> i32 {
    let started = format!("started {system} (pid");
    let (line, _) = wait_for_line(child, &started, Duration::from_secs(60));
    line.split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

fn wait_for_line(child: &mut Child, pattern: &str, within: Duration) -> (String, Vec<String>) {
    let stderr = child.stderr.take().expect("stderr piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match receiver.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(pattern) {
                    // Keep draining so the child never blocks on a full pipe.
                    std::thread::spawn(move || while receiver.recv().is_ok() {});
                    return (line, seen);
                }
            }
            Err(_) => break,
        }
    }
    panic!(
        "no line with {pattern:?} within {within:?}; saw:\n{}",
        seen.join("\n")
    );
}

#[test]
fn a_server_killed_mid_run_is_recorded_and_the_run_goes_on() {
    let results = tempfile::tempdir().unwrap();
    let mut child = run_command(
        results.path(),
        &[
            "--step-duration",
            "700ms",
            "--warmup",
            "0s",
            "--repeats",
            "1",
            "--steps",
            "3",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let pid = wait_for_started(&mut child, "jwt-eddsa");
    // Let the first step begin, then kill the server without a chance to drain.
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));

    let report = authbench_report::read(&only_run_dir(results.path()).join("report.json")).unwrap();
    let eddsa = report
        .systems
        .iter()
        .find(|s| s.name == "jwt-eddsa")
        .unwrap();
    assert!(
        eddsa.events.iter().any(|e| e.message.contains("exited")),
        "{:?}",
        eddsa.events
    );
    let last = report.steps.last().unwrap();
    assert_eq!(report.steps.len(), 3, "the other systems kept going");
    let down = last
        .results
        .iter()
        .find(|r| r.system == "jwt-eddsa")
        .unwrap();
    assert!(
        down.flags
            .iter()
            .any(|f| matches!(f, authbench_report::Flag::SystemDown { .. })),
        "{:?}",
        down.flags
    );
    assert!(!down.slo_met);
    let alive = last
        .results
        .iter()
        .find(|r| r.system == "jwt-hs256")
        .unwrap();
    assert!(alive.requests > 0 && alive.errors == 0);
}

#[test]
fn ctrl_c_ends_the_run_cleanly_and_keeps_what_was_measured_as_partial() {
    let results = tempfile::tempdir().unwrap();
    let mut child = run_command(
        results.path(),
        &["--step-duration", "1s", "--warmup", "0s", "--repeats", "3"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // A finished turn prints its figures; the first one means there is something to keep.
    wait_for_line(&mut child, " req/s", Duration::from_secs(60));
    let interrupted = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(15),
        "stopping took too long"
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("partial run"));
    let run_dir = only_run_dir(results.path());
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    assert_eq!(report["status"]["state"], "partial");
    assert!(
        !report["steps"].as_array().unwrap().is_empty(),
        "kept the first turns"
    );
}

#[test]
fn a_bad_scenario_names_the_file_and_runs_nothing() {
    let results = tempfile::tempdir().unwrap();
    let scenario = results.path().join("broken.toml");
    std::fs::write(
        &scenario,
        "description = \"x\"\n[load]\nmodel = \"sideways\"\n",
    )
    .unwrap();
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&scenario)
        .arg("--results")
        .arg(results.path().join("out"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(!results.path().join("out").exists(), "nothing ran");

    let output = Command::new(BINARY)
        .args(["run", "no-such-scenario.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-scenario.toml"));
}

#[test]
fn overrides_are_validated_like_the_keys_they_replace_and_named_by_their_flag() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().join("out");
    let output = run_command(&out, &["--step-duration", "0s", "--steps", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let file = quickstart().display().to_string();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: {file}: 2 problems:\n  \
             {file}: --steps: 0 is out of range; run at least 1 step\n  \
             {file}: --step-duration (replacing timing.step_duration): \"0s\" is zero; nothing \
             would be measured, so it must be above 0\n"
        )
    );
    assert!(!out.exists(), "nothing ran");
}

#[test]
fn servers_never_outlive_a_killed_run() {
    let results = tempfile::tempdir().unwrap();
    let mut child = run_command(results.path(), &["--step-duration", "5s", "--warmup", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_for_started(&mut child, "jwt-eddsa");
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "server {pid} still runs 10 s after its run was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_unreachable_store_or_a_missing_server_binary_stops_the_run_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("unreachable.toml");
    std::fs::write(
        &scenario,
        r#"description = "a session store nobody listens on"
[users]
accounts = 4
[argon2]
memory_kib = 1024
iterations = 1
[flow]
balances_per_login = 2
[load]
model = "closed"
vus = [1]
[timing]
step_duration = "200ms"
[[systems]]
name = "lost"
kind = "session"
store = "redis://127.0.0.1:1"
"#,
    )
    .unwrap();
    let started = Instant::now();
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&scenario)
        .arg("--results")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lost") && stderr.contains("127.0.0.1:1"),
        "{stderr}"
    );

    let output = run_command(
        &dir.path().join("out2"),
        &["--server-binary", "/no/such/authbench"],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/no/such/authbench") && stderr.contains("not found"),
        "{stderr}"
    );
}
