//! The probes against real servers: a throwaway Redis and PostgreSQL, child processes, and an
//! HTTP server that serves Prometheus text.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authbench_contract::error::Chain;
use authbench_loadgen::probe::{
    self, Error, MetricsProbe, PostgresProbe, ProcessSample, RedisProbe, StoreLoad, StoreProbe,
    ceiling::{self, Lookup},
    key_sample,
};
use authbench_loadgen::scenario::RequestCounter;
use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::{RedisCluster, RedisServer};
use tokio_postgres::NoTls;

/// How fast a probe must give up on a server that is not there.
const GIVE_UP_WITHIN: Duration = Duration::from_secs(3);

/// A 127.0.0.1 port that nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn redis_delta_counts_other_clients_commands_but_not_its_own_info() {
    let server = RedisServer::start();
    let probe = RedisProbe::connect(&server.url())
        .await
        .expect("probe connects");
    let client = redis::Client::open(server.url()).expect("client");
    let mut other = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");

    let start = probe.sample().await.expect("first sample");
    const N: u64 = 50;
    for i in 0..N {
        let () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query_async(&mut other)
            .await
            .expect("SET");
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("key:{i}"))
            .query_async(&mut other)
            .await
            .expect("GET");
    }
    let middle = probe.sample().await.expect("a sample in between");
    let end = probe.sample().await.expect("last sample");

    let load = start.delta(&end);
    assert!(load.calls.get("set").is_some_and(|&n| n >= N), "{load:?}");
    assert!(load.calls.get("get").is_some_and(|&n| n >= N), "{load:?}");
    assert!(!load.calls.contains_key("info"), "{load:?}");
    assert!(load.total_calls >= 2 * N);
    assert_eq!(load.script_calls, 0);
    assert_eq!(load.keys_change, 50);
    assert!(load.cpu_seconds() >= 0.0);
    assert!(!load.restarted);
    assert_eq!(end.process_id, start.process_id);
    // Only the probe's own INFO ran between these two.
    assert_eq!(middle.delta(&end).total_calls, 0);
}

#[tokio::test]
async fn redis_scripts_count_once_as_scripts_and_again_for_what_they_run() {
    let server = RedisServer::start();
    let probe = StoreProbe::connect(&server.url())
        .await
        .expect("probe connects");
    let client = redis::Client::open(server.url()).expect("client");
    let mut other = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let script =
        redis::Script::new("redis.call('SET', KEYS[1], 'v'); return redis.call('GET', KEYS[1])");

    let start = probe.sample().await.expect("first sample");
    for i in 0..10 {
        let _: String = script
            .key(format!("k{i}"))
            .invoke_async(&mut other)
            .await
            .expect("script");
    }
    let end = probe.sample().await.expect("last sample");
    let Some(StoreLoad::Redis(load)) = start.delta(&end) else {
        panic!("a Redis probe gives a Redis load");
    };
    // The client's first EVALSHA of a script fails (NOSCRIPT) before it loads the script.
    assert_eq!(load.script_calls - load.failed_calls, 10, "{load:?}");
    assert_eq!(load.calls.get("set"), Some(&10), "{load:?}");
    assert_eq!(load.keys_change, 10);
}

#[tokio::test]
async fn postgres_delta_counts_other_clients_transactions_and_server_cpu() {
    let url = PostgresServer::shared().fresh_database();
    let probe = PostgresProbe::connect(&url).await.expect("probe connects");
    assert!(probe.is_local());
    let client = postgres_client(&url).await;

    let start = probe.sample().await.expect("first sample");
    assert_eq!(start.relation_bytes, 0, "no store table exists yet");
    assert_eq!(
        start.statements, None,
        "pg_stat_statements is not installed"
    );
    assert!(
        start.cpu.is_some_and(|cpu| cpu > Duration::ZERO),
        "{start:?}"
    );

    const N: u64 = 30;
    for _ in 0..N {
        client.simple_query("SELECT 1").await.expect("query");
    }
    client
        .batch_execute(
            r#"CREATE TABLE sessions (
                id TEXT COLLATE "C" PRIMARY KEY,
                username TEXT COLLATE "C" NOT NULL,
                created BIGINT NOT NULL,
                expires BIGINT NOT NULL,
                data TEXT NOT NULL);
            CREATE INDEX sessions_username_created ON sessions (username, created);
            CREATE INDEX sessions_expires ON sessions (expires);
            INSERT INTO sessions
                SELECT 'id' || i, 'user' || (i % 10), i, i + 1000, repeat('x', 100)
                FROM generate_series(1, 1000) AS i;"#,
        )
        .await
        .expect("create and fill the sessions table");
    // Publishes this backend's counters now instead of within the next second (PostgreSQL 15+).
    client
        .simple_query("SELECT pg_stat_force_next_flush()")
        .await
        .expect("flush");

    let end = probe.sample().await.expect("last sample");
    let load = start.delta(&end);
    assert!(load.xact_commit >= N, "{load:?}");
    assert!(load.tup_inserted >= 1000, "{load:?}");
    assert!(load.relation_bytes > 0, "{load:?}");
    assert!(end.relation_bytes > 100_000, "{end:?}");
    assert!(load.cpu.is_some(), "{load:?}");
    assert_eq!(load.statements, None);
    assert_eq!(load.statement_time, None);

    // The probe's own transactions are taken out: nothing else ran between these two.
    let again = probe.sample().await.expect("another sample");
    let quiet = end.delta(&again);
    assert_eq!(
        again.xact_commit - end.xact_commit,
        1,
        "the raw counter shows the probe's"
    );
    assert_eq!(
        (quiet.xact_commit, quiet.xact_rollback),
        (0, 0),
        "{quiet:?}"
    );
}

#[tokio::test]
async fn postgres_statements_come_from_pg_stat_statements_only_when_it_works() {
    let mut server = PostgresServer::start();
    let url = server.admin_url();
    // Installed but not preloaded: the view refuses to answer, and the probe goes on without it.
    server.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    let probe = PostgresProbe::connect(&url).await.expect("probe connects");
    assert_eq!(probe.sample().await.expect("sample").statements, None);
    drop(probe);

    server.psql(
        "postgres",
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
    );
    server.restart();
    let probe = PostgresProbe::connect(&url).await.expect("probe connects");
    let client = postgres_client(&url).await;
    let start = probe.sample().await.expect("first sample");
    const N: u64 = 25;
    for _ in 0..N {
        client.simple_query("SELECT 1").await.expect("query");
    }
    let end = probe.sample().await.expect("last sample");
    let load = start.delta(&end);
    assert!(load.statements.is_some_and(|n| n >= N), "{load:?}");
    assert!(load.statement_time.is_some(), "{load:?}");

    let again = probe.sample().await.expect("another sample");
    assert_eq!(
        end.delta(&again).statements,
        Some(0),
        "the probe's own are taken out"
    );
}

/// The statements a system ran during a window, from `pg_stat_statements`, by their normalized
/// text; without the extension loaded, a clear error.
#[tokio::test]
async fn postgres_statement_sample_names_what_ran_in_the_window() {
    let mut server = PostgresServer::start();
    let url = server.admin_url();
    let missing = key_sample::postgres(&url, Duration::from_millis(10))
        .await
        .expect_err("no pg_stat_statements yet");
    assert!(
        Chain(&missing).to_string().contains("pg_stat_statements"),
        "{}",
        Chain(&missing)
    );
    server.psql(
        "postgres",
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
    );
    server.restart();
    server.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    let client = postgres_client(&url).await;
    client
        .batch_execute("CREATE TABLE app_sessions (id text PRIMARY KEY, owner text)")
        .await
        .expect("table");
    let sample = key_sample::postgres(&url, Duration::from_millis(700));
    let work = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for n in 0..20 {
            client
                .query(
                    "SELECT owner FROM app_sessions WHERE id = $1",
                    &[&format!("s{n}")],
                )
                .await
                .expect("select");
        }
    };
    let (sample, ()) = tokio::join!(sample, work);
    let sample = sample.expect("a sample");
    assert_eq!(sample.source, "pg_stat_statements");
    let read = sample
        .patterns
        .iter()
        .find(|p| p.key_pattern.contains("app_sessions"))
        .unwrap_or_else(|| panic!("{sample:?}"));
    assert_eq!(read.command, "select");
    assert_eq!(read.count, 20, "{sample:?}");
    assert_eq!(
        read.key_pattern,
        "SELECT owner FROM app_sessions WHERE id = $1"
    );
}

/// Redis's `MONITOR` shows the commands other clients send in the window, keys as patterns.
#[tokio::test]
async fn redis_command_sample_names_commands_and_key_patterns() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let url = server.url();
    let sample = key_sample::redis(&url, Duration::from_millis(600));
    let work = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        for n in 0..30 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("app:session:{n:032}"))
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    };
    let (sample, ()) = tokio::join!(sample, work);
    let sample = sample.expect("a sample");
    let first = &sample.patterns[0];
    assert_eq!(
        (
            first.command.as_str(),
            first.key_pattern.as_str(),
            first.count
        ),
        ("get", "app:session:*", 30),
        "{sample:?}"
    );
}

#[tokio::test]
async fn process_cpu_grows_for_a_busy_child() {
    let mut child = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn a busy loop");
    let pid = child.id();
    let start = ProcessSample::read(pid).expect("first sample");
    std::thread::sleep(Duration::from_millis(300));
    let end = ProcessSample::read(pid).expect("last sample");
    let total = probe::total_cpu([pid, std::process::id()]).expect("total");
    child.kill().expect("kill");
    child.wait().expect("reap");

    let load = start.delta(&end);
    assert!(load.cpu > Duration::ZERO, "{load:?}");
    assert!(load.busy_cores(Duration::from_millis(300)) > 0.0);
    assert!(total >= end.cpu);
    assert!(!load.allowed_cores.is_empty());
    // Gone now: it counts as nothing rather than failing the sum.
    assert_eq!(probe::total_cpu([pid]).expect("total"), Duration::ZERO);
}

#[test]
fn own_process_has_memory_cores_and_a_resettable_peak() {
    let pid = std::process::id();
    let sample = ProcessSample::read(pid).expect("sample");
    assert!(sample.rss_bytes > 0);
    assert!(sample.peak_rss_bytes >= sample.rss_bytes);
    assert!(!sample.allowed_cores.is_empty());

    probe::reset_peak_rss(pid).expect("a process may reset its own peak");
    let after = ProcessSample::read(pid).expect("sample");
    assert!(after.peak_rss_bytes >= after.rss_bytes);

    // PIDs never go this high (the kernel's limit is 2^22).
    let gone = 4_000_000_000;
    assert!(matches!(ProcessSample::read(gone), Err(Error::Proc { .. })));
    assert!(matches!(
        probe::reset_peak_rss(gone),
        Err(Error::ResetPeak { .. })
    ));
}

#[tokio::test]
async fn metrics_probe_reads_a_servers_scrape() {
    const SCRAPE: &str = "# HELP authbench_http_requests HTTP requests.\n\
        # TYPE authbench_http_requests counter\n\
        authbench_http_requests_total{route=\"/login\",method=\"POST\",status=\"200\"} 7\n\
        # HELP authbench_store_operations Store operations.\n\
        # TYPE authbench_store_operations counter\n\
        authbench_store_operations_total{backend=\"redis\",namespace=\"sessions\",op=\"create\",outcome=\"ok\"} 7\n\
        # EOF\n";
    let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { SCRAPE }));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let probe =
        MetricsProbe::new(&format!("http://{addr}"), &RequestCounter::reference()).expect("probe");
    let sample = probe.sample().await.expect("scrape");
    assert_eq!(sample.requests.len(), 1);
    assert_eq!(sample.requests[0].requests, 7);
    assert_eq!(sample.store_operations[0].operations, 7);
    assert_eq!(sample.delta(&sample).total_requests, 0);

    let missing = MetricsProbe::new(
        &format!("http://{addr}/nothing/metrics"),
        &RequestCounter::reference(),
    )
    .expect("probe");
    let error = missing.sample().await.expect_err("404");
    assert!(
        matches!(error, Error::MetricsStatus { status: 404, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn probes_give_up_quickly_on_servers_that_are_not_there() {
    let port = closed_port();
    let started = Instant::now();
    let error = RedisProbe::connect(&format!("redis://probe:hunter2@127.0.0.1:{port}"))
        .await
        .expect_err("nothing listens");
    let message = error.to_string();
    assert!(
        message.contains("cannot reach Redis at redis://probe:***@127.0.0.1"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let url = format!("postgres://postgres:hunter2@127.0.0.1:{port}/db");
    let error = PostgresProbe::connect(&url)
        .await
        .expect_err("nothing listens");
    let message = error.to_string();
    assert!(
        message.contains("PostgreSQL at postgres://postgres:***@"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let probe = MetricsProbe::new(
        &format!("http://127.0.0.1:{port}"),
        &RequestCounter::reference(),
    )
    .expect("probe");
    let error = probe.sample().await.expect_err("nothing listens");
    assert!(
        error
            .to_string()
            .contains("cannot fetch metrics from http://127.0.0.1")
    );
    assert!(
        started.elapsed() < GIVE_UP_WITHIN,
        "{:?}",
        started.elapsed()
    );

    // An address that drops packets: only the connect timeout ends the wait.
    let started = Instant::now();
    let blackhole = "redis://192.0.2.1:6379";
    assert!(RedisProbe::connect(blackhole).await.is_err());
    assert!(
        started.elapsed() < GIVE_UP_WITHIN,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn store_probe_picks_by_scheme_and_refuses_in_process_stores() {
    for url in ["sqlite://state.db", "memory://", "mysql://u:secret@h/db"] {
        let error = StoreProbe::connect(url)
            .await
            .expect_err("not a probed store");
        assert!(matches!(error, Error::UnsupportedStore { .. }), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    let url = PostgresServer::shared().fresh_database();
    let probe = StoreProbe::connect(&url).await.expect("connects");
    assert!(matches!(probe, StoreProbe::Postgres(_)));
    let start = probe.sample().await.expect("sample");
    let end = probe.sample().await.expect("sample");
    let load = start.delta(&end).expect("same kind");
    assert!(matches!(load, StoreLoad::Postgres(_)));
    assert!(load.cpu().is_some());
    let json = serde_json::to_value(&load).expect("serializes");
    assert_eq!(json["store"], "postgres");
}

#[tokio::test]
async fn store_probes_report_the_version_the_servers_themselves_give() {
    let redis = RedisServer::start();
    let probe = StoreProbe::connect(&redis.url())
        .await
        .expect("Redis probe connects");
    // `redis-server --version` prints `Redis server v=7.0.15 sha=...`.
    let binary = Command::new("redis-server")
        .arg("--version")
        .output()
        .expect("redis-server --version");
    let text = String::from_utf8_lossy(&binary.stdout).into_owned();
    let version = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix("v="))
        .unwrap_or_else(|| panic!("no v= in {text:?}"));
    assert_eq!(probe.version(), format!("Redis {version}"));

    let postgres = PostgresServer::start();
    let url = postgres.fresh_database();
    let probe = StoreProbe::connect(&url)
        .await
        .expect("PostgreSQL probe connects");
    let shown = postgres.psql("postgres", "SHOW server_version");
    assert_eq!(probe.version(), format!("PostgreSQL {}", shown.trim()));
}

/// `requests per second` from `redis-benchmark -q` output (`GET: 123456.79 requests per second`).
fn redis_benchmark_get(port: u16, clients: u32, pipeline: u32) -> f64 {
    let output = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-t", "get", "-n", "200000", "-q"])
        .args(["-c", &clients.to_string(), "-P", &pipeline.to_string()])
        .output()
        .unwrap_or_else(|error| {
            panic!("redis-benchmark not found ({error}): install Debian's redis-tools package")
        });
    let text = String::from_utf8_lossy(&output.stdout);
    text.split(['\r', '\n'])
        .rev()
        .filter_map(|line| line.trim().strip_prefix("GET: "))
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no GET figure in redis-benchmark's output: {text}"))
}

/// The store's ceiling for `lookup` over one connection, through a probe of its own.
async fn ceiling_of(url: &str, duration: Duration, lookup: Lookup) -> ceiling::Ceiling {
    let probe = StoreProbe::connect(url).await.expect("probe");
    ceiling::measure(&probe, url, 1, duration, lookup)
        .await
        .expect("a ceiling")
}

/// The ceiling saturates the store: on the same server, at the same connection count and
/// requests in flight, it lands near redis-benchmark (a generous bound here, on a shared
/// machine; `scripts/bench.sh store` prints the tight figure) and reports the store's CPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_ceiling_lands_near_redis_benchmark() {
    let redis = RedisServer::start();
    let ours = ceiling_of(&redis.url(), Duration::from_secs(2), Lookup::Session).await;
    let theirs = redis_benchmark_get(redis.port(), 1, ceiling::IN_FLIGHT as u32);
    let ratio = ours.operations_per_second / theirs;
    eprintln!(
        "ceiling {:.0} lookups/s at {:?} cores; redis-benchmark -c 1 -P {} GET: {theirs:.0}/s; \
         ratio {ratio:.2}",
        ours.operations_per_second,
        ours.cpu_cores,
        ceiling::IN_FLIGHT
    );
    assert!(
        ratio > 0.3,
        "ceiling {:.0}/s against redis-benchmark's {theirs:.0}/s",
        ours.operations_per_second
    );
    let cores = ours.cpu_cores.expect("Redis reports its CPU");
    assert!(cores > 0.2, "a saturated Redis is busy: {cores:.2} cores");
    assert_eq!(ours.command, "GET <session key>");
}

/// A revocation check of a token nobody revoked finds nothing: its ceiling measures that miss,
/// on Redis and on PostgreSQL, and leaves no key behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocation_ceiling_measures_a_lookup_that_finds_nothing() {
    let redis = RedisServer::start();
    let found = ceiling_of(&redis.url(), Duration::from_millis(500), Lookup::Revocation).await;
    assert!(found.operations_per_second > 1_000.0, "{found:?}");
    assert!(found.command.contains("a token not revoked"), "{found:?}");
    let client = redis::Client::open(redis.url()).expect("url");
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: u64 = redis::cmd("DBSIZE")
        .query_async(&mut admin)
        .await
        .expect("DBSIZE");
    assert_eq!(keys, 0, "the ceiling leaves nothing in the store");

    let url = PostgresServer::shared().fresh_database();
    let found = ceiling_of(&url, Duration::from_millis(500), Lookup::Revocation).await;
    assert!(found.operations_per_second > 500.0, "{found:?}");
    assert!(found.command.contains("no row"), "{found:?}");
}

/// A Redis that asks for a password (and a database other than 0 in the URL) is measured as the
/// servers reach it: each raw connection authenticates and selects first; a wrong password is
/// an error that names the refused command and not the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_ceiling_authenticates_like_the_servers() {
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).expect("url");
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "ceiling-secret"])
        .query_async(&mut admin)
        .await
        .expect("set a password");
    let url = format!("redis://:ceiling-secret@127.0.0.1:{}/3", redis.port());
    let probe = StoreProbe::connect(&url).await.expect("probe");
    let found = ceiling::measure(&probe, &url, 1, Duration::from_millis(500), Lookup::Session)
        .await
        .expect("a ceiling behind a password");
    assert!(found.operations_per_second > 1_000.0, "{found:?}");

    let wrong = format!("redis://:not-it@127.0.0.1:{}/3", redis.port());
    let error = ceiling::measure(
        &probe,
        &wrong,
        1,
        Duration::from_millis(500),
        Lookup::Session,
    )
    .await
    .expect_err("a wrong password is refused");
    let text = Chain(&error).to_string();
    assert!(!text.contains("not-it"), "the password leaked: {text}");
}

/// The PostgreSQL ceiling runs the session select on temporary tables: it measures a rate and
/// the server's CPU, and leaves nothing behind in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_ceiling_measures_the_session_select_and_leaves_nothing() {
    let postgres = PostgresServer::shared();
    let url = postgres.fresh_database();
    let probe = StoreProbe::connect(&url).await.expect("probe");
    let found = ceiling::measure(&probe, &url, 2, Duration::from_secs(1), Lookup::Session)
        .await
        .expect("a ceiling");
    assert!(
        found.operations_per_second > 1_000.0,
        "{:.0} selects/s",
        found.operations_per_second
    );
    assert!(
        found
            .command
            .starts_with("SELECT username, created, expires, data")
    );
    assert!(
        found.cpu_cores.is_some_and(|cores| cores > 0.0),
        "{found:?}"
    );
    let left = postgres.psql(
        &url,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'authbench_ceiling'",
    );
    assert_eq!(left, "0");
}

/// A cluster's probe reads every master: the load is the sum of the nodes', each node's share
/// kept, and the commands a cluster client spread over the shards all counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_probe_sums_every_master_and_keeps_each_nodes_share() {
    let cluster = RedisCluster::start(3);
    let probe = StoreProbe::connect(&cluster.url()).await.expect("probe");
    assert!(
        probe.version().contains("cluster of 3 masters"),
        "{}",
        probe.version()
    );
    let nodes: Vec<String> = cluster
        .addresses()
        .iter()
        .map(|address| format!("redis://{address}"))
        .collect();
    let client = redis::cluster::ClusterClient::new(nodes).expect("cluster client");
    let mut connection = client.get_async_connection().await.expect("connect");

    let start = probe.sample().await.expect("first sample");
    const N: u64 = 300;
    for i in 0..N {
        let () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query_async(&mut connection)
            .await
            .expect("SET");
    }
    let end = probe.sample().await.expect("second sample");
    let Some(StoreLoad::Redis(load)) = start.delta(&end) else {
        panic!("a Redis load from a cluster probe");
    };
    assert_eq!(load.calls.get("set"), Some(&N));
    assert_eq!(load.nodes.len(), 3);
    let by_node: u64 = load.nodes.iter().map(|node| node.total_calls).sum();
    assert_eq!(by_node, load.total_calls);
    for node in &load.nodes {
        assert!(
            node.total_calls >= N / 10,
            "{node:?} took almost none of {N} SETs"
        );
    }
    assert_eq!(load.nodes.iter().map(|node| node.keys).sum::<u64>(), N);
}

/// The cluster's ceiling saturates every master with a key of its own (no redirect: a wrong
/// one would fail the raw reply check), and leaves no key on any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_ceiling_reaches_every_master_and_leaves_nothing() {
    let cluster = RedisCluster::start(3);
    let url = cluster.url();
    let probe = StoreProbe::connect(&url).await.expect("probe");
    let before = probe.sample().await.expect("sample");
    let found = ceiling::measure(&probe, &url, 1, Duration::from_millis(500), Lookup::Session)
        .await
        .expect("a cluster ceiling");
    assert!(found.operations_per_second > 1_000.0, "{found:?}");
    let after = probe.sample().await.expect("sample");
    let Some(StoreLoad::Redis(load)) = before.delta(&after) else {
        panic!("a Redis load");
    };
    for node in &load.nodes {
        assert!(node.total_calls > 100, "{node:?} was not saturated");
        assert_eq!(node.keys, 0, "{node:?} kept a key of the ceiling's");
    }
}
