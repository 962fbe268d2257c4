//! Requests/s of `GET /user/balance` per session store, against `GET /` (no auth, no store) of the
//! same server, with the server on one tokio worker. Run with `scripts/bench.sh` or
//! `cargo bench -p authbench-cli --bench routes`.
//!
//! The server runs as its own process pinned to CPU 0 (`taskset`), wrk pinned to CPU 1; Redis and
//! Postgres are throwaway servers from authbench-testkit, unpinned. Routes are measured in turns
//! (trivial, balance, trivial, balance) so drift on a shared machine hits both. Figures are
//! meaningful as ratios within one run, not as absolute numbers.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_authbench");

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u32);
    let connections = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32u32);
    require(
        "wrk",
        "install Debian's `wrk` package (scripts/bench.sh does this when run as root)",
    );
    require("taskset", "install Debian's `util-linux` package");

    let dir = tempfile::tempdir().expect("temp dir");
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    run(Command::new(SERVER_BINARY).args(["seed", "--main-db", &main_db, "--users", "100"]));

    let redis = RedisServer::start();
    let postgres = PostgresServer::shared();
    let stores = [
        ("memory", "memory".to_owned()),
        (
            "sqlite",
            format!("sqlite://{}", dir.path().join("sessions.db").display()),
        ),
        ("redis", redis.url()),
        ("postgres", postgres.fresh_database()),
    ];

    println!(
        "server: 1 tokio worker on CPU 0; wrk: 1 thread, {connections} connections, {seconds} s per turn, 2 turns per route"
    );
    println!(
        "{:<9} {:<11} {:>12} {:>12} {:>9} {:>10} {:>10}",
        "store", "balance", "GET / rps", "balance rps", "ratio", "/ p99", "bal p99"
    );
    for (name, store) in &stores {
        for source in ["in-process", "main-db"] {
            let server = Server::start(store, &main_db, source, dir.path());
            let session = server.login();
            let auth = format!("Authorization: Session {session}");
            let mut trivial = Vec::new();
            let mut balance = Vec::new();
            for _ in 0..2 {
                trivial.push(wrk(&server.url("/"), &auth, connections, seconds));
                balance.push(wrk(
                    &server.url("/user/balance"),
                    &auth,
                    connections,
                    seconds,
                ));
            }
            let rps = |runs: &[Wrk]| {
                runs.iter().map(|r| r.requests_per_second).sum::<f64>() / runs.len() as f64
            };
            let p99 = |runs: &[Wrk]| runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
            let errors: u64 = balance.iter().chain(&trivial).map(|r| r.non_2xx).sum();
            println!(
                "{name:<9} {source:<11} {:>12.0} {:>12.0} {:>8.2}x {:>8.2}ms {:>8.2}ms{}",
                rps(&trivial),
                rps(&balance),
                rps(&balance) / rps(&trivial),
                p99(&trivial),
                p99(&balance),
                if errors > 0 {
                    format!("  ({errors} non-2xx!)")
                } else {
                    String::new()
                },
            );
        }
    }
}

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(store: &str, main_db: &str, balance_source: &str, dir: &Path) -> Server {
        let log = std::fs::File::create(dir.join("server.log")).expect("server log");
        let mut child = Command::new("taskset")
            .args([
                "-c",
                "0",
                SERVER_BINARY,
                "serve",
                "session",
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "1",
            ])
            .args([
                "--store",
                store,
                "--main-db",
                main_db,
                "--balance-source",
                balance_source,
            ])
            .arg("--insecure-cookie")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn authbench serve session");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "server did not start: {line:?}; see its log in {}",
                    dir.display()
                )
            })
            .to_owned();
        Server { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Logs in as user1 over a raw socket and returns the session id from the body.
    fn login(&self) -> String {
        let body = r#"{"username":"user1","password":"pass-1"}"#;
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send login");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read login");
        let start = response
            .find(r#""session_id":""#)
            .expect("session_id in login response")
            + 14;
        response[start..start + 22].to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Wrk {
    requests_per_second: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn wrk(url: &str, header: &str, connections: u32, seconds: u32) -> Wrk {
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--latency", "-H", header])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg(url)
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let requests_per_second = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("wrk output:\n{text}"));
    let p99_ms = field("99%").map(parse_latency_ms).unwrap_or(f64::NAN);
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Wrk {
        requests_per_second,
        p99_ms,
        non_2xx,
    }
}

/// wrk prints latencies as `812.00us`, `1.25ms` or `2.01s`.
fn parse_latency_ms(raw: &str) -> f64 {
    let split = raw
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => f64::NAN,
    }
}

fn require(tool: &str, hint: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output();
    if !found.map(|o| o.status.success()).unwrap_or(false) {
        panic!("{tool} not found: {hint}");
    }
}

fn run(command: &mut Command) {
    let status = command.stdout(Stdio::null()).status().expect("run command");
    assert!(status.success(), "{command:?} failed");
}
