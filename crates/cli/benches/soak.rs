//! The soak benchmark: `authbench run scenarios/soak.toml` (session server on Redis, JWT server
//! with a denylist on Redis; logins, refreshes and logouts under steady load), then each
//! system's drift from its first repeats to its last, checked against the limits below.
//!
//! `cargo bench -p authbench-cli --bench soak` runs 3 one-minute repeats per system (about 7
//! minutes); `SOAK_REPEATS=60` makes it an hour per system, the real soak. Exits non-zero,
//! naming the figure, when a limit is passed. The run's folder (report.json, report.html with
//! its Drift section) is kept under `target/soak/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use authbench_report::drift::{self, Drift};
use authbench_report::format::{bytes, count, micros};
use authbench_report::model::Operation;
use support::env_or;

const BINARY: &str = env!("CARGO_BIN_EXE_authbench");

/// Memory may settle upward (allocator pools, connection buffers, histograms sized to the
/// latencies seen) but not keep growing: at most this share above the first window...
const RSS_GROWTH: f64 = 0.25;
/// ...plus this much, for a server whose first window was small.
const RSS_SLACK_BYTES: u64 = 16 << 20;
/// Connections are the load generator's, opened once per VU: descriptors must not climb.
const FDS_SLACK: u64 = 8;
/// Keys level off once entries expire as fast as they are made (sessions are deleted at logout,
/// denylist entries expire with the 1-minute access tokens): at most this share above the first
/// window, plus `KEYS_SLACK` for a rate that wobbles.
const KEYS_GROWTH: f64 = 0.25;
const KEYS_SLACK: u64 = 200;
/// The p99 may wander on a shared machine, not double.
const P99_GROWTH: f64 = 2.0;
const P99_SLACK_US: u64 = 1_000;

fn main() {
    let repeats: u32 = env_or("SOAK_REPEATS", 3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let results = target_dir(&root).join("soak");
    let status = Command::new(BINARY)
        .current_dir(&root)
        .args([
            "run",
            "scenarios/soak.toml",
            "--repeats",
            &repeats.to_string(),
            "--results",
        ])
        .arg(&results)
        .stdin(Stdio::null())
        .status()
        .expect("start authbench run");
    assert!(
        status.success(),
        "authbench run scenarios/soak.toml failed ({status})"
    );
    let run = newest_run(&results);
    let report = authbench_report::read(&run.join("report.json")).expect("report.json");
    println!(
        "\nsoak: {} ({} repeats of {} s per system)",
        run.display(),
        repeats,
        report.scenario.step_duration_s
    );
    let mut failures = Vec::new();
    for result in report.steps.iter().flat_map(|step| &step.results) {
        let Some(drift) = drift::of(result, Operation::Balance) else {
            failures.push(format!(
                "{}: fewer than 3 repeats, no drift to judge",
                result.system
            ));
            continue;
        };
        print(&result.system, &drift, result.errors);
        failures.extend(check(&result.system, &drift, result.errors));
    }
    if !failures.is_empty() {
        eprintln!("\nsoak limits passed:");
        for failure in &failures {
            eprintln!("  {failure}");
        }
        std::process::exit(1);
    }
    println!("every figure within its limit");
}

fn print(system: &str, drift: &Drift, errors: u64) {
    let pair = |first: String, last: String| format!("{first} -> {last}");
    println!(
        "  {system}: windows of {} repeat(s), {} errors",
        drift.window_repeats,
        count(errors)
    );
    println!(
        "    balance p50   {}",
        pair(
            micros(drift.p50_us.first as f64),
            micros(drift.p50_us.last as f64)
        )
    );
    println!(
        "    balance p99   {}",
        pair(
            micros(drift.p99_us.first as f64),
            micros(drift.p99_us.last as f64)
        )
    );
    if let Some(rss) = drift.server_rss_bytes {
        println!(
            "    server RSS    {}",
            pair(bytes(rss.first as f64), bytes(rss.last as f64))
        );
    }
    if let Some(fds) = drift.server_open_fds {
        println!(
            "    open fds      {}",
            pair(count(fds.first), count(fds.last))
        );
    }
    if let Some(keys) = drift.store_keys {
        println!(
            "    store keys    {} (max {})",
            pair(count(keys.first), count(keys.last)),
            count(drift.store_keys_max.unwrap_or(0))
        );
    }
}

fn check(system: &str, drift: &Drift, errors: u64) -> Vec<String> {
    let mut failures = Vec::new();
    let mut limit = |what: &str, last: u64, bound: f64| {
        if last as f64 > bound {
            failures.push(format!(
                "{system}: {what} ended at {last}, above its limit {bound:.0}"
            ));
        }
    };
    if let Some(rss) = drift.server_rss_bytes {
        limit(
            "server RSS (bytes)",
            rss.last,
            rss.first as f64 * (1.0 + RSS_GROWTH) + RSS_SLACK_BYTES as f64,
        );
    }
    if let Some(fds) = drift.server_open_fds {
        limit("open fds", fds.last, (fds.first + FDS_SLACK) as f64);
    }
    if let Some(keys) = drift.store_keys {
        limit(
            "store keys",
            keys.last,
            keys.first as f64 * (1.0 + KEYS_GROWTH) + KEYS_SLACK as f64,
        );
    }
    limit(
        "balance p99 (µs)",
        drift.p99_us.last,
        drift.p99_us.first as f64 * P99_GROWTH + P99_SLACK_US as f64,
    );
    if errors > 0 {
        failures.push(format!("{system}: {errors} requests failed"));
    }
    failures
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn newest_run(results: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(results)
        .expect("the results folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("report.json").is_file())
        .collect();
    runs.sort();
    runs.pop().expect("a run folder with a report.json")
}
