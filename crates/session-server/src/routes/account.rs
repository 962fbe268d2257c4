//! `GET /user/balance`, the route the load generator hammers, and `GET /`, a trivial route of the
//! same server to measure the auth cost against.

use authbench_core::http::ApiError;
use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use serde::Serialize;

use crate::auth::authenticate;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Balance {
    username: String,
    balance_cents: i64,
}

/// One session lookup (the session_DB read), then the balance (a main_DB read by default).
pub async fn balance(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Balance>, ApiError> {
    let session = authenticate(&state, &headers).await?;
    let username = session.record.user;
    match state.shared.balances.get(&username).await {
        Ok(Some(balance_cents)) => Ok(Json(Balance {
            username,
            balance_cents,
        })),
        // The account was deleted after the session was made.
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
        service: "authbench session server",
        version: env!("CARGO_PKG_VERSION"),
    })
}
