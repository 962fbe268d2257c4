//! The conformance cases, each an async fn over a [`Fixture`]; `conformance.rs` runs every one
//! against every backend.

use std::num::NonZeroU32;
use std::time::Duration;

use authbench_store::{Namespace, Options, Record, Store, StoreMetrics, now_millis};
use prometheus_client::registry::Registry;

use crate::Fixture;

#[path = "replace.rs"]
mod replace;
pub use replace::*;

const HOUR: Duration = Duration::from_secs(3600);
/// Long enough to create and read a record in a debug build under parallel tests, short
/// enough to keep the suite quick.
const SHORT: Duration = Duration::from_millis(300);

pub fn record(id: &str, user: &str, ttl: Duration) -> Record {
    let now = now_millis();
    Record {
        id: id.into(),
        user: user.into(),
        created: now,
        expires: now + i64::try_from(ttl.as_millis()).expect("ttl fits"),
        data: format!("data of {id}").into(),
    }
}

fn cap(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}

async fn sessions(fixture: &Fixture) -> Store {
    fixture.store(Namespace::Sessions).await
}

async fn ids_of(store: &Store, user: &str) -> Vec<String> {
    let records = store.list_user(user).await.expect("list_user");
    records
        .into_iter()
        .map(|record| record.id.to_string())
        .collect()
}

async fn wait_past(expires: i64) {
    let left = u64::try_from(expires - now_millis()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
}

pub async fn round_trip_load_returns_exactly_what_was_created(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let created = record("s1", "alice", HOUR);
    store.create(&created, None).await.expect("create");
    assert_eq!(store.load("s1").await.expect("load"), Some(created.clone()));

    let touched = Record {
        expires: created.expires + 60_000,
        ..created.clone()
    };
    assert!(store.touch(&touched).await.expect("touch"));
    assert_eq!(store.load("s1").await.expect("load"), Some(touched));

    assert!(store.delete("s1").await.expect("delete"));
    assert_eq!(store.load("s1").await.expect("load"), None);
    assert!(!store.delete("s1").await.expect("delete again"));
    assert_eq!(store.count_user("alice").await.expect("count"), 0);
}

pub async fn load_of_unknown_id_is_none(fixture: &Fixture) {
    let store = sessions(fixture).await;
    assert_eq!(store.load("never-created").await.expect("load"), None);
    assert!(!store.delete("never-created").await.expect("delete"));
}

pub async fn expired_records_are_invisible(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let short = record("short", "alice", SHORT);
    store.create(&short, None).await.expect("create");
    assert!(store.load("short").await.expect("load").is_some());
    wait_past(short.expires).await;

    assert_eq!(store.load("short").await.expect("load"), None);
    assert_eq!(store.list_user("alice").await.expect("list"), vec![]);
    assert_eq!(store.count_user("alice").await.expect("count"), 0);
    let revived = Record {
        expires: now_millis() + 60_000,
        ..short
    };
    assert!(
        !store.touch(&revived).await.expect("touch"),
        "touch revived an expired record"
    );
    assert_eq!(store.load("short").await.expect("load"), None);
    assert!(!store.delete("short").await.expect("delete"));
}

pub async fn touch_extends_expiry_and_changes_nothing_else(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let short = record("t1", "alice", SHORT);
    store.create(&short, None).await.expect("create");
    let extended = Record {
        expires: now_millis() + 60_000,
        ..short.clone()
    };
    let meddled = Record {
        data: "changed".into(),
        created: 1,
        ..extended.clone()
    };
    assert!(store.touch(&meddled).await.expect("touch"));
    wait_past(short.expires).await;

    assert_eq!(
        store.load("t1").await.expect("load"),
        Some(extended.clone())
    );
    assert_eq!(
        store.list_user("alice").await.expect("list"),
        vec![extended]
    );
}

pub async fn touch_of_unknown_id_is_false(fixture: &Fixture) {
    let store = sessions(fixture).await;
    assert!(
        !store
            .touch(&record("nobody", "alice", HOUR))
            .await
            .expect("touch")
    );
    assert_eq!(store.load("nobody").await.expect("load"), None);
    assert_eq!(store.count_user("alice").await.expect("count"), 0);
}

pub async fn list_is_per_user_and_oldest_first(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let base = now_millis();
    // Created out of order, and two with the same `created` (ordered by id then).
    for (id, offset) in [("a2", 2), ("a0", 0), ("a1b", 1), ("a1a", 1)] {
        let record = Record {
            created: base + offset,
            ..record(id, "alice", HOUR)
        };
        store.create(&record, None).await.expect("create");
    }
    store
        .create(&record("b0", "bob", HOUR), None)
        .await
        .expect("create");

    assert_eq!(ids_of(&store, "alice").await, ["a0", "a1a", "a1b", "a2"]);
    assert_eq!(ids_of(&store, "bob").await, ["b0"]);
    assert_eq!(store.count_user("alice").await.expect("count"), 4);
    assert_eq!(store.count_user("bob").await.expect("count"), 1);
    assert_eq!(store.count_user("carol").await.expect("count"), 0);
    assert_eq!(store.list_user("carol").await.expect("list"), vec![]);
    let alices = store.list_user("alice").await.expect("list");
    assert!(
        alices
            .iter()
            .all(|record| &*record.user == "alice"
                && *record.data == format!("data of {}", record.id))
    );
}

pub async fn delete_user_removes_only_that_users_records(fixture: &Fixture) {
    let store = sessions(fixture).await;
    for n in 0..3 {
        store
            .create(&record(&format!("a{n}"), "alice", HOUR), None)
            .await
            .expect("create");
    }
    store
        .create(&record("b0", "bob", HOUR), None)
        .await
        .expect("create");

    assert_eq!(store.delete_user("alice").await.expect("delete_user"), 3);
    assert_eq!(store.count_user("alice").await.expect("count"), 0);
    assert_eq!(store.load("a0").await.expect("load"), None);
    assert_eq!(ids_of(&store, "bob").await, ["b0"]);
    assert_eq!(
        store.delete_user("alice").await.expect("delete_user again"),
        0
    );
}

pub async fn eviction_keeps_newest_at_cap(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let base = now_millis();
    for n in 0..5 {
        let record = Record {
            created: base + n,
            ..record(&format!("s{n}"), "alice", HOUR)
        };
        store.create(&record, cap(3)).await.expect("create");
    }
    store
        .create(&record("other", "bob", HOUR), cap(3))
        .await
        .expect("create");

    assert_eq!(ids_of(&store, "alice").await, ["s2", "s3", "s4"]);
    assert_eq!(store.load("s0").await.expect("load"), None);
    assert_eq!(store.load("s1").await.expect("load"), None);
    assert_eq!(
        ids_of(&store, "bob").await,
        ["other"],
        "another user's cap evicted bob"
    );

    // An expired record never keeps a live one out: it is evicted first.
    let dying = Record {
        created: base + 10,
        ..record("dying", "carol", SHORT)
    };
    store.create(&dying, cap(2)).await.expect("create");
    store
        .create(
            &Record {
                created: base,
                ..record("old", "carol", HOUR)
            },
            cap(2),
        )
        .await
        .expect("create");
    wait_past(dying.expires).await;
    store
        .create(
            &Record {
                created: base + 20,
                ..record("new", "carol", HOUR)
            },
            cap(2),
        )
        .await
        .expect("create");
    assert_eq!(ids_of(&store, "carol").await, ["old", "new"]);
}

async fn create_concurrently(store: &Store, n: u32, max_per_user: Option<NonZeroU32>) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let record = record(&format!("c{i:02}"), "racer", HOUR);
                store.create(&record, max_per_user).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("create");
    }
}

pub async fn concurrent_creates_never_exceed_the_cap(fixture: &Fixture) {
    let store = sessions(fixture).await;
    create_concurrently(&store, 32, cap(3)).await;
    let count = store.count_user("racer").await.expect("count");
    assert!(
        (1..=3).contains(&count),
        "{count} records left under a cap of 3"
    );
    assert_eq!(
        store.list_user("racer").await.expect("list").len() as u64,
        count
    );
}

pub async fn concurrent_creates_without_cap_keep_all(fixture: &Fixture) {
    let store = sessions(fixture).await;
    create_concurrently(&store, 32, None).await;
    assert_eq!(store.count_user("racer").await.expect("count"), 32);
    assert_eq!(store.list_user("racer").await.expect("list").len(), 32);
}

pub async fn odd_ids_and_user_names_round_trip(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let odd = [
        "with space".to_owned(),
        "quote ' and \" double".to_owned(),
        "'; DROP TABLE sessions; --".to_owned(),
        "line\nbreak\r\nand\ttab".to_owned(),
        "colon:r:and:u:prefixes".to_owned(),
        "ünïcødé ✓ 会话 🙂".to_owned(),
        "%_*?[]{}\\".to_owned(),
        "12 34 5 ".to_owned(),
        "x".repeat(1024),
    ];
    for (n, name) in odd.iter().enumerate() {
        let mut created = record(name, name, HOUR);
        created.data = format!("{name} {n} {name}").into();
        store.create(&created, cap(5)).await.expect("create");
        assert_eq!(
            store.load(name).await.expect("load"),
            Some(created.clone()),
            "{name:?}"
        );
        assert_eq!(
            store.list_user(name).await.expect("list"),
            vec![created.clone()],
            "{name:?}"
        );
        assert_eq!(store.count_user(name).await.expect("count"), 1, "{name:?}");
    }
    for name in &odd {
        assert!(store.delete(name).await.expect("delete"), "{name:?}");
        assert_eq!(store.count_user(name).await.expect("count"), 0, "{name:?}");
    }
}

pub async fn namespaces_are_isolated(fixture: &Fixture) {
    let sessions = fixture.store(Namespace::Sessions).await;
    let denylist = fixture.store(Namespace::Denylist).await;
    let session = record("same-id", "alice", HOUR);
    let denied = Record {
        data: "denied".into(),
        ..record("same-id", "alice", HOUR)
    };
    sessions.create(&session, None).await.expect("create");
    denylist.create(&denied, None).await.expect("create");

    assert_eq!(
        sessions.load("same-id").await.expect("load"),
        Some(session.clone())
    );
    assert_eq!(denylist.load("same-id").await.expect("load"), Some(denied));
    assert!(denylist.delete("same-id").await.expect("delete"));
    assert_eq!(denylist.count_user("alice").await.expect("count"), 0);
    assert_eq!(sessions.load("same-id").await.expect("load"), Some(session));
    assert_eq!(sessions.count_user("alice").await.expect("count"), 1);
}

pub async fn purge_expired_removes_expired_records(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let short = record("p1", "alice", SHORT);
    store.create(&short, None).await.expect("create");
    store
        .create(&record("p2", "bob", SHORT), None)
        .await
        .expect("create");
    store
        .create(&record("p3", "alice", HOUR), None)
        .await
        .expect("create");
    wait_past(short.expires + 20).await;

    let purged = store.purge_expired().await.expect("purge");
    if !matches!(
        store.kind(),
        authbench_contract::StoreKind::Redis | authbench_contract::StoreKind::RedisCluster
    ) {
        // Redis expires keys by itself; the SQL and memory backends must delete the rows.
        assert_eq!(purged, 2);
    }
    assert_eq!(store.purge_expired().await.expect("purge again"), 0);
    assert_eq!(ids_of(&store, "alice").await, ["p3"]);
    assert_eq!(store.count_user("bob").await.expect("count"), 0);
}

pub async fn metrics_count_operations(fixture: &Fixture) {
    let metrics = StoreMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let store = fixture
        .store_with(Fixture::options(Namespace::Sessions), &metrics)
        .await;
    store
        .create(&record("m1", "alice", HOUR), None)
        .await
        .expect("create");
    store.load("m1").await.expect("load");
    store.load("absent").await.expect("load");
    assert!(
        store
            .replace_data("m1", "data of m1", "rotated")
            .await
            .expect("replace_data")
    );

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    let kind = store.kind();
    let labels = format!("backend=\"{kind}\",namespace=\"sessions\"");
    for line in [
        format!("store_operations_total{{{labels},op=\"load\",outcome=\"ok\"}} 2"),
        format!("store_operations_total{{{labels},op=\"create\",outcome=\"ok\"}} 1"),
        format!("store_operations_total{{{labels},op=\"replace_data\",outcome=\"ok\"}} 1"),
        format!("store_operations_total{{{labels},op=\"load\",outcome=\"error\"}} 0"),
        format!("store_operation_duration_seconds_count{{{labels},op=\"load\"}} 2"),
        format!("store_operation_duration_seconds_count{{{labels},op=\"replace_data\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
}

pub async fn ping_answers(fixture: &Fixture) {
    sessions(fixture).await.ping().await.expect("ping");
}

/// A population loaded as one batch reads back as if each record had been created: every
/// record whole, per-user lists oldest first, a repeated id replaced (under its new user only).
pub async fn create_many_stores_every_record_as_create_would(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let earlier = record("shared-id", "old-owner", Duration::from_secs(600));
    store.create(&earlier, None).await.expect("create");
    let mut batch: Vec<Record> = (0..2_500)
        .map(|n| {
            let mut one = record(
                &format!("bulk-{n}"),
                &format!("user-{}", n % 50),
                Duration::from_secs(600),
            );
            one.created += n;
            one.data = format!("data {n} \t\n\u{e9}").into();
            one
        })
        .collect();
    batch.push(record("shared-id", "new-owner", Duration::from_secs(600)));
    assert_eq!(store.create_many(&batch).await.expect("create_many"), 2_501);
    for one in &batch {
        assert_eq!(store.load(&one.id).await.expect("load").as_ref(), Some(one));
    }
    let user7: Vec<String> = batch
        .iter()
        .filter(|one| &*one.user == "user-7")
        .map(|one| one.id.to_string())
        .collect();
    assert_eq!(ids_of(&store, "user-7").await, user7);
    assert_eq!(store.count_user("user-7").await.expect("count"), 50);
    assert!(ids_of(&store, "old-owner").await.is_empty());
    assert_eq!(ids_of(&store, "new-owner").await, ["shared-id"]);
    // The replaced record counts once: 2,500 new ids and the shared one.
    assert_eq!(store.count_live().await.expect("count_live"), 2_501);
    assert_eq!(store.create_many(&[]).await.expect("an empty batch"), 0);
}

/// Logins and logouts over several expiry periods, with the purge running as the servers run it:
/// the store's own count of what it holds (expired records not yet removed included) stays near
/// the live set, not the number ever created, and falls to nothing once everything expired.
pub async fn purge_keeps_the_store_bounded_under_churn(fixture: &Fixture) {
    const ROUNDS: usize = 12;
    const PER_ROUND: usize = 40;
    let purge_interval = Duration::from_millis(200);
    let options = Options {
        purge_interval,
        ..Fixture::options(Namespace::Sessions)
    };
    let store = fixture.store_with(options, &StoreMetrics::default()).await;
    let purge = store.spawn_purge_task();
    let mut highest = 0;
    let mut last_expiry = 0;
    for round in 0..ROUNDS {
        for i in 0..PER_ROUND {
            let id = format!("churn-{round}-{i}");
            let session = record(&id, &format!("user{i}"), SHORT);
            last_expiry = session.expires;
            store.create(&session, None).await.expect("create");
            // Every other user logs out; the rest leave their session to expire.
            if i % 2 == 0 {
                assert!(store.delete(&id).await.expect("delete"));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        highest = highest.max(store.count_stored().await.expect("count_stored"));
    }
    // Live at any moment: the sessions of the last SHORT (3 rounds), plus those expired within
    // the last purge interval (2 rounds), plus Redis's per-user index keys: far below the 480
    // ever created, 240 of them never logged out.
    let bound = (PER_ROUND * 5) as u64;
    assert!(
        highest <= bound,
        "{} held {highest} records at once under churn; bound {bound}",
        store.kind()
    );
    wait_past(last_expiry + 2 * purge_interval.as_millis() as i64).await;
    assert_eq!(
        store.count_stored().await.expect("count_stored"),
        0,
        "{}",
        store.kind()
    );
    purge.abort();
}
