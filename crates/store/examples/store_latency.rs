//! Measures `Store::load` latency at one connection on every backend, side by side with the
//! servers' own benchmark tools against the same server (`redis-benchmark -t get`,
//! `pgbench -S -M prepared`), so the store's overhead over a bare round trip shows as a ratio.
//!
//! ```text
//! cargo run --release -p authbench-store --example store_latency
//! ```
//!
//! Uses `REDIS_URL` / `PG_URL` where set, else throwaway servers from authbench-testkit.
//! `LOADS` sets how many loads each loop measures (default 20000).

use std::num::NonZeroU32;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use authbench_contract::StoreUrl;
use authbench_store::{Namespace, Options, Record, Store, StoreMetrics, now_millis};
use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;

const WARM_UP: usize = 2_000;
/// Ours and the reference tool take turns this many times.
const ROUNDS: usize = 5;

/// Latencies of one measured loop, in microseconds.
struct Latency {
    mean: f64,
    p50: f64,
    p99: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let at = |q: f64| micros(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        let total: Duration = samples.iter().sum();
        Latency {
            mean: micros(total) / samples.len() as f64,
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// One line of the report: ours, and the reference tool's mean where there is one.
struct Row {
    backend: &'static str,
    ours: Latency,
    reference: Option<(&'static str, f64)>,
    target: Option<f64>,
}

async fn open(url: &StoreUrl) -> Result<Store, String> {
    let options = Options {
        // One connection, like the reference tools' `-c 1`.
        connections: NonZeroU32::MIN,
        op_timeout: Duration::from_secs(5),
        ..Options::new(Namespace::Sessions)
    };
    Store::open(url, options, &StoreMetrics::default())
        .await
        .map_err(|error| format!("opening {url}: {error}"))
}

/// Creates the record the loops load.
async fn seed(store: &Store) -> Result<String, String> {
    let now = now_millis();
    let record = Record {
        id: "bench-session-0123456789abcdef".into(),
        user: "bench-user".into(),
        created: now,
        expires: now + 3_600_000,
        data: "Mozilla/5.0 (X11; Linux x86_64)".into(),
    };
    store
        .create(&record, None)
        .await
        .map_err(|error| format!("create: {error}"))?;
    Ok(record.id.to_string())
}

/// Loads the record `loads` times in a row, appending each latency to `samples`. Runs as a
/// spawned task, as a request handler in the server does, so that it shares a worker thread
/// with the connection's driver task instead of waking it on another thread.
async fn load_loop(store: &Store, id: &str, loads: usize) -> Result<Vec<Duration>, String> {
    let (store, id) = (store.clone(), id.to_owned());
    let task = tokio::spawn(async move {
        let mut samples = Vec::with_capacity(loads);
        for _ in 0..loads {
            let started = Instant::now();
            let loaded = store.load(&id).await;
            samples.push(started.elapsed());
            match loaded {
                Ok(Some(_)) => {}
                Ok(None) => return Err("the benchmark record vanished".to_owned()),
                Err(error) => return Err(format!("load: {error}")),
            }
        }
        Ok(samples)
    });
    task.await.map_err(|error| format!("load loop: {error}"))?
}

/// Alternates our loop with the reference tool's run for `ROUNDS` rounds, so that drift in
/// the machine's load hits both alike; returns our latencies and the tool's mean (µs).
async fn side_by_side(
    store: &Store,
    loads: usize,
    mut reference: impl FnMut(usize) -> Result<f64, String>,
) -> Result<(Latency, Option<f64>), String> {
    let id = seed(store).await?;
    load_loop(store, &id, WARM_UP).await?;
    let per_round = loads.div_ceil(ROUNDS);
    let (mut samples, mut theirs) = (Vec::with_capacity(loads), Vec::new());
    for _ in 0..ROUNDS {
        samples.extend(load_loop(store, &id, per_round).await?);
        theirs.push(reference(per_round)?);
    }
    let theirs = (!theirs.is_empty() && theirs.iter().all(|mean| mean.is_finite()))
        .then(|| theirs.iter().sum::<f64>() / theirs.len() as f64);
    Ok((Latency::of(samples), theirs))
}

/// Runs a tool and returns its stdout, or why it could not.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("running {program}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `host` and `port` of `redis://[user:pass@]host:port[/db]`.
fn redis_host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.to_owned()),
        None => (host_port.to_owned(), "6379".to_owned()),
    }
}

/// redis-benchmark's mean GET latency in µs, from its `--csv` output.
fn redis_benchmark(url: &str, loads: usize) -> Result<f64, String> {
    let (host, port) = redis_host_port(url);
    let n = loads.to_string();
    let csv = run(
        "redis-benchmark",
        &[
            "-h", &host, "-p", &port, "-c", "1", "-n", &n, "-t", "get", "--csv",
        ],
    )?;
    // "test","rps","avg_latency_ms",...  then  "GET","45248.87","0.022",...
    let unquote = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|field| field.trim().trim_matches('"').to_owned())
            .collect()
    };
    let mut lines = csv.lines().filter(|line| !line.trim().is_empty());
    let header = unquote(lines.next().ok_or("redis-benchmark printed nothing")?);
    let column = header
        .iter()
        .position(|name| name == "avg_latency_ms")
        .ok_or_else(|| format!("no avg_latency_ms column in {csv:?}"))?;
    let get = lines
        .map(unquote)
        .find(|row| row.first().is_some_and(|t| t == "GET"));
    let millis: f64 = get
        .and_then(|row| row.get(column)?.parse().ok())
        .ok_or_else(|| format!("no GET latency in {csv:?}"))?;
    Ok(millis * 1000.0)
}

/// pgbench's select-only, prepared, one-client mean latency in µs over `seconds`.
fn pgbench(url: &str, seconds: usize) -> Result<f64, String> {
    let seconds = seconds.to_string();
    let report = run(
        "pgbench",
        &["-S", "-M", "prepared", "-c", "1", "-T", &seconds, url],
    )?;
    // "latency average = 0.045 ms"
    report
        .lines()
        .find_map(|line| {
            line.strip_prefix("latency average = ")?
                .strip_suffix(" ms")?
                .parse()
                .ok()
        })
        .map(|millis: f64| millis * 1000.0)
        .ok_or_else(|| format!("no latency average in {report:?}"))
}

fn print(rows: &[Row], loads: usize) {
    println!(
        "Store::load at one connection: {loads} sequential loads after {WARM_UP} warm-up, \
         in {ROUNDS} rounds taking turns with the reference tool (µs)"
    );
    println!(
        "{:<9} {:>9} {:>9} {:>9}   {:<20} {:>9} {:>7} {:>7}",
        "backend", "mean", "p50", "p99", "reference", "mean", "ratio", "target"
    );
    for row in rows {
        let Latency { mean, p50, p99 } = row.ours;
        print!("{:<9} {mean:>9.1} {p50:>9.1} {p99:>9.1}", row.backend);
        match row.reference {
            Some((tool, theirs)) => {
                let ratio = mean / theirs;
                let target = row.target.map_or(String::new(), |target| {
                    format!(
                        "≤{target} {}",
                        if ratio <= target { "met" } else { "MISSED" }
                    )
                });
                println!("   {tool:<20} {theirs:>9.1} {ratio:>7.2} {target:>7}");
            }
            None => println!(),
        }
    }
}

async fn bench(loads: usize) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();

    let redis_server;
    let redis_url = match std::env::var("REDIS_URL") {
        Ok(url) => url,
        Err(_) => {
            redis_server = RedisServer::start();
            redis_server.url()
        }
    };
    let store = open(&StoreUrl::Redis(redis_url.clone())).await?;
    let (ours, theirs) = side_by_side(&store, loads, |n| redis_benchmark(&redis_url, n)).await?;
    rows.push(Row {
        backend: "redis",
        ours,
        reference: theirs.map(|theirs| ("redis-benchmark get", theirs)),
        target: Some(1.3),
    });

    let pg_url = match std::env::var("PG_URL") {
        Ok(url) => url,
        Err(_) => PostgresServer::shared().fresh_database(),
    };
    run("pgbench", &["-i", "-s", "1", "-q", &pg_url])?;
    let store = open(&StoreUrl::Postgres(pg_url.clone())).await?;
    // pgbench's 10 s, split over the rounds.
    let (ours, theirs) = side_by_side(&store, loads, |_| pgbench(&pg_url, 10 / ROUNDS)).await?;
    rows.push(Row {
        backend: "postgres",
        ours,
        reference: theirs.map(|theirs| ("pgbench -S prepared", theirs)),
        target: Some(1.5),
    });

    let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    for url in [StoreUrl::Sqlite(sqlite_url), StoreUrl::Memory] {
        let store = open(&url).await?;
        let (ours, _) = side_by_side(&store, loads, |_| Ok(f64::NAN)).await?;
        rows.push(Row {
            backend: store.kind().as_str(),
            ours,
            reference: None,
            target: None,
        });
    }
    Ok(rows)
}

#[tokio::main]
async fn main() -> ExitCode {
    let loads = std::env::var("LOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    match bench(loads).await {
        Ok(rows) => {
            print(&rows, loads);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("store_latency: {error}");
            ExitCode::FAILURE
        }
    }
}
