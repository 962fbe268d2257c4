//! What the resource server opens at start: main_DB for balances, and what its style needs (the
//! issuer's key set, fetched once now; the session store; or the introspection client).

use std::sync::Arc;
use std::time::Duration;

use authbench_contract::{StoreUrl, Verify};
use authbench_core::balances::Balances;
use authbench_core::http::HttpMetrics;
use authbench_core::maindb::MainDb;
use authbench_core::server::{self, CommonOptions, Foundation};
use authbench_store::{Namespace, Store, StoreMetrics};
use prometheus_client::registry::Registry;

use crate::introspect::{IntrospectSettings, Introspector};
use crate::jwks::{FetchError, Jwks, JwksSettings};
use crate::metrics::{IssuerMetrics, JwksMetrics};
use crate::verify::{Expected, JwtVerifier, Verifier};

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum Style {
    /// JWTs, with the issuer's key set.
    Jwks {
        jwks: JwksSettings,
        expected: Expected,
    },
    /// Session ids, read from the issuer's session store.
    Store { url: StoreUrl },
    /// Any token, by asking the issuer (RFC 7662).
    Introspect(IntrospectSettings),
}

impl Style {
    /// `--verify`'s value for this style.
    pub fn verify(&self) -> Verify {
        match self {
            Style::Jwks { .. } => Verify::Jwks,
            Style::Store { .. } => Verify::Store,
            Style::Introspect(_) => Verify::Introspect,
        }
    }
}

/// Everything needed to start a resource server. `common.store_url` is not used: a store, when
/// the style reads one, is named by [`Style::Store`].
#[derive(Clone, Debug)]
pub struct Options {
    pub common: CommonOptions,
    pub style: Style,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Foundation(#[from] server::Error),
    #[error("cannot read the issuer's keys at start")]
    Jwks(#[source] FetchError),
    #[error("session store {url}")]
    Store {
        url: String,
        #[source]
        source: authbench_store::Error,
    },
    #[error("cannot set up the introspection client")]
    Client(#[source] reqwest::Error),
}

/// Shared state of one server; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub verifier: Verifier,
    pub main_db: MainDb,
    pub balances: Balances,
    pub request_timeout: Duration,
    pub registry: Arc<Registry>,
    pub http_metrics: HttpMetrics,
}

impl AppState {
    pub async fn open(options: &Options) -> Result<AppState, StartError> {
        let common = &options.common;
        let mut registry = Registry::with_prefix("authbench");
        let Foundation {
            main_db,
            balances,
            http_metrics,
            ..
        } = Foundation::open(common, &mut registry).await?;
        let verifier = match &options.style {
            Style::Jwks { jwks, expected } => {
                let metrics = JwksMetrics::register(&mut registry);
                let jwks = Jwks::load(jwks.clone(), metrics)
                    .await
                    .map_err(StartError::Jwks)?;
                Verifier::Jwks(JwtVerifier::new(jwks, expected))
            }
            Style::Store { url } => {
                let store_metrics = StoreMetrics::default();
                store_metrics.register(&mut registry);
                let mut store_options = authbench_store::Options::new(Namespace::Sessions);
                store_options.op_timeout = common.store_timeout;
                store_options.connections = server::store_connections();
                let store = Store::open(url, store_options, &store_metrics)
                    .await
                    .map_err(|source| StartError::Store {
                        url: url.to_string(),
                        source,
                    })?;
                Verifier::Store(store)
            }
            Style::Introspect(settings) => {
                let metrics = IssuerMetrics::register(&mut registry);
                let introspector =
                    Introspector::new(settings.clone(), metrics).map_err(StartError::Client)?;
                Verifier::Introspect(introspector)
            }
        };
        Ok(AppState {
            shared: Arc::new(Shared {
                verifier,
                main_db,
                balances,
                request_timeout: common.request_timeout,
                registry: Arc::new(registry),
                http_metrics,
            }),
        })
    }
}
