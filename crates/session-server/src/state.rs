//! What every request handler shares: the session store, main_DB, the password hasher, the
//! settings and the metrics registry.

use std::sync::Arc;
use std::time::Duration;

use authbench_contract::StoreUrl;
use authbench_core::balances::Balances;
use authbench_core::http::HttpMetrics;
use authbench_core::http::introspection::IntrospectionSecret;
use authbench_core::maindb::MainDb;
use authbench_core::password::Passwords;
use authbench_core::server::{self, CommonOptions, Foundation};
use authbench_store::{Namespace, Store, StoreMetrics};
use prometheus_client::registry::Registry;

use crate::config::Config;

/// Everything needed to start a session server.
#[derive(Clone, Debug)]
pub struct Options {
    pub common: CommonOptions,
    pub config: Config,
}

impl Options {
    /// Defaults for everything but the two locations.
    pub fn new(main_db_url: impl Into<String>, store_url: StoreUrl) -> Options {
        Options {
            common: CommonOptions::new(main_db_url, store_url),
            config: Config::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Foundation(#[from] server::Error),
    #[error("session store {url}")]
    Store {
        url: String,
        source: authbench_store::Error,
    },
}

/// Shared state of one server; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Store,
    pub main_db: MainDb,
    pub balances: Balances,
    pub passwords: Passwords,
    pub config: Config,
    pub request_timeout: Duration,
    pub registry: Arc<Registry>,
    pub http_metrics: HttpMetrics,
    /// Who may call `POST /introspect`; `None`: introspection is off.
    pub introspection_secret: Option<IntrospectionSecret>,
}

impl AppState {
    /// Opens main_DB (migrating it) and the session store, and starts the store's purge task.
    pub async fn open(options: &Options) -> Result<AppState, StartError> {
        let common = &options.common;
        let mut registry = Registry::with_prefix("authbench");
        let store_metrics = StoreMetrics::default();
        store_metrics.register(&mut registry);
        let Foundation {
            main_db,
            balances,
            passwords,
            http_metrics,
        } = Foundation::open(common, &mut registry).await?;
        let mut store_options = authbench_store::Options::new(Namespace::Sessions);
        store_options.op_timeout = common.store_timeout;
        store_options.connections = server::store_connections();
        let store = Store::open(&common.store_url, store_options, &store_metrics)
            .await
            .map_err(|source| StartError::Store {
                url: common.store_url.to_string(),
                source,
            })?;
        store.spawn_purge_task();
        Ok(AppState {
            shared: Arc::new(Shared {
                store,
                main_db,
                balances,
                passwords,
                config: options.config.clone(),
                request_timeout: common.request_timeout,
                registry: Arc::new(registry),
                http_metrics,
                introspection_secret: common.introspection_secret.clone(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }
}
