//! The servers' routes against the plainest honest version of the same check (`reference/`: a
//! bare axum app, no metrics, limits or timeouts), side by side in one run: `GET /` of each
//! server, the session lookup per session store, the JWT check per algorithm (and per
//! revocation mode, against `GET /` of the same server), and the resource server's JWKS and
//! shared-store checks (`BENCH_ONLY=resource`). A ratio below 0.90 is a fixed cost of
//! authbench's own that blurs the auth cost the servers exist to compare. Run with
//! `scripts/bench.sh routes` or `cargo bench -p authbench-cli --bench routes`
//! (`BENCH_ONLY=session|jwt|resource` runs one part, any other value the cases whose variant contains it,
//! e.g. `BENCH_ONLY=postgres`; `BENCH_TURNS` and `BENCH_SECONDS` set the turns, default 6 of 2 s;
//! `BENCH_PAIRS=1` prints every turn's ratios; `BENCH_INSTRUCTIONS=1` counts instructions per
//! request under callgrind instead, see below, and `BENCH_DUMPS=<folder>` keeps its dumps there
//! for `callgrind_annotate`).
//!
//! Both servers run as processes pinned to CPU 0 on one tokio worker, wrk pinned to CPU 1; Redis
//! and Postgres are throwaway servers from authbench-testkit, unpinned. Each route is warmed up
//! on both servers, then measured in pairs of turns, ours first in one pair and second in the
//! next (ours, the reference's, the reference's, ours ...), so drift on a shared machine and any
//! bias of a turn's place in its pair hit both. Two ratios per route, each the median over turns of ours
//! against the reference's in the same turn:
//!
//! - `cost`: the reference's CPU per request over ours, counting the server process and, where
//!   there is one, the store's server (Redis, every PostgreSQL process): the fixed cost itself,
//!   whatever else ran on the core. This is the ratio held to 0.90.
//! - `rps`: requests/s, ours over the reference's. With both servers saturating one core it
//!   tracks the cost ratio, but it also moves with everything else the shared machine runs on
//!   that core (turn to turn by 10-20% here, as `BENCH_PAIRS=1` shows).
//!
//! Figures are meaningful as ratios within one run, not as absolute numbers.
//!
//! On a shared machine both ratios move by 10-20% turn to turn with code that does not change.
//! `BENCH_INSTRUCTIONS=1` gives the figure that barely moves: each route's user-space
//! instructions per request under callgrind, ours and the reference's (the reference's over ours
//! is the ratio), the median of `BENCH_ROUNDS` (default 3) counts taken in turn, since how
//! requests batch into wake-ups still moves one count by a percent or two. It leaves out the
//! kernel's share, which is the same for both: they send the same bytes.

mod callgrind;
mod reference;
mod support;

/// The same allocator as `authbench` itself, so the reference differs only in its code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use authbench_loadgen::probe::total_cpu;
use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;
use support::{
    SERVER_CPU, ServerProcess, env_or, require_taskset, require_wrk, run_wrk, seed_main_db,
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
    /// The store's server, whose CPU a turn counts with the server's.
    store: Option<StoreServer>,
    /// For a resource server: the issuer to start first and log in at (not measured; its
    /// JWKS URL replaces [`ISSUER_JWKS`] in `args`).
    issuer: Option<Vec<String>>,
}

/// Stands in a resource server's arguments for its issuer's JWKS URL.
const ISSUER_JWKS: &str = "{issuer-jwks}";

/// A store that runs in processes of its own.
#[derive(Clone, Copy)]
enum StoreServer {
    Redis(u32),
    /// The postmaster: its children (the backends) do the work.
    Postgres(u32),
}

impl StoreServer {
    fn pids(self) -> Vec<u32> {
        match self {
            StoreServer::Redis(pid) => vec![pid],
            StoreServer::Postgres(postmaster) => {
                let mut pids = children(postmaster);
                pids.push(postmaster);
                pids
            }
        }
    }
}

/// The processes whose parent is `parent`, from `/proc`.
fn children(parent: u32) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").expect("/proc");
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            ppid == Some(parent)
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os(reference::ENV).is_some() {
        reference::serve(&args);
    }
    let seconds: u32 = env_or("BENCH_SECONDS", 2);
    let turns: u32 = env_or("BENCH_TURNS", 6);
    let connections: u32 = env_or("BENCH_CONNECTIONS", 32);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    require_wrk();
    require_taskset();

    let dir = tempfile::tempdir().expect("temp dir");
    let main_db = seed_main_db(dir.path(), 100, &[]);
    let redis = RedisServer::start();
    let postgres = PostgresServer::shared();
    let cases = cases(&only, &redis, postgres, dir.path());

    if std::env::var_os("BENCH_INSTRUCTIONS").is_some() {
        instructions(&cases, &main_db, dir.path());
        return;
    }
    println!(
        "both servers: 1 tokio worker on CPU {SERVER_CPU}; wrk: 1 thread, {connections} \
         connections, {turns} turns of {seconds} s per route and server after 1 s of warm-up; \
         each ratio the median of the turns' ours against the reference's; balances in-process"
    );
    println!(
        "{:<8} {:<26} {:>9} {:>9} {:>5} {:>5} {:>11} {:>9} {:>5} {:>5}",
        "system", "variant", "GET / rps", "ref", "rps", "cost", "balance rps", "ref", "rps", "cost"
    );
    let mut lowest = Lowest::default();
    for case in &cases {
        let row = measure(case, &main_db, dir.path(), connections, (turns, seconds));
        lowest.include(&row.root);
        if let Some(balance) = &row.balance {
            lowest.include(balance);
        }
        println!("{}", row.line(case));
        if std::env::var_os("BENCH_PAIRS").is_some() {
            println!("{:<36}GET / turns: {}", "", row.root.pairs());
            if let Some(balance) = &row.balance {
                println!("{:<36}balance turns: {}", "", balance.pairs());
            }
        }
    }
    println!(
        "lowest cost ratio: {:.2} (target: at least 0.90); lowest rps ratio: {:.2}",
        lowest.cost, lowest.rps
    );
}

/// `BENCH_INSTRUCTIONS=1`: every case's routes in instructions per request.
fn instructions(cases: &[Case], main_db: &str, dir: &std::path::Path) {
    println!(
        "user-space instructions per request under callgrind (both servers on CPU {SERVER_CPU}, \
         wrk -c8, median of BENCH_ROUNDS (default 3) counts of 4 s each, after 2 s of \
         warm-up); ratio: the reference's over ours"
    );
    println!(
        "{:<8} {:<26} {:>10} {:>10} {:>5} {:>12} {:>10} {:>5}",
        "system", "variant", "GET / ours", "ref", "ratio", "balance ours", "ref", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for case in cases {
        let (line, ratios) = measure_instructions(case, main_db, dir, 8);
        lowest = ratios.into_iter().fold(lowest, f64::min);
        println!("{line}");
    }
    println!("lowest instruction ratio: {lowest:.2} (target: at least 0.90)");
}

/// The lowest ratios of a run.
struct Lowest {
    cost: f64,
    rps: f64,
}

impl Default for Lowest {
    fn default() -> Self {
        Lowest {
            cost: f64::INFINITY,
            rps: f64::INFINITY,
        }
    }
}

impl Lowest {
    fn include(&mut self, route: &Route) {
        self.cost = self.cost.min(route.cost_ratio());
        self.rps = self.rps.min(route.rps_ratio());
    }
}

fn cases(
    only: &str,
    redis: &RedisServer,
    postgres: &PostgresServer,
    dir: &std::path::Path,
) -> Vec<Case> {
    let redis_server = StoreServer::Redis(redis.pid().expect("Redis runs"));
    let postgres_server = StoreServer::Postgres(postgres.pid().expect("PostgreSQL runs"));
    let mut cases = Vec::new();
    let half = |system: &str| {
        only.is_empty() || only == system || !["session", "jwt", "resource"].contains(&only)
    };
    if half("session") {
        let sqlite = format!("sqlite://{}", dir.join("sessions.db").display());
        let stores = [
            ("memory", "memory".to_owned(), Some("memory"), None),
            ("sqlite", sqlite, None, None),
            ("redis", redis.url(), Some("redis"), Some(redis_server)),
            (
                "postgres",
                postgres.fresh_database(),
                Some("postgres"),
                Some(postgres_server),
            ),
        ];
        for (name, store, check, server) in stores {
            cases.push(Case {
                system: "session",
                variant: format!("store {name}"),
                args: strings(&["session", "--store", &store]),
                reference: check.map(|check| (check.to_owned(), store.clone())),
                store: server,
                issuer: None,
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
                store: None,
                issuer: None,
            });
        }
        for (name, store, server) in [
            ("redis", redis.url(), redis_server),
            ("postgres", postgres.fresh_database(), postgres_server),
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
                    store: Some(server),
                    issuer: None,
                });
            }
        }
    }
    if half("resource") {
        // The resource server's check against the plainest version of the same check: a JWT
        // with a key from the issuer's JWKS, a session read from the issuer's Redis.
        let key = dir.join("resource-ES256.pem");
        keygen("ES256", &key);
        let issuer = strings(&["jwt", "--alg", "ES256", "--store", "memory"])
            .into_iter()
            .chain(strings(&["--key-file", &key.display().to_string()]))
            .collect();
        cases.push(Case {
            system: "resource",
            variant: "jwks, ES256".to_owned(),
            args: strings(&[
                "resource",
                "--verify",
                "jwks",
                "--jwks-url",
                ISSUER_JWKS,
                "--algs",
                "ES256",
            ]),
            reference: Some(("ES256".to_owned(), String::new())),
            store: None,
            issuer: Some(issuer),
        });
        cases.push(Case {
            system: "resource",
            variant: "store redis".to_owned(),
            args: strings(&["resource", "--verify", "store", "--store", &redis.url()]),
            reference: Some(("redis".to_owned(), redis.url())),
            store: Some(redis_server),
            issuer: Some(strings(&["session", "--store", &redis.url()])),
        });
    }
    if !["", "session", "jwt", "resource"].contains(&only) {
        cases.retain(|case| case.variant.contains(only));
    }
    cases
}

/// One wrk turn against one server: its throughput and what it cost in CPU.
struct Turn {
    requests_per_second: f64,
    /// The server's CPU, plus the store server's where it has one, per request.
    cpu_us_per_request: f64,
    errors: u64,
}

/// One route's turns, ours and the reference's (or, for a revocation mode, ours only).
#[derive(Default)]
struct Route {
    ours: Vec<Turn>,
    reference: Vec<Turn>,
}

impl Route {
    fn rps_ratio(&self) -> f64 {
        median(
            self.each(|ours, reference| ours.requests_per_second / reference.requests_per_second),
        )
    }

    fn cost_ratio(&self) -> f64 {
        median(self.each(|ours, reference| reference.cpu_us_per_request / ours.cpu_us_per_request))
    }

    fn each(&self, ratio: impl Fn(&Turn, &Turn) -> f64) -> Vec<f64> {
        self.ours
            .iter()
            .zip(&self.reference)
            .map(|(ours, reference)| ratio(ours, reference))
            .collect()
    }

    /// Each turn's rps and cost ratios, in the order measured (`BENCH_PAIRS=1`).
    fn pairs(&self) -> String {
        let rps = self.each(|o, r| o.requests_per_second / r.requests_per_second);
        let cost = self.each(|o, r| r.cpu_us_per_request / o.cpu_us_per_request);
        let shown: Vec<String> = rps
            .iter()
            .zip(&cost)
            .map(|(rps, cost)| format!("{rps:.2}/{cost:.2}"))
            .collect();
        format!("rps/cost {}", shown.join(" "))
    }

    fn errors(&self) -> u64 {
        self.ours
            .iter()
            .chain(&self.reference)
            .map(|t| t.errors)
            .sum()
    }
}

fn mean_rps(turns: &[Turn]) -> f64 {
    turns.iter().map(|t| t.requests_per_second).sum::<f64>() / turns.len().max(1) as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[middle],
        _ => (values[middle - 1] + values[middle]) / 2.0,
    }
}

/// One case's figures: `GET /` against the reference's, and the balance route against the
/// reference's where there is a plain version of the check.
struct Row {
    root: Route,
    /// `None` for a revocation mode: its balance turns are in `own_balance`.
    balance: Option<Route>,
    own_balance: Vec<Turn>,
}

impl Row {
    fn line(&self, case: &Case) -> String {
        let errors = self.root.errors()
            + self.balance.as_ref().map_or(0, Route::errors)
            + self.own_balance.iter().map(|t| t.errors).sum::<u64>();
        let balance = match &self.balance {
            Some(route) => format!(
                "{:>11.0} {:>9.0} {:>5.2} {:>5.2}",
                mean_rps(&route.ours),
                mean_rps(&route.reference),
                route.rps_ratio(),
                route.cost_ratio()
            ),
            // Against our own `GET /`: what the check costs on top of the server's fixed cost.
            None => format!(
                "{:>11.0} ({:.2}x of our GET /)",
                mean_rps(&self.own_balance),
                mean_rps(&self.own_balance) / mean_rps(&self.root.ours)
            ),
        };
        format!(
            "{:<8} {:<26} {:>9.0} {:>9.0} {:>5.2} {:>5.2} {balance}{}",
            case.system,
            case.variant,
            mean_rps(&self.root.ours),
            mean_rps(&self.root.reference),
            self.root.rps_ratio(),
            self.root.cost_ratio(),
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
    (turns, seconds): (u32, u32),
) -> Row {
    let Pair {
        ours,
        reference,
        auth,
        _issuer,
    } = start_pair(case, main_db, dir, None);
    let store_pids = case.store.map(StoreServer::pids).unwrap_or_default();
    let turn = |server: &ServerProcess, path: &str, seconds: u32| {
        let mut pids = store_pids.clone();
        pids.push(server.pid());
        let before = total_cpu(pids.iter().copied()).expect("CPU time before the turn");
        let throughput = run_wrk(
            &server.url(path),
            &[&auth],
            connections.into(),
            seconds.into(),
        );
        let after = total_cpu(pids.iter().copied()).expect("CPU time after the turn");
        let requests = throughput.requests_per_second * f64::from(seconds);
        Turn {
            requests_per_second: throughput.requests_per_second,
            cpu_us_per_request: (after - before).as_secs_f64() * 1e6 / requests.max(1.0),
            errors: throughput.errors,
        }
    };
    let compared = case.reference.is_some();
    // Connections, caches and the store's plans warm before anything counts.
    turn(&ours, "/user/balance", 1);
    turn(&reference, "/", 1);
    if compared {
        turn(&reference, "/user/balance", 1);
    }
    let mut row = Row {
        root: Route::default(),
        balance: compared.then(Route::default),
        own_balance: Vec::new(),
    };
    for round in 0..turns {
        // ABBA: who goes first alternates, so a bias towards the first (or second) turn of a
        // pair falls on both servers alike.
        let ours_first = round % 2 == 0;
        let (root_ours, root_reference) = in_order(
            ours_first,
            || turn(&ours, "/", seconds),
            || turn(&reference, "/", seconds),
        );
        row.root.ours.push(root_ours);
        row.root.reference.push(root_reference);
        match &mut row.balance {
            Some(route) => {
                let (balance_ours, balance_reference) = in_order(
                    ours_first,
                    || turn(&ours, "/user/balance", seconds),
                    || turn(&reference, "/user/balance", seconds),
                );
                route.ours.push(balance_ours);
                route.reference.push(balance_reference);
            }
            None => row.own_balance.push(turn(&ours, "/user/balance", seconds)),
        }
    }
    row
}

/// Runs `ours` and `reference`, `ours` first or second, and returns their results in that order.
fn in_order<T>(
    ours_first: bool,
    ours: impl FnOnce() -> T,
    reference: impl FnOnce() -> T,
) -> (T, T) {
    if ours_first {
        let ours = ours();
        (ours, reference())
    } else {
        let reference = reference();
        (ours(), reference)
    }
}

/// Our server and the reference, both up, and the credential header of a logged-in user.
struct Pair {
    ours: ServerProcess,
    reference: ServerProcess,
    auth: String,
    /// A resource server's issuer, kept up for the pair's life.
    _issuer: Option<ServerProcess>,
}

/// Starts our server for `case` and the reference beside it; with `callgrind`, both run under
/// callgrind with their dumps in that folder.
fn start_pair(
    case: &Case,
    main_db: &str,
    dir: &std::path::Path,
    callgrind: Option<&std::path::Path>,
) -> Pair {
    let wrap = |command: Command| match callgrind {
        Some(dumps) => callgrind::under_callgrind(&command, dumps),
        None => command,
    };
    let issuer = case.issuer.as_ref().map(|args| {
        let command = ServerProcess::command(args, main_db, "in-process", &["--insecure-cookie"]);
        ServerProcess::spawn(command, dir, "issuer.log")
    });
    let jwks = issuer
        .as_ref()
        .map(|issuer| issuer.url("/.well-known/jwks.json"));
    let args: Vec<String> = case
        .args
        .iter()
        .map(|arg| match (&jwks, arg.as_str()) {
            (Some(url), ISSUER_JWKS) => url.clone(),
            _ => arg.clone(),
        })
        .collect();
    // The resource server sets no cookie; the issuers do.
    let extra: &[&str] = if issuer.is_some() {
        &[]
    } else {
        &["--insecure-cookie"]
    };
    let mut command = ServerProcess::command(&args, main_db, "in-process", extra);
    if case.args.iter().any(|arg| arg == "HS256") {
        command.env("AUTHBENCH_JWT_SECRET", HS256_SECRET);
    }
    let ours = ServerProcess::spawn(wrap(command), dir, "server.log");
    let issuer_system = case
        .issuer
        .as_ref()
        .and_then(|args| args.first())
        .map_or(case.system, String::as_str);
    let auth = login_header(issuer.as_ref().unwrap_or(&ours), issuer_system);
    let credential = auth.split_once(' ').map_or("", |(_, rest)| rest);
    let credential = credential.split_once(' ').map_or("", |(_, value)| value);
    let (check, target) = case
        .reference
        .clone()
        .unwrap_or_else(|| ("none".to_owned(), String::new()));
    let target = match &jwks {
        Some(url) if check != "redis" => url.clone(),
        _ if case.system == "jwt" && check != "HS256" => ours.url("/.well-known/jwks.json"),
        _ => target,
    };
    let reference = wrap(reference_command(&check, &target, credential));
    let reference = ServerProcess::spawn(reference, dir, "reference.log");
    Pair {
        ours,
        reference,
        auth,
        _issuer: issuer,
    }
}

/// Instructions per request of each route, ours and the reference's, under callgrind
/// (`BENCH_INSTRUCTIONS=1`): deterministic where requests/s on a shared machine are not.
/// Returns the printed line and the ratios on it.
fn measure_instructions(
    case: &Case,
    main_db: &str,
    dir: &std::path::Path,
    connections: u32,
) -> (String, Vec<f64>) {
    // BENCH_DUMPS keeps the dumps, one folder per case, for `callgrind_annotate`.
    let dumps = match std::env::var_os("BENCH_DUMPS") {
        Some(kept) => std::path::Path::new(&kept).join(format!(
            "{}-{}",
            case.system,
            case.variant
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        )),
        None => dir.join("callgrind"),
    };
    std::fs::create_dir_all(&dumps).expect("a folder for the dumps");
    let Pair {
        ours,
        reference,
        auth,
        _issuer,
    } = start_pair(case, main_db, dir, Some(&dumps));
    let seconds = 4;
    let per_request = |server: &ServerProcess, path: &str| {
        callgrind::zero(server.pid());
        let throughput = run_wrk(&server.url(path), &[&auth], connections.into(), seconds);
        let instructions = callgrind::dump(server.pid(), &dumps);
        instructions as f64 / (throughput.requests_per_second * seconds as f64)
    };
    // How a route's requests batch into wake-ups moves the count by a percent or two from one
    // measurement to the next: the median of a few, ours and the reference's taken in turn.
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let route = |path: &str| {
        run_wrk(&ours.url(path), &[&auth], connections.into(), 2);
        run_wrk(&reference.url(path), &[&auth], connections.into(), 2);
        let (mut counted_ours, mut counted_theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds.max(1) {
            counted_ours.push(per_request(&ours, path));
            counted_theirs.push(per_request(&reference, path));
        }
        let (ours, theirs) = (median(counted_ours), median(counted_theirs));
        (ours, theirs, theirs / ours)
    };
    let (root_ours, root_theirs, root_ratio) = route("/");
    let mut ratios = vec![root_ratio];
    let balance = if case.reference.is_some() {
        let (ours, theirs, ratio) = route("/user/balance");
        ratios.push(ratio);
        format!("{ours:>12.0} {theirs:>10.0} {ratio:>5.2}")
    } else {
        run_wrk(&ours.url("/user/balance"), &[&auth], connections.into(), 2);
        let ours = per_request(&ours, "/user/balance");
        format!("{ours:>12.0} {:>10} {:>5}", "-", "-")
    };
    let line = format!(
        "{:<8} {:<26} {root_ours:>10.0} {root_theirs:>10.0} {root_ratio:>5.2} {balance}",
        case.system, case.variant
    );
    (line, ratios)
}

/// The reference server (this bench binary, run with [`reference::ENV`] set) on the server CPU.
fn reference_command(check: &str, target: &str, credential: &str) -> Command {
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
    command
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
