//! Requests/s of the servers' routes against the plainest honest version of the same check
//! (`reference/`: a bare axum app, no metrics, limits or timeouts), side by side in one run:
//! `GET /` of each server, the session lookup per session store, and the JWT check per algorithm
//! (and per revocation mode, against `GET /` of the same server). A ratio below 0.90 is a fixed
//! cost of authbench's own that blurs the auth cost the servers exist to compare. Run with
//! `scripts/bench.sh routes` or `cargo bench -p authbench-cli --bench routes`
//! (`BENCH_ONLY=session|jwt` runs one half).
//!
//! Both servers run as processes pinned to CPU 0 on one tokio worker, wrk pinned to CPU 1; Redis
//! and Postgres are throwaway servers from authbench-testkit, unpinned. Each server's routes are
//! measured in turns (ours, the reference's, ours, the reference's) so drift on a shared machine
//! hits both. Figures are meaningful as ratios within one run, not as absolute numbers.

mod reference;
mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;
use support::{
    SERVER_CPU, ServerProcess, Throughput, env_or, mean_requests_per_second, require_taskset,
    require_wrk, run_wrk, seed_main_db,
};

/// A secret both servers of an HS256 case share, so the reference can check our tokens.
const HS256_SECRET: &str = "routes-bench-secret-0123456789abcdef0123456789abcdef";

/// One server configuration to measure.
struct Case {
    system: &'static str,
    variant: String,
    args: Vec<String>,
    /// The reference server's `--check` and `--target`; none where there is no plain version
    /// of the check to compare with (revocation modes: compared with `GET /` only).
    reference: Option<(String, String)>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os(reference::ENV).is_some() {
        reference::serve(&args);
    }
    let seconds: u32 = env_or("BENCH_SECONDS", 5);
    let connections: u32 = env_or("BENCH_CONNECTIONS", 32);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    require_wrk();
    require_taskset();

    let dir = tempfile::tempdir().expect("temp dir");
    let main_db = seed_main_db(dir.path(), 100, &[]);
    let redis = RedisServer::start();
    let postgres = PostgresServer::shared();
    let cases = cases(&only, &redis, postgres, dir.path());

    println!(
        "both servers: 1 tokio worker on CPU {SERVER_CPU}; wrk: 1 thread, {connections} \
         connections, {seconds} s per turn, 2 turns per route and server; balances in-process"
    );
    println!(
        "{:<8} {:<26} {:>9} {:>9} {:>6} {:>11} {:>11} {:>6}",
        "system", "variant", "GET / rps", "ref rps", "ratio", "balance rps", "ref rps", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for case in &cases {
        let row = measure(case, &main_db, dir.path(), connections, seconds);
        lowest = lowest.min(row.root_ratio);
        if let Some(ratio) = row.balance_ratio {
            lowest = lowest.min(ratio);
        }
        println!("{}", row.line(case));
    }
    println!("lowest ratio: {lowest:.2} (target: at least 0.90)");
}

fn cases(
    only: &str,
    redis: &RedisServer,
    postgres: &PostgresServer,
    dir: &std::path::Path,
) -> Vec<Case> {
    let mut cases = Vec::new();
    if only.is_empty() || only == "session" {
        let sqlite = format!("sqlite://{}", dir.join("sessions.db").display());
        let stores = [
            ("memory", "memory".to_owned(), Some("memory")),
            ("sqlite", sqlite, None),
            ("redis", redis.url(), Some("redis")),
            ("postgres", postgres.fresh_database(), Some("postgres")),
        ];
        for (name, store, check) in stores {
            cases.push(Case {
                system: "session",
                variant: format!("store {name}"),
                args: strings(&["session", "--store", &store]),
                reference: check.map(|check| (check.to_owned(), store.clone())),
            });
        }
    }
    if only.is_empty() || only == "jwt" {
        for alg in ["HS256", "RS256", "ES256", "EdDSA"] {
            let key = dir.join(format!("{alg}.pem"));
            if alg != "HS256" {
                keygen(alg, &key);
            }
            let mut args = strings(&["jwt", "--alg", alg, "--store", "memory"]);
            if alg != "HS256" {
                args.extend(strings(&["--key-file", &key.display().to_string()]));
            }
            cases.push(Case {
                system: "jwt",
                variant: format!("{alg}, no revocation"),
                args,
                reference: Some((alg.to_owned(), String::new())),
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
                    args: strings(&[
                        "jwt",
                        "--alg",
                        "HS256",
                        "--store",
                        &store,
                        "--revocation",
                        revocation,
                    ]),
                    reference: None,
                });
            }
        }
    }
    cases
}

/// One case's figures: each route of ours and of the reference, in turns.
struct Row {
    root: Vec<Throughput>,
    root_reference: Vec<Throughput>,
    root_ratio: f64,
    balance: Vec<Throughput>,
    balance_reference: Vec<Throughput>,
    balance_ratio: Option<f64>,
}

impl Row {
    fn line(&self, case: &Case) -> String {
        let rps = |turns: &[Throughput]| mean_requests_per_second(turns);
        let errors: u64 = [
            &self.root,
            &self.root_reference,
            &self.balance,
            &self.balance_reference,
        ]
        .iter()
        .flat_map(|turns| turns.iter())
        .map(|t| t.errors)
        .sum();
        let (balance_reference, balance_ratio) = match self.balance_ratio {
            Some(ratio) => (
                format!("{:.0}", rps(&self.balance_reference)),
                format!("{ratio:.2}x"),
            ),
            // Against our own `GET /`: what the check costs on top of the server's fixed cost.
            None => (
                "-".to_owned(),
                format!("({:.2}x of /)", rps(&self.balance) / rps(&self.root)),
            ),
        };
        format!(
            "{:<8} {:<26} {:>9.0} {:>9.0} {:>5.2}x {:>11.0} {:>11} {:>6}{}",
            case.system,
            case.variant,
            rps(&self.root),
            rps(&self.root_reference),
            self.root_ratio,
            rps(&self.balance),
            balance_reference,
            balance_ratio,
            if errors > 0 {
                format!("  ({errors} non-2xx!)")
            } else {
                String::new()
            },
        )
    }
}

fn measure(
    case: &Case,
    main_db: &str,
    dir: &std::path::Path,
    connections: u32,
    seconds: u32,
) -> Row {
    let mut command =
        ServerProcess::command(&case.args, main_db, "in-process", &["--insecure-cookie"]);
    if case.args.iter().any(|arg| arg == "HS256") {
        command.env("AUTHBENCH_JWT_SECRET", HS256_SECRET);
    }
    let ours = ServerProcess::spawn(command, dir, "server.log");
    let auth = login_header(&ours, case.system);
    let credential = auth.split_once(' ').map_or("", |(_, rest)| rest);
    let credential = credential.split_once(' ').map_or("", |(_, value)| value);
    let (check, target) = case
        .reference
        .clone()
        .unwrap_or_else(|| ("none".to_owned(), String::new()));
    let target = if case.system == "jwt" && check != "HS256" {
        ours.url("/.well-known/jwks.json")
    } else {
        target
    };
    let reference = start_reference(&check, &target, credential, dir);
    let wrk = |server: &ServerProcess, path: &str| {
        run_wrk(
            &server.url(path),
            &[&auth],
            connections.into(),
            seconds.into(),
        )
    };
    let mut row = Row {
        root: Vec::new(),
        root_reference: Vec::new(),
        root_ratio: 0.0,
        balance: Vec::new(),
        balance_reference: Vec::new(),
        balance_ratio: None,
    };
    for _ in 0..2 {
        row.root.push(wrk(&ours, "/"));
        row.root_reference.push(wrk(&reference, "/"));
        row.balance.push(wrk(&ours, "/user/balance"));
        if case.reference.is_some() {
            row.balance_reference.push(wrk(&reference, "/user/balance"));
        }
    }
    let rps = |turns: &[Throughput]| mean_requests_per_second(turns);
    row.root_ratio = rps(&row.root) / rps(&row.root_reference);
    if case.reference.is_some() {
        row.balance_ratio = Some(rps(&row.balance) / rps(&row.balance_reference));
    }
    row
}

/// The reference server (this bench binary, run with [`reference::ENV`] set) on the server CPU.
fn start_reference(
    check: &str,
    target: &str,
    credential: &str,
    dir: &std::path::Path,
) -> ServerProcess {
    let mut command = Command::new("taskset");
    command
        .args(["-c", &SERVER_CPU.to_string()])
        .arg(std::env::current_exe().expect("the bench binary"))
        .args([
            "--check",
            check,
            "--target",
            target,
            "--session-id",
            credential,
        ])
        .env(reference::ENV, "1")
        .env("AUTHBENCH_JWT_SECRET", HS256_SECRET);
    ServerProcess::spawn(command, dir, "reference.log")
}

fn keygen(alg: &str, out: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["keygen", "--alg", alg, "--out", &out.display().to_string()])
        .status()
        .expect("run authbench keygen");
    assert!(status.success(), "authbench keygen --alg {alg} failed");
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Logs in as user1 over a raw socket and returns the credential header for `system`.
fn login_header(server: &ServerProcess, system: &str) -> String {
    let body = r#"{"username":"user1","password":"pass-1"}"#;
    let mut stream = TcpStream::connect(&server.address).expect("connect");
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
