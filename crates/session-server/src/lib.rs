//! The session-backed server: `POST /login` checks the password in main_DB and stores a session
//! in the session store; every authenticated request looks the session up there.
//!
//! # Layout
//!
//! - [`config`]: session lifetime (absolute TTL, sliding idle timeout, touch policy), cookie
//!   settings, validated.
//! - [`state`]: [`AppState`] (store, main_DB, passwords, metrics) and the [`Options`] it opens from.
//! - [`session_id`]: 128-bit CSPRNG ids. [`credentials`]: the `sid` cookie or
//!   `Authorization: Session`.
//! - `auth`: request → live session, with the touch policy's write-back.
//! - `routes`: login/logout, balance, sessions, health, introspection (RFC 7662).
//! - [`openapi`]: the routes as an OpenAPI 3.1 document, served at `/openapi.json`.

pub mod config;
pub mod credentials;
pub mod openapi;
pub mod session_id;
pub mod state;

mod auth;
mod routes;

use authbench_contract::routes as paths;
use authbench_core::http::Guarded;
use std::future::Future;

use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, Touch};
pub use credentials::COOKIE_NAME;
pub use state::{AppState, Options, StartError};

/// The server's routes on `state`, with the shared limits, metrics and error handling.
pub fn app(state: AppState) -> Guarded {
    let shared = &state.shared;
    let (metrics, registry) = (shared.http_metrics.clone(), shared.registry.clone());
    let timeout = shared.request_timeout;
    authbench_core::http::app(
        state,
        (metrics, registry),
        timeout,
        &openapi::document(),
        [
            (paths::ROOT, get(routes::account::about)),
            (paths::LOGIN, post(routes::login::login)),
            (paths::LOGOUT, post(routes::login::logout)),
            (paths::BALANCE, get(routes::account::balance)),
            (
                paths::SESSIONS,
                get(routes::sessions::list).delete(routes::sessions::delete_all),
            ),
            (paths::HEALTHZ, get(routes::health::healthz)),
            (paths::INTROSPECT, post(routes::introspect::introspect)),
        ],
    )
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    authbench_core::http::serve(listener, app(state), shutdown).await;
}
