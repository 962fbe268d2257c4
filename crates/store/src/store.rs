//! [`Store`]: a backend chosen by URL, with every operation bounded in time, counted and timed.

use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Instant;

use authbench_contract::{StoreKind, StoreUrl};

use crate::backend::{Backend, Options};
use crate::error::Error;
use crate::memory::MemoryBackend;
use crate::metrics::{Op, OpHandles, StoreMetrics};
use crate::postgres::PostgresBackend;
use crate::record::Record;
use crate::redis_store::RedisBackend;
use crate::sqlite::SqliteBackend;

/// Static dispatch over the four backends: no boxed futures on the hot path.
#[derive(Debug)]
enum AnyBackend {
    Memory(MemoryBackend),
    Sqlite(SqliteBackend),
    Redis(RedisBackend),
    Postgres(PostgresBackend),
}

macro_rules! dispatch {
    ($backend:expr, $inner:ident => $call:expr) => {
        match $backend {
            AnyBackend::Memory($inner) => $call.await,
            AnyBackend::Sqlite($inner) => $call.await,
            AnyBackend::Redis($inner) => $call.await,
            AnyBackend::Postgres($inner) => $call.await,
        }
    };
}

#[derive(Debug)]
struct Inner {
    backend: AnyBackend,
    kind: StoreKind,
    options: Options,
    metrics: OpHandles,
}

/// A store of TTL'd records, shared cheaply (it is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

impl AnyBackend {
    /// Whether an operation can wait on something outside the process (a server, a file lock,
    /// a pool), which the operation timeout bounds. The in-memory map answers at once, and a
    /// timer armed for it on every request would be cost without purpose.
    fn may_stall(&self) -> bool {
        !matches!(self, AnyBackend::Memory(_))
    }
}

impl Store {
    /// Opens (and, for SQL backends, creates the table of) the store at `url`. Fails if the store
    /// can't be reached within the operation timeout: a server should not start against a store
    /// that is down.
    pub async fn open(
        url: &StoreUrl,
        options: Options,
        metrics: &StoreMetrics,
    ) -> Result<Store, Error> {
        let deadline = options.op_timeout.max(std::time::Duration::from_secs(5));
        let opening = async {
            Ok::<_, Error>(match url {
                StoreUrl::Memory => AnyBackend::Memory(MemoryBackend::new()),
                StoreUrl::Sqlite(raw) => {
                    AnyBackend::Sqlite(SqliteBackend::open(raw, &options).await?)
                }
                StoreUrl::Redis(raw) => AnyBackend::Redis(RedisBackend::open(raw, &options).await?),
                StoreUrl::Postgres(raw) => {
                    AnyBackend::Postgres(PostgresBackend::open(raw, &options).await?)
                }
            })
        };
        let backend = tokio::time::timeout(deadline, opening)
            .await
            .map_err(|_| Error::Timeout(deadline))??;
        let kind = url.kind();
        let metrics = metrics.handles(kind.as_str(), options.namespace);
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                kind,
                options,
                metrics,
            }),
        })
    }

    pub fn kind(&self) -> StoreKind {
        self.inner.kind
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    pub async fn create(
        &self,
        record: &Record,
        max_per_user: Option<NonZeroU32>,
    ) -> Result<(), Error> {
        self.timed(Op::create, async {
            dispatch!(&self.inner.backend, b => b.create(record, max_per_user))
        })
        .await
    }

    pub async fn load(&self, id: &str) -> Result<Option<Record>, Error> {
        self.timed(Op::load, async {
            dispatch!(&self.inner.backend, b => b.load(id))
        })
        .await
    }

    pub async fn touch(&self, record: &Record) -> Result<bool, Error> {
        self.timed(Op::touch, async {
            dispatch!(&self.inner.backend, b => b.touch(record))
        })
        .await
    }

    /// See [`Backend::replace_data`]: an atomic compare-and-swap of `data`.
    pub async fn replace_data(&self, id: &str, expected: &str, new: &str) -> Result<bool, Error> {
        self.timed(Op::replace_data, async {
            dispatch!(&self.inner.backend, b => b.replace_data(id, expected, new))
        })
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<bool, Error> {
        self.timed(Op::delete, async {
            dispatch!(&self.inner.backend, b => b.delete(id))
        })
        .await
    }

    pub async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        self.timed(Op::list_user, async {
            dispatch!(&self.inner.backend, b => b.list_user(user))
        })
        .await
    }

    pub async fn count_user(&self, user: &str) -> Result<u64, Error> {
        self.timed(Op::count_user, async {
            dispatch!(&self.inner.backend, b => b.count_user(user))
        })
        .await
    }

    pub async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        self.timed(Op::delete_user, async {
            dispatch!(&self.inner.backend, b => b.delete_user(user))
        })
        .await
    }

    pub async fn purge_expired(&self) -> Result<u64, Error> {
        self.timed(Op::purge_expired, async {
            dispatch!(&self.inner.backend, b => b.purge_expired())
        })
        .await
    }

    pub async fn ping(&self) -> Result<(), Error> {
        self.timed(Op::ping, async {
            dispatch!(&self.inner.backend, b => b.ping())
        })
        .await
    }

    /// Deletes expired records every `purge_interval` until the last clone of this store is
    /// dropped. Failures are logged and retried on the next tick: a store that is down now may be
    /// back then.
    pub fn spawn_purge_task(&self) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = self.inner.options.purge_interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let store = Store { inner };
                match store.purge_expired().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "purged expired records"),
                    Err(error) => tracing::warn!(%error, "purging expired records failed"),
                }
            }
        })
    }

    async fn timed<T>(
        &self,
        op: Op,
        operation: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let limit = self.inner.options.op_timeout;
        let result = if self.inner.backend.may_stall() {
            // The deadline from the start already read: one clock read fewer per operation.
            let deadline = tokio::time::Instant::from_std(started + limit);
            match tokio::time::timeout_at(deadline, operation).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout(limit)),
            }
        } else {
            operation.await
        };
        self.inner
            .metrics
            .get(op)
            .record(result.is_ok(), started.elapsed());
        result
    }
}
