//! Requests/s of the load generator's HTTP client against wrk's, on the same trivial route
//! (`GET /`) of the same server, with the same connections and duration: the load generator must
//! not be the bottleneck of a run (target: loadgen / wrk >= 1.0). Run with
//! `cargo bench -p authbench-cli --bench loadgen_vs_wrk`; `BENCH_CONNECTIONS` (default 32) and
//! `BENCH_SECONDS` (default 5) change the load.
//!
//! The session server (memory store, one tokio worker) runs as its own process pinned to CPU 0;
//! the load generator (this process, one runtime worker) and wrk (one thread) are each pinned to
//! CPU 1 and take turns (loadgen, wrk, loadgen, wrk) so that drift on a shared machine hits both.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authbench_loadgen::client::Endpoint;
use authbench_loadgen::drive::{CancellationToken, fixed};
use authbench_loadgen::live::Live;
use authbench_loadgen::scenario::Operation;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_authbench");
const ROUTE: &str = "/";

fn main() {
    let seconds = env_number("BENCH_SECONDS", 5);
    let connections = env_number("BENCH_CONNECTIONS", 32);
    require(
        "wrk",
        "install Debian's `wrk` package (scripts/bench.sh does this when run as root)",
    );
    require("taskset", "install Debian's `util-linux` package");

    let dir = tempfile::tempdir().expect("temp dir");
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    run(Command::new(SERVER_BINARY).args(["seed", "--main-db", &main_db, "--users", "10"]));
    let server = Server::start(&main_db, dir.path());

    // Pinned before the runtime exists, so that its worker thread inherits the CPU.
    pin_this_thread_to_cpu(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let base_url = format!("http://{}", server.address);
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
            requests_per_second: recording.total_requests() as f64 / elapsed,
            p99_ms: p99,
            errors: recording.total_errors(),
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
    let mean = |turns: &[Turn]| {
        turns.iter().map(|t| t.requests_per_second).sum::<f64>() / turns.len() as f64
    };
    let ratio = mean(&ours) / mean(&theirs);
    println!(
        "loadgen {:.0} req/s, wrk {:.0} req/s: ratio loadgen/wrk {ratio:.3} (target >= 1.0)",
        mean(&ours),
        mean(&theirs)
    );
    drop(server);
}

struct Turn {
    requests_per_second: f64,
    p99_ms: f64,
    errors: u64,
    /// The tool's CPU time over the turn's wall time (1.0 is the whole of CPU 1): below 1.0 it
    /// had headroom, and the server set the pace.
    cpu_share: f64,
}

impl Turn {
    fn print(&self, tool: &str, round: u32) {
        println!(
            "  {tool:<8} turn {round}: {:>10.0} req/s   p99 {:>7.2} ms   CPU {:>3.0}%{}",
            self.requests_per_second,
            self.p99_ms,
            self.cpu_share * 100.0,
            if self.errors > 0 {
                format!("   ({} errors!)", self.errors)
            } else {
                String::new()
            }
        );
    }
}

fn wrk(url: &str, connections: u64, seconds: u64) -> Turn {
    let (_, children_before) = cpu_seconds();
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg(url)
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix).map(str::trim))
    };
    let requests_per_second = field("Requests/sec:")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("wrk output:\n{text}"));
    let errors = field("Non-2xx or 3xx responses:")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    Turn {
        requests_per_second,
        p99_ms: field("99%").map_or(f64::NAN, parse_latency_ms),
        errors,
        cpu_share: (cpu_seconds().1 - children_before) / seconds as f64,
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

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(main_db: &str, dir: &Path) -> Server {
        let log = std::fs::File::create(dir.join("server.log")).expect("server log");
        let mut child = Command::new("taskset")
            .args(["-c", "0", SERVER_BINARY, "serve", "session"])
            .args([
                "--store",
                "memory",
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "1",
            ])
            .args(["--main-db", main_db, "--balance-source", "in-process"])
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pins the calling thread, and so every thread it starts afterwards, to `cpu`.
fn pin_this_thread_to_cpu(cpu: usize) {
    let mut cpus = CpuSet::new();
    cpus.set(cpu).expect("CPU number in range");
    sched_setaffinity(Pid::from_raw(0), &cpus).expect("sched_setaffinity");
}

/// User plus system CPU time so far of this process, and of the children it has waited for
/// (wrk), from /proc/self/stat, in seconds (clock ticks of 1/100 s, as on every Linux this runs
/// on).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command name, which is in parentheses and may contain spaces; the
    // first of them is field 3 of stat(5).
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let seconds = |field: usize| fields[field - 3].parse::<f64>().expect("stat field") / 100.0;
    // utime + stime, cutime + cstime.
    (seconds(14) + seconds(15), seconds(16) + seconds(17))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
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
