//! `GET /user/balance`, `GET /` and `GET /healthz`.

use authbench_core::account::{self, About, Balance};
use authbench_core::http::ApiError;
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

use crate::jwks::JwksStatus;
use crate::state::AppState;
use crate::verify::Verifier;

/// The style's check, then the balance: nothing here contacts the issuer unless the style is
/// introspection.
pub async fn balance(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Balance>, ApiError> {
    let shared = &state.shared;
    let user = shared.verifier.user(request.headers()).await?;
    account::balance(&shared.balances, user).await
}

pub async fn about() -> Json<About> {
    account::about("authbench resource server")
}

#[derive(Serialize)]
struct Health {
    /// `ok`; `degraded` while the last key-set fetch failed but the keys held still verify;
    /// `unavailable` when a request could not be served.
    status: &'static str,
    verify: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    main_db_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<JwksStatus>,
}

/// 200 while requests can be served, 503 otherwise; the key set's age and last fetch error
/// are reported either way.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let shared = &state.shared;
    let main_db_error = shared.main_db.ping().await.err().map(|e| e.to_string());
    let (store_error, jwks) = match &shared.verifier {
        Verifier::Jwks(jwt) => (None, Some(jwt.jwks().status())),
        Verifier::Store(store) => (store.ping().await.err().map(|e| e.to_string()), None),
        Verifier::Introspect(_) => (None, None),
    };
    let unusable = jwks.as_ref().is_some_and(|jwks| !jwks.usable);
    let stale = jwks.as_ref().is_some_and(|jwks| jwks.last_error.is_some());
    let (code, status) = if main_db_error.is_some() || store_error.is_some() || unusable {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    } else if stale {
        (StatusCode::OK, "degraded")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = Health {
        status,
        verify: shared.verifier.style().as_str(),
        main_db_error,
        store_error,
        jwks,
    };
    (code, Json(body)).into_response()
}
