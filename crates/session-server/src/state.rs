//! What every request handler shares: the session store, main_DB, the password hasher, the
//! settings and the metrics registry.

use std::sync::Arc;
use std::time::Duration;

use authbench_core::balances::{BalanceSource, Balances};
use authbench_core::http::HttpMetrics;
use authbench_core::maindb::{self, MainDb};
use authbench_core::password::{self, Cost, Passwords};
use authbench_core::store_url::StoreUrl;
use authbench_store::{Namespace, Store, StoreMetrics};
use prometheus_client::registry::Registry;

use crate::config::Config;

/// Everything needed to start a session server.
#[derive(Clone, Debug)]
pub struct Options {
    pub main_db_url: String,
    pub store_url: StoreUrl,
    /// Upper bound on one store operation: past it the request gets a 503.
    pub store_timeout: Duration,
    /// Upper bound on a whole request.
    pub request_timeout: Duration,
    pub password_cost: Cost,
    pub balance_source: BalanceSource,
    pub config: Config,
}

impl Options {
    /// Defaults for everything but the two locations.
    pub fn new(main_db_url: impl Into<String>, store_url: StoreUrl) -> Options {
        Options {
            main_db_url: main_db_url.into(),
            store_url,
            store_timeout: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
            password_cost: Cost::default(),
            balance_source: BalanceSource::MainDb,
            config: Config::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    MainDb(#[from] maindb::Error),
    #[error("session store {url}: {source}")]
    Store {
        url: String,
        source: authbench_store::Error,
    },
    #[error(transparent)]
    Password(#[from] password::Error),
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
}

impl AppState {
    /// Opens main_DB (migrating it) and the session store, and starts the store's purge task.
    pub async fn open(options: &Options) -> Result<AppState, StartError> {
        let mut registry = Registry::with_prefix("authbench");
        let store_metrics = StoreMetrics::default();
        store_metrics.register(&mut registry);
        let http_metrics = HttpMetrics::register(&mut registry);

        let main_db = MainDb::connect(
            &options.main_db_url,
            options.store_timeout.max(Duration::from_secs(1)),
        )
        .await?;
        let balances = Balances::open(options.balance_source, &main_db).await?;
        let mut store_options = authbench_store::Options::new(Namespace::Sessions);
        store_options.op_timeout = options.store_timeout;
        let store = Store::open(&options.store_url, store_options, &store_metrics)
            .await
            .map_err(|source| StartError::Store {
                url: options.store_url.to_string(),
                source,
            })?;
        store.spawn_purge_task();
        let passwords = Passwords::new(options.password_cost)?;
        Ok(AppState {
            shared: Arc::new(Shared {
                store,
                main_db,
                balances,
                passwords,
                config: options.config.clone(),
                request_timeout: options.request_timeout,
                registry: Arc::new(registry),
                http_metrics,
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
