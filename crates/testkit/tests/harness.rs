//! The harness's own promises: servers come up and answer, stop for real, come back on the same
//! port, and never outlive the test process that started them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, thread};

use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::RedisServer;

/// Set in the child processes that [`child_process_helper`] runs in.
const HELPER_ENV: &str = "AUTHBENCH_TESTKIT_HELPER";

fn refuses_connections(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .is_err_and(|err| err.kind() == std::io::ErrorKind::ConnectionRefused)
}

fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn redis_ping(port: u16) -> String {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to redis");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("set a read timeout");
    stream.write_all(b"PING\r\n").expect("send PING");
    let mut reply = [0_u8; 7];
    stream.read_exact(&mut reply).expect("read the PING reply");
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn redis_answers_ping_stops_for_real_and_restarts_on_the_same_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    assert!(redis.is_running());
    assert_eq!(redis_ping(port), "+PONG\r\n");

    redis.stop();
    assert!(!redis.is_running());
    assert!(
        refuses_connections(port),
        "port {port} still accepts after stop"
    );
    redis.stop(); // stopping twice is harmless

    redis.restart();
    assert_eq!(redis.port(), port);
    assert!(redis.is_running());
    assert_eq!(redis_ping(port), "+PONG\r\n");

    let dir = redis.dir().to_path_buf();
    drop(redis);
    assert!(
        refuses_connections(port),
        "port {port} still accepts after drop"
    );
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

#[test]
fn redis_restart_waits_for_its_port_to_be_released() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.stop();
    let squatter = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("take the port");
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        drop(squatter);
    });
    redis.restart();
    release.join().expect("release the port");
    assert_eq!(redis.port(), port);
    assert_eq!(redis_ping(port), "+PONG\r\n");
}

#[test]
fn redis_outlives_the_thread_that_started_it() {
    // The kernel's parent-death signal follows the spawning *thread*: a server started from a
    // short-lived thread must still run once that thread is gone.
    let redis = thread::spawn(RedisServer::start)
        .join()
        .expect("start redis in a thread");
    thread::sleep(Duration::from_millis(300));
    assert!(redis.is_running());
    assert_eq!(redis_ping(redis.port()), "+PONG\r\n");
}

#[test]
fn postgres_shared_cluster_is_started_once_per_process() {
    assert!(std::ptr::eq(
        PostgresServer::shared(),
        PostgresServer::shared()
    ));
    let pg = PostgresServer::shared();
    assert!(pg.is_running());
    assert_eq!(
        pg.admin_url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
}

#[test]
fn postgres_fresh_databases_are_distinct_and_isolated() {
    let pg = PostgresServer::shared();
    let (a, b) = (pg.fresh_database(), pg.fresh_database());
    assert_ne!(a, b);
    let prefix = format!("postgres://postgres@127.0.0.1:{}/", pg.port());
    assert!(a.starts_with(&prefix) && b.starts_with(&prefix), "{a} {b}");
    for url in [&a, &b] {
        assert_eq!(pg.psql(url, "select 1"), "1");
        let name = url.rsplit('/').next().expect("a URL has a path");
        assert_eq!(pg.psql(name, "select current_database()"), name);
    }
    pg.psql(&a, "create table only_in_a (x int)");
    let seen_from_b = "select count(*) from pg_tables where tablename = 'only_in_a'";
    assert_eq!(pg.psql(&b, seen_from_b), "0");
}

#[test]
fn postgres_owned_server_stops_for_real_and_restarts_on_the_same_port_with_its_data() {
    let mut pg = PostgresServer::start();
    let port = pg.port();
    pg.psql(
        "postgres",
        "create table kept (x int); insert into kept values (42)",
    );

    pg.stop();
    assert!(!pg.is_running());
    assert!(
        refuses_connections(port),
        "port {port} still accepts after stop"
    );

    pg.restart();
    assert_eq!(pg.port(), port);
    assert!(pg.is_running());
    assert_eq!(pg.psql(&pg.admin_url(), "select x from kept"), "42");

    let dir = pg.dir().to_path_buf();
    drop(pg);
    assert!(
        refuses_connections(port),
        "port {port} still accepts after drop"
    );
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

/// What a helper child process reports once its servers run.
struct Started {
    pg_port: u16,
    pg_dir: PathBuf,
    redis_port: u16,
    redis_dir: PathBuf,
}

/// Runs [`child_process_helper`] in a child test process and reads what it started.
fn run_helper(mode: &str) -> (std::process::Child, Started) {
    let exe = env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            "child_process_helper",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the test binary again");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let line = stdout
        .by_ref()
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("STARTED "))
        .expect("the helper reports what it started");
    // Keep reading, or the helper's last lines would hit a closed pipe and fail it.
    thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let fields: Vec<&str> = line.split(' ').skip(1).collect();
    let [pg_port, pg_dir, redis_port, redis_dir] = fields[..] else {
        panic!("unexpected helper line: {line}");
    };
    let port = |text: &str| text.parse().expect("the helper prints ports as numbers");
    let started = Started {
        pg_port: port(pg_port),
        pg_dir: pg_dir.into(),
        redis_port: port(redis_port),
        redis_dir: redis_dir.into(),
    };
    (child, started)
}

#[test]
fn servers_stop_and_the_shared_cluster_is_removed_when_the_test_process_exits() {
    let (mut child, started) = run_helper("exit");
    assert!(child.wait().expect("wait for the helper").success());
    // The exit handler stopped the cluster before the process ended; the kernel killed Redis.
    assert!(refuses_connections(started.pg_port));
    assert!(
        !started.pg_dir.exists(),
        "{} survived the exit",
        started.pg_dir.display()
    );
    eventually(
        "redis dies with its process",
        Duration::from_secs(10),
        || refuses_connections(started.redis_port),
    );
    // The helper never dropped its Redis: starting any server clears that dead process's dir.
    let _redis = RedisServer::start();
    assert!(
        !started.redis_dir.exists(),
        "{} was not cleaned up",
        started.redis_dir.display()
    );
}

#[test]
fn servers_die_with_a_killed_test_process_and_the_next_run_removes_their_dirs() {
    let (mut child, started) = run_helper("hang");
    child.kill().expect("kill the helper");
    child.wait().expect("reap the helper");
    eventually(
        "servers die with their process",
        Duration::from_secs(10),
        || refuses_connections(started.pg_port) && refuses_connections(started.redis_port),
    );
    // Starting any server clears the temp dirs of dead processes.
    let _redis = RedisServer::start();
    assert!(
        !started.pg_dir.exists(),
        "{} was not cleaned up",
        started.pg_dir.display()
    );
    assert!(
        !started.redis_dir.exists(),
        "{} was not cleaned up",
        started.redis_dir.display()
    );
}

/// Not a test of its own: the child process of the two tests above. It starts the shared
/// cluster and a Redis that it never drops, reports them, then exits or waits to be killed.
#[test]
#[ignore = "run by other tests in a child process"]
fn child_process_helper() {
    let Ok(mode) = env::var(HELPER_ENV) else {
        return;
    };
    let pg = PostgresServer::shared();
    let redis = RedisServer::start();
    println!(
        "STARTED {} {} {} {}",
        pg.port(),
        pg.dir().display(),
        redis.port(),
        redis.dir().display()
    );
    std::io::stdout().flush().expect("flush stdout");
    std::mem::forget(redis);
    if mode == "hang" {
        thread::sleep(Duration::from_secs(60));
    }
}
