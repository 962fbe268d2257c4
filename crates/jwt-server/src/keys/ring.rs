//! The keys a server holds at once: one that signs, and the keys it signed with before, each
//! kept for verification until every token it signed has expired. Rotation swaps the whole ring
//! atomically, so a request sees either the old ring or the new one, never half of each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::{Alg, Keys};

/// The signing key with the header every token it signs carries, encoded once.
#[derive(Debug)]
pub struct SigningKey {
    pub keys: Arc<Keys>,
    /// `base64url({"alg","typ","kid"})`.
    pub header: String,
}

impl SigningKey {
    pub fn new(keys: Keys, typ: &str) -> SigningKey {
        let header = json!({ "alg": keys.alg().as_str(), "typ": typ, "kid": keys.kid() });
        SigningKey {
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            keys: Arc::new(keys),
        }
    }
}

/// A key that no longer signs, and until when it still verifies.
#[derive(Debug)]
struct Retired {
    keys: Arc<Keys>,
    until: Instant,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotated {
    /// The new key signs from now on; the old one verifies for the overlap.
    Rotated { old_kid: String, new_kid: String },
    /// The "new" key is the one already signing (a key file that did not change).
    Unchanged { kid: String },
}

/// Why a rotation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotateError {
    /// The algorithm is pinned for the server's life: verifiers accept exactly one.
    #[error(
        "the new key is {new}, but this server signs with {pinned}; the algorithm cannot change by rotation"
    )]
    AlgorithmChange { pinned: Alg, new: Alg },
}

/// The keys of one server at one moment.
#[derive(Debug)]
pub struct KeyRing {
    signing: Arc<SigningKey>,
    retired: Vec<Retired>,
}

impl KeyRing {
    pub fn new(signing: SigningKey) -> KeyRing {
        KeyRing {
            signing: Arc::new(signing),
            retired: Vec::new(),
        }
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// The key `kid` names, if it signs or is still within its overlap.
    pub fn verifying(&self, kid: &str, now: Instant) -> Option<&Keys> {
        if self.signing.keys.kid() == kid {
            return Some(&self.signing.keys);
        }
        self.retired
            .iter()
            .find(|retired| retired.until > now && retired.keys.kid() == kid)
            .map(|retired| &*retired.keys)
    }

    /// How many keys verify now: the signing key and the retired ones within their overlap.
    pub fn verifying_count(&self, now: Instant) -> usize {
        1 + self.live_retired(now).count()
    }

    /// The ring after `next` takes over signing: the current key is retired for `overlap`, and
    /// retired keys past their overlap are dropped.
    pub fn rotated(
        &self,
        next: SigningKey,
        overlap: Duration,
        now: Instant,
    ) -> Result<(KeyRing, Rotated), RotateError> {
        let (pinned, new) = (self.signing.keys.alg(), next.keys.alg());
        if pinned != new {
            return Err(RotateError::AlgorithmChange { pinned, new });
        }
        let old_kid = self.signing.keys.kid().to_owned();
        if next.keys.kid() == old_kid {
            return Ok((self.copy(now), Rotated::Unchanged { kid: old_kid }));
        }
        let new_kid = next.keys.kid().to_owned();
        let mut retired: Vec<Retired> = self
            .live_retired(now)
            .filter(|retired| retired.keys.kid() != new_kid)
            .map(|retired| Retired {
                keys: retired.keys.clone(),
                until: retired.until,
            })
            .collect();
        retired.push(Retired {
            keys: self.signing.keys.clone(),
            until: now + overlap,
        });
        let ring = KeyRing {
            signing: Arc::new(next),
            retired,
        };
        Ok((ring, Rotated::Rotated { old_kid, new_kid }))
    }

    /// `{"keys":[...]}`: the signing key first, then every key still verifying (RFC 7517). Empty
    /// for HS256, whose keys are secret.
    pub fn jwks(&self, now: Instant) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = std::iter::once(&*self.signing.keys)
            .chain(self.live_retired(now).map(|retired| &*retired.keys))
            .filter_map(Keys::jwk)
            .collect();
        json!({ "keys": keys })
    }

    fn live_retired(&self, now: Instant) -> impl Iterator<Item = &Retired> {
        self.retired
            .iter()
            .filter(move |retired| retired.until > now)
    }

    fn copy(&self, now: Instant) -> KeyRing {
        KeyRing {
            signing: self.signing.clone(),
            retired: self
                .live_retired(now)
                .map(|retired| Retired {
                    keys: retired.keys.clone(),
                    until: retired.until,
                })
                .collect(),
        }
    }
}
