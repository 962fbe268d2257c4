//! Asking the issuer about every token (RFC 7662), with an optional short cache. Without the
//! cache a revocation at the issuer holds from the next request; with it, a revoked token may
//! still be accepted for up to the cache's TTL: that window is the cache's price, and the
//! report states it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use authbench_core::http::ApiError;
use authbench_core::http::introspection::{Introspection, IntrospectionSecret};
use aws_lc_rs::digest::{SHA256, digest};
use http::StatusCode;

use crate::metrics::IssuerMetrics;

/// The most tokens the cache holds; past it, expired entries go, then all.
const CACHE_CAPACITY: usize = 100_000;

/// Where and how to introspect.
#[derive(Clone, Debug)]
pub struct IntrospectSettings {
    /// The issuer's `/introspect`.
    pub url: String,
    pub secret: IntrospectionSecret,
    /// How long an active answer is reused; zero: no cache.
    pub cache_ttl: Duration,
    /// Longest one call may take before the request gets a 503.
    pub timeout: Duration,
}

struct Cached {
    user: String,
    until: Instant,
}

/// The introspection client.
pub struct Introspector {
    settings: IntrospectSettings,
    client: reqwest::Client,
    /// By the token's SHA-256, never the token.
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    metrics: IssuerMetrics,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.settings.url)
            .field("cache_ttl", &self.settings.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    pub fn new(
        settings: IntrospectSettings,
        metrics: IssuerMetrics,
    ) -> Result<Introspector, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .pool_max_idle_per_host(1024)
            .build()?;
        Ok(Introspector {
            settings,
            client,
            cache: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The user `token` belongs to, or 401 when the issuer says it is not active, or 503 when
    /// the issuer cannot be asked.
    pub async fn user_of(&self, token: &str) -> Result<String, ApiError> {
        let caching = !self.settings.cache_ttl.is_zero();
        let key: [u8; 32] = if caching {
            digest(&SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .unwrap_or([0; 32])
        } else {
            [0; 32]
        };
        if caching && let Some(user) = self.cached(&key) {
            self.metrics.cache_hits.inc();
            return Ok(user);
        }
        let answer = self.call(token).await;
        self.metrics
            .called(answer.as_ref().ok().map(|answer| answer.active));
        let answer = answer?;
        let Some(user) = answer.sub.filter(|_| answer.active) else {
            return Err(ApiError::unauthorized());
        };
        if caching {
            self.remember(key, &user);
        }
        Ok(user)
    }

    async fn call(&self, token: &str) -> Result<Introspection, ApiError> {
        let body = authbench_core::http::introspection::form_body(token);
        let response = self
            .client
            .post(&self.settings.url)
            .bearer_auth(self.settings.secret.expose())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|error| issuer_unavailable(&error))?;
        if response.status() != StatusCode::OK {
            tracing::warn!(status = %response.status(), "introspection refused");
            return Err(issuer_unavailable(&response.status()));
        }
        response
            .json::<Introspection>()
            .await
            .map_err(|error| issuer_unavailable(&error))
    }

    fn cached(&self, key: &[u8; 32]) -> Option<String> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|cached| cached.until > Instant::now())
            .map(|cached| cached.user.clone())
    }

    fn remember(&self, key: [u8; 32], user: &str) {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, cached| cached.until > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                user: user.to_owned(),
                until: now + self.settings.cache_ttl,
            },
        );
    }
}

fn issuer_unavailable(error: &dyn std::fmt::Display) -> ApiError {
    tracing::debug!(%error, "introspection failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "issuer_unavailable",
        "the token issuer cannot be asked; retry later",
    )
}
