//! `GET /user/balance`, `GET /` (the trivial route to compare against) and the JWKS.

use authbench_core::http::ApiError;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;

use crate::auth::authenticate;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Balance {
    username: String,
    balance_cents: i64,
}

/// A signature check (plus a revocation lookup when revocation is on), then the balance.
pub async fn balance(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Balance>, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    let username = claims.sub;
    match state.shared.balances.get(&username).await {
        Ok(Some(balance_cents)) => Ok(Json(Balance {
            username,
            balance_cents,
        })),
        Ok(None) => Err(ApiError::unauthorized()),
        Err(error) => {
            tracing::warn!(%error, "main_DB unavailable");
            Err(ApiError::unavailable("main_db"))
        }
    }
}

#[derive(Serialize)]
pub struct About {
    service: &'static str,
    version: &'static str,
}

/// No auth, no store, no database: the floor the other routes are measured against.
pub async fn about() -> Json<About> {
    Json(About {
        service: "authbench JWT server",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /.well-known/jwks.json`: the public keys (none for HS256).
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.codec().keys().jwks()).into_response()
}
