//! Requests/s of the load generator's HTTP client against wrk's, on the same trivial route
//! (`GET /`) of the same server, with the same connections and duration: the load generator must
//! not be the bottleneck of a run (target: loadgen / wrk >= 1.0). Run with
//! `cargo bench -p authbench-cli --bench loadgen_vs_wrk`; `BENCH_CONNECTIONS` (default 32) and
//! `BENCH_SECONDS` (default 5) change the load.
//!
//! The session server (memory store, one tokio worker) runs as its own process pinned to CPU 0;
//! the load generator (this process, one runtime worker) and wrk (one thread) are each pinned to
//! CPU 1 and take turns (loadgen, wrk, loadgen, wrk) so that drift on a shared machine hits both.
//!
//! Then the same on an authenticated route, `GET /user/balance` with a session cookie: the load
//! generator's VUs run the flow (one login, then balance after balance) on authbench's own
//! routes, and again through a flow mapping that names every part itself (a JSON login
//! template, the credential from cookie `sid`, the protected request and its status), against
//! wrk sending one session's cookie. A mapping must cost nothing per request: its ratio to wrk
//! is the reference flow's.

mod support;

use authbench_loadgen::probe::process::ProcessSample;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authbench_loadgen::scenario::{
    BodyTemplate, CredentialRule, Flow, MappedRoute, Mapping, Operation, Presentation,
    ProtectedRequest, Source,
};
use authbench_loadgen::{CancellationToken, Credential, Driver, Endpoint, Live, fixed};
use support::{
    LOAD_CPU, ServerProcess, Throughput, env_or, mean_requests_per_second, require_taskset,
    require_wrk, run_wrk, seed_main_db, single_worker_runtime_on,
};

const ROUTE: &str = "/";

fn main() {
    let seconds: u64 = env_or("BENCH_SECONDS", 5);
    let connections: u64 = env_or("BENCH_CONNECTIONS", 32);
    require_wrk();
    require_taskset();

    let dir = tempfile::tempdir().expect("temp dir");
    let cheap = ["--argon2-memory-kib", "1024", "--argon2-iterations", "1"];
    let main_db = seed_main_db(dir.path(), connections as u32, &cheap);
    let server = ServerProcess::start_cheapest(&main_db, dir.path());

    // The load generator gets the same CPU as wrk, so that the two compare like for like.
    let runtime = single_worker_runtime_on(LOAD_CPU);
    let base_url = server.url("");
    let endpoint = runtime
        .block_on(Endpoint::resolve(&base_url))
        .expect("server address");
    let duration = Duration::from_secs(seconds);
    let loadgen = |duration| {
        let live = Live::new();
        let (cpu_before, _) = cpu_seconds();
        let recording = runtime
            .block_on(fixed(
                &endpoint,
                ROUTE,
                connections as usize,
                duration,
                &live,
                &CancellationToken::new(),
            ))
            .expect("valid path");
        let p99 = recording
            .percentile(&[Operation::Balance], 99.0)
            .map_or(f64::NAN, |p99| p99.as_secs_f64() * 1000.0);
        let elapsed = recording.elapsed().as_secs_f64();
        Turn {
            throughput: Throughput {
                requests_per_second: recording.total_requests() as f64 / elapsed,
                p99_ms: p99,
                errors: recording.total_errors(),
            },
            cpu_share: (cpu_seconds().0 - cpu_before) / elapsed,
        }
    };

    println!(
        "GET {ROUTE} of the session server (1 tokio worker, CPU 0); loadgen (1 runtime worker) \
         and wrk (1 thread) on CPU 1; {connections} connections, {seconds} s per turn"
    );
    // Both sides start on a warm server and warm connections.
    loadgen(Duration::from_secs(1));
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 1..=2 {
        let turn = loadgen(duration);
        turn.print("loadgen", round);
        ours.push(turn);
        let turn = wrk(&format!("{base_url}{ROUTE}"), connections, seconds);
        turn.print("wrk", round);
        theirs.push(turn);
    }
    let mean = |turns: &[Turn]| mean_requests_per_second(turns.iter().map(|t| &t.throughput));
    let ratio = mean(&ours) / mean(&theirs);
    println!(
        "loadgen {:.0} req/s, wrk {:.0} req/s: ratio loadgen/wrk {ratio:.3} (target >= 1.0)",
        mean(&ours),
        mean(&theirs)
    );

    println!(
        "\nGET /user/balance, logged in (one login per VU, then balances); same CPUs, \
         {connections} connections, {seconds} s per turn"
    );
    let balance = |mapping: Option<&Mapping>| {
        let credentials: Arc<[Credential]> = (1..=connections)
            .map(|n| Credential {
                username: format!("user{n}"),
                password: format!("pass-{}", n % 64),
            })
            .collect();
        let flow = Flow {
            balances_per_login: NonZeroU32::MAX,
            refresh_every: None,
            logout: false,
            think_time: Duration::ZERO,
            stagger: false,
        };
        let mut driver = Driver::new(endpoint.clone(), credentials, flow, Duration::from_secs(5));
        if let Some(mapping) = mapping {
            driver = driver.mapped(mapping);
        }
        let mut turn = |duration| {
            let live = Live::new();
            let (cpu_before, _) = cpu_seconds();
            let cancel = CancellationToken::new();
            let recording =
                runtime.block_on(driver.closed(connections as usize, duration, &live, &cancel));
            let elapsed = recording.elapsed().as_secs_f64();
            Turn {
                throughput: Throughput {
                    requests_per_second: recording.total_requests() as f64 / elapsed,
                    p99_ms: recording
                        .percentile(&[Operation::Balance], 99.0)
                        .map_or(f64::NAN, |p99| p99.as_secs_f64() * 1000.0),
                    errors: recording.total_errors(),
                },
                cpu_share: (cpu_seconds().0 - cpu_before) / elapsed,
            }
        };
        // Logs every VU in, so that the measured turn is balances only.
        turn(Duration::from_secs(1));
        turn(duration)
    };
    let mapping = explicit_mapping();
    let cookie = format!("Cookie: sid={}", session_id(&base_url));
    let (mut reference, mut mapped, mut wrk_turns) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=2 {
        let turn = balance(None);
        turn.print("own", round);
        reference.push(turn);
        let turn = balance(Some(&mapping));
        turn.print("mapped", round);
        mapped.push(turn);
        let (_, children_before) = cpu_seconds();
        let throughput = run_wrk(
            &format!("{base_url}/user/balance"),
            &[&cookie],
            connections,
            seconds,
        );
        let turn = Turn {
            throughput,
            cpu_share: (cpu_seconds().1 - children_before) / seconds as f64,
        };
        turn.print("wrk", round);
        wrk_turns.push(turn);
    }
    let wrk_rate = mean(&wrk_turns);
    println!(
        "own routes {:.0} req/s, mapped {:.0} req/s, wrk {wrk_rate:.0} req/s: ratio own/wrk \
         {:.3}, mapped/wrk {:.3} (target: mapped/wrk >= own/wrk, within noise)",
        mean(&reference),
        mean(&mapped),
        mean(&reference) / wrk_rate,
        mean(&mapped) / wrk_rate,
    );
    drop(server);
}

/// authbench's own routes, every part named by a mapping as a scenario would write it.
fn explicit_mapping() -> Mapping {
    let reference = Mapping::reference();
    let login_body = serde_json::json!({ "username": "{username}", "password": "{password}" });
    Mapping {
        login: MappedRoute {
            body: Some(BodyTemplate::Json(login_body)),
            status: Some(200),
            ..reference.login.clone()
        },
        credential: vec![CredentialRule {
            from: Source::Cookie("sid".into()),
            send: Presentation::Cookie("sid".into()),
        }],
        requests: vec![ProtectedRequest {
            route: MappedRoute {
                status: Some(200),
                ..reference.requests[0].route.clone()
            },
            weight: 1,
        }],
        ..reference
    }
}

/// A session id for wrk's cookie, from one login as user1 (the first VU's account too; a user
/// may hold several sessions).
fn session_id(base_url: &str) -> String {
    use std::io::{Read as _, Write as _};
    let address = base_url.trim_start_matches("http://");
    let body = r#"{"username":"user1","password":"pass-1"}"#;
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .write_all(request.as_bytes())
        .expect("send the login");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("read the login answer");
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let value: serde_json::Value = serde_json::from_str(body).expect("JSON");
    value["session_id"].as_str().expect("session_id").to_owned()
}

struct Turn {
    throughput: Throughput,
    /// The tool's CPU time over the turn's wall time (1.0 is the whole of CPU 1): below 1.0 it
    /// had headroom, and the server set the pace.
    cpu_share: f64,
}

impl Turn {
    fn print(&self, tool: &str, round: u32) {
        println!(
            "  {tool:<8} turn {round}: {:>10.0} req/s   p99 {:>7.2} ms   CPU {:>3.0}%{}",
            self.throughput.requests_per_second,
            self.throughput.p99_ms,
            self.cpu_share * 100.0,
            if self.throughput.errors > 0 {
                format!("   ({} errors!)", self.throughput.errors)
            } else {
                String::new()
            }
        );
    }
}

/// One wrk turn, with wrk's share of CPU 1 taken from this process's waited-for children.
fn wrk(url: &str, connections: u64, seconds: u64) -> Turn {
    let (_, children_before) = cpu_seconds();
    let throughput = run_wrk(url, &[], connections, seconds);
    Turn {
        throughput,
        cpu_share: (cpu_seconds().1 - children_before) / seconds as f64,
    }
}

/// User plus system CPU time so far of this process, and of the children it has waited for
/// (wrk), in seconds, read through the load generator's own `/proc` probe.
fn cpu_seconds() -> (f64, f64) {
    let sample = ProcessSample::read(std::process::id()).expect("/proc/self");
    (
        sample.cpu.as_secs_f64(),
        sample.reaped_children_cpu.as_secs_f64(),
    )
}
