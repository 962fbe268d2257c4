//! The one conformance suite every backend must pass, run through the public [`Store`] API so
//! that dispatch, timeouts and metrics are covered too; plus outage tests for the networked
//! backends. Redis and Postgres tests start throwaway servers (authbench-testkit) and fail,
//! not skip, where the server binaries are missing.

#[path = "conformance/cases.rs"]
mod cases;

use std::any::Any;
use std::time::Duration;

use authbench_contract::StoreUrl;
use authbench_store::{Namespace, Options, Store, StoreMetrics};
use authbench_testkit::postgres::PostgresServer;
use authbench_testkit::redis::{RedisCluster, RedisServer};

/// Where one test's store lives, and whatever must stay alive for as long as it does.
#[derive(Debug)]
pub struct Fixture {
    url: StoreUrl,
    _keep: Box<dyn Any>,
}

impl Fixture {
    fn memory() -> Fixture {
        Fixture {
            url: StoreUrl::Memory,
            _keep: Box::new(()),
        }
    }

    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = StoreUrl::Sqlite(format!(
            "sqlite://{}",
            dir.path().join("store.db").display()
        ));
        Fixture {
            url,
            _keep: Box::new(dir),
        }
    }

    fn redis() -> Fixture {
        let server = RedisServer::start();
        Fixture {
            url: StoreUrl::Redis(server.url()),
            _keep: Box::new(server),
        }
    }

    /// A cluster of its own per test: the cases use the same ids and users, and one cluster
    /// takes about a second to form.
    fn redis_cluster() -> Fixture {
        let cluster = RedisCluster::start(3);
        let url: StoreUrl = cluster.url().parse().expect("the launcher's cluster URL");
        Fixture {
            url,
            _keep: Box::new(cluster),
        }
    }

    fn postgres() -> Fixture {
        let url = PostgresServer::shared().fresh_database();
        Fixture {
            url: StoreUrl::Postgres(url),
            _keep: Box::new(()),
        }
    }

    /// Generous timeouts: tests run in parallel on debug builds, and only the outage tests are
    /// about the timeout itself.
    pub fn options(namespace: Namespace) -> Options {
        Options {
            op_timeout: Duration::from_secs(5),
            ..Options::new(namespace)
        }
    }

    pub async fn store(&self, namespace: Namespace) -> Store {
        self.store_with(Self::options(namespace), &StoreMetrics::default())
            .await
    }

    pub async fn store_with(&self, options: Options, metrics: &StoreMetrics) -> Store {
        match Store::open(&self.url, options, metrics).await {
            Ok(store) => store,
            Err(error) => panic!("opening {} failed: {error}", self.url),
        }
    }
}

/// Expands to one module per backend with one test per case, so that the output names both
/// (`redis::eviction_keeps_newest_at_cap ... ok`).
macro_rules! conformance {
    ($($backend:ident),*) => {$(
        mod $backend {
            conformance!(@cases $backend:
                round_trip_load_returns_exactly_what_was_created,
                load_of_unknown_id_is_none,
                expired_records_are_invisible,
                touch_extends_expiry_and_changes_nothing_else,
                touch_of_unknown_id_is_false,
                list_is_per_user_and_oldest_first,
                delete_user_removes_only_that_users_records,
                eviction_keeps_newest_at_cap,
                concurrent_creates_never_exceed_the_cap,
                concurrent_creates_without_cap_keep_all,
                odd_ids_and_user_names_round_trip,
                namespaces_are_isolated,
                create_with_existing_id_replaces_the_record,
                replace_data_swaps_only_from_the_expected_data,
                replace_data_of_unknown_or_expired_id_is_false,
                concurrent_replace_data_has_exactly_one_winner,
                cutoffs_are_isolated_from_sessions,
                purge_expired_removes_expired_records,
                purge_keeps_the_store_bounded_under_churn,
                metrics_count_operations,
                ping_answers,
                create_many_stores_every_record_as_create_would,
            );
        }
    )*};
    (@cases $backend:ident: $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let fixture = super::Fixture::$backend();
            super::cases::$case(&fixture).await;
        }
    )*};
}

conformance!(memory, sqlite, redis, redis_cluster, postgres);

/// A networked store that goes down must fail fast (the server answers 503 instead of
/// queueing), and must come back by itself once the store is back, without a restart.
mod outage {
    use std::time::{Duration, Instant};

    use authbench_contract::StoreUrl;
    use authbench_store::{Namespace, Options, Store, StoreMetrics};
    use authbench_testkit::postgres::PostgresServer;
    use authbench_testkit::redis::RedisServer;

    use crate::cases::record;

    async fn fails_fast_then_recovers<S>(
        store: &Store,
        server: &mut S,
        stop: fn(&mut S),
        restart: fn(&mut S),
    ) {
        let kept = record("kept", "alice", Duration::from_secs(600));
        store.create(&kept, None).await.expect("create while up");
        stop(server);

        for _ in 0..3 {
            let started = Instant::now();
            let outcome = store.load(&kept.id).await;
            let took = started.elapsed();
            let error = outcome.expect_err("load while the store is down");
            assert!(
                error.is_unavailable(),
                "{error:?} should count as unavailable"
            );
            assert!(
                took < Duration::from_secs(1),
                "took {took:?} to fail while down"
            );
        }

        restart(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match store.ping().await {
                Ok(()) => break,
                Err(error) => {
                    assert!(
                        Instant::now() < deadline,
                        "not back 10 s after restart: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        // Every connection the store holds must have come back, not just the one ping used.
        for n in 0..8 {
            let fresh = record(&format!("after-{n}"), "bob", Duration::from_secs(600));
            store
                .create(&fresh, None)
                .await
                .expect("create after restart");
            assert_eq!(
                store.load(&fresh.id).await.expect("load after restart"),
                Some(fresh)
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_fails_fast_while_down_and_recovers_on_the_same_store() {
        let mut server = RedisServer::start();
        let url = StoreUrl::Redis(server.url());
        let options = Options::new(Namespace::Sessions);
        let store = Store::open(&url, options, &StoreMetrics::default())
            .await
            .expect("open");
        fails_fast_then_recovers(&store, &mut server, RedisServer::stop, RedisServer::restart)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_fails_fast_while_down_and_recovers_on_the_same_store() {
        let mut server = PostgresServer::start();
        let url = StoreUrl::Postgres(server.fresh_database());
        let options = Options::new(Namespace::Sessions);
        let store = Store::open(&url, options, &StoreMetrics::default())
            .await
            .expect("open");
        fails_fast_then_recovers(
            &store,
            &mut server,
            PostgresServer::stop,
            PostgresServer::restart,
        )
        .await;
        // The record written before the outage survived it (Postgres keeps its data).
        assert!(store.load("kept").await.expect("load").is_some());
    }
}

/// A store that stops answering without closing its connections (a paused process, a
/// partition) must not hold requests beyond the operation limit: the one case a refused
/// connection does not cover.
mod stall {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use authbench_contract::StoreUrl;
    use authbench_store::{Error, Namespace, Options, Store, StoreMetrics};
    use authbench_testkit::redis::RedisServer;

    use crate::cases::record;

    fn signal(pid: u32, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_that_stops_answering_times_out_at_the_limit_then_answers_again() {
        let server = RedisServer::start();
        let pid = server.pid().expect("a running redis-server");
        let mut options = Options::new(Namespace::Sessions);
        options.op_timeout = Duration::from_millis(200);
        let store = Store::open(
            &StoreUrl::Redis(server.url()),
            options,
            &StoreMetrics::default(),
        )
        .await
        .expect("open");
        let kept = record("kept", "alice", Duration::from_secs(600));
        store.create(&kept, None).await.expect("create while up");

        signal(pid, "STOP");
        let started = Instant::now();
        let outcome = store.load(&kept.id).await;
        let took = started.elapsed();
        signal(pid, "CONT");
        assert!(
            matches!(outcome, Err(Error::Timeout(limit)) if limit == Duration::from_millis(200)),
            "{outcome:?}"
        );
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_millis(400),
            "a stalled load failed after {took:?}; the limit is 200 ms"
        );
        assert_eq!(
            store.load(&kept.id).await.expect("load after resume"),
            Some(kept)
        );
    }
}

/// A population loaded in bulk is all there by the store's own count, one record per session,
/// for a batch the size a population step loads in one go.
mod population {
    use std::time::Instant;

    use authbench_contract::StoreUrl;
    use authbench_store::{Namespace, Record, Store, StoreMetrics, now_millis};
    use authbench_testkit::postgres::PostgresServer;
    use authbench_testkit::redis::RedisServer;

    use crate::Fixture;

    const SESSIONS: usize = 20_000;

    fn population() -> Vec<Record> {
        let now = now_millis();
        (0..SESSIONS)
            .map(|n| Record {
                id: format!("population-{n:08}").into(),
                user: format!("population-user-{n}").into(),
                created: now,
                expires: now + 3_600_000,
                data: "".into(),
            })
            .collect()
    }

    async fn load(url: StoreUrl) -> Store {
        let store = Store::open(
            &url,
            Fixture::options(Namespace::Sessions),
            &StoreMetrics::default(),
        )
        .await
        .expect("open");
        let started = Instant::now();
        let loaded = store.create_many(&population()).await.expect("create_many");
        eprintln!("{url}: {loaded} sessions in {:?}", started.elapsed());
        assert_eq!(loaded, SESSIONS as u64);
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_holds_one_record_key_per_loaded_session() {
        let server = RedisServer::start();
        let store = load(StoreUrl::Redis(server.url())).await;
        let client = redis::Client::open(server.url()).expect("url");
        let mut raw = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let (mut cursor, mut records) = (0u64, 0usize);
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg("sessions:r:*")
                .arg("COUNT")
                .arg(5_000)
                .query_async(&mut raw)
                .await
                .expect("SCAN");
            records += keys.len();
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(records, SESSIONS);
        // The store's own count agrees with the server's.
        assert_eq!(
            store.count_live().await.expect("count_live"),
            SESSIONS as u64
        );
        let last = format!("population-{:08}", SESSIONS - 1);
        assert!(store.load(&last).await.expect("load").is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_holds_one_row_per_loaded_session() {
        let url = PostgresServer::shared().fresh_database();
        let store = load(StoreUrl::Postgres(url.clone())).await;
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT count(*) FROM sessions", &[])
            .await
            .expect("count");
        assert_eq!(row.get::<_, i64>(0), SESSIONS as i64);
        // The store's own count agrees with the server's.
        assert_eq!(
            store.count_live().await.expect("count_live"),
            SESSIONS as u64
        );
        let last = format!("population-{:08}", SESSIONS - 1);
        assert!(store.load(&last).await.expect("load").is_some());
    }
}

/// Data this program did not write is reported as corrupt, never a panic or a wrong record.
mod corrupt {
    use authbench_contract::StoreUrl;
    use authbench_store::{Error, Namespace, Options, Store, StoreMetrics};
    use authbench_testkit::redis::RedisServer;

    #[tokio::test]
    async fn redis_foreign_values_are_corrupt() {
        let server = RedisServer::start();
        let client = redis::Client::open(server.url()).expect("redis url");
        let mut raw = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let _: () = redis::pipe()
            .cmd("SET")
            .arg("sessions:r:text")
            .arg("not a record")
            .cmd("SET")
            .arg("sessions:r:bytes")
            .arg(&[0xff_u8, 0xfe][..])
            .cmd("SET")
            .arg("sessions:r:short")
            .arg("1 2 99 abc")
            .cmd("HSET")
            .arg("sessions:r:hash")
            .arg("field")
            .arg("value")
            .cmd("ZADD")
            .arg("sessions:u:alice")
            .arg(1)
            .arg("text")
            .query_async(&mut raw)
            .await
            .expect("write foreign keys");

        let url = StoreUrl::Redis(server.url());
        let options = Options::new(Namespace::Sessions);
        let store = Store::open(&url, options, &StoreMetrics::default())
            .await
            .expect("open");
        for id in ["text", "bytes", "short", "hash"] {
            let outcome = store.load(id).await;
            assert!(
                matches!(outcome, Err(Error::Corrupt(_))),
                "{id}: {outcome:?}"
            );
            let swapped = store.replace_data(id, "", "x").await;
            assert!(
                matches!(swapped, Err(Error::Corrupt(_))),
                "{id}: {swapped:?}"
            );
        }
        let listed = store.list_user("alice").await;
        assert!(matches!(listed, Err(Error::Corrupt(_))), "{listed:?}");

        // Creating over a foreign key replaces it, whatever its type.
        let now = authbench_store::now_millis();
        for id in ["text", "hash"] {
            let record = authbench_store::Record {
                id: id.into(),
                user: "bob".into(),
                created: now,
                expires: now + 60_000,
                data: "".into(),
            };
            store
                .create(&record, None)
                .await
                .expect("create over foreign");
            assert_eq!(store.load(id).await.expect("load"), Some(record));
        }
    }
}
