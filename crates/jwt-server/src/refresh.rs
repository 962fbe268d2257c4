//! Refresh tokens and their rotation (RFC 9700 §4.14.2).
//!
//! A refresh token is opaque: `{family}.{secret}`, both random. The store keeps one record per
//! family (per login): its user, its absolute expiry, and the SHA-256 of the family's *current*
//! secret, never the secret itself. Refreshing swaps that hash for a new one with a
//! compare-and-swap, so of two refreshes racing with the same token exactly one wins. A token whose
//! family exists but whose secret is not the current one has been rotated already: someone is
//! replaying it, so the whole family is revoked.

use authbench_core::ids::{RandomError, random_base64url};
use authbench_store::{Record, Store, now_millis};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encoded length of a 16-byte family id and of a 32-byte secret.
pub const FAMILY_LEN: usize = 22;
pub const SECRET_LEN: usize = 43;

/// A freshly minted refresh token: what the client gets, and what the store keeps.
#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub family: String,
    pub secret_hash: String,
}

/// A new secret for `family` (a new family id when `None`).
pub fn mint(family: Option<&str>) -> Result<Minted, RandomError> {
    let family = match family {
        Some(family) => family.to_owned(),
        None => random_base64url::<16>()?,
    };
    let secret = random_base64url::<32>()?;
    Ok(Minted {
        token: format!("{family}.{secret}"),
        secret_hash: hash(&secret),
        family,
    })
}

/// The stored form of a secret.
fn hash(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, secret.as_bytes()))
}

/// `(family, secret)` of a well-formed token; `None` for anything this server can't have issued.
pub fn split(token: &str) -> Option<(&str, &str)> {
    let (family, secret) = token.split_once('.')?;
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (family.len() == FAMILY_LEN
        && secret.len() == SECRET_LEN
        && base64url(family)
        && base64url(secret))
    .then_some((family, secret))
}

/// The record that starts a family at login.
pub fn family_record(minted: &Minted, user: &str, ttl_millis: i64) -> Record {
    let now = now_millis();
    Record {
        id: minted.family.as_str().into(),
        user: user.into(),
        created: now,
        expires: now.saturating_add(ttl_millis),
        data: minted.secret_hash.as_str().into(),
    }
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current; here is its successor.
    Rotated { user: String, next: Minted },
    /// Malformed, unknown or expired family: nothing to revoke.
    Unknown,
    /// An already-rotated token was replayed: the family has been revoked.
    Reused { user: String },
}

/// Rotates `presented`, or revokes its family if it was already rotated.
pub async fn rotate(store: &Store, presented: &str) -> Result<Rotation, authbench_store::Error> {
    let Some((family, secret)) = split(presented) else {
        return Ok(Rotation::Unknown);
    };
    let Some(record) = store.load(family).await? else {
        return Ok(Rotation::Unknown);
    };
    let presented_hash = hash(secret);
    if *presented_hash == *record.data {
        let next =
            mint(Some(family)).map_err(|e| authbench_store::Error::Unavailable(e.to_string()))?;
        if store
            .replace_data(family, &presented_hash, &next.secret_hash)
            .await?
        {
            return Ok(Rotation::Rotated {
                user: record.user.to_string(),
                next,
            });
        }
        // Another refresh with the same token won the swap: this one is a replay.
    }
    store.delete(family).await?;
    Ok(Rotation::Reused {
        user: record.user.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_split_back_and_store_only_a_hash() {
        let minted = mint(None).unwrap();
        let (family, secret) = split(&minted.token).unwrap();
        assert_eq!(family, minted.family);
        assert_eq!(hash(secret), minted.secret_hash);
        assert!(!minted.secret_hash.contains(secret));
        let rotated = mint(Some(family)).unwrap();
        assert_eq!(rotated.family, minted.family);
        assert_ne!(rotated.token, minted.token);
    }

    #[test]
    fn tokens_this_server_cannot_have_issued_do_not_split() {
        let minted = mint(None).unwrap();
        for bad in [
            "",
            ".",
            "abc.def",
            &minted.token.replace('.', ""),
            &format!("{}x", minted.token),
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
        assert!(split(&format!("{}.{}", "'".repeat(22), "a".repeat(43))).is_none());
    }
}
