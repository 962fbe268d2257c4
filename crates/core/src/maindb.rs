//! main_DB: the accounts table (username, argon2id hash, balance), on SQLite or Postgres.
//!
//! This is the application's own database, not the session store: both servers read it at login
//! (the password hash) and on each balance request.

use authbench_contract::error::Cause;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use sqlx::{Connection as _, Postgres, QueryBuilder, Sqlite};

/// Why main_DB could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "main_DB URL `{0}` is not supported; use sqlite://PATH, sqlite::memory: or postgres://HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot open main_DB {url}")]
    Open {
        url: String,
        #[source]
        cause: Cause,
    },
    #[error("cannot migrate main_DB {url}")]
    Migrate {
        url: String,
        #[source]
        cause: Cause,
    },
    #[error("main_DB unavailable")]
    Unavailable(#[source] Cause),
}

/// One row to write when seeding.
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub balance_cents: i64,
}

impl std::fmt::Debug for NewAccount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("username", &self.username)
            .field("balance_cents", &self.balance_cents)
            .finish_non_exhaustive()
    }
}

/// A connection pool to main_DB.
#[derive(Clone, Debug)]
pub enum MainDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Rows per INSERT statement when seeding: well under SQLite's bound-parameter limit.
const SEED_BATCH: usize = 500;

impl MainDb {
    /// Opens main_DB at `url` and brings its schema up to date. A SQLite file is created when
    /// missing. `acquire_timeout` bounds how long a request waits for a connection, so an
    /// unreachable database turns into a fast 503 rather than a queue.
    pub async fn connect(url: &str, acquire_timeout: Duration) -> Result<MainDb, Error> {
        let open = |error: &(dyn std::error::Error + 'static)| Error::Open {
            url: authbench_contract::redact(url),
            cause: Cause::of(error),
        };
        let migrate = |error: &(dyn std::error::Error + 'static)| Error::Migrate {
            url: authbench_contract::redact(url),
            cause: Cause::of(error),
        };
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let db = match scheme.as_str() {
            "sqlite" => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|error| open(&error))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                // Each in-memory connection would be its own empty database: keep exactly one.
                let max = if in_memory { 1 } else { 8 };
                let pool_options = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(if in_memory { 1 } else { 0 })
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(acquire_timeout);
                let pool = if in_memory {
                    // The one connection is the database: migrate through the pool.
                    let pool = pool_options
                        .connect_with(options)
                        .await
                        .map_err(|error| open(&error))?;
                    sqlx::migrate!("migrations/sqlite")
                        .run(&pool)
                        .await
                        .map_err(|error| migrate(&error))?;
                    pool
                } else {
                    // Opening and migrating is not a request: a busy machine may take longer
                    // than `acquire_timeout` to create the file, so it gets a connection of its
                    // own, outside the pool's timeout.
                    let mut first = SqliteConnection::connect_with(&options)
                        .await
                        .map_err(|error| open(&error))?;
                    sqlx::migrate!("migrations/sqlite")
                        .run(&mut first)
                        .await
                        .map_err(|error| migrate(&error))?;
                    let _ = first.close().await;
                    pool_options.connect_lazy_with(options)
                };
                MainDb::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(acquire_timeout)
                    .connect(url)
                    .await
                    .map_err(|error| open(&error))?;
                sqlx::migrate!("migrations/postgres")
                    .run(&pool)
                    .await
                    .map_err(|error| migrate(&error))?;
                MainDb::Postgres(pool)
            }
            _ => return Err(Error::UnsupportedUrl(authbench_contract::redact(url))),
        };
        Ok(db)
    }

    /// The stored argon2id hash for `username`, if the account exists.
    pub async fn password_hash(&self, username: &str) -> Result<Option<String>, Error> {
        const SQL_SQLITE: &str = "SELECT password_hash FROM accounts WHERE username = ?1";
        const SQL_PG: &str = "SELECT password_hash FROM accounts WHERE username = $1";
        let found = match self {
            MainDb::Sqlite(pool) => {
                sqlx::query_scalar(SQL_SQLITE)
                    .bind(username)
                    .fetch_optional(pool)
                    .await
            }
            MainDb::Postgres(pool) => {
                sqlx::query_scalar(SQL_PG)
                    .bind(username)
                    .fetch_optional(pool)
                    .await
            }
        };
        found.map_err(|error| Error::Unavailable(Cause::of(&error)))
    }

    /// The balance of `username` in cents, if the account exists.
    pub async fn balance_cents(&self, username: &str) -> Result<Option<i64>, Error> {
        const SQL_SQLITE: &str = "SELECT balance_cents FROM accounts WHERE username = ?1";
        const SQL_PG: &str = "SELECT balance_cents FROM accounts WHERE username = $1";
        let found = match self {
            MainDb::Sqlite(pool) => {
                sqlx::query_scalar(SQL_SQLITE)
                    .bind(username)
                    .fetch_optional(pool)
                    .await
            }
            MainDb::Postgres(pool) => {
                sqlx::query_scalar(SQL_PG)
                    .bind(username)
                    .fetch_optional(pool)
                    .await
            }
        };
        found.map_err(|error| Error::Unavailable(Cause::of(&error)))
    }

    /// Every account's balance, for servers that serve balances from an in-process copy.
    pub async fn all_balances(&self) -> Result<Vec<(String, i64)>, Error> {
        const SQL: &str = "SELECT username, balance_cents FROM accounts";
        let rows = match self {
            MainDb::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
            MainDb::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
        };
        rows.map_err(|error| Error::Unavailable(Cause::of(&error)))
    }

    /// Inserts or replaces accounts, in batches inside one transaction (so a failed seed leaves
    /// main_DB as it was).
    pub async fn upsert_accounts(&self, accounts: &[NewAccount<'_>]) -> Result<(), Error> {
        const UPSERT_TAIL: &str = " ON CONFLICT (username) DO UPDATE SET \
            password_hash = excluded.password_hash, balance_cents = excluded.balance_cents";
        match self {
            MainDb::Sqlite(pool) => {
                let mut tx = pool
                    .begin()
                    .await
                    .map_err(|error| Error::Unavailable(Cause::of(&error)))?;
                for batch in accounts.chunks(SEED_BATCH) {
                    let mut insert = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO accounts (username, password_hash, balance_cents) ",
                    );
                    insert.push_values(batch, |mut row, account| {
                        row.push_bind(account.username)
                            .push_bind(account.password_hash)
                            .push_bind(account.balance_cents);
                    });
                    insert.push(UPSERT_TAIL);
                    insert
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|error| Error::Unavailable(Cause::of(&error)))?;
                }
                tx.commit()
                    .await
                    .map_err(|error| Error::Unavailable(Cause::of(&error)))
            }
            MainDb::Postgres(pool) => {
                let mut tx = pool
                    .begin()
                    .await
                    .map_err(|error| Error::Unavailable(Cause::of(&error)))?;
                for batch in accounts.chunks(SEED_BATCH) {
                    let mut insert = QueryBuilder::<Postgres>::new(
                        "INSERT INTO accounts (username, password_hash, balance_cents) ",
                    );
                    insert.push_values(batch, |mut row, account| {
                        row.push_bind(account.username)
                            .push_bind(account.password_hash)
                            .push_bind(account.balance_cents);
                    });
                    insert.push(UPSERT_TAIL);
                    insert
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|error| Error::Unavailable(Cause::of(&error)))?;
                }
                tx.commit()
                    .await
                    .map_err(|error| Error::Unavailable(Cause::of(&error)))
            }
        }
    }

    /// How many accounts exist.
    pub async fn count_accounts(&self) -> Result<i64, Error> {
        const SQL: &str = "SELECT COUNT(*) FROM accounts";
        let count = match self {
            MainDb::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
            MainDb::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
        };
        count.map_err(|error| Error::Unavailable(Cause::of(&error)))
    }

    /// Checks that main_DB answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), Error> {
        let pinged = match self {
            MainDb::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            MainDb::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        };
        pinged.map_err(|error| Error::Unavailable(Cause::of(&error)))
    }
}
