//! An issuer (a JWT, opaque-token or session server) and a resource server beside it, both in
//! the test's runtime over one seeded main_DB.

#![allow(dead_code)]

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authbench_contract::{AccessToken, Alg};
use authbench_core::http::introspection::IntrospectionSecret;
use authbench_core::maindb::MainDb;
use authbench_core::password::{Cost, Passwords};
use authbench_core::seed;
use authbench_core::server::CommonOptions;
use authbench_resource_server::Style;
use authbench_resource_server::introspect::IntrospectSettings;
use authbench_resource_server::jwks::{JwksSettings, JwksSource};
use authbench_resource_server::verify::Expected;
use authbench_testkit::http_suite::{AuthStyle, Credentials, Target, client};
use authbench_testkit::in_process::{InProcess, spawn};

pub const SECRET: &str = "introspection-secret-for-tests-0123456789";
pub const ISSUER: &str = "authbench";
pub const AUDIENCE: &str = "authbench-api";

/// A seeded main_DB in a temporary folder.
pub struct World {
    pub dir: tempfile::TempDir,
    pub main_db_url: String,
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let main_db_url = format!("sqlite://{}", dir.path().join("main.db").display());
        let db = MainDb::connect(&main_db_url, Duration::from_secs(5))
            .await
            .expect("main_DB");
        let passwords = Passwords::new(Cost::default()).expect("argon2 params");
        seed::seed(&db, &passwords, NonZeroU32::new(3).expect("nonzero"))
            .await
            .expect("seed");
        World { dir, main_db_url }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn common(&self, store_url: &str) -> CommonOptions {
        let mut common = CommonOptions::new(&self.main_db_url, store_url.parse().expect("store"));
        common.introspection_secret = Some(IntrospectionSecret::new(SECRET).expect("secret"));
        common
    }

    /// A JWT (or opaque-token) server with `alg`, its key in `key_file` when given.
    pub async fn token_issuer(
        &self,
        alg: Alg,
        key_file: Option<&Path>,
        access_token: AccessToken,
    ) -> Issuer<authbench_jwt_server::AppState> {
        use authbench_jwt_server::{KeySource, Options};
        let mut options = Options {
            common: self.common(&format!("sqlite://{}", self.path("tokens.db").display())),
            alg,
            key: key_file.map_or(KeySource::Generate, |path| KeySource::File(path.to_owned())),
            config: authbench_jwt_server::Config::default(),
        };
        options.config.access_token = access_token;
        options.config.issuer = ISSUER.into();
        options.config.audience = AUDIENCE.into();
        let state = authbench_jwt_server::AppState::open(&options)
            .await
            .expect("token server");
        let serving = state.clone();
        let server = spawn(move |listener, shutdown| {
            authbench_jwt_server::serve(listener, serving, shutdown)
        })
        .await;
        Issuer::new(server, state, AuthStyle::Bearer)
    }

    /// A session server on the store at `store_url`.
    pub async fn session_issuer(
        &self,
        store_url: &str,
    ) -> Issuer<authbench_session_server::AppState> {
        use authbench_session_server::{Config, Options};
        let options = Options {
            common: self.common(store_url),
            config: Config::new(Duration::from_secs(3600), None, None, None, false)
                .expect("config"),
        };
        let state = authbench_session_server::AppState::open(&options)
            .await
            .expect("session server");
        let serving = state.clone();
        let server = spawn(move |listener, shutdown| {
            authbench_session_server::serve(listener, serving, shutdown)
        })
        .await;
        Issuer::new(server, state, AuthStyle::Session)
    }

    /// A resource server authenticating by `style`.
    pub async fn resource(
        &self,
        style: Style,
    ) -> Result<Resource, authbench_resource_server::StartError> {
        let options = authbench_resource_server::Options {
            common: self.common("memory"),
            style,
        };
        let state = authbench_resource_server::AppState::open(&options).await?;
        let serving = state.clone();
        let server = spawn(move |listener, shutdown| {
            authbench_resource_server::serve(listener, serving, shutdown)
        })
        .await;
        Ok(Resource {
            target: Target {
                base_url: server.base_url.clone(),
                style: AuthStyle::Bearer,
                account: account(),
                logout_revokes: false,
                logout_everywhere_revokes: false,
            },
            _server: server,
        })
    }
}

fn account() -> (String, String, i64) {
    (seed::username(1), seed::password(1), seed::balance_cents(1))
}

/// A running issuer.
pub struct Issuer<S> {
    pub target: Target,
    pub state: S,
    _server: InProcess,
}

impl<S> Issuer<S> {
    fn new(server: InProcess, state: S, style: AuthStyle) -> Issuer<S> {
        Issuer {
            target: Target {
                base_url: server.base_url.clone(),
                style,
                account: account(),
                logout_revokes: true,
                logout_everywhere_revokes: true,
            },
            state,
            _server: server,
        }
    }

    pub async fn login(&self) -> Credentials {
        self.target.login(&client()).await
    }

    pub async fn logout(&self, credentials: &Credentials) {
        let status = client()
            .post(self.target.url("/logout"))
            .header(credentials.header.0.clone(), credentials.header.1.clone())
            .send()
            .await
            .expect("POST /logout")
            .status();
        assert!(status.is_success(), "logout: {status}");
    }

    pub fn jwks_url(&self) -> String {
        self.target.url("/.well-known/jwks.json")
    }

    pub fn introspect_url(&self) -> String {
        self.target.url("/introspect")
    }
}

/// A running resource server.
pub struct Resource {
    pub target: Target,
    _server: InProcess,
}

impl Resource {
    /// The status of `GET /user/balance` with `credentials`.
    pub async fn balance(&self, credentials: &Credentials) -> reqwest::StatusCode {
        self.target.balance(&client(), credentials).await.status()
    }

    /// The status of `GET /user/balance` with `Authorization: Bearer token`.
    pub async fn balance_with(&self, token: &str) -> reqwest::StatusCode {
        client()
            .get(self.target.url("/user/balance"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("GET /user/balance")
            .status()
    }

    pub async fn get_text(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = client()
            .get(self.target.url(path))
            .send()
            .await
            .expect("GET");
        (response.status(), response.text().await.expect("body"))
    }

    /// The value of a metric line (`name{labels}` as written) on `/metrics`; 0 when absent.
    pub async fn metric(&self, line: &str) -> f64 {
        let (_, text) = self.get_text("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// JWKS settings for `source`, accepting `pinned`, with short intervals for tests.
pub fn jwks_style(source: JwksSource, pinned: &[Alg]) -> Style {
    Style::Jwks {
        jwks: JwksSettings {
            source,
            pinned: pinned.to_vec(),
            ttl: Duration::from_secs(300),
            refetch_interval: Duration::from_secs(5),
            max_stale: Duration::from_secs(3600),
            fetch_timeout: Duration::from_millis(500),
        },
        expected: Expected {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            leeway: Duration::from_secs(5),
        },
    }
}

pub fn introspect_style(url: String, cache_ttl: Duration) -> Style {
    Style::Introspect(IntrospectSettings {
        url,
        secret: IntrospectionSecret::new(SECRET).expect("secret"),
        cache_ttl,
        timeout: Duration::from_millis(500),
    })
}
