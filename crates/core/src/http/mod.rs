//! HTTP plumbing both servers share: the JSON error body, a JSON extractor with project errors
//! and the body limit, each route's guard (metrics, a per-request timeout, panic containment),
//! `/healthz` bodies and serving.

pub mod credentials;
pub mod error;
pub mod guard;
pub mod idle;
pub mod introspection;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use authbench_contract::routes as paths;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::StatusCode;
use prometheus_client::registry::Registry;
use serde::Serialize;

pub use error::ApiError;
pub use guard::{Guarded, Guards};
pub use json::JsonBody;
pub use metrics::HttpMetrics;
pub use serve::{serve, shutdown_signal};

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest request head accepted; larger ones get 431 (enforced by hyper's read buffer).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// A server's app: its `routes` on `state`, plus what every authbench server has (`/metrics`,
/// `/openapi.json` serving `openapi`, a JSON 404), every request guarded ([`Guarded`]) with
/// `metrics` and `request_timeout`.
pub fn app<S>(
    state: S,
    (metrics, registry): (HttpMetrics, Arc<Registry>),
    request_timeout: Duration,
    openapi: &serde_json::Value,
    routes: impl IntoIterator<Item = (&'static str, MethodRouter<S>)>,
) -> Guarded
where
    S: Clone + Send + Sync + 'static,
{
    let mut guards = Guards::new(metrics, request_timeout);
    let own = guards.routes(Router::new(), routes).with_state(state);
    let exposition = get(metrics::exposition).with_state(registry);
    // Written once: the document is the same for every request.
    let document = axum::body::Bytes::from(openapi.to_string());
    let openapi = get(move || {
        let document = document.clone();
        async move { ([(http::header::CONTENT_TYPE, "application/json")], document) }
    });
    let router = guards
        .routes(
            own,
            [(paths::METRICS, exposition), (paths::OPENAPI, openapi)],
        )
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() });
    guards.guard(router)
}

/// The state of one dependency in a `/healthz` answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// Why it failed; never holds credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    pub fn from_result<E: std::fmt::Display>(name: &'static str, result: Result<(), E>) -> Check {
        match result {
            Ok(()) => Check {
                name,
                ok: true,
                error: None,
            },
            Err(error) => Check {
                name,
                ok: false,
                error: Some(error.to_string()),
            },
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct Health<'a> {
    status: &'static str,
    checks: &'a [Check],
}

/// `/healthz` answer: 200 when every check passed, 503 otherwise.
pub fn health_response(checks: &[Check]) -> Response {
    let healthy = checks.iter().all(|check| check.ok);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if healthy { "ok" } else { "unavailable" },
        checks,
    };
    (status, axum::Json(body)).into_response()
}
