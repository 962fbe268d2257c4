//! HTTP plumbing both servers share: the JSON error body, a JSON extractor with project errors,
//! size limits, a per-request timeout, panic containment, metrics, `/healthz` bodies and serving.

pub mod credentials;
pub mod error;
pub mod json;
pub mod metrics;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::ApiError;
pub use json::JsonBody;
pub use metrics::HttpMetrics;
pub use serve::{serve, shutdown_signal};

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest request head accepted; larger ones get 431 (enforced by hyper's read buffer).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Wraps a server's routes with what every authbench server has: `/metrics`, request metrics, a
/// JSON 404, the body limit, a per-request timeout (503 with a JSON body when it fires) and a
/// panic guard (500 instead of a dropped connection, should a handler ever panic).
pub fn finish(
    routes: Router,
    metrics: HttpMetrics,
    registry: Arc<Registry>,
    request_timeout: Duration,
) -> Router {
    routes
        .route("/metrics", get(metrics::exposition).with_state(registry))
        .route_layer(middleware::from_fn_with_state(metrics, metrics::track))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            request_timeout,
            with_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            error::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }))
}

async fn with_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error::error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took longer than the server's request timeout",
        ),
    }
}

/// The state of one dependency in a `/healthz` answer.
#[derive(Debug, Serialize)]
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

#[derive(Serialize)]
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
