//! `GET /user/balance`, `GET /` (the trivial route to compare against) and the JWKS.

use authbench_core::account::{self, About, Balance};
use authbench_core::http::ApiError;
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

use crate::auth::authenticate;
use crate::state::AppState;

/// A signature check (plus a revocation lookup when revocation is on), then the balance.
pub async fn balance(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Balance>, ApiError> {
    // The request itself rather than a `HeaderMap` extractor, which copies every header: this
    // is the route every flow repeats.
    let headers = request.headers();
    let claims = authenticate(&state, headers).await?;
    account::balance(&state.shared.balances, claims.sub).await
}

pub async fn about() -> Json<About> {
    account::about("authbench JWT server")
}

/// `GET /.well-known/jwks.json`: the public keys that verify now, the signing key first (none
/// for HS256).
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.codec().jwks()).into_response()
}
