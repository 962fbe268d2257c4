//! What every authbench server opens at start besides its own stores: main_DB, the balance
//! source, the password hasher and the HTTP metrics, from the options both servers share.

use std::time::Duration;

use prometheus_client::registry::Registry;

use crate::balances::{BalanceSource, Balances};
use crate::http::HttpMetrics;
use crate::http::introspection::IntrospectionSecret;
use crate::maindb::{self, MainDb};
use crate::password::{self, Cost, Passwords};
use authbench_contract::StoreUrl;

/// The options every server takes, whatever its auth style.
#[derive(Clone, Debug)]
pub struct CommonOptions {
    pub main_db_url: String,
    /// The server's store: sessions, or refresh families and revocations.
    pub store_url: StoreUrl,
    /// Upper bound on one store operation: past it the request gets a 503.
    pub store_timeout: Duration,
    /// Upper bound on a whole request.
    pub request_timeout: Duration,
    pub password_cost: Cost,
    pub balance_source: BalanceSource,
    /// The secret callers of `POST /introspect` must present; `None`: introspection is off.
    pub introspection_secret: Option<IntrospectionSecret>,
}

impl CommonOptions {
    /// Defaults for everything but the two locations.
    pub fn new(main_db_url: impl Into<String>, store_url: StoreUrl) -> CommonOptions {
        CommonOptions {
            main_db_url: main_db_url.into(),
            store_url,
            store_timeout: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
            password_cost: Cost::default(),
            balance_source: BalanceSource::MainDb,
            introspection_secret: None,
        }
    }
}

/// Why the shared parts could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    MainDb(#[from] maindb::Error),
    #[error(transparent)]
    Password(#[from] password::Error),
}

/// The shared parts of a running server.
#[derive(Debug)]
pub struct Foundation {
    pub main_db: MainDb,
    pub balances: Balances,
    pub passwords: Passwords,
    pub http_metrics: HttpMetrics,
}

impl Foundation {
    /// Opens (and migrates) main_DB, loads the balance source, sets up password hashing, and
    /// registers the HTTP metrics in `registry`.
    pub async fn open(
        options: &CommonOptions,
        registry: &mut Registry,
    ) -> Result<Foundation, Error> {
        let http_metrics = HttpMetrics::register(registry);
        let acquire_timeout = options.store_timeout.max(Duration::from_secs(1));
        let main_db = MainDb::connect(&options.main_db_url, acquire_timeout).await?;
        let balances = Balances::open(options.balance_source, &main_db).await?;
        let passwords = Passwords::new(options.password_cost)?;
        Ok(Foundation {
            main_db,
            balances,
            passwords,
            http_metrics,
        })
    }
}

/// Connections a server keeps to a store that takes several (Postgres, SQLite): one per worker
/// thread of the runtime it runs on. A connection pipelines its queries, so one per worker keeps
/// every worker's queries flowing while the store gets as many backends as the server has cores
/// to keep busy; more would only add store processes competing for the same cores.
pub fn store_connections() -> std::num::NonZeroU32 {
    let workers = tokio::runtime::Handle::try_current()
        .map(|runtime| runtime.metrics().num_workers())
        .unwrap_or(1);
    std::num::NonZeroU32::new(u32::try_from(workers).unwrap_or(u32::MAX))
        .unwrap_or(std::num::NonZeroU32::MIN)
}
