//! What the `authbench run` tests share: the binary, and reading back a run's folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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
pub fn spawn_listening(command: &mut Command) -> (Child, String) {
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

/// A server process started by a test, killed when dropped.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// main_DB in `dir` with `users` accounts (a cheap argon2id cost); its URL.
pub fn seed_main_db(dir: &Path, users: usize) -> String {
    let main_db = format!("sqlite://{}", dir.join("main.db").display());
    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", &users.to_string()])
        .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"])
        .output()
        .unwrap();
    assert!(seed.status.success(), "{}", text(&seed));
    main_db
}

/// `authbench serve KIND` on a free port, its sessions or refresh families in memory.
pub fn serve(kind: &str, main_db: &str, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(BINARY);
    command
        .args(["serve", kind])
        .env("AUTHBENCH_LISTEN", "127.0.0.1:0")
        .env("AUTHBENCH_MAIN_DB", main_db)
        .env("AUTHBENCH_STORE", "memory")
        .envs(env.iter().copied());
    let (child, address) = spawn_listening(&mut command);
    Server { child, address }
}

/// Requests an authbench server at `address` counted itself, every route and status but its
/// own `/metrics`, from its `/metrics`.
pub fn requests_served(address: &str) -> u64 {
    let answer = http(
        address,
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    answer
        .lines()
        .filter(|line| line.starts_with("authbench_http_requests_total{"))
        .filter(|line| !line.contains("route=\"/metrics\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `POST /login` as seeded user1, JSON body, `Connection: close`: the whole request.
pub fn login_request() -> String {
    let body = r#"{"username":"user1","password":"pass-1"}"#;
    format!(
        "POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \
         {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One field of a JSON answer's body.
pub fn json_field(answer: &str, field: &str) -> String {
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let value: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    value[field].as_str().expect(field).to_owned()
}
