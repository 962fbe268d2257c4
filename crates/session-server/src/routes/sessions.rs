//! `GET /sessions` (the caller's live sessions) and `DELETE /sessions` (log out everywhere).

use authbench_core::http::ApiError;
use authbench_core::time::rfc3339_millis as rfc3339;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::header::SET_COOKIE;
use serde::Serialize;

use crate::auth::authenticate;
use crate::routes::login::clear_cookie;
use crate::session_id;
use crate::state::AppState;

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct SessionView {
    /// Never the whole id: enough to tell sessions apart, useless to an attacker.
    id_prefix: String,
    created_at: String,
    expires_at: String,
    user_agent: String,
    current: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct SessionList {
    username: String,
    count: usize,
    sessions: Vec<SessionView>,
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let session = authenticate(&state, &headers).await?;
    let records = state.store().list_user(&session.record.user).await?;
    let sessions: Vec<SessionView> = records
        .into_iter()
        .map(|record| SessionView {
            id_prefix: session_id::prefix(&record.id).to_owned(),
            created_at: rfc3339(record.created),
            expires_at: rfc3339(record.expires),
            current: record.id == session.record.id,
            user_agent: record.data.to_string(),
        })
        .collect();
    Ok(Json(SessionList {
        username: session.record.user.to_string(),
        count: sessions.len(),
        sessions,
    })
    .into_response())
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Deleted {
    deleted: u64,
}

pub async fn delete_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = authenticate(&state, &headers).await?;
    let deleted = state.store().delete_user(&session.record.user).await?;
    Ok((
        [(SET_COOKIE, clear_cookie(state.config()))],
        Json(Deleted { deleted }),
    )
        .into_response())
}
