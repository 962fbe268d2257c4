//! The resource server: serves `GET /user/balance` for requests authenticated by another
//! service, the issuer, in one of three styles chosen at start (`--verify`):
//!
//! - `jwks`: JWTs checked with the issuer's published key set, fetched and cached (`jwks`); the
//!   issuer is never contacted per request.
//! - `store`: session ids read from the session store the issuer writes.
//! - `introspect`: any token (an opaque access token, a session id) checked by asking the
//!   issuer (RFC 7662) on every request, or fewer with a short cache (`introspect`).
//!
//! # Layout
//!
//! - [`jwks`]: the key set: fetch, cache, TTL, refetch on an unknown kid at most once per
//!   interval, staleness; which keys of a set are taken.
//! - `verify`: the three styles as one [`verify::Verifier`].
//! - [`introspect`]: the introspection client and its cache.
//! - [`state`]: [`AppState`] and the [`Options`] it opens from.
//! - `metrics`: fetches, keys, calls to the issuer, cache hits.
//! - `routes`: balance, health, `GET /`.

pub mod introspect;
pub mod jwks;
pub mod state;
pub mod verify;

mod metrics;
mod routes;

use std::future::Future;

use authbench_contract::routes as paths;
use authbench_core::http::Guarded;
use authbench_core::http::openapi::{Answer, BEARER, Document, Operation, add_common};
use axum::routing::get;
use http::Method;
use tokio::net::TcpListener;

pub use state::{AppState, Options, StartError, Style};

/// The server's routes on `state`, with the shared limits, metrics and error handling.
pub fn app(state: AppState) -> Guarded {
    let shared = &state.shared;
    let (metrics, registry) = (shared.http_metrics.clone(), shared.registry.clone());
    let timeout = shared.request_timeout;
    authbench_core::http::app(
        state,
        (metrics, registry),
        timeout,
        &document(),
        [
            (paths::ROOT, get(routes::about)),
            (paths::BALANCE, get(routes::balance)),
            (paths::HEALTHZ, get(routes::healthz)),
        ],
    )
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    authbench_core::http::serve(listener, app(state), shutdown).await;
}

/// The OpenAPI document `/openapi.json` serves.
fn document() -> serde_json::Value {
    let mut document = Document::new(
        "authbench resource server",
        "Serves the balance for requests authenticated by another service's tokens: JWTs with \
         the issuer's JWKS, sessions from the shared store, or introspection at the issuer.",
    );
    let balance = document.schema::<authbench_core::account::Balance>();
    document.operation(
        paths::BALANCE,
        &Method::GET,
        Operation {
            id: "balance",
            summary: "The caller's balance, authenticated by the issuer's token",
            security: &[BEARER],
            request: None,
            answers: vec![Answer::json(200, "The balance", balance)],
        },
    );
    add_common(&mut document);
    document.finish()
}
