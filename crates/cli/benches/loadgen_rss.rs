//! The load generator's own memory over a long run at full speed: it must stay flat (target:
//! less than 5 MB of growth after warm-up), since latencies go into histograms, never into lists.
//! Run with `cargo bench -p authbench-cli --bench loadgen_rss`; `BENCH_SECONDS` (default 600)
//! sets the length.
//!
//! 64 VUs run real login -> 50 x balance -> logout flows (closed model, no think time) against the
//! session server on its memory store, pinned to CPU 0; the load generator runs in this process
//! on CPU 1, and a sampler thread reads this process's VmRSS every 10 s.

mod support;

use authbench_loadgen::probe::process::ProcessSample;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use authbench_loadgen::Credential;
use authbench_loadgen::Endpoint;
use authbench_loadgen::Live;
use authbench_loadgen::scenario::Flow;
use authbench_loadgen::{CancellationToken, Driver};
use support::{
    LOAD_CPU, ServerProcess, env_or, require_taskset, seed_main_db, single_worker_runtime_on,
};

const VUS: u32 = 64;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Samples before this are warm-up: allocator pools, histograms growing to the latencies seen.
const WARM_UP: Duration = Duration::from_secs(30);
const TARGET_GROWTH_KIB: i64 = 5 * 1024;

fn main() {
    let seconds: u64 = env_or("BENCH_SECONDS", 600);
    require_taskset();

    let dir = tempfile::tempdir().expect("temp dir");
    // Cheap hashes: the server's login cost is not what this measures.
    let main_db = seed_main_db(
        dir.path(),
        VUS,
        &["--argon2-memory-kib", "1024", "--argon2-iterations", "1"],
    );
    let server = ServerProcess::start_cheapest(&main_db, dir.path());

    let runtime = single_worker_runtime_on(LOAD_CPU);
    let endpoint = runtime
        .block_on(Endpoint::resolve(&server.url("")))
        .expect("server address");
    // The documented seed credentials: user N, password pass-(N mod 64).
    let credentials: Arc<[Credential]> = (1..=VUS)
        .map(|n| Credential {
            username: format!("user{n}"),
            password: format!("pass-{}", n % 64),
        })
        .collect();
    let flow = Flow {
        balances_per_login: NonZeroU32::new(50).expect("non-zero"),
        refresh_every: None,
        logout: true,
        think_time: Duration::ZERO,
        stagger: false,
    };
    let mut driver = Driver::new(endpoint, credentials, flow, Duration::from_secs(5));

    println!(
        "{VUS} VUs, closed model, login -> 50 x balance -> logout on the session server \
         (memory store, CPU 0); loadgen on CPU 1 for {seconds} s; VmRSS every {} s",
        SAMPLE_EVERY.as_secs()
    );
    let (stop, stopped) = mpsc::channel::<()>();
    let sampler = std::thread::spawn(move || sample_rss(&stopped));
    let recording = runtime.block_on(driver.closed(
        VUS as usize,
        Duration::from_secs(seconds),
        &Live::new(),
        &CancellationToken::new(),
    ));
    let _ = stop.send(());
    let samples = sampler.join().expect("sampler thread");
    drop(server);

    println!(
        "{} requests ({:.0}/s), {} errors",
        recording.total_requests(),
        recording.total_requests() as f64 / recording.elapsed().as_secs_f64(),
        recording.total_errors()
    );
    let warm_up = WARM_UP.min(Duration::from_secs(seconds / 2));
    let after_warm_up = samples.iter().find(|(at, _)| *at >= warm_up);
    match (after_warm_up, samples.last()) {
        (Some((from_at, from)), Some((to_at, to))) if to_at > from_at => {
            let growth = *to as i64 - *from as i64;
            println!(
                "VmRSS growth from {} s to {} s: {growth} KiB (target < {TARGET_GROWTH_KIB} KiB): {}",
                from_at.as_secs(),
                to_at.as_secs(),
                if growth < TARGET_GROWTH_KIB {
                    "ok"
                } else {
                    "TOO MUCH"
                }
            );
        }
        _ => println!("run too short to compare samples after warm-up ({warm_up:?})"),
    }
}

/// Samples VmRSS until told to stop, printing each one as it is taken.
fn sample_rss(stopped: &mpsc::Receiver<()>) -> Vec<(Duration, u64)> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SAMPLE_EVERY) {
        let at = started.elapsed();
        let kib = vm_rss_kib();
        println!("  {:>5} s  VmRSS {kib:>8} KiB", at.as_secs());
        samples.push((at, kib));
    }
    samples
}

/// This process's resident memory, read through the load generator's own `/proc` probe.
fn vm_rss_kib() -> u64 {
    let sample = ProcessSample::read(std::process::id()).expect("/proc/self");
    sample.rss_bytes / 1024
}
