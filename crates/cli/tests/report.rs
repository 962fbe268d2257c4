//! `authbench report`, `compare` and `plan` on the committed fixture runs, as CI and users call
//! them: what they print, the files they write and their exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_authbench");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../report/tests/fixtures")
        .join(name)
}

fn authbench(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("run authbench")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn report_writes_a_self_contained_html_page_beside_report_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("quickstart").join("report.json"),
        dir.path().join("report.json"),
    )
    .unwrap();
    let output = authbench(&["report", path(dir.path())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(html.contains("jwt-eddsa") && html.contains("<svg"));
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "self-contained"
    );
    assert!(stdout(&output).contains("report.html"));

    let output = authbench(&["report", path(&dir.path().join("missing"))]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("missing"), "{}", stderr(&output));
}

#[test]
fn compare_exits_0_for_the_same_run_1_for_a_regression_and_2_when_runs_cannot_be_compared() {
    let quickstart = fixture("quickstart");
    let same = authbench(&["compare", path(&quickstart), path(&quickstart)]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(
        stdout(&same).starts_with("No regressions"),
        "{}",
        stdout(&same)
    );

    let slower = authbench(&[
        "compare",
        path(&quickstart),
        path(&fixture("quickstart-owasp")),
    ]);
    assert_eq!(slower.status.code(), Some(1), "{}", stderr(&slower));
    let text = stdout(&slower);
    assert!(
        text.contains("regressions beyond the 10% threshold"),
        "{text}"
    );
    assert!(text.contains("session-sqlite"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let markdown = dir.path().join("compare.md");
    let output = authbench(&[
        "compare",
        path(&quickstart),
        path(&fixture("quickstart-owasp")),
        "--format",
        "markdown",
        "--max-regression",
        "5%",
        "--output",
        path(&markdown),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let written = std::fs::read_to_string(&markdown).unwrap();
    assert!(written.contains("| system"), "a markdown table: {written}");

    let foreign = authbench(&["compare", path(&quickstart), path(&fixture("redis-vs-jwt"))]);
    assert_eq!(foreign.status.code(), Some(2));
    assert!(stderr(&foreign).contains("--force"), "{}", stderr(&foreign));

    let bad = authbench(&[
        "compare",
        path(&quickstart),
        path(&quickstart),
        "--max-regression",
        "lots",
    ]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--max-regression"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn plan_prints_instances_from_the_measured_capacity_and_refuses_to_extrapolate() {
    let run = fixture("redis-vs-jwt");
    let report = authbench_report::read(&run.join("report.json")).unwrap();
    let output = authbench(&[
        "plan",
        path(&run),
        "--target-rps",
        "100000",
        "--slo",
        "p99<50ms",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for system in ["session-redis", "jwt-hs256"] {
        // The highest step whose balance p99 is within 50 ms gives one instance's capacity.
        let capacity = report
            .steps
            .iter()
            .filter_map(|step| step.results.iter().find(|r| r.system == system))
            .filter(|r| {
                r.operations
                    .iter()
                    .filter(|o| o.operation == authbench_report::Operation::Balance)
                    .all(|o| o.latency.p99_us <= 50_000)
            })
            .map(|r| r.requests_per_second)
            .fold(0.0, f64::max);
        let instances = (100_000.0 / capacity).ceil() as u64;
        assert!(text.contains(system), "{text}");
        assert!(
            text.contains(&format!("{instances} instances")),
            "{system}: {instances} instances from {capacity:.0} req/s in:\n{text}"
        );
    }

    let never = authbench(&[
        "plan",
        path(&run),
        "--target-rps",
        "1000",
        "--slo",
        "p99<10us",
    ]);
    assert!(!never.status.success());
    assert!(
        stderr(&never).contains("does not extrapolate"),
        "{}",
        stderr(&never)
    );

    let bad = authbench(&["plan", path(&run), "--target-rps", "1000", "--slo", "fast"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--slo"), "{}", stderr(&bad));
}
