//! `POST /login`, `POST /refresh` and `POST /logout`.

use authbench_core::account::{LoginRequest, check_login};
use authbench_core::http::{ApiError, JsonBody, credentials};
use authbench_core::time::millis;
use authbench_store::{Record, now_millis};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::auth::{COOKIE_NAME, authenticate};
use crate::config::{Config, Revocation, Transport};
use crate::opaque;
use crate::refresh::{self, Minted, Rotation};
use crate::state::AppState;
use crate::token::AccessClaims;

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct TokenPair<'a> {
    access_token: &'a str,
    refresh_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

/// Checks the password in main_DB (the same check as the session server), starts a refresh
/// family in the store, and issues the first access and refresh tokens.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let shared = &state.shared;
    let username = check_login(&shared.main_db, &shared.passwords, request).await?;
    wait_out_cutoff_second(&state, &username).await?;
    let minted = refresh::mint(None).map_err(internal)?;
    let record = refresh::family_record(&minted, &username, millis(shared.config.refresh_ttl));
    shared.refresh.create(&record, None).await?;
    issue(&state, &username, &minted).await
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// Rotates a refresh token. A token that was already rotated revokes its whole family.
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    match refresh::rotate(&state.shared.refresh, &request.refresh_token).await? {
        Rotation::Rotated { user, next } => {
            wait_out_cutoff_second(&state, &user).await?;
            issue(&state, &user, &next).await
        }
        Rotation::Unknown => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
            "unknown, expired or revoked refresh token",
        )),
        Rotation::Reused { user } => {
            tracing::warn!(
                user,
                "a rotated refresh token was replayed; its family is revoked"
            );
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "this refresh token was already used; every token of its login is revoked",
            ))
        }
    }
}

/// Ends this login: drops its refresh family, then revokes the access token as the mode allows
/// (`none`: it stays valid until it expires; `denylist`: its `jti`; `cutoff`: every access token
/// of the user issued so far, since a cutoff is per user).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    let shared = &state.shared;
    shared.refresh.delete(&claims.sid).await?;
    revoke(&state, &claims).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, clear_cookie(&shared.config))],
    )
        .into_response())
}

/// Revokes what the revocation mode can revoke for the holder of `claims`; an opaque token
/// is deleted.
pub async fn revoke(state: &AppState, claims: &AccessClaims) -> Result<(), ApiError> {
    let shared = &state.shared;
    if let Some(access_tokens) = &shared.access_tokens {
        access_tokens.delete(&claims.jti).await?;
        return Ok(());
    }
    let Some(revocations) = &shared.revocations else {
        return Ok(());
    };
    let now = now_millis();
    let record = match shared.config.revocation {
        Revocation::None => return Ok(()),
        // Kept until the token would have expired anyway (plus the leeway), then dropped.
        Revocation::Denylist => Record {
            id: claims.jti.as_str().into(),
            user: claims.sub.as_str().into(),
            created: now,
            expires: claims
                .exp
                .saturating_mul(1000)
                .saturating_add(millis(shared.config.leeway)),
            data: "".into(),
        },
        // Any token issued before now is at most access_ttl (+ leeway) from expiry.
        Revocation::Cutoff => Record {
            id: claims.sub.as_str().into(),
            user: claims.sub.as_str().into(),
            created: now,
            expires: now + millis(shared.config.access_ttl) + millis(shared.config.leeway) + 1000,
            data: now.to_string().into(),
        },
    };
    Ok(revocations.create(&record, None).await?)
}

/// With cutoff revocation, a token whose whole-second `iat` falls in the second of the user's
/// cutoff counts as revoked (see [`crate::auth::issued_before_cutoff`]). A login in that same
/// second (a logout everywhere, then an immediate login or refresh) waits for the next second,
/// so its token is not born revoked. Costs one store read per login and refresh in this mode
/// only.
async fn wait_out_cutoff_second(state: &AppState, user: &str) -> Result<(), ApiError> {
    let shared = &state.shared;
    let (Revocation::Cutoff, Some(revocations)) = (shared.config.revocation, &shared.revocations)
    else {
        return Ok(());
    };
    let Some(cutoff) = revocations.load(user).await? else {
        return Ok(());
    };
    let Ok(cutoff_millis) = cutoff.data.parse::<i64>() else {
        return Ok(());
    };
    let next_second = (cutoff_millis.div_euclid(1000) + 1) * 1000;
    let wait = next_second - now_millis();
    if wait > 0 {
        // At most one second: the cutoff was set at most this second.
        let wait = u64::try_from(wait.min(1000)).unwrap_or(1000);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    Ok(())
}

/// Issues an access token for `user` in `family` (signs a JWT, or stores an opaque token), and
/// answers with the token pair.
async fn issue(state: &AppState, user: &str, minted: &Minted) -> Result<Response, ApiError> {
    let config = &state.shared.config;
    let access_token = match &state.shared.access_tokens {
        Some(access_tokens) => {
            let (token, id) = opaque::mint().map_err(internal)?;
            let record = opaque::record(id, user, &minted.family, now_millis(), config.access_ttl);
            access_tokens.create(&record, None).await?;
            token
        }
        None => {
            let claims = state
                .codec()
                .new_claims(user, &minted.family, config.access_ttl);
            state.codec().sign(&claims).map_err(internal)?
        }
    };
    let body = Json(TokenPair {
        access_token: &access_token,
        refresh_token: &minted.token,
        token_type: "Bearer",
        expires_in: config.access_ttl.as_secs(),
    });
    Ok(match config.transport {
        Transport::Header => body.into_response(),
        Transport::Cookie => {
            ([(SET_COOKIE, set_cookie(config, &access_token))], body).into_response()
        }
    })
}

fn set_cookie(config: &Config, token: &str) -> HeaderValue {
    credentials::set_cookie(
        COOKIE_NAME,
        token,
        config.access_ttl.as_secs(),
        config.secure_cookie,
    )
}

pub fn clear_cookie(config: &Config) -> HeaderValue {
    credentials::clear_cookie(COOKIE_NAME, config.secure_cookie)
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "cannot issue tokens");
    ApiError::internal()
}
