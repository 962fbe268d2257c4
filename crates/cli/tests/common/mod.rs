//! What the `authbench run` tests share: the binary, and reading back a run's folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_authbench");

pub fn only_run_dir(results: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .expect("results folder")
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run folder: {dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// Writes `scenario` to a temporary folder and runs it there to the end; returns the folder
/// (kept while it lives), the run's folder, and what the run printed.
pub fn run_scenario(scenario: &str) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, scenario).unwrap();
    let results = dir.path().join("results");
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&path)
        .arg("--results")
        .arg(&results)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let run_dir = only_run_dir(&results);
    (dir, run_dir, output)
}

/// Spawns `command` (an `authbench serve ...` on port 0) with its stdout piped, and returns the
/// child and the `HOST:PORT` from the line it prints once listening.
pub fn spawn_listening(command: &mut Command) -> (std::process::Child, String) {
    use std::io::{BufRead as _, BufReader};
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .map(|url| url.trim_start_matches("http://").to_owned())
        .unwrap_or_else(|| panic!("no listening line from {command:?}: {line:?}"));
    (child, address)
}

/// Sends `request` (a whole HTTP/1.1 request, `Connection: close`) to `address` and returns the
/// whole answer.
pub fn http(address: &str, request: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

pub fn report_json(run_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run_dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

pub fn assert_matches_schema(report: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(authbench_report::schema::committed()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "report.json breaks the schema: {problems:#?}"
    );
}

pub fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
