//! The JWT server: `POST /login` checks the password in main_DB and issues a signed access token
//! and an opaque refresh token; each request verifies the signature with no store lookup (unless
//! revocation is on, which brings a store back).
//!
//! # Layout
//!
//! - [`keys`]: signing keys (HS256, RS256, ES256, EdDSA), loaded or generated, their kid and JWKS;
//!   the ring of keys across rotations.
//! - [`token`]: access-token claims, signing with held key pairs, validation with jsonwebtoken.
//! - [`config`]: lifetimes, issuer/audience, revocation mode, transport, validated.
//! - [`state`]: [`AppState`] and the [`Options`] it opens from.
//! - [`refresh`]: opaque refresh tokens, rotation and reuse detection on the store.
//! - [`opaque`]: opaque access tokens (`--access-token opaque`), kept in the store by hash.
//! - `auth`: request → verified claims, with the revocation check.
//! - `metrics`: verification counts and time.
//! - `routes`: login/refresh/logout, balance, sessions (refresh families), health, JWKS,
//!   introspection (RFC 7662).
//! - [`openapi`]: the routes as an OpenAPI 3.1 document, served at `/openapi.json`.

pub mod config;
pub mod keys;
pub mod opaque;
pub mod openapi;
pub mod refresh;
pub mod state;
pub mod token;

mod auth;
mod metrics;
mod routes;

use authbench_contract::routes as paths;
use authbench_core::http::Guarded;
use std::future::Future;

use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use auth::COOKIE_NAME;
pub use config::{AccessToken, Config, ConfigError, Revocation, Transport};
pub use state::{AppState, KeySource, Options, RotationError, StartError};

/// The server's routes on `state`, with the shared limits, metrics and error handling.
pub fn app(state: AppState) -> Guarded {
    let shared = &state.shared;
    let (metrics, registry) = (shared.http_metrics.clone(), shared.registry.clone());
    let timeout = shared.request_timeout;
    let document = openapi::document(shared.config.transport);
    authbench_core::http::app(
        state,
        (metrics, registry),
        timeout,
        &document,
        [
            (paths::ROOT, get(routes::account::about)),
            (paths::LOGIN, post(routes::login::login)),
            (paths::REFRESH, post(routes::login::refresh)),
            (paths::LOGOUT, post(routes::login::logout)),
            (paths::BALANCE, get(routes::account::balance)),
            (
                paths::SESSIONS,
                get(routes::sessions::list).delete(routes::sessions::delete_all),
            ),
            (paths::HEALTHZ, get(routes::health::healthz)),
            (paths::JWKS, get(routes::account::jwks)),
            (paths::INTROSPECT, post(routes::introspect::introspect)),
        ],
    )
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    authbench_core::http::serve(listener, app(state), shutdown).await;
}

/// Rotates the signing key on every SIGHUP (see [`AppState::rotate_key`]), logging what
/// happened; a refused rotation leaves the keys as they were.
pub fn rotate_on_sighup(state: AppState) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match state.rotate_key() {
                Ok(keys::Rotated::Rotated { old_kid, new_kid }) => tracing::info!(
                    old_kid,
                    new_kid,
                    overlap = ?state.rotation_overlap(),
                    "signing key rotated; the old key verifies for the overlap"
                ),
                Ok(keys::Rotated::Unchanged { kid }) => {
                    tracing::warn!(
                        kid,
                        "SIGHUP: the key is the one already signing; nothing rotated"
                    )
                }
                Err(error) => tracing::error!(
                    error = %authbench_contract::error::Chain(&error),
                    "SIGHUP: key not rotated"
                ),
            }
        }
    });
    Ok(())
}
