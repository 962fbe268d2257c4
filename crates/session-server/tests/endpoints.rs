//! The shared endpoint suite (authbench-testkit), against the session server on each of the four
//! session stores. Redis and Postgres are real servers started by the harness.

mod common;

use common::{Backend, start, start_with};

authbench_testkit::endpoint_suite!(memory, start(Backend::Memory));
authbench_testkit::endpoint_suite!(sqlite, start(Backend::Sqlite));
authbench_testkit::endpoint_suite!(redis, start(Backend::Redis));
authbench_testkit::endpoint_suite!(postgres, start(Backend::Postgres));

// Balances from the in-process copy instead of main_DB: the same surface must hold.
authbench_testkit::endpoint_suite!(
    memory_in_process_balances,
    start_with(Backend::Memory, |options| {
        options.common.balance_source = authbench_core::balances::BalanceSource::InProcess;
    })
);

// main_DB on Postgres too (accounts, password hashes and balances), sessions on Redis.
authbench_testkit::endpoint_suite!(
    redis_with_postgres_main_db,
    start_with(Backend::Redis, |options| {
        options.common.main_db_url =
            authbench_testkit::postgres::PostgresServer::shared().fresh_database();
    })
);
