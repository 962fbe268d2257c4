//! Requests/s of the servers' routes against the plainest honest version of the same check
//! (`reference/`: a bare axum app, no metrics, limits or timeouts), side by side in one run:
//! `GET /` of each server, the session lookup per session store, and the JWT check per algorithm
//! (and per revocation mode, against `GET /` of the same server). A ratio below 0.90 is a fixed
//! cost of authbench's own that blurs the auth cost the servers exist to compare. Run with
//! `scripts/bench.sh routes` or `cargo bench -p authbench-cli --bench routes`
//! (`BENCH_ONLY=session|jwt` runs one half, any other value the cases whose variant contains it,
//! e.g. `BENCH_ONLY=postgres`; `BENCH_TURNS` and `BENCH_SECONDS` set the turns, default 5 of 2 s).
//!
//! Both servers run as processes pinned to CPU 0 on one tokio worker, wrk pinned to CPU 1; Redis
//! and Postgres are throwaway servers from authbench-testkit, unpinned. Each route is warmed up
//! on both servers, then measured in turns (ours, the reference's, ours, the reference's ...), so
//! drift on a shared machine hits both. A ratio is the median over turns of ours over the
//! reference's in the same turn: a burst of background work spoils one pair, not the figure.
//! Figures are meaningful as ratios within one run, not as absolute numbers.

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
    let seconds: u32 = env_or("BENCH_SECONDS", 2);
    let turns: u32 = env_or("BENCH_TURNS", 5);
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
         connections, {turns} turns of {seconds} s per route and server after 1 s of warm-up; \
         ratio: median of the turns' ours/reference; balances in-process"
    );
    println!(
        "{:<8} {:<26} {:>9} {:>9} {:>6} {:>11} {:>11} {:>6}",
        "system", "variant", "GET / rps", "ref rps", "ratio", "balance rps", "ref rps", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for case in &cases {
        let row = measure(case, &main_db, dir.path(), connections, (turns, seconds));
        lowest = lowest.min(row.root_ratio());
        if let Some(ratio) = row.balance_ratio() {
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
    let half =
        |system: &str| only.is_empty() || only == system || !["session", "jwt"].contains(&only);
    if half("session") {
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
    if half("jwt") {
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
    if !["", "session", "jwt"].contains(&only) {
        cases.retain(|case| case.variant.contains(only));
    }
    cases
}

/// One case's figures: each route of ours and of the reference, in turns.
struct Row {
    root: Vec<Throughput>,
    root_reference: Vec<Throughput>,
    balance: Vec<Throughput>,
    balance_reference: Vec<Throughput>,
}

impl Row {
    fn root_ratio(&self) -> f64 {
        median_ratio(&self.root, &self.root_reference)
    }

    /// `None` where there is no plain version of the check (a revocation mode).
    fn balance_ratio(&self) -> Option<f64> {
        (!self.balance_reference.is_empty())
            .then(|| median_ratio(&self.balance, &self.balance_reference))
    }

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
        let (balance_reference, balance_ratio) = match self.balance_ratio() {
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
            self.root_ratio(),
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

/// The median over turns of ours over the reference's in the same turn.
fn median_ratio(ours: &[Throughput], reference: &[Throughput]) -> f64 {
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(reference)
        .map(|(ours, reference)| ours.requests_per_second / reference.requests_per_second)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let middle = ratios.len() / 2;
    if ratios.len() % 2 == 1 {
        ratios[middle]
    } else {
        (ratios[middle - 1] + ratios[middle]) / 2.0
    }
}

fn measure(
    case: &Case,
    main_db: &str,
    dir: &std::path::Path,
    connections: u32,
    (turns, seconds): (u32, u32),
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
    let wrk = |server: &ServerProcess, path: &str, seconds: u32| {
        run_wrk(
            &server.url(path),
            &[&auth],
            connections.into(),
            seconds.into(),
        )
    };
    let mut servers = vec![&ours];
    if case.reference.is_some() {
        servers.push(&reference);
    }
    // Connections, caches and the store's plans warm before anything counts.
    for server in &servers {
        wrk(server, "/user/balance", 1);
    }
    wrk(&reference, "/", 1);
    let mut row = Row {
        root: Vec::new(),
        root_reference: Vec::new(),
        balance: Vec::new(),
        balance_reference: Vec::new(),
    };
    for _ in 0..turns {
        row.root.push(wrk(&ours, "/", seconds));
        row.root_reference.push(wrk(&reference, "/", seconds));
        row.balance.push(wrk(&ours, "/user/balance", seconds));
        if case.reference.is_some() {
            row.balance_reference
                .push(wrk(&reference, "/user/balance", seconds));
        }
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
