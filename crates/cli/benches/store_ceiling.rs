//! authbench's store ceiling against redis-benchmark on the same throwaway Redis, at the same
//! connection count and requests in flight (`redis-benchmark -t get -c N -P 32`), in alternating
//! turns: the ceiling must land within 20% of it, or the run's "share of the ceiling" figures
//! would rest on a ceiling of the load generator's making. Run with
//! `cargo bench -p authbench-cli --bench store_ceiling` (or `scripts/bench.sh store`).

use std::process::Command;
use std::time::Duration;

use authbench_loadgen::probe::StoreProbe;
use authbench_loadgen::probe::ceiling::{self, IN_FLIGHT};
use authbench_testkit::redis::RedisServer;

const TURNS: usize = 3;

fn redis_benchmark(port: u16, connections: u32) -> f64 {
    let output = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-t", "get", "-n", "1000000", "-q"])
        .args(["-c", &connections.to_string(), "-P", &IN_FLIGHT.to_string()])
        .output()
        .expect("redis-benchmark (Debian's redis-tools; scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split(['\r', '\n'])
        .rev()
        .filter_map(|line| line.trim().strip_prefix("GET: "))
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no GET figure from redis-benchmark: {text}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let probe = runtime
        .block_on(StoreProbe::connect(&redis.url()))
        .expect("probe");
    println!(
        "Redis GET, {IN_FLIGHT} in flight per connection, {TURNS} alternating turns; ratio: \
         authbench's ceiling over redis-benchmark's, median of the turns"
    );
    println!(
        "{:>11} {:>16} {:>16} {:>6} {:>12}",
        "connections", "ceiling ops/s", "redis-bench/s", "ratio", "store cores"
    );
    for connections in [1, 2, 4] {
        let (mut ours, mut theirs, mut ratios, mut cores) = (vec![], vec![], vec![], vec![]);
        for _ in 0..TURNS {
            let found = runtime
                .block_on(ceiling::measure(
                    &probe,
                    &redis.url(),
                    connections,
                    Duration::from_secs(3),
                    ceiling::Lookup::Session,
                ))
                .expect("a ceiling");
            let benchmark = redis_benchmark(redis.port(), connections);
            ratios.push(found.operations_per_second / benchmark);
            ours.push(found.operations_per_second);
            theirs.push(benchmark);
            cores.push(found.cpu_cores.unwrap_or(f64::NAN));
        }
        println!(
            "{connections:>11} {:>16.0} {:>16.0} {:>6.2} {:>12.2}",
            median(ours),
            median(theirs),
            median(ratios),
            median(cores)
        );
    }
}
