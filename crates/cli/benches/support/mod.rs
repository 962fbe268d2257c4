//! The harness every bench in this folder shares: a seeded main_DB, the `authbench` server as a
//! child process pinned to its own CPU, this process pinned to the other one, and wrk.
//!
//! Server and load tool get a CPU each so that neither steals the other's time: on a shared
//! machine that is what keeps the figures comparable within one run. Cargo does not build
//! subfolders of `benches/` as bench targets; each bench includes this with `mod support;`.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_authbench");
/// The CPU the server process runs on.
pub const SERVER_CPU: usize = 0;
/// The CPU the load tool runs on: wrk, or this process when it generates the load itself.
pub const LOAD_CPU: usize = 1;

/// The value of environment variable `name`, or `default` when it is unset. A value that does
/// not parse stops the bench with the variable's name, rather than measuring something else.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            panic!(
                "{name}={value:?} is not a valid {}",
                std::any::type_name::<T>()
            )
        }),
        Err(_) => default,
    }
}

/// Fails early, with how to install it, when wrk is missing.
pub fn require_wrk() {
    require(
        "wrk",
        "install Debian's `wrk` package (scripts/bench.sh does this when run as root)",
    );
}

/// Fails early, with how to install it, when taskset (which pins the server) is missing.
pub fn require_taskset() {
    require("taskset", "install Debian's `util-linux` package");
}

/// Fails with `hint` when `tool` is not on the PATH, rather than with a bare "No such file"
/// halfway through a run.
fn require(tool: &str, hint: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output();
    if !found.map(|o| o.status.success()).unwrap_or(false) {
        panic!("{tool} not found: {hint}");
    }
}

/// Seeds `users` users into a new SQLite main_DB in `dir` (`authbench seed`, plus `extra_flags`)
/// and returns its URL.
pub fn seed_main_db(dir: &Path, users: u32, extra_flags: &[&str]) -> String {
    let main_db = format!("sqlite://{}", dir.join("main.db").display());
    let mut command = Command::new(SERVER_BINARY);
    command
        .args(["seed", "--main-db", &main_db, "--users", &users.to_string()])
        .args(extra_flags);
    let status = command.stdout(Stdio::null()).status().expect("run command");
    assert!(status.success(), "{command:?} failed");
    main_db
}

/// An `authbench serve` child process; dropping it kills it.
pub struct ServerProcess {
    child: Child,
    /// `HOST:PORT` it listens on.
    pub address: String,
}

impl ServerProcess {
    /// Runs `authbench serve SYSTEM_ARGS --listen 127.0.0.1:0 --workers 1 --main-db MAIN_DB
    /// --balance-source BALANCE_SOURCE EXTRA_FLAGS` on [`SERVER_CPU`], and waits until it says
    /// where it listens. One tokio worker on one CPU, so that figures are per-core costs. Its
    /// stderr goes to `server.log` in `log_dir`, which a failed start points to.
    pub fn start(
        system_args: &[impl AsRef<OsStr>],
        main_db: &str,
        balance_source: &str,
        extra_flags: &[&str],
        log_dir: &Path,
    ) -> ServerProcess {
        let command = ServerProcess::command(system_args, main_db, balance_source, extra_flags);
        ServerProcess::spawn(command, log_dir, "server.log")
    }

    /// The command [`ServerProcess::start`] runs, for a caller that adds to it (an environment
    /// variable) before [`ServerProcess::spawn`].
    pub fn command(
        system_args: &[impl AsRef<OsStr>],
        main_db: &str,
        balance_source: &str,
        extra_flags: &[&str],
    ) -> Command {
        let mut command = Command::new("taskset");
        command
            .args(["-c", &SERVER_CPU.to_string(), SERVER_BINARY, "serve"])
            .args(system_args)
            .args(["--listen", "127.0.0.1:0", "--workers", "1"])
            .args(["--main-db", main_db, "--balance-source", balance_source])
            .args(extra_flags);
        command
    }

    /// Runs `command` (a `taskset` line) with its log in `log_dir/log_name`, and waits until it
    /// says where it listens.
    pub fn spawn(mut command: Command, log_dir: &Path, log_name: &str) -> ServerProcess {
        let log = std::fs::File::create(log_dir.join(log_name)).expect("server log");
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn the server");
        // Port 0 picks a free port; the server's first line on stdout says which.
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
                    log_dir.display()
                )
            })
            .to_owned();
        ServerProcess { child, address }
    }

    /// The session server on its memory store, with balances held in-process: the cheapest
    /// server there is, for benches that measure the load generator rather than the server.
    pub fn start_cheapest(main_db: &str, log_dir: &Path) -> ServerProcess {
        let system_args = ["session", "--store", "memory"];
        ServerProcess::start(&system_args, main_db, "in-process", &[], log_dir)
    }

    /// The server's pid (`taskset` execs it, so the pid is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://HOST:PORT` followed by `path` (which may be empty).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tokio runtime with one worker thread on `cpu`, for benches where this process is the load
/// generator. It pins the calling thread first, since a thread inherits its creator's CPUs; the
/// calling thread stays pinned too.
pub fn single_worker_runtime_on(cpu: usize) -> tokio::runtime::Runtime {
    let mut cpus = CpuSet::new();
    cpus.set(cpu).expect("CPU number in range");
    sched_setaffinity(Pid::from_raw(0), &cpus).expect("sched_setaffinity");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What one measuring turn of a load tool achieved.
pub struct Throughput {
    pub requests_per_second: f64,
    /// NaN where the tool did not report it.
    pub p99_ms: f64,
    /// Failed requests: non-2xx/3xx answers for wrk, failed requests of any kind for the load
    /// generator.
    pub errors: u64,
}

/// The mean of the turns' requests/s: turns alternate between the things compared, so a mean
/// over them spreads a shared machine's drift over both.
pub fn mean_requests_per_second<'a>(turns: impl IntoIterator<Item = &'a Throughput>) -> f64 {
    let (sum, count) = turns.into_iter().fold((0.0, 0u32), |(sum, count), turn| {
        (sum + turn.requests_per_second, count + 1)
    });
    sum / f64::from(count)
}

/// Runs wrk (one thread, pinned to [`LOAD_CPU`]) against `url` with `connections` connections
/// for `seconds`, sending each of `headers` (`Name: value`) with every request.
pub fn run_wrk(url: &str, headers: &[&str], connections: u64, seconds: u64) -> Throughput {
    let mut command = Command::new("taskset");
    command.args(["-c", &LOAD_CPU.to_string(), "wrk", "-t1", "--latency"]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command
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
    // wrk prints this line only when there were any.
    let errors = field("Non-2xx or 3xx responses:")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    Throughput {
        requests_per_second,
        p99_ms: field("99%").map_or(f64::NAN, parse_latency_ms),
        errors,
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
