//! `POST /introspect` (RFC 7662): whether a session id is live, for resource servers holding the
//! shared secret: the same lookup (and touch) as a request here.

use authbench_core::http::ApiError;
use authbench_core::http::introspection::{FormBody, Introspection, introspected_token};
use axum::Json;
use axum::extract::State;
use http::{HeaderMap, StatusCode};

use crate::auth::session_of;
use crate::state::AppState;

/// What introspection calls a session id.
const TOKEN_TYPE: &str = "session";

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Result<Json<Introspection>, ApiError> {
    let token = introspected_token(state.shared.introspection_secret.as_ref(), &headers, &body)?;
    match session_of(&state, &token).await {
        Ok(session) => {
            let record = &session.record;
            Ok(Json(Introspection::active(
                &record.user,
                record.created,
                record.expires,
                TOKEN_TYPE,
            )))
        }
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            Ok(Json(Introspection::inactive()))
        }
        Err(error) => Err(error),
    }
}
