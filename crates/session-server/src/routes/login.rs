//! `POST /login` and `POST /logout`.

use authbench_core::account::{LoginRequest, check_login};
use authbench_core::http::{ApiError, JsonBody, credentials};
use authbench_core::time::rfc3339_millis as rfc3339;
use authbench_store::{Record, now_millis};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{SET_COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;

use crate::auth::{authenticate, initial_deadline};
use crate::config::Config;
use crate::credentials::COOKIE_NAME;
use crate::session_id;
use crate::state::AppState;

/// The user agent is kept for `GET /sessions`; clip it so one client can't bloat the store.
const MAX_USER_AGENT_BYTES: usize = 200;

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct LoginResponse<'a> {
    session_id: &'a str,
    expires_at: String,
    expires_in: i64,
}

/// Checks the password in main_DB, then stores a new session. Any session id the request already
/// carries is ignored: login always issues a fresh one (no fixation).
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let shared = &state.shared;
    let username = check_login(&shared.main_db, &shared.passwords, request).await?;

    let id = session_id::generate().map_err(|error| {
        tracing::error!(%error, "cannot generate a session id");
        ApiError::internal()
    })?;
    let now = now_millis();
    let record = Record {
        id: id.into(),
        user: username.into(),
        created: now,
        expires: initial_deadline(&shared.config, now),
        data: user_agent(&headers).into(),
    };
    shared
        .store
        .create(&record, shared.config.max_sessions_per_user)
        .await?;

    let cookie = set_cookie(&shared.config, &record.id);
    let body = LoginResponse {
        session_id: &record.id,
        expires_at: rfc3339(record.expires),
        expires_in: (record.expires - now) / 1000,
    };
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Deletes the session the request presents and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = authenticate(&state, &headers).await?;
    state.store().delete(&session.record.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, clear_cookie(state.config()))],
    )
        .into_response())
}

/// `sid=<id>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<ttl>[; Secure]`.
pub fn set_cookie(config: &Config, id: &str) -> HeaderValue {
    credentials::set_cookie(COOKIE_NAME, id, config.ttl.as_secs(), config.secure_cookie)
}

/// An expired `sid` cookie, so browsers drop the one they hold.
pub fn clear_cookie(config: &Config) -> HeaderValue {
    credentials::clear_cookie(COOKIE_NAME, config.secure_cookie)
}

fn user_agent(headers: &HeaderMap) -> String {
    let raw = headers
        .get(USER_AGENT)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(raw);
    let mut end = text.len().min(MAX_USER_AGENT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
