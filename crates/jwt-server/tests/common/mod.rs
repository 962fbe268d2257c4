//! Starts a JWT server in the test's runtime, on 127.0.0.1:0, over a freshly seeded main_DB and
//! the chosen store.

#![allow(dead_code)]

use std::num::NonZeroU32;
use std::time::Duration;

use authbench_core::maindb::MainDb;
use authbench_core::password::{Cost, Passwords};
use authbench_core::seed;
use authbench_jwt_server::keys::Alg;
use authbench_jwt_server::{AppState, Options, Revocation};
use authbench_testkit::http_suite::{AuthStyle, Target};
use authbench_testkit::in_process::{InProcess, spawn};
use authbench_testkit::redis::RedisServer;

pub use authbench_testkit::stores::Backend;

/// A running server and everything it depends on; dropping it stops them all.
pub struct Running {
    pub target: Target,
    pub state: AppState,
    pub redis: Option<RedisServer>,
    _server: InProcess,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn target(&self) -> &Target {
        &self.target
    }
}

/// Starts a server with `alg` and `revocation`, OWASP-cost argon2id; `adjust` may change any
/// option first.
pub async fn start(backend: Backend, alg: Alg, revocation: Revocation) -> Running {
    start_with(backend, |o| {
        o.alg = alg;
        o.config.revocation = revocation;
    })
    .await
}

pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Options)) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let main_db_url = format!("sqlite://{}", dir.path().join("main.db").display());
    let store = backend.start(dir.path());
    let mut options = Options::new(main_db_url, store.url.parse().expect("store URL"));
    options.common.password_cost = Cost::default();
    adjust(&mut options);

    let db = MainDb::connect(&options.common.main_db_url, Duration::from_secs(5))
        .await
        .expect("main_DB");
    let passwords = Passwords::new(options.common.password_cost).expect("argon2 params");
    seed::seed(&db, &passwords, NonZeroU32::new(3).expect("nonzero"))
        .await
        .expect("seed");

    let state = AppState::open(&options).await.expect("server state");
    let server_state = state.clone();
    let server = spawn(move |listener, shutdown| {
        authbench_jwt_server::serve(listener, server_state, shutdown)
    })
    .await;
    let revocation = options.config.revocation;
    Running {
        target: Target {
            base_url: server.base_url.clone(),
            style: AuthStyle::Bearer,
            account: (seed::username(1), seed::password(1), seed::balance_cents(1)),
            logout_revokes: revocation != Revocation::None,
            logout_everywhere_revokes: revocation == Revocation::Cutoff,
        },
        state,
        redis: store.redis,
        _server: server,
        _dir: dir,
    }
}

/// A server issuing opaque access tokens: a logout (and a logout everywhere) ends them at once.
pub async fn start_opaque(backend: Backend) -> Running {
    let mut running = start_with(backend, |o| {
        o.config.access_token = authbench_jwt_server::AccessToken::Opaque;
    })
    .await;
    running.target.logout_revokes = true;
    running.target.logout_everywhere_revokes = true;
    running
}
