//! Turning a request into its verified access-token claims: find the token, check signature and
//! claims (no store), then, only when revocation is on, ask the revocation store.

use std::time::Instant;

use authbench_core::http::ApiError;
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use crate::config::{Revocation, Transport};
use crate::state::AppState;
use crate::token::AccessClaims;

/// The cookie that carries the access token with `--transport cookie`.
pub const COOKIE_NAME: &str = "access_token";
const SCHEME: &str = "Bearer ";

/// Maps a store failure to the answer: 503 while the store is down or slow, 500 otherwise.
pub fn store_error(error: &authbench_store::Error) -> ApiError {
    if error.is_unavailable() {
        tracing::warn!(%error, "store unavailable");
        ApiError::unavailable("store")
    } else {
        tracing::error!(%error, "store failed");
        ApiError::internal()
    }
}

/// The access token a request presents: `Authorization: Bearer`, else (with cookie transport)
/// the `access_token` cookie.
fn presented_token(headers: &HeaderMap, transport: Transport) -> Option<&str> {
    for value in headers.get_all(AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        if value.len() > SCHEME.len() && value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
            return Some(value[SCHEME.len()..].trim());
        }
    }
    if transport == Transport::Cookie {
        for value in headers.get_all(COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                if let Some((name, token)) = pair.trim().split_once('=')
                    && name == COOKIE_NAME
                {
                    return Some(token);
                }
            }
        }
    }
    None
}

/// The verified claims of the request's access token, or 401. Revoked tokens are 401 too.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AccessClaims, ApiError> {
    let shared = &state.shared;
    let token =
        presented_token(headers, shared.config.transport).ok_or_else(ApiError::unauthorized)?;
    let started = Instant::now();
    let verified = shared.codec.verify(token);
    shared
        .verify_metrics
        .record(verified.is_ok(), started.elapsed().as_secs_f64());
    let claims = verified.map_err(|error| {
        tracing::debug!(%error, "access token refused");
        ApiError::unauthorized()
    })?;
    if let Some(revocations) = &shared.revocations {
        let revoked = match shared.config.revocation {
            Revocation::None => false,
            Revocation::Denylist => revocations
                .load(&claims.jti)
                .await
                .map_err(|error| store_error(&error))?
                .is_some(),
            Revocation::Cutoff => match revocations
                .load(&claims.sub)
                .await
                .map_err(|e| store_error(&e))?
            {
                Some(cutoff) => issued_before_cutoff(claims.iat, &cutoff.data),
                None => false,
            },
        };
        if revoked {
            return Err(ApiError::unauthorized());
        }
    }
    Ok(claims)
}

/// Whether a token issued at `iat` (seconds) falls before a cutoff stored as Unix milliseconds.
/// `iat` has whole-second precision, so a token from the cutoff's own second counts as before
/// it: a logout everywhere must never let a token issued just before it through. (A login in
/// that same second is cut off too; it is one second, and the client logs in again.)
pub fn issued_before_cutoff(iat: i64, cutoff_millis: &str) -> bool {
    match cutoff_millis.parse::<i64>() {
        Ok(cutoff) => iat.saturating_mul(1000) <= cutoff,
        // A cutoff we can't read: fail closed.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn tokens_from_the_cutoff_second_or_before_are_revoked() {
        assert!(issued_before_cutoff(99, "100000"));
        assert!(issued_before_cutoff(100, "100500"));
        assert!(!issued_before_cutoff(101, "100500"));
        assert!(issued_before_cutoff(101, "garbage"));
    }

    #[test]
    fn cookie_is_read_only_with_cookie_transport() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; access_token=tok"));
        assert_eq!(presented_token(&headers, Transport::Cookie), Some("tok"));
        assert_eq!(presented_token(&headers, Transport::Header), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer hdr"));
        assert_eq!(presented_token(&headers, Transport::Cookie), Some("hdr"));
    }
}
