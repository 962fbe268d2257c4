//! Requests/s of `GET /user/balance` against `GET /` (no auth, no store) of the same server, with
//! the server on one tokio worker: the session server per session store, the JWT server per
//! algorithm and per revocation mode. Run with `scripts/bench.sh` or
//! `cargo bench -p authbench-cli --bench routes` (`BENCH_ONLY=session|jwt` runs one half).
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

/// One server configuration to measure.
struct Case {
    system: &'static str,
    variant: String,
    balance: &'static str,
    args: Vec<String>,
}

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u32);
    let connections = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32u32);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
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
    let mut cases = Vec::new();
    if only.is_empty() || only == "session" {
        let stores = [
            ("memory", "memory".to_owned()),
            (
                "sqlite",
                format!("sqlite://{}", dir.path().join("sessions.db").display()),
            ),
            ("redis", redis.url()),
            ("postgres", postgres.fresh_database()),
        ];
        for (name, store) in &stores {
            for balance in ["in-process", "main-db"] {
                cases.push(Case {
                    system: "session",
                    variant: format!("store {name}"),
                    balance,
                    args: strings(&["session", "--store", store]),
                });
            }
        }
    }
    if only.is_empty() || only == "jwt" {
        for alg in ["HS256", "RS256", "ES256", "EdDSA"] {
            cases.push(Case {
                system: "jwt",
                variant: format!("{alg}, no revocation"),
                balance: "in-process",
                args: strings(&["jwt", "--alg", alg, "--store", "memory"]),
            });
        }
        for (name, store) in [
            ("redis", redis.url()),
            ("postgres", postgres.fresh_database()),
        ] {
            for revocation in ["denylist", "cutoff"] {
                cases.push(Case {
                    system: "jwt",
                    variant: format!("HS256, {revocation} on {name}"),
                    balance: "in-process",
                    args: strings(&[
                        "jwt",
                        "--alg",
                        "HS256",
                        "--store",
                        &store,
                        "--revocation",
                        revocation,
                    ]),
                });
            }
        }
    }

    println!(
        "server: 1 tokio worker on CPU 0; wrk: 1 thread, {connections} connections, {seconds} s per turn, 2 turns per route"
    );
    println!(
        "{:<8} {:<28} {:<11} {:>10} {:>12} {:>7} {:>9} {:>9}",
        "system", "variant", "balance", "GET / rps", "balance rps", "ratio", "/ p99", "bal p99"
    );
    for case in &cases {
        let server = Server::start(&case.args, &main_db, case.balance, dir.path());
        let auth = server.login(case.system);
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
            "{:<8} {:<28} {:<11} {:>10.0} {:>12.0} {:>6.2}x {:>7.2}ms {:>7.2}ms{}",
            case.system,
            case.variant,
            case.balance,
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

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(args: &[String], main_db: &str, balance_source: &str, dir: &Path) -> Server {
        let log = std::fs::File::create(dir.join("server.log")).expect("server log");
        let mut child = Command::new("taskset")
            .args(["-c", "0", SERVER_BINARY, "serve"])
            .args(args)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "1",
                "--main-db",
                main_db,
            ])
            .args(["--balance-source", balance_source])
            .arg("--insecure-cookie")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn authbench serve");
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

    /// Logs in as user1 over a raw socket and returns the credential header for `system`.
    fn login(&self, system: &str) -> String {
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
        let json = &response[response.find("\r\n\r\n").expect("response body") + 4..];
        let body: serde_json::Value = serde_json::from_str(json).expect("login JSON");
        match system {
            "session" => format!(
                "Authorization: Session {}",
                body["session_id"].as_str().expect("session_id")
            ),
            _ => format!(
                "Authorization: Bearer {}",
                body["access_token"].as_str().expect("access_token")
            ),
        }
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
