//! Requests/s of the load generator's HTTP client against wrk's, on the same trivial route
//! (`GET /`) of the same server, with the same connections and duration: the load generator must
//! not be the bottleneck of a run (target: loadgen / wrk >= 1.0). Run with
//! `cargo bench -p authbench-cli --bench loadgen_vs_wrk`; `BENCH_CONNECTIONS` (default 32) and
//! `BENCH_SECONDS` (default 5) change the load.
//!
//! The session server (memory store, one tokio worker) runs as its own process pinned to CPU 0;
//! the load generator (this process, one runtime worker) and wrk (one thread) are each pinned to
//! CPU 1 and take turns (loadgen, wrk, loadgen, wrk) so that drift on a shared machine hits both.

mod support;

use authbench_loadgen::probe::process::ProcessSample;

use std::time::Duration;

use authbench_loadgen::Endpoint;
use authbench_loadgen::Live;
use authbench_loadgen::scenario::Operation;
use authbench_loadgen::{CancellationToken, fixed};
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
    let main_db = seed_main_db(dir.path(), 10, &[]);
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
    drop(server);
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
