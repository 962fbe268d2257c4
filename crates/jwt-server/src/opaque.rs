//! Opaque access tokens: 256 random bits the client holds, checked by a store lookup at the
//! issuer (or by introspection elsewhere). The store keeps the token's SHA-256, never the token,
//! so a copy of the store holds nothing a client could present. Revoking one is deleting it:
//! the next lookup misses, at once.

use std::time::Duration;

use authbench_core::ids::{RandomError, random_base64url};
use authbench_core::time::millis;
use authbench_store::{Record, UnixMillis};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::token::AccessClaims;

/// Encoded length of a token: 32 bytes as base64url.
pub const TOKEN_LEN: usize = 43;

/// What introspection says an opaque access token is.
pub const TOKEN_TYPE: &str = "Bearer";

/// A new token and the id the store keeps it under.
pub fn mint() -> Result<(String, String), RandomError> {
    let token = random_base64url::<32>()?;
    let id = id_of(&token).unwrap_or_default();
    Ok((token, id))
}

/// The store id of a well-formed token (its SHA-256, base64url); `None` for anything this
/// server can't have issued, which is refused without asking the store.
pub fn id_of(token: &str) -> Option<String> {
    let well_formed = token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())))
}

/// The record of a token for `user` in refresh family `family`, from `now` for `ttl`.
pub fn record(id: String, user: &str, family: &str, now: UnixMillis, ttl: Duration) -> Record {
    Record {
        id: id.into(),
        user: user.into(),
        created: now,
        expires: now.saturating_add(millis(ttl)),
        data: family.into(),
    }
}

/// The claims a stored token stands for: its id as `jti` (what logout deletes), its refresh
/// family as `sid`, times in seconds.
pub fn claims(record: &Record, issuer: &str, audience: &str) -> AccessClaims {
    let iat = record.created.div_euclid(1000);
    AccessClaims {
        sub: record.user.to_string(),
        iat,
        nbf: iat,
        exp: record.expires.div_euclid(1000),
        jti: record.id.to_string(),
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        sid: record.data.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_stored_by_hash_only() {
        let (token, id) = mint().unwrap();
        let (other, _) = mint().unwrap();
        assert_ne!(token, other);
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(id_of(&token).as_deref(), Some(id.as_str()));
        assert_ne!(id, token);
        assert_eq!(id_of("short"), None);
        assert_eq!(id_of(&"!".repeat(TOKEN_LEN)), None);
    }
}
