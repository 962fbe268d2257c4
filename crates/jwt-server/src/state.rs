//! What every request handler shares: the token codec, the refresh store, the revocation store
//! (when revocation is on), main_DB, the password hasher, settings and metrics; and rotating the
//! signing key.

use std::path::PathBuf;
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

use crate::config::{AccessToken, Config, Revocation};
use crate::keys::{Alg, KeyError, Keys, RotateError, Rotated};
use crate::metrics::VerifyMetrics;
use crate::token::Codec;

/// Where the signing key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A new random key (or HS256 secret) at every start: tokens die with the process.
    Generate,
    /// A PEM private key, or for HS256 a file holding the secret.
    File(PathBuf),
    /// An HS256 secret given directly (from an environment variable).
    Secret(Vec<u8>),
}

/// Everything needed to start a JWT server.
#[derive(Clone, Debug)]
pub struct Options {
    /// `store_url` is where refresh families, denylist entries and cutoffs live.
    pub common: CommonOptions,
    pub alg: Alg,
    pub key: KeySource,
    pub config: Config,
}

impl Options {
    pub fn new(main_db_url: impl Into<String>, store_url: StoreUrl) -> Options {
        Options {
            common: CommonOptions::new(main_db_url, store_url),
            alg: Alg::Hs256,
            key: KeySource::Generate,
            config: Config::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Foundation(#[from] server::Error),
    #[error("store {url}")]
    Store {
        url: String,
        source: authbench_store::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "an HS256 secret was given (AUTHBENCH_JWT_SECRET) but the algorithm is {0}; asymmetric algorithms take --key-file"
    )]
    SecretForAsymmetric(Alg),
}

/// Why a rotation did not happen; the server goes on with the keys it had.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(
        "the key came from AUTHBENCH_JWT_SECRET, which cannot change without a restart; give the key as --key-file to rotate it"
    )]
    FixedSecret,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Refused(#[from] RotateError),
}

/// Shared state of one server; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub codec: Codec,
    /// Where a rotation takes the next key from.
    pub key_source: KeySource,
    pub alg: Alg,
    pub refresh: Store,
    /// The denylist (keyed on `jti`) or the cutoffs (keyed on user), per the revocation mode.
    pub revocations: Option<Store>,
    /// With opaque access tokens: the tokens themselves (by hash).
    pub access_tokens: Option<Store>,
    /// Who may call `POST /introspect`; `None`: introspection is off.
    pub introspection_secret: Option<IntrospectionSecret>,
    pub main_db: MainDb,
    pub balances: Balances,
    pub passwords: Passwords,
    pub config: Config,
    pub request_timeout: Duration,
    pub registry: Arc<Registry>,
    pub http_metrics: HttpMetrics,
    pub verify_metrics: VerifyMetrics,
}

impl AppState {
    /// Loads or makes the key, opens main_DB and the stores.
    pub async fn open(options: &Options) -> Result<AppState, StartError> {
        if matches!(options.key, KeySource::Secret(_)) && options.alg != Alg::Hs256 {
            return Err(StartError::SecretForAsymmetric(options.alg));
        }
        let keys = next_key(&options.key, options.alg)?;
        if matches!(options.key, KeySource::Generate) {
            tracing::warn!(alg = %options.alg, kid = keys.kid(), "no key given: generated one for this process; tokens die with it");
        }
        let config = &options.config;
        let codec = Codec::new(
            keys,
            config.issuer.clone(),
            config.audience.clone(),
            config.leeway,
        );

        let common = &options.common;
        let mut registry = Registry::with_prefix("authbench");
        let store_metrics = StoreMetrics::default();
        store_metrics.register(&mut registry);
        let verify_metrics = VerifyMetrics::register(&mut registry);
        let Foundation {
            main_db,
            balances,
            passwords,
            http_metrics,
        } = Foundation::open(common, &mut registry).await?;
        let store_metrics = &store_metrics;
        let open_store = |namespace| async move {
            let mut store_options = authbench_store::Options::new(namespace);
            store_options.op_timeout = common.store_timeout;
            store_options.connections = server::store_connections();
            let store = Store::open(&common.store_url, store_options, store_metrics)
                .await
                .map_err(|source| StartError::Store {
                    url: common.store_url.to_string(),
                    source,
                })?;
            store.spawn_purge_task();
            Ok::<_, StartError>(store)
        };
        let refresh = open_store(Namespace::RefreshFamilies).await?;
        let revocations = match config.revocation {
            Revocation::None => None,
            Revocation::Denylist => Some(open_store(Namespace::Denylist).await?),
            Revocation::Cutoff => Some(open_store(Namespace::Cutoffs).await?),
        };
        let access_tokens = match config.access_token {
            AccessToken::Jwt => None,
            AccessToken::Opaque => Some(open_store(Namespace::AccessTokens).await?),
        };
        Ok(AppState {
            shared: Arc::new(Shared {
                codec,
                key_source: options.key.clone(),
                alg: options.alg,
                refresh,
                revocations,
                access_tokens,
                introspection_secret: common.introspection_secret.clone(),
                main_db,
                balances,
                passwords,
                config: config.clone(),
                request_timeout: common.request_timeout,
                registry: Arc::new(registry),
                http_metrics,
                verify_metrics,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn codec(&self) -> &Codec {
        &self.shared.codec
    }

    /// Takes the next signing key without a restart: the key file read again, or a new key
    /// when the server generated its own. The key it replaces keeps verifying for
    /// [`AppState::rotation_overlap`], so every token it signed is good until it expires.
    pub fn rotate_key(&self) -> Result<Rotated, RotationError> {
        let shared = &self.shared;
        let next = match &shared.key_source {
            KeySource::Secret(_) => return Err(RotationError::FixedSecret),
            source => next_key(source, shared.alg)?,
        };
        let rotated = shared.codec.rotate(next, self.rotation_overlap())?;
        if matches!(rotated, Rotated::Rotated { .. }) {
            shared.verify_metrics.rotations.inc();
        }
        Ok(rotated)
    }

    /// How long a retired key still verifies: the longest an access token lives, plus the
    /// leeway on `exp`, plus a second for `exp`'s whole-second rounding.
    pub fn rotation_overlap(&self) -> Duration {
        let config = &self.shared.config;
        config.access_ttl + config.leeway + Duration::from_secs(1)
    }
}

/// A key from `source`: the file as it is now, or a new one.
fn next_key(source: &KeySource, alg: Alg) -> Result<Keys, KeyError> {
    match source {
        KeySource::File(path) => Keys::from_file(alg, path),
        KeySource::Generate => Keys::generate(alg),
        KeySource::Secret(secret) => Keys::from_secret(secret),
    }
}
