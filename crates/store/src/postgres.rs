//! The Postgres backend: a few long-lived tokio-postgres connections with their statements
//! prepared once, picked round-robin, each reconnected lazily when it drops.
//!
//! Not sqlx: its pool checkout and per-query bookkeeping cost more than the query itself on a
//! primary-key lookup over loopback, and the session lookup is what this benchmark measures.
//!
//! Every query future is boxed where it is awaited: tokio-postgres' are about 1 KB, and held
//! inline they would make every future around them (the store operation, the handler, the
//! request) that large, copied whole at each layer that moves it. One allocation costs less
//! than those copies.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::backend::{Backend, Options};
use crate::error::{Error, postgres_cause};
use crate::record::{Record, now_millis};

/// Serialises schema creation between servers opening one database at once: concurrent
/// `CREATE ... IF NOT EXISTS` can still collide on the catalog's unique indexes.
const SCHEMA_LOCK: i64 = 0x6175_7468_6265_6e63; // "authbenc"

fn schema(t: &str) -> String {
    // COLLATE "C": ids order by bytes, as in the other backends, and compare faster.
    // `{t}_create` runs the insert and the eviction in one round trip. With a cap, creates for
    // one user queue on an advisory lock, and each statement in a plpgsql function takes a new
    // snapshot, so every eviction sees every create committed before it: racing creates never
    // leave more than the cap, and never deadlock deleting each other's rows.
    format!(
        r#"BEGIN;
SELECT pg_advisory_xact_lock({SCHEMA_LOCK});
CREATE TABLE IF NOT EXISTS {t} (
    id TEXT COLLATE "C" PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {t}_username_created ON {t} (username, created);
CREATE INDEX IF NOT EXISTS {t}_expires ON {t} (expires);
CREATE OR REPLACE FUNCTION {t}_create(
    p_id TEXT, p_user TEXT, p_created BIGINT, p_expires BIGINT, p_data TEXT,
    p_cap BIGINT, p_now BIGINT) RETURNS VOID LANGUAGE plpgsql AS $fn$
BEGIN
    IF p_cap IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('{t}:' || p_user, 0));
    END IF;
    INSERT INTO {t} (id, username, created, expires, data)
        VALUES (p_id, p_user, p_created, p_expires, p_data)
        ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username,
            created = EXCLUDED.created, expires = EXCLUDED.expires, data = EXCLUDED.data;
    IF p_cap IS NOT NULL THEN
        DELETE FROM {t} WHERE username = p_user AND (expires <= p_now OR id IN (
            SELECT id FROM {t} WHERE username = p_user AND expires > p_now
            ORDER BY created DESC, id DESC OFFSET p_cap));
    END IF;
END
$fn$;
COMMIT;"#
    )
}

/// One connection with its prepared statements.
#[derive(Debug)]
struct Connection {
    client: Client,
    create: Statement,
    load: Statement,
    touch: Statement,
    replace_data: Statement,
    delete: Statement,
    list: Statement,
    count: Statement,
    delete_user: Statement,
    purge: Statement,
}

impl Connection {
    async fn open(config: &tokio_postgres::Config) -> Result<Client, Error> {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "postgres store connection closed");
            }
        });
        Ok(client)
    }

    async fn prepare(client: Client, sql: &[String; STATEMENTS]) -> Result<Connection, Error> {
        // Prepared concurrently: tokio-postgres pipelines them, one round trip in all.
        let prepared =
            futures::future::try_join_all(sql.iter().map(|text| client.prepare(text))).await?;
        let [
            create,
            load,
            touch,
            replace_data,
            delete,
            list,
            count,
            delete_user,
            purge,
        ] = <[Statement; STATEMENTS]>::try_from(prepared).map_err(|_| {
            Error::Unavailable("postgres prepared a wrong number of statements".into())
        })?;
        Ok(Connection {
            client,
            create,
            load,
            touch,
            replace_data,
            delete,
            list,
            count,
            delete_user,
            purge,
        })
    }
}

/// How many statements a [`Connection`] prepares.
const STATEMENTS: usize = 9;

/// The statement texts, in [`Connection`]'s field order.
fn statements(t: &str) -> [String; STATEMENTS] {
    [
        format!("SELECT {t}_create($1, $2, $3, $4, $5, $6, $7)"),
        format!("SELECT username, created, expires, data FROM {t} WHERE id = $1 AND expires > $2"),
        format!("UPDATE {t} SET expires = $1 WHERE id = $2 AND expires > $3"),
        // Racing swaps queue on the row lock; under READ COMMITTED each waiter then re-checks the
        // WHERE against the winner's row version, finds the data changed and updates nothing.
        format!("UPDATE {t} SET data = $1 WHERE id = $2 AND data = $3 AND expires > $4"),
        format!("DELETE FROM {t} WHERE id = $1 RETURNING expires"),
        format!(
            "SELECT id, created, expires, data FROM {t} WHERE username = $1 AND expires > $2 \
             ORDER BY created, id"
        ),
        format!("SELECT count(*) FROM {t} WHERE username = $1 AND expires > $2"),
        format!(
            "WITH gone AS (DELETE FROM {t} WHERE username = $1 RETURNING expires) \
             SELECT count(*) FILTER (WHERE expires > $2) FROM gone"
        ),
        format!("DELETE FROM {t} WHERE expires <= $1"),
    ]
}

/// A connection slot: the live connection, if any, and whether a reconnect is under way.
#[derive(Debug)]
struct Slot {
    current: Mutex<Option<Arc<Connection>>>,
    reconnecting: AtomicBool,
}

#[derive(Debug)]
struct Shared {
    config: tokio_postgres::Config,
    /// The table, named after the namespace.
    table: &'static str,
    sql: [String; STATEMENTS],
    slots: Vec<Slot>,
    /// Bounds a whole reconnect (connect, then prepare): a server that accepts connections but
    /// never answers must not leave a slot "reconnecting" forever.
    reconnect_timeout: Duration,
}

#[derive(Debug)]
pub struct PostgresBackend {
    shared: Arc<Shared>,
    next: AtomicUsize,
}

impl PostgresBackend {
    pub async fn open(url: &str, options: &Options) -> Result<Self, Error> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error: tokio_postgres::Error| Error::Open(postgres_cause(&error)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.op_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("authbench-store");
        }
        let table = options.namespace.name();
        let sql = statements(table);

        // A store that is down stays `Unavailable`; a schema that can't be created (no
        // privilege, say) is a configuration problem, `Open`.
        let first = Connection::open(&config).await?;
        first.batch_execute(&schema(table)).await.map_err(|error| {
            Error::Open(format!(
                "creating the {table} table: {}",
                postgres_cause(&error)
            ))
        })?;
        let mut connections = vec![Connection::prepare(first, &sql).await?];
        let rest = (1..options.connections.get())
            .map(|_| async { Connection::prepare(Connection::open(&config).await?, &sql).await });
        connections.extend(futures::future::try_join_all(rest).await?);

        let slots = connections
            .into_iter()
            .map(|connection| Slot {
                current: Mutex::new(Some(Arc::new(connection))),
                reconnecting: AtomicBool::new(false),
            })
            .collect();
        Ok(PostgresBackend {
            shared: Arc::new(Shared {
                config,
                table,
                sql,
                slots,
                reconnect_timeout: options.op_timeout.max(Duration::from_secs(1)),
            }),
            next: AtomicUsize::new(0),
        })
    }

    /// The next connection round-robin; no checkout, since a tokio-postgres client pipelines
    /// concurrent queries itself. A dropped connection is replaced by one background attempt
    /// per slot; callers that find one under way fail at once rather than queue behind a store
    /// that may be down.
    async fn connection(&self) -> Result<Arc<Connection>, Error> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.shared.slots.len();
        match self.shared.slots[index].open_connection() {
            Some(connection) => Ok(connection),
            // Boxed: the rare path's state would otherwise sit in every operation's future.
            None => Box::pin(self.reconnect(index)).await,
        }
    }

    async fn reconnect(&self, index: usize) -> Result<Arc<Connection>, Error> {
        let slot = &self.shared.slots[index];
        if slot.reconnecting.swap(true, Ordering::AcqRel) {
            return Err(Error::Unavailable("reconnecting to postgres".into()));
        }
        // Spawned, so that a caller timing out does not abandon the attempt half-way.
        let shared = self.shared.clone();
        let attempt = tokio::spawn(async move {
            let slot = &shared.slots[index];
            let opening = async {
                let client = Connection::open(&shared.config).await?;
                Ok::<_, Error>(Arc::new(Connection::prepare(client, &shared.sql).await?))
            };
            let opened = tokio::time::timeout(shared.reconnect_timeout, opening)
                .await
                .unwrap_or(Err(Error::Timeout(shared.reconnect_timeout)));
            if let Ok(connection) = &opened {
                *slot.current.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(connection.clone());
            }
            slot.reconnecting.store(false, Ordering::Release);
            opened
        });
        attempt
            .await
            .map_err(|error| Error::Unavailable(crate::error::cause(&error)))?
    }
}

impl Slot {
    /// The slot's connection, unless it is gone or closed.
    fn open_connection(&self) -> Option<Arc<Connection>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|connection| !connection.client.is_closed())
            .cloned()
    }
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, Error> {
    row.try_get(column)
        .map_err(|error| Error::Corrupt(postgres_cause(&error)))
}

fn cap(max_per_user: Option<NonZeroU32>) -> Option<i64> {
    max_per_user.map(|cap| i64::from(cap.get()))
}

impl Backend for PostgresBackend {
    async fn create(&self, record: &Record, max_per_user: Option<NonZeroU32>) -> Result<(), Error> {
        let c = self.connection().await?;
        let now = now_millis();
        let cap = cap(max_per_user);
        Box::pin(c.client.execute(
            &c.create,
            &[
                &&*record.id,
                &&*record.user,
                &record.created,
                &record.expires,
                &&*record.data,
                &cap,
                &now,
            ],
        ))
        .await?;
        Ok(())
    }

    async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        // A connection of its own (a transaction needs one), COPY into a temporary table, then
        // one INSERT ... ON CONFLICT that replaces as `create` does. COPY takes the rows at
        // the server's own pace, orders of magnitude above one statement per record.
        let mut client = Connection::open(&self.shared.config).await?;
        let table = self.shared.table;
        let transaction = client.transaction().await?;
        transaction
            .batch_execute(&format!(
                "CREATE TEMPORARY TABLE {table}_bulk (LIKE {table} INCLUDING DEFAULTS) \
                 ON COMMIT DROP"
            ))
            .await?;
        let sink = transaction
            .copy_in(&format!(
                "COPY {table}_bulk (id, username, created, expires, data) FROM STDIN BINARY"
            ))
            .await?;
        let types = [Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::TEXT];
        let writer = BinaryCopyInWriter::new(sink, &types);
        let mut writer = std::pin::pin!(writer);
        for record in records {
            writer
                .as_mut()
                .write(&[
                    &&*record.id,
                    &&*record.user,
                    &record.created,
                    &record.expires,
                    &&*record.data,
                ])
                .await?;
        }
        writer.finish().await?;
        let stored = transaction
            .execute(
                &format!(
                    "INSERT INTO {table} (id, username, created, expires, data) \
                     SELECT id, username, created, expires, data FROM {table}_bulk \
                     ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, \
                     created = EXCLUDED.created, expires = EXCLUDED.expires, data = EXCLUDED.data"
                ),
                &[],
            )
            .await?;
        transaction.commit().await?;
        Ok(stored)
    }

    async fn load(&self, id: &str) -> Result<Option<Record>, Error> {
        let c = self.connection().await?;
        let Some(row) = Box::pin(c.client.query_opt(&c.load, &[&id, &now_millis()])).await? else {
            return Ok(None);
        };
        // Borrowed from the row, then copied once into the record's shared strings.
        Ok(Some(Record {
            id: id.into(),
            user: get::<&str>(&row, 0)?.into(),
            created: get(&row, 1)?,
            expires: get(&row, 2)?,
            data: get::<&str>(&row, 3)?.into(),
        }))
    }

    async fn count_live(&self) -> Result<u64, Error> {
        let c = self.connection().await?;
        let sql = format!(
            "SELECT count(*) FROM {} WHERE expires > $1",
            self.shared.table
        );
        let row = Box::pin(c.client.query_one(&sql, &[&now_millis()])).await?;
        let count: i64 = get(&row, 0)?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn count_stored(&self) -> Result<u64, Error> {
        let c = self.connection().await?;
        let sql = format!("SELECT count(*) FROM {}", self.shared.table);
        let row = Box::pin(c.client.query_one(&sql, &[])).await?;
        let count: i64 = get(&row, 0)?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn touch(&self, record: &Record) -> Result<bool, Error> {
        let c = self.connection().await?;
        let touched = Box::pin(
            c.client
                .execute(&c.touch, &[&record.expires, &&*record.id, &now_millis()]),
        )
        .await?;
        Ok(touched > 0)
    }

    async fn replace_data(&self, id: &str, expected: &str, new: &str) -> Result<bool, Error> {
        let c = self.connection().await?;
        let replaced = Box::pin(
            c.client
                .execute(&c.replace_data, &[&new, &id, &expected, &now_millis()]),
        )
        .await?;
        Ok(replaced > 0)
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let c = self.connection().await?;
        let now = now_millis();
        match Box::pin(c.client.query_opt(&c.delete, &[&id])).await? {
            Some(row) => Ok(get::<i64>(&row, 0)? > now),
            None => Ok(false),
        }
    }

    async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        let c = self.connection().await?;
        let rows = Box::pin(c.client.query(&c.list, &[&user, &now_millis()])).await?;
        rows.iter()
            .map(|row| {
                Ok(Record {
                    id: get::<&str>(row, 0)?.into(),
                    user: user.into(),
                    created: get(row, 1)?,
                    expires: get(row, 2)?,
                    data: get::<&str>(row, 3)?.into(),
                })
            })
            .collect()
    }

    async fn count_user(&self, user: &str) -> Result<u64, Error> {
        let c = self.connection().await?;
        let row = Box::pin(c.client.query_one(&c.count, &[&user, &now_millis()])).await?;
        let count: i64 = get(&row, 0)?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        let c = self.connection().await?;
        let row = Box::pin(c.client.query_one(&c.delete_user, &[&user, &now_millis()])).await?;
        let count: i64 = get(&row, 0)?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn purge_expired(&self) -> Result<u64, Error> {
        let c = self.connection().await?;
        Ok(Box::pin(c.client.execute(&c.purge, &[&now_millis()])).await?)
    }

    async fn ping(&self) -> Result<(), Error> {
        let c = self.connection().await?;
        Box::pin(c.client.batch_execute("SELECT 1")).await?;
        Ok(())
    }
}
