//! Requests/s of `GET /user/balance` against `GET /` (no auth, no store) of the same server, with
//! the server on one tokio worker: the session server per session store, the JWT server per
//! algorithm and per revocation mode. Run with `scripts/bench.sh` or
//! `cargo bench -p authbench-cli --bench routes` (`BENCH_ONLY=session|jwt` runs one half).
//!
//! The server runs as its own process pinned to CPU 0 (`taskset`), wrk pinned to CPU 1; Redis and
//! Postgres are throwaway servers from authbench-testkit, unpinned. Routes are measured in turns
//! (trivial, balance, trivial, balance) so drift on a shared machine hits both. Figures are
//! meaningful as ratios within one run, not as absolute numbers.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;
use support::{
    ServerProcess, Throughput, env_or, mean_requests_per_second, require_taskset, require_wrk,
    run_wrk, seed_main_db,
};

/// One server configuration to measure.
struct Case {
    system: &'static str,
    variant: String,
    balance: &'static str,
    args: Vec<String>,
}

fn main() {
    let seconds: u32 = env_or("BENCH_SECONDS", 5);
    let connections: u32 = env_or("BENCH_CONNECTIONS", 32);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    require_wrk();
    require_taskset();

    let dir = tempfile::tempdir().expect("temp dir");
    let main_db = seed_main_db(dir.path(), 100, &[]);

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
        let server = ServerProcess::start(
            &case.args,
            &main_db,
            case.balance,
            &["--insecure-cookie"],
            dir.path(),
        );
        let auth = login_header(&server, case.system);
        let wrk = |path: &str| {
            run_wrk(
                &server.url(path),
                &[&auth],
                connections.into(),
                seconds.into(),
            )
        };
        let mut trivial = Vec::new();
        let mut balance = Vec::new();
        for _ in 0..2 {
            trivial.push(wrk("/"));
            balance.push(wrk("/user/balance"));
        }
        let rps = |turns: &[Throughput]| mean_requests_per_second(turns);
        let p99 = |turns: &[Throughput]| turns.iter().map(|t| t.p99_ms).fold(0.0, f64::max);
        let errors: u64 = balance.iter().chain(&trivial).map(|t| t.errors).sum();
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
