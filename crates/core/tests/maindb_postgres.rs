//! main_DB on a real PostgreSQL server (a throwaway cluster from authbench-testkit): migrations,
//! seeding and the reads both servers make.

use std::num::NonZeroU32;
use std::time::Duration;

use authbench_core::maindb::MainDb;
use authbench_core::password::{Cost, Passwords};
use authbench_core::seed;
use authbench_testkit::postgres::PostgresServer;

#[tokio::test]
async fn postgres_main_db_migrates_seeds_and_answers() {
    let url = PostgresServer::shared().fresh_database();
    let db = MainDb::connect(&url, Duration::from_secs(5)).await.unwrap();
    // Connecting again re-runs the migrations, which must be a no-op.
    let db_again = MainDb::connect(&url, Duration::from_secs(5)).await.unwrap();
    let passwords = Passwords::new(Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();

    seed::seed(&db, &passwords, NonZeroU32::new(1_200).unwrap())
        .await
        .unwrap();
    assert_eq!(db_again.count_accounts().await.unwrap(), 1_200);
    let hash = db.password_hash("user1199").await.unwrap();
    assert!(passwords.verify(seed::password(1_199), hash).await.unwrap());
    assert_eq!(
        db.balance_cents("user1199").await.unwrap(),
        Some(seed::balance_cents(1_199))
    );
    assert_eq!(db.balance_cents("user1201").await.unwrap(), None);
    assert_eq!(db.all_balances().await.unwrap().len(), 1_200);
    db.ping().await.unwrap();
}

#[tokio::test]
async fn unreachable_postgres_main_db_fails_fast_with_a_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = std::time::Instant::now();
    let error = MainDb::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/x"),
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.to_string().contains("cannot open main_DB"), "{error}");
}
