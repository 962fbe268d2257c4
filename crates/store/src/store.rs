//! [`Store`]: a backend chosen by URL, with every operation bounded in time, counted and timed.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use authbench_contract::{StoreKind, StoreUrl};
use authbench_core::deadline::{Bounded, Watchdog};
use pin_project_lite::pin_project;

use crate::backend::{Backend, Options};
use crate::error::Error;
use crate::memory::MemoryBackend;
use crate::metrics::{Op, OpHandle, OpHandles, StoreMetrics};
use crate::postgres::PostgresBackend;
use crate::record::Record;
use crate::redis_cluster::RedisClusterBackend;
use crate::redis_store::RedisBackend;
use crate::sqlite::SqliteBackend;

/// Static dispatch over the five backends: no boxed futures on the hot path.
#[derive(Debug)]
enum AnyBackend {
    Memory(MemoryBackend),
    Sqlite(SqliteBackend),
    Redis(RedisBackend),
    RedisCluster(RedisClusterBackend),
    Postgres(PostgresBackend),
}

macro_rules! dispatch {
    ($backend:expr, $inner:ident => $call:expr) => {
        match $backend {
            AnyBackend::Memory($inner) => $call.await,
            AnyBackend::Sqlite($inner) => $call.await,
            AnyBackend::Redis($inner) => $call.await,
            AnyBackend::RedisCluster($inner) => $call.await,
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
    /// Bounds operations that may stall; none for the in-memory map, which answers at once (a
    /// deadline armed for it on every request would be cost without purpose).
    watchdog: Option<Watchdog>,
}

/// A store of TTL'd records, shared cheaply (it is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

impl AnyBackend {
    /// Whether an operation can wait on something outside the process (a server, a file lock,
    /// a pool), which the operation timeout bounds.
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
        let deadline = options.op_timeout.max(Duration::from_secs(5));
        let opening = async {
            Ok::<_, Error>(match url {
                StoreUrl::Memory => AnyBackend::Memory(MemoryBackend::new()),
                StoreUrl::Sqlite(raw) => {
                    AnyBackend::Sqlite(SqliteBackend::open(raw, &options).await?)
                }
                StoreUrl::Redis(raw) => AnyBackend::Redis(RedisBackend::open(raw, &options).await?),
                StoreUrl::RedisCluster(_) => AnyBackend::RedisCluster(
                    RedisClusterBackend::open(&url.cluster_nodes(), &options).await?,
                ),
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
        let watchdog = backend
            .may_stall()
            .then(|| Watchdog::start(options.op_timeout));
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                kind,
                options,
                metrics,
                watchdog,
            }),
        })
    }

    pub fn kind(&self) -> StoreKind {
        self.inner.kind
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    #[inline(always)]
    pub fn create<'a>(
        &'a self,
        record: &'a Record,
        max_per_user: Option<NonZeroU32>,
    ) -> Timed<'a, impl Future<Output = Result<(), Error>>> {
        self.timed(Op::create, async move {
            dispatch!(&self.inner.backend, b => b.create(record, max_per_user))
        })
    }

    /// See [`Backend::create_many`]: a population loaded before a measurement. Not bounded by
    /// the operation timeout (a million records take seconds) and not counted with the server's
    /// operations in `/metrics`: it is the benchmark's setup, not traffic.
    pub async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        dispatch!(&self.inner.backend, b => b.create_many(records))
    }

    /// See [`Backend::count_live`]: a full count, for checking a population load. Not bounded
    /// by the operation timeout and not counted in `/metrics`, as [`Store::create_many`].
    pub async fn count_live(&self) -> Result<u64, Error> {
        dispatch!(&self.inner.backend, b => b.count_live())
    }

    /// See [`Backend::count_stored`]: for checking that expiry keeps a store bounded.
    pub async fn count_stored(&self) -> Result<u64, Error> {
        dispatch!(&self.inner.backend, b => b.count_stored())
    }

    #[inline(always)]
    pub fn load<'a>(
        &'a self,
        id: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<Option<Record>, Error>>> {
        self.timed(Op::load, async move {
            dispatch!(&self.inner.backend, b => b.load(id))
        })
    }

    #[inline(always)]
    pub fn touch<'a>(
        &'a self,
        record: &'a Record,
    ) -> Timed<'a, impl Future<Output = Result<bool, Error>>> {
        self.timed(Op::touch, async move {
            dispatch!(&self.inner.backend, b => b.touch(record))
        })
    }

    /// See [`Backend::replace_data`]: an atomic compare-and-swap of `data`.
    #[inline(always)]
    pub fn replace_data<'a>(
        &'a self,
        id: &'a str,
        expected: &'a str,
        new: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<bool, Error>>> {
        self.timed(Op::replace_data, async move {
            dispatch!(&self.inner.backend, b => b.replace_data(id, expected, new))
        })
    }

    #[inline(always)]
    pub fn delete<'a>(
        &'a self,
        id: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<bool, Error>>> {
        self.timed(Op::delete, async move {
            dispatch!(&self.inner.backend, b => b.delete(id))
        })
    }

    #[inline(always)]
    pub fn list_user<'a>(
        &'a self,
        user: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<Vec<Record>, Error>>> {
        self.timed(Op::list_user, async move {
            dispatch!(&self.inner.backend, b => b.list_user(user))
        })
    }

    #[inline(always)]
    pub fn count_user<'a>(
        &'a self,
        user: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<u64, Error>>> {
        self.timed(Op::count_user, async move {
            dispatch!(&self.inner.backend, b => b.count_user(user))
        })
    }

    #[inline(always)]
    pub fn delete_user<'a>(
        &'a self,
        user: &'a str,
    ) -> Timed<'a, impl Future<Output = Result<u64, Error>>> {
        self.timed(Op::delete_user, async move {
            dispatch!(&self.inner.backend, b => b.delete_user(user))
        })
    }

    #[inline(always)]
    pub fn purge_expired<'a>(&'a self) -> Timed<'a, impl Future<Output = Result<u64, Error>>> {
        self.timed(Op::purge_expired, async move {
            dispatch!(&self.inner.backend, b => b.purge_expired())
        })
    }

    #[inline(always)]
    pub fn ping<'a>(&'a self) -> Timed<'a, impl Future<Output = Result<(), Error>>> {
        self.timed(Op::ping, async move {
            dispatch!(&self.inner.backend, b => b.ping())
        })
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

    // Each operation and this are inlined into the caller: the operation's future is then built
    // in the caller's own state instead of being copied out through each call.
    #[inline(always)]
    fn timed<'a, T, F>(&'a self, op: Op, operation: F) -> Timed<'a, F>
    where
        F: Future<Output = Result<T, Error>>,
    {
        Timed {
            bounded: Bounded::new(self.inner.watchdog.as_ref(), Instant::now(), operation),
            handle: self.inner.metrics.get(op),
            limit: self.inner.options.op_timeout,
        }
    }
}

pin_project! {
    /// A store operation under way: bounded by the store's watchdog, counted and timed in
    /// `/metrics` when it ends. Built in place around the backend's future, so the operation's
    /// state is not copied into a wrapper of each layer.
    pub struct Timed<'a, F> {
        #[pin]
        bounded: Bounded<F>,
        handle: &'a OpHandle,
        limit: Duration,
    }
}

impl<T, F> Future for Timed<'_, F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = this.bounded.started();
        let result = match ready!(this.bounded.poll(cx)) {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::Timeout(*this.limit)),
        };
        this.handle.record(result.is_ok(), started.elapsed());
        Poll::Ready(result)
    }
}
