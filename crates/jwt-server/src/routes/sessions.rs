//! `GET /sessions` (the caller's refresh families, one per login) and `DELETE /sessions` (log out
//! everywhere).

use authbench_core::http::ApiError;
use authbench_core::time::rfc3339_millis as rfc3339;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::header::SET_COOKIE;
use serde::Serialize;

use crate::auth::authenticate;
use crate::routes::login::{clear_cookie, revoke};
use crate::state::AppState;

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct FamilyView {
    /// Never the whole family id: enough to tell logins apart.
    id_prefix: String,
    created_at: String,
    expires_at: String,
    current: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct FamilyList {
    username: String,
    count: usize,
    sessions: Vec<FamilyView>,
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    let families = state.shared.refresh.list_user(&claims.sub).await?;
    let sessions: Vec<FamilyView> = families
        .into_iter()
        .map(|family| FamilyView {
            id_prefix: family.id.get(..6).unwrap_or_default().to_owned(),
            created_at: rfc3339(family.created),
            expires_at: rfc3339(family.expires),
            current: *family.id == *claims.sid,
        })
        .collect();
    Ok(Json(FamilyList {
        username: claims.sub,
        count: sessions.len(),
        sessions,
    })
    .into_response())
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Deleted {
    deleted: u64,
}

/// Drops every refresh family of the user. JWT access tokens already issued stay valid until
/// they expire, except as the revocation mode allows: `cutoff` ends them all, `denylist` only the
/// caller's (the others' `jti`s are not known here). Opaque access tokens are all deleted.
pub async fn delete_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    let deleted = state.shared.refresh.delete_user(&claims.sub).await?;
    match &state.shared.access_tokens {
        // Every opaque token of the user, not only the caller's.
        Some(access_tokens) => {
            access_tokens.delete_user(&claims.sub).await?;
        }
        None => revoke(&state, &claims).await?,
    }
    Ok((
        [(SET_COOKIE, clear_cookie(state.config()))],
        Json(Deleted { deleted }),
    )
        .into_response())
}
