//! The cases about rewriting what a stored record holds: `create` over an existing id,
//! `replace_data` (refresh-token rotation), and the cutoffs namespace that the JWT server
//! rewrites once per logout-everywhere.

use std::time::Duration;

use authbench_store::{Namespace, Record, now_millis};

use super::{HOUR, SHORT, cap, ids_of, record, sessions, wait_past};
use crate::Fixture;

pub async fn create_with_existing_id_replaces_the_record(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let first = record("r1", "alice", HOUR);
    let stale = record("r2", "alice", SHORT);
    store.create(&first, None).await.expect("create");
    store.create(&stale, None).await.expect("create");

    let second = Record {
        created: first.created + 5,
        expires: first.expires + 60_000,
        data: "second".into(),
        ..first.clone()
    };
    store.create(&second, None).await.expect("create again");
    assert_eq!(store.load("r1").await.expect("load"), Some(second.clone()));
    assert_eq!(ids_of(&store, "alice").await, ["r2", "r1"], "indexed once");

    // Replacing does not count twice against the cap, so it evicts nothing.
    store.create(&second, cap(2)).await.expect("create at cap");
    assert_eq!(ids_of(&store, "alice").await, ["r2", "r1"]);

    // An expired record not yet purged is replaced as well: the id lives again, with new data.
    wait_past(stale.expires).await;
    let revived = Record {
        data: "revived".into(),
        ..record("r2", "alice", HOUR)
    };
    store
        .create(&revived, None)
        .await
        .expect("create over expired");
    assert_eq!(store.load("r2").await.expect("load"), Some(revived));

    // Replaced under another user: it leaves the old user's index.
    let moved = Record {
        user: "bob".into(),
        data: "moved".into(),
        ..second
    };
    store.create(&moved, None).await.expect("create for bob");
    assert_eq!(store.load("r1").await.expect("load"), Some(moved.clone()));
    assert_eq!(ids_of(&store, "alice").await, ["r2"]);
    assert_eq!(store.count_user("alice").await.expect("count"), 1);
    assert_eq!(store.list_user("bob").await.expect("list"), vec![moved]);
}

/// A refresh family whose data is the hash of its current token.
fn family(id: &str, hash: &str, ttl: Duration) -> Record {
    Record {
        data: hash.into(),
        ..record(id, "alice", ttl)
    }
}

pub async fn replace_data_swaps_only_from_the_expected_data(fixture: &Fixture) {
    let store = sessions(fixture).await;
    let created = family("f1", "hash-1", HOUR);
    store.create(&created, None).await.expect("create");

    assert!(
        store
            .replace_data("f1", "hash-1", "hash-2")
            .await
            .expect("replace")
    );
    let rotated = Record {
        data: "hash-2".into(),
        ..created
    };
    assert_eq!(store.load("f1").await.expect("load"), Some(rotated.clone()));
    assert_eq!(
        store.list_user("alice").await.expect("list"),
        vec![rotated.clone()]
    );

    // A replayed old token: the data has moved on, so nothing changes.
    assert!(
        !store
            .replace_data("f1", "hash-1", "hash-3")
            .await
            .expect("replace")
    );
    assert!(
        !store
            .replace_data("f1", "", "hash-3")
            .await
            .expect("replace")
    );
    assert_eq!(store.load("f1").await.expect("load"), Some(rotated.clone()));

    // Separators, digits and multibyte text in the data survive a swap, as does empty data.
    let odd = "12 34 5 \n' \"; ünïcødé 🙂 ";
    assert!(
        store
            .replace_data("f1", "hash-2", odd)
            .await
            .expect("replace")
    );
    assert_eq!(
        &*store.load("f1").await.expect("load").expect("live").data,
        odd
    );
    assert!(store.replace_data("f1", odd, "").await.expect("replace"));
    assert_eq!(
        store.load("f1").await.expect("load"),
        Some(Record {
            data: "".into(),
            ..rotated
        })
    );
}

pub async fn replace_data_of_unknown_or_expired_id_is_false(fixture: &Fixture) {
    let store = sessions(fixture).await;
    assert!(!store.replace_data("never", "", "x").await.expect("replace"));
    assert_eq!(
        store.load("never").await.expect("load"),
        None,
        "replace created it"
    );

    let short = family("f2", "hash-1", SHORT);
    store.create(&short, None).await.expect("create");
    wait_past(short.expires).await;
    assert!(
        !store
            .replace_data("f2", "hash-1", "hash-2")
            .await
            .expect("replace"),
        "replaced the data of an expired record"
    );
    assert_eq!(store.load("f2").await.expect("load"), None);
    assert_eq!(store.count_user("alice").await.expect("count"), 0);
}

pub async fn concurrent_replace_data_has_exactly_one_winner(fixture: &Fixture) {
    let store = sessions(fixture).await;
    store
        .create(&family("f3", "hash-0", HOUR), None)
        .await
        .expect("create");
    let tasks: Vec<_> = (1..=16)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let new = format!("hash-{n}");
                let won = store.replace_data("f3", "hash-0", &new).await;
                (new, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (new, won) = task.await.expect("task");
        if won.expect("replace") {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = store.load("f3").await.expect("load").expect("live");
    assert_eq!(*stored.data, winners[0]);
}

pub async fn cutoffs_are_isolated_from_sessions(fixture: &Fixture) {
    let sessions = fixture.store(Namespace::Sessions).await;
    let cutoffs = fixture.store(Namespace::Cutoffs).await;
    let now = now_millis();
    let session = record("alice", "alice", HOUR);
    let cutoff = Record {
        data: now.to_string().into(),
        ..record("alice", "alice", HOUR)
    };
    sessions.create(&session, None).await.expect("create");
    cutoffs.create(&cutoff, None).await.expect("create");
    assert_eq!(
        cutoffs.load("alice").await.expect("load"),
        Some(cutoff.clone())
    );

    // A second logout-everywhere moves the cutoff forward by creating over it.
    let later = Record {
        data: (now + 1_000).to_string().into(),
        ..cutoff
    };
    cutoffs.create(&later, None).await.expect("create again");
    assert!(
        cutoffs
            .replace_data("alice", &later.data, &(now + 2_000).to_string())
            .await
            .expect("replace")
    );
    assert_eq!(cutoffs.count_user("alice").await.expect("count"), 1);
    assert_eq!(
        sessions.load("alice").await.expect("load"),
        Some(session.clone())
    );

    assert_eq!(sessions.delete_user("alice").await.expect("delete_user"), 1);
    let kept = cutoffs.load("alice").await.expect("load").expect("live");
    assert_eq!(*kept.data, (now + 2_000).to_string());
    assert!(
        !sessions
            .replace_data("alice", &kept.data, "x")
            .await
            .expect("replace")
    );
}
