//! Turning a request into its verified access-token claims: find the token, check signature and
//! claims (no store), then, only when revocation is on, ask the revocation store; or, for an
//! opaque token, look it up in the store.

use std::time::Instant;

use authbench_core::http::ApiError;
use authbench_core::http::credentials::{authorization, cookie};
use http::HeaderMap;

use crate::config::{Revocation, Transport};
use crate::opaque;
use crate::state::AppState;
use crate::token::AccessClaims;

/// The cookie that carries the access token with `--transport cookie`.
pub const COOKIE_NAME: &str = "access_token";

/// The access token a request presents: `Authorization: Bearer`, else (with cookie transport)
/// the `access_token` cookie.
fn presented_token(headers: &HeaderMap, transport: Transport) -> Option<&str> {
    authorization(headers, "Bearer").or_else(|| {
        (transport == Transport::Cookie)
            .then(|| cookie(headers, COOKIE_NAME))
            .flatten()
    })
}

/// The verified claims of the request's access token, or 401. Revoked tokens are 401 too.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AccessClaims, ApiError> {
    let token = presented_token(headers, state.shared.config.transport)
        .ok_or_else(ApiError::unauthorized)?;
    claims_of(state, token).await
}

/// The claims `token` stands for once every check has passed (a store lookup for an opaque
/// token; a signature, claims and, with revocation on, a store lookup for a JWT), or 401.
pub async fn claims_of(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    let shared = &state.shared;
    if let Some(access_tokens) = &shared.access_tokens {
        let id = opaque::id_of(token).ok_or_else(ApiError::unauthorized)?;
        let record = access_tokens
            .load(&id)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        let config = &shared.config;
        return Ok(opaque::claims(&record, &config.issuer, &config.audience));
    }
    let started = Instant::now();
    let verified = shared.codec.verify(token);
    shared
        .verify_metrics
        .record(verified.is_ok(), started.elapsed());
    let claims = verified.map_err(|error| {
        tracing::debug!(%error, "access token refused");
        ApiError::unauthorized()
    })?;
    if let Some(revocations) = &shared.revocations {
        let revoked = match shared.config.revocation {
            Revocation::None => false,
            Revocation::Denylist => revocations.load(&claims.jti).await?.is_some(),
            Revocation::Cutoff => match revocations.load(&claims.sub).await? {
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
    use http::header::{AUTHORIZATION, COOKIE};

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
