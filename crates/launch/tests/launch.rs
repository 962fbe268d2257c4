//! The launcher on this machine's kernel and binaries: a CPU cap the kernel enforces (a busy
//! loop inside it uses at most the cap), a cap refused where the controller can't be written,
//! and Redis and PostgreSQL started capped, pinned and cleaned up.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use authbench_launch::cgroup::{CapError, Controller, Version};
use authbench_launch::process::{self, Placement, SIGKILL};
use authbench_launch::{
    Limits, PostgresServer, PostgresSettings, RedisCluster, RedisServer, RedisSettings,
};

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("comm")
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn controller() -> Controller {
    Controller::find().unwrap_or_else(|error| {
        panic!("this test needs the kernel's CPU controller (run as root): {error}")
    })
}

#[test]
fn a_busy_loop_in_a_capped_group_uses_at_most_the_cap() {
    let group = controller()
        .cap("authbench-test-busy", 0.2)
        .expect("root may create a CPU group");
    let mut busy = Command::new("sh");
    busy.args(["-c", "while :; do :; done"])
        .stdin(Stdio::null());
    let mut placement = Placement::new(SIGKILL);
    placement.group = Some(group.joiner());
    let mut child = process::spawn(busy, placement).expect("spawn a busy loop");
    assert_eq!(
        group.pids().expect("the group's processes"),
        vec![child.id()]
    );
    let started = Instant::now();
    let before = cpu_seconds(child.id());
    thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(child.id()) - before;
    let wall = started.elapsed().as_secs_f64();
    let enforced = group.enforced().expect("the kernel's view of the cap");
    process::stop_child(&mut child, SIGKILL, Duration::ZERO);
    let cores = used / wall;
    // Uncapped it would use a whole core; the tick granularity (10 ms) allows a little over.
    assert!(
        cores <= 0.2 * 1.15 + 0.01,
        "used {cores:.3} cores under a 0.2 cap"
    );
    assert!(cores >= 0.1, "used only {cores:.3} cores: was it running?");
    assert!((enforced.cores - 0.2).abs() < 1e-9, "{enforced:?}");
    assert!(
        enforced.throttled_periods > 0,
        "the kernel throttled it: {enforced:?}"
    );
}

#[test]
fn a_cap_where_the_controller_cannot_be_written_is_refused() {
    let nowhere = Controller {
        root: "/proc/self/no-cgroup-here".into(),
        version: Version::V1,
    };
    let error = nowhere.cap("authbench-test-refused", 0.5).unwrap_err();
    assert!(matches!(error, CapError::Write { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("cannot create the cgroup /proc/self/no-cgroup-here")
    );
    let tiny = controller().cap("authbench-test-tiny", 0.001).unwrap_err();
    assert!(matches!(tiny, CapError::TooSmall { .. }), "{tiny:?}");
}

#[test]
fn redis_starts_capped_pinned_and_is_removed_with_its_group() {
    let settings = RedisSettings {
        limits: Limits {
            cpus: Some(0.5),
            cores: Some(vec![1]),
        },
        maxmemory: Some("64mb".into()),
        appendfsync: None,
        cluster: false,
    };
    let server = RedisServer::start(&settings).unwrap_or_else(|e| panic!("{e}"));
    let pid = server.pid().expect("running");
    let group = server.cpu_group().expect("capped").dir().to_path_buf();
    assert_eq!(
        server.cpu_group().unwrap().pids().unwrap(),
        vec![pid],
        "the server runs inside its group"
    );
    assert_eq!(server.cpu_group().unwrap().enforced().unwrap().cores, 0.5);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.lines().any(|l| l == "Cpus_allowed_list:\t1"),
        "pinned to core 1"
    );
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(!group.exists(), "the CPU group is removed");
    assert!(!dir.exists(), "the temp dir is removed");
}

#[test]
fn postgres_starts_with_every_process_in_its_group() {
    let settings = PostgresSettings {
        limits: Limits {
            cpus: Some(1.0),
            cores: None,
        },
        shared_buffers: Some("32MB".into()),
        synchronous_commit: Some("off".into()),
        ..PostgresSettings::default()
    };
    let server = PostgresServer::start(&settings).unwrap_or_else(|e| panic!("{e}"));
    let shown = server.psql("postgres", "SHOW shared_buffers").unwrap();
    assert_eq!(shown, "32MB");
    assert_eq!(
        server.psql("postgres", "SHOW synchronous_commit").unwrap(),
        "off"
    );
    assert_eq!(
        server.psql("postgres", "SHOW fsync").unwrap(),
        "on",
        "durable by default"
    );
    let pids = server.cpu_group().unwrap().pids().unwrap();
    // The postmaster and its background processes (checkpointer, writer, ...) all inherited it.
    assert!(pids.contains(&server.pid().unwrap()));
    assert!(pids.len() >= 4, "{pids:?}");
}

/// `redis-cli` against one node (`-c`: following the cluster's redirects); its answer.
fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-c", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (Debian's redis-tools)");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_redis_cluster_of_three_masters_serves_every_slot_and_stops_with_its_nodes() {
    let cluster =
        RedisCluster::start(3, &RedisSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    let ports: Vec<u16> = cluster.nodes().iter().map(RedisServer::port).collect();
    assert_eq!(ports.len(), 3);
    let url = cluster.url();
    assert!(url.starts_with("redis+cluster://127.0.0.1:"), "{url}");
    assert_eq!(url.matches(',').count(), 2, "{url}");
    for &port in &ports {
        let info = cli(port, &["CLUSTER", "INFO"]);
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_size:3"), "{info}");
    }
    // Keys land on their slot's node whichever node is asked, and each node owns some slots.
    for n in 0..30 {
        let key = format!("k{n}");
        assert_eq!(cli(ports[n % 3], &["SET", &key, "v"]), "OK");
        assert_eq!(cli(ports[(n + 1) % 3], &["GET", &key]), "v");
    }
    for &port in &ports {
        let keys: u64 = cli(port, &["DBSIZE"]).parse().unwrap();
        assert!(keys > 0, "node {port} holds none of 30 keys");
    }
    let pids: Vec<u32> = cluster
        .nodes()
        .iter()
        .filter_map(RedisServer::pid)
        .collect();
    drop(cluster);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "node {pid} outlived its cluster"
        );
    }
    let refused = RedisCluster::start(2, &RedisSettings::default()).unwrap_err();
    assert!(refused.to_string().contains("at least 3"), "{refused}");
}
