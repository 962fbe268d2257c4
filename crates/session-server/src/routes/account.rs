//! `GET /user/balance`, the route the load generator hammers, and `GET /`, a trivial route of the
//! same server to measure the auth cost against.

use authbench_core::account::{self, About, Balance};
use authbench_core::http::ApiError;
use axum::Json;
use axum::extract::{Request, State};

use crate::auth::authenticate;
use crate::state::AppState;

/// One session lookup (the session_DB read), then the balance (a main_DB read by default).
pub async fn balance(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Balance>, ApiError> {
    // The request itself rather than a `HeaderMap` extractor, which copies every header: this
    // is the route every flow repeats.
    let headers = request.headers();
    let session = authenticate(&state, headers).await?;
    account::balance(&state.shared.balances, session.record.user.to_string()).await
}

pub async fn about() -> Json<About> {
    account::about("authbench session server")
}
