//! `POST /introspect` (RFC 7662): whether a token is active, for resource servers holding the
//! shared secret. The same check as a request here: an opaque token's store lookup, or a JWT's
//! signature, claims and revocation state.

use authbench_core::http::ApiError;
use authbench_core::http::introspection::{FormBody, Introspection, introspected_token};
use axum::Json;
use axum::extract::State;
use http::{HeaderMap, StatusCode};

use crate::auth::claims_of;
use crate::state::AppState;

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Result<Json<Introspection>, ApiError> {
    let shared = &state.shared;
    let token = introspected_token(shared.introspection_secret.as_ref(), &headers, &body)?;
    let token_type = match shared.access_tokens {
        Some(_) => crate::opaque::TOKEN_TYPE,
        None => crate::token::ACCESS_TOKEN_TYPE,
    };
    match claims_of(&state, &token).await {
        Ok(claims) => Ok(Json(Introspection::active(
            &claims.sub,
            claims.iat.saturating_mul(1000),
            claims.exp.saturating_mul(1000),
            token_type,
        ))),
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            Ok(Json(Introspection::inactive()))
        }
        Err(error) => Err(error),
    }
}
