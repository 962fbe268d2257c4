//! The embedded default: one SQLite file (or `sqlite::memory:`) inside the server process,
//! through sqlx.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backend::{Backend, Options};
use crate::error::{Error, cause};
use crate::record::{Record, now_millis};

/// The statements, formatted once per namespace: the table name can't be a bind parameter.
#[derive(Debug)]
struct Sql {
    insert: String,
    evict: String,
    load: String,
    touch: String,
    replace_data: String,
    delete: String,
    list: String,
    count: String,
    count_live: String,
    count_stored: String,
    delete_user: String,
    purge: String,
}

impl Sql {
    fn for_table(t: &str) -> Sql {
        Sql {
            // A reused id replaces the old row (an expired one not yet purged, typically)
            // rather than failing the create.
            insert: format!(
                "INSERT INTO {t} (id, user, created, expires, data) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (id) DO UPDATE SET user = ?2, created = ?3, expires = ?4, data = ?5"
            ),
            // Expired rows go first, so that they never take a live row's place under the cap.
            evict: format!(
                "DELETE FROM {t} WHERE user = ?1 AND (expires <= ?2 OR id IN (\
                 SELECT id FROM {t} WHERE user = ?1 AND expires > ?2 \
                 ORDER BY created DESC, id DESC LIMIT -1 OFFSET ?3))"
            ),
            load: format!(
                "SELECT user, created, expires, data FROM {t} WHERE id = ?1 AND expires > ?2"
            ),
            touch: format!("UPDATE {t} SET expires = ?1 WHERE id = ?2 AND expires > ?3"),
            // One statement in autocommit: it takes the write lock before reading the row, so
            // racing swaps serialise and every one after the winner sees the new data.
            replace_data: format!(
                "UPDATE {t} SET data = ?1 WHERE id = ?2 AND data = ?3 AND expires > ?4"
            ),
            delete: format!("DELETE FROM {t} WHERE id = ?1 RETURNING expires"),
            list: format!(
                "SELECT id, created, expires, data FROM {t} WHERE user = ?1 AND expires > ?2 \
                 ORDER BY created, id"
            ),
            count: format!("SELECT COUNT(*) FROM {t} WHERE user = ?1 AND expires > ?2"),
            count_live: format!("SELECT COUNT(*) FROM {t} WHERE expires > ?1"),
            count_stored: format!("SELECT COUNT(*) FROM {t}"),
            delete_user: format!("DELETE FROM {t} WHERE user = ?1 RETURNING expires"),
            purge: format!("DELETE FROM {t} WHERE expires <= ?1"),
        }
    }
}

#[derive(Debug)]
pub struct SqliteBackend {
    pool: SqlitePool,
    sql: Sql,
}

impl SqliteBackend {
    pub async fn open(url: &str, options: &Options) -> Result<Self, Error> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|error| Error::Open(cause(&error)))?
            .create_if_missing(true)
            // Writers wait for each other up to the operation timeout instead of failing at once.
            .busy_timeout(options.op_timeout);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // The pool's own wait covers opening (a first connection on a busy disk can take longer
        // than one operation may): every operation after that is bounded by `Store`'s watchdog.
        let mut pool = SqlitePoolOptions::new()
            .acquire_timeout(options.op_timeout.max(Duration::from_secs(5)));
        let connect = if in_memory {
            // An in-memory database lives as long as its connection, and lives in that connection
            // alone: keep exactly one, forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            connect
        } else {
            pool = pool.max_connections(options.connections.get());
            // WAL lets reads run beside a write; NORMAL skips the fsync per commit, which WAL
            // makes safe against corruption (a power cut may lose the last commits, not the file).
            connect
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let pool = pool
            .connect_with(connect)
            .await
            .map_err(|error| Error::Open(cause(&error)))?;

        let table = options.namespace.name();
        let schema = format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
                 id TEXT PRIMARY KEY NOT NULL, user TEXT NOT NULL, created INTEGER NOT NULL, \
                 expires INTEGER NOT NULL, data TEXT NOT NULL);\
             CREATE INDEX IF NOT EXISTS {table}_user_created ON {table} (user, created);\
             CREATE INDEX IF NOT EXISTS {table}_expires ON {table} (expires);"
        );
        sqlx::raw_sql(&schema)
            .execute(&pool)
            .await
            .map_err(|error| Error::Open(cause(&error)))?;
        Ok(SqliteBackend {
            pool,
            sql: Sql::for_table(table),
        })
    }
}

impl Backend for SqliteBackend {
    async fn create(&self, record: &Record, max_per_user: Option<NonZeroU32>) -> Result<(), Error> {
        let insert = sqlx::query(&self.sql.insert)
            .bind(&*record.id)
            .bind(&*record.user)
            .bind(record.created)
            .bind(record.expires)
            .bind(&*record.data);
        let Some(cap) = max_per_user else {
            insert.execute(&self.pool).await?;
            return Ok(());
        };
        // One transaction, begun by the INSERT (a write, so it takes the write lock at once and
        // waits in busy_timeout rather than failing on a stale snapshot): racing creates for one
        // user serialise, and each eviction sees every row committed before it.
        let mut tx = self.pool.begin().await?;
        insert.execute(&mut *tx).await?;
        sqlx::query(&self.sql.evict)
            .bind(&*record.user)
            .bind(now_millis())
            .bind(i64::from(cap.get()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        // One transaction: one fsync for the batch instead of one per record.
        let mut tx = self.pool.begin().await?;
        for record in records {
            sqlx::query(&self.sql.insert)
                .bind(&*record.id)
                .bind(&*record.user)
                .bind(record.created)
                .bind(record.expires)
                .bind(&*record.data)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(records.len() as u64)
    }

    async fn load(&self, id: &str) -> Result<Option<Record>, Error> {
        let row: Option<(String, i64, i64, String)> = sqlx::query_as(&self.sql.load)
            .bind(id)
            .bind(now_millis())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(user, created, expires, data)| Record {
            id: id.into(),
            user: user.into(),
            created,
            expires,
            data: data.into(),
        }))
    }

    async fn count_live(&self) -> Result<u64, Error> {
        let count: i64 = sqlx::query_scalar(&self.sql.count_live)
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn count_stored(&self) -> Result<u64, Error> {
        let count: i64 = sqlx::query_scalar(&self.sql.count_stored)
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn touch(&self, record: &Record) -> Result<bool, Error> {
        let done = sqlx::query(&self.sql.touch)
            .bind(record.expires)
            .bind(&*record.id)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_data(&self, id: &str, expected: &str, new: &str) -> Result<bool, Error> {
        let done = sqlx::query(&self.sql.replace_data)
            .bind(new)
            .bind(id)
            .bind(expected)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let now = now_millis();
        let expires: Option<i64> = sqlx::query_scalar(&self.sql.delete)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(expires.is_some_and(|expires| expires > now))
    }

    async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        let rows: Vec<(String, i64, i64, String)> = sqlx::query_as(&self.sql.list)
            .bind(user)
            .bind(now_millis())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, created, expires, data)| Record {
                id: id.into(),
                user: user.into(),
                created,
                expires,
                data: data.into(),
            })
            .collect())
    }

    async fn count_user(&self, user: &str) -> Result<u64, Error> {
        let count: i64 = sqlx::query_scalar(&self.sql.count)
            .bind(user)
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(count).map_err(|_| Error::Corrupt(format!("negative count {count}")))
    }

    async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        let now = now_millis();
        let expires: Vec<i64> = sqlx::query_scalar(&self.sql.delete_user)
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(expires.into_iter().filter(|&expires| expires > now).count() as u64)
    }

    async fn purge_expired(&self) -> Result<u64, Error> {
        let done = sqlx::query(&self.sql.purge)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Namespace;

    #[tokio::test]
    async fn in_memory_database_is_one_database_for_every_query() {
        let options = Options::new(Namespace::Sessions);
        let store = SqliteBackend::open("sqlite::memory:", &options)
            .await
            .expect("open");
        let now = now_millis();
        let record = Record {
            id: "s".into(),
            user: "u".into(),
            created: now,
            expires: now + 60_000,
            data: "".into(),
        };
        store.create(&record, None).await.expect("create");
        let loads = futures::future::join_all((0..8).map(|_| store.load("s"))).await;
        for loaded in loads {
            assert_eq!(loaded.expect("load"), Some(record.clone()));
        }
    }
}
