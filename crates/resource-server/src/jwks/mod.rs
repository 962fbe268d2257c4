//! The issuer's key set, fetched and cached: read once at start (a failure there stops the
//! server), fetched again in the background once it is older than its TTL, and at once when a
//! token names a `kid` the set lacks, but no more often than the refetch interval, so that a
//! flood of made-up kids cannot make this server hammer the issuer. A failed fetch keeps the
//! keys already held (reported by `/healthz` and `/metrics`) until they are older than the
//! longest staleness allowed; past it no token verifies.

mod parse;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use authbench_contract::Alg;
use authbench_contract::error::Cause;

use crate::metrics::JwksMetrics;
pub use parse::{JwksError, Key, parse};

/// Where the key set comes from.
#[derive(Clone, Debug)]
pub enum JwksSource {
    /// The issuer's `/.well-known/jwks.json` (or any URL serving a JWK set).
    Url(String),
    /// A file holding a JWK set, read again as a URL would be fetched.
    File(PathBuf),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::Url(url) => f.write_str(url),
            JwksSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How the key set is kept.
#[derive(Clone, Debug)]
pub struct JwksSettings {
    pub source: JwksSource,
    /// The algorithms tokens may use; keys of others are never taken.
    pub pinned: Vec<Alg>,
    /// After this, the set is fetched again (in the background; requests go on with it).
    pub ttl: Duration,
    /// At most one fetch for an unknown `kid` per this interval; and while fetches fail, one
    /// attempt per interval.
    pub refetch_interval: Duration,
    /// Keys not refreshed for this long are dropped: no token verifies until a fetch succeeds.
    pub max_stale: Duration,
    /// Longest one fetch may take.
    pub fetch_timeout: Duration,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot fetch {source_name}")]
    Http {
        source_name: String,
        #[source]
        source: Cause,
    },
    #[error("{source_name} answered {status}")]
    Status { source_name: String, status: u16 },
    #[error("cannot read {source_name}")]
    File {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name} is not a JWK set: {reason}")]
    Document {
        source_name: String,
        reason: JwksError,
    },
    #[error("{source_name} holds no key this server accepts ({rejected})")]
    NoUsableKey {
        source_name: String,
        rejected: String,
    },
}

/// The keys held, and when they were fetched.
#[derive(Debug)]
pub struct KeySet {
    pub keys: HashMap<String, Key>,
    pub fetched: Instant,
}

/// What `/healthz` says about the key set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JwksStatus {
    pub source: String,
    pub keys: usize,
    pub age_seconds: f64,
    /// The last fetch's failure, while no later fetch has succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Whether the keys are still usable (younger than the longest staleness allowed).
    pub usable: bool,
}

/// Why a token's key was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Not in the set, even after a refetch (or with one refused by the interval).
    UnknownKid,
    /// The key set is older than the longest staleness allowed.
    Expired,
}

/// The issuer's keys, kept fresh.
pub struct Jwks {
    settings: JwksSettings,
    client: reqwest::Client,
    current: ArcSwap<KeySet>,
    /// Taken by whoever fetches; holds when the last fetch for an unknown kid began.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    refreshing: AtomicBool,
    last_error: std::sync::Mutex<Option<String>>,
    metrics: JwksMetrics,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Jwks {
    /// Fetches the set once: a server that cannot read its issuer's keys at start does not start.
    pub async fn load(
        settings: JwksSettings,
        metrics: JwksMetrics,
    ) -> Result<Arc<Jwks>, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            .build()
            .map_err(|error| FetchError::Http {
                source_name: settings.source.to_string(),
                source: Cause::of(&error),
            })?;
        let first = fetch(&client, &settings).await;
        metrics.fetched(first.is_ok());
        let first = first?;
        metrics
            .keys
            .set(i64::try_from(first.keys.len()).unwrap_or(i64::MAX));
        Ok(Arc::new(Jwks {
            current: ArcSwap::from_pointee(first),
            fetching: tokio::sync::Mutex::new(None),
            refreshing: AtomicBool::new(false),
            last_error: std::sync::Mutex::new(None),
            settings,
            client,
            metrics,
        }))
    }

    pub fn pinned(&self) -> &[Alg] {
        &self.settings.pinned
    }

    /// Runs `with` on the key `kid` names, fetching the set again first when it lacks it (see
    /// the module's rules).
    pub async fn with_key<T>(
        self: &Arc<Self>,
        kid: &str,
        with: impl FnOnce(&Key) -> T,
    ) -> Result<T, Missing> {
        let set = self.current.load();
        let age = set.fetched.elapsed();
        if age > self.settings.ttl {
            self.refresh_in_background();
        }
        if age > self.settings.max_stale {
            return Err(Missing::Expired);
        }
        if let Some(key) = set.keys.get(kid) {
            return Ok(with(key));
        }
        drop(set);
        self.refetch_for(kid).await;
        let set = self.current.load();
        set.keys.get(kid).map(with).ok_or(Missing::UnknownKid)
    }

    pub fn status(&self) -> JwksStatus {
        let set = self.current.load();
        let age = set.fetched.elapsed();
        JwksStatus {
            source: self.settings.source.to_string(),
            keys: set.keys.len(),
            age_seconds: age.as_secs_f64(),
            last_error: self.last_error.lock().map(|e| e.clone()).unwrap_or(None),
            usable: age <= self.settings.max_stale,
        }
    }

    /// One fetch for an unknown kid, unless another just happened: whoever waited on the lock
    /// behind a fetch finds its result instead of fetching again.
    async fn refetch_for(self: &Arc<Self>, kid: &str) {
        let mut last = self.fetching.lock().await;
        if self.current.load().keys.contains_key(kid) {
            return;
        }
        if last.is_some_and(|last| last.elapsed() < self.settings.refetch_interval) {
            self.metrics.refetch_refused.inc();
            return;
        }
        *last = Some(Instant::now());
        self.metrics.unknown_kid_refetches.inc();
        self.fetch_and_swap().await;
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let jwks = Arc::clone(self);
        tokio::spawn(async move {
            let failed = {
                let _fetching = jwks.fetching.lock().await;
                jwks.current.load().fetched.elapsed() > jwks.settings.ttl
                    && !jwks.fetch_and_swap().await
            };
            // While the issuer is unreachable, one attempt per refetch interval, not one per
            // request.
            if failed {
                tokio::time::sleep(jwks.settings.refetch_interval).await;
            }
            jwks.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches; on success the new set replaces the old whole, on failure the old one stays.
    /// Whether it succeeded.
    async fn fetch_and_swap(&self) -> bool {
        let fetched = fetch(&self.client, &self.settings).await;
        self.metrics.fetched(fetched.is_ok());
        let mut last_error = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        match fetched {
            Ok(set) => {
                self.metrics
                    .keys
                    .set(i64::try_from(set.keys.len()).unwrap_or(i64::MAX));
                self.current.store(Arc::new(set));
                *last_error = None;
                true
            }
            Err(error) => {
                let text = authbench_contract::error::Chain(&error).to_string();
                tracing::warn!(error = %text, "JWKS fetch failed; keeping the keys held");
                *last_error = Some(text);
                false
            }
        }
    }
}

async fn fetch(client: &reqwest::Client, settings: &JwksSettings) -> Result<KeySet, FetchError> {
    let source_name = settings.source.to_string();
    let body = match &settings.source {
        JwksSource::Url(url) => {
            // The URL is in the message already: the cause is what went wrong, said once.
            let http = |error: reqwest::Error| FetchError::Http {
                source_name: source_name.clone(),
                source: Cause::of(&error.without_url()),
            };
            let response = client.get(url).send().await.map_err(http)?;
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError::Status {
                    source_name,
                    status: status.as_u16(),
                });
            }
            response.bytes().await.map_err(http)?.to_vec()
        }
        JwksSource::File(path) => {
            tokio::fs::read(path)
                .await
                .map_err(|source| FetchError::File {
                    source_name: source_name.clone(),
                    source,
                })?
        }
    };
    let parsed = parse(&body, &settings.pinned).map_err(|reason| FetchError::Document {
        source_name: source_name.clone(),
        reason,
    })?;
    for rejected in &parsed.rejected {
        tracing::warn!(source = %source_name, rejected, "JWKS key set aside");
    }
    if parsed.keys.is_empty() {
        return Err(FetchError::NoUsableKey {
            source_name,
            rejected: if parsed.rejected.is_empty() {
                "the set is empty".into()
            } else {
                parsed.rejected.join("; ")
            },
        });
    }
    Ok(KeySet {
        keys: parsed.keys,
        fetched: Instant::now(),
    })
}
