//! What only a cluster has: where the keys land, slots that move under load, and one shard that
//! dies while the others live. On real three-master clusters started from `redis-server`.

use std::process::Command;
use std::time::{Duration, Instant};

use authbench_contract::StoreUrl;
use authbench_store::{Namespace, Options, Record, Store, StoreMetrics, now_millis};
use authbench_testkit::redis::RedisCluster;

async fn open(cluster: &RedisCluster, op_timeout: Duration) -> Store {
    let url: StoreUrl = cluster.url().parse().expect("cluster URL");
    let options = Options {
        op_timeout,
        ..Options::new(Namespace::Sessions)
    };
    Store::open(&url, options, &StoreMetrics::default())
        .await
        .expect("open the cluster store")
}

fn records(count: usize, user: impl Fn(usize) -> String) -> Vec<Record> {
    let now = now_millis();
    (0..count)
        .map(|n| Record {
            id: format!("session-{n:06}").into(),
            user: user(n).into(),
            created: now + n as i64,
            expires: now + 600_000,
            data: "agent".into(),
        })
        .collect()
}

/// `redis-cli -p PORT ARGS...`, its answer trimmed.
fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(output.status.success(), "redis-cli {args:?} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `GET` calls the node has run, from its own `INFO commandstats`.
fn gets(port: u16) -> u64 {
    let stats = cli(port, &["INFO", "commandstats"]);
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a count"))
}

fn ports(cluster: &RedisCluster) -> Vec<u16> {
    cluster.nodes().iter().map(|node| node.port()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_is_one_get_on_one_node_and_a_users_index_is_one_slot() {
    let cluster = RedisCluster::start(3);
    let store = open(&cluster, Duration::from_secs(5)).await;
    let ports = ports(&cluster);
    let loaded = records(300, |n| format!("user-{}", n % 10));
    assert_eq!(store.create_many(&loaded).await.expect("create_many"), 300);

    // The records spread over every shard: each holds some of them.
    for &port in &ports {
        let keys: u64 = cli(port, &["DBSIZE"]).parse().expect("a count");
        assert!(
            keys > 30,
            "node {port} holds only {keys} keys of 300 records"
        );
    }

    let before: Vec<u64> = ports.iter().map(|&port| gets(port)).collect();
    let found = store.load("session-000042").await.expect("load");
    assert_eq!(found.as_ref(), Some(&loaded[42]));
    let after: Vec<u64> = ports.iter().map(|&port| gets(port)).collect();
    let rose: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        rose.iter().sum::<u64>(),
        1,
        "one GET in all, per node: {rose:?}"
    );

    // A user's two index keys share one slot; the hash tag holds the name in hex.
    let slot = |key: &str| cli(ports[0], &["CLUSTER", "KEYSLOT", key]);
    let tag = "user-3"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(
        slot(&format!("sessions:u:{{{tag}}}")),
        slot(&format!("sessions:e:{{{tag}}}"))
    );
    assert_eq!(store.count_user("user-3").await.expect("count_user"), 30);
    assert_eq!(store.count_live().await.expect("count_live"), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_follow_slots_that_move_during_the_load() {
    let cluster = RedisCluster::start(3);
    let store = open(&cluster, Duration::from_secs(2)).await;
    let ports = ports(&cluster);
    let loaded = records(2_000, |n| format!("user-{}", n % 50));
    store.create_many(&loaded).await.expect("create_many");

    let from = cli(ports[0], &["CLUSTER", "MYID"]);
    let to = cli(ports[1], &["CLUSTER", "MYID"]);
    let address = format!("127.0.0.1:{}", ports[0]);
    let reshard = std::thread::spawn(move || {
        Command::new("redis-cli")
            .args(["--cluster", "reshard", &address])
            .args(["--cluster-from", &from, "--cluster-to", &to])
            .args(["--cluster-slots", "2000", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster reshard")
    });

    let (mut lookups, mut failures) = (0u64, Vec::new());
    while !reshard.is_finished() {
        for record in loaded.iter().step_by(7) {
            lookups += 1;
            match store.load(&record.id).await {
                Ok(Some(found)) if found == *record => {}
                other => failures.push(format!("{}: {other:?}", record.id)),
            }
        }
    }
    let output = reshard.join().expect("reshard thread");
    assert!(lookups > 0, "the reshard ended before any lookup");
    assert!(
        output.status.success(),
        "reshard failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let moved: usize = String::from_utf8_lossy(&output.stdout)
        .matches("Moving slot")
        .count();
    assert!(moved >= 2_000, "only {moved} slots moved");
    assert!(
        failures.is_empty(),
        "{} of {lookups} lookups failed while 2,000 slots moved, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    // Every record is still where the store finds it, and the index too.
    for record in &loaded {
        assert_eq!(
            store.load(&record.id).await.expect("load").as_ref(),
            Some(record)
        );
    }
    assert_eq!(store.count_user("user-7").await.expect("count_user"), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_shard_fails_its_keys_fast_and_the_others_keep_answering() {
    let cluster = RedisCluster::start(3);
    let store = open(&cluster, Duration::from_millis(250)).await;
    let ports = ports(&cluster);
    let loaded = records(60, |n| format!("user-{n}"));
    store.create_many(&loaded).await.expect("create_many");
    // The third master serves the last third of the slots (redis-cli spreads them in order).
    let on_dead = |id: &str| {
        let key = format!("sessions:r:{id}");
        let slot: u16 = cli(ports[0], &["CLUSTER", "KEYSLOT", &key])
            .parse()
            .expect("a slot");
        slot >= 10_923
    };
    let pid = cluster.nodes()[2].pid().expect("a running node");
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let (mut served, mut failed) = (0, 0);
    for record in &loaded {
        let started = Instant::now();
        let outcome = store.load(&record.id).await;
        let took = started.elapsed();
        if on_dead(&record.id) {
            let error = outcome.expect_err("a key on the dead shard");
            assert!(error.is_unavailable(), "{error:?}");
            assert!(took < Duration::from_secs(1), "failed after {took:?}");
            failed += 1;
        } else {
            assert_eq!(
                outcome.expect("a key on a live shard"),
                Some(record.clone())
            );
            served += 1;
        }
    }
    assert!(served > 0 && failed > 0, "served {served}, failed {failed}");
    assert!(
        store.ping().await.is_err(),
        "a cluster with a dead master pings as down"
    );
}
