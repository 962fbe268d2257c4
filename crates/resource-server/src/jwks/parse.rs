//! A JWK set read into the keys this server will verify with. Only public signing keys of a
//! pinned algorithm are taken; everything else is set aside with the reason, so that a key set
//! cannot widen what this server accepts (RFC 8725 §3.1): a symmetric key (`kty: oct`) would let
//! anyone who read the JWKS sign tokens.

use std::collections::HashMap;

use authbench_contract::Alg;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

/// One verification key.
#[derive(Clone)]
pub struct Key {
    pub alg: Alg,
    pub decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The usable keys by `kid`, and why each other key was set aside.
#[derive(Debug)]
pub struct Parsed {
    pub keys: HashMap<String, Key>,
    pub rejected: Vec<String>,
}

/// Why a whole document is not a JWK set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwksError {
    #[error("not JSON")]
    NotJson,
    #[error("no `keys` array")]
    NoKeys,
}

/// Reads `body` as a JWK set (RFC 7517 §5), keeping keys of the `pinned` algorithms.
pub fn parse(body: &[u8], pinned: &[Alg]) -> Result<Parsed, JwksError> {
    let document: Value = serde_json::from_slice(body).map_err(|_| JwksError::NotJson)?;
    let list = document["keys"].as_array().ok_or(JwksError::NoKeys)?;
    let mut parsed = Parsed {
        keys: HashMap::new(),
        rejected: Vec::new(),
    };
    for (index, jwk) in list.iter().enumerate() {
        let kid = jwk["kid"].as_str().unwrap_or("").to_owned();
        match key(jwk, pinned) {
            Ok(_) if kid.is_empty() => parsed
                .rejected
                .push(format!("key {index}: no kid, so no token could name it")),
            Ok(_) if parsed.keys.contains_key(&kid) => parsed.rejected.push(format!(
                "key {index}: kid {kid:?} appears twice; the first is kept"
            )),
            Ok(key) => {
                parsed.keys.insert(kid, key);
            }
            Err(reason) => parsed
                .rejected
                .push(format!("key {index} ({kid:?}): {reason}")),
        }
    }
    Ok(parsed)
}

fn key(jwk: &Value, pinned: &[Alg]) -> Result<Key, String> {
    let text = |name: &str| jwk[name].as_str();
    if let Some(usage) = text("use")
        && usage != "sig"
    {
        return Err(format!("its use is {usage:?}, not \"sig\""));
    }
    let kty = text("kty").ok_or("no kty")?;
    let alg = match (kty, text("crv")) {
        ("oct", _) => return Err("a symmetric key (kty oct) is never taken from a JWKS".into()),
        ("RSA", _) => Alg::Rs256,
        ("EC", Some("P-256")) => Alg::Es256,
        ("OKP", Some("Ed25519")) => Alg::EdDsa,
        (kty, crv) => return Err(format!("unsupported key type {kty} (curve {crv:?})")),
    };
    if let Some(named) = text("alg")
        && named != alg.as_str()
    {
        return Err(format!("its alg {named:?} does not fit a {kty} key"));
    }
    if !pinned.contains(&alg) {
        return Err(format!("{alg} is not among the accepted algorithms"));
    }
    let member = |name: &str| text(name).ok_or(format!("no {name}"));
    let decoding = match alg {
        Alg::Rs256 => DecodingKey::from_rsa_components(member("n")?, member("e")?),
        Alg::Es256 => DecodingKey::from_ec_components(member("x")?, member("y")?),
        Alg::EdDsa => DecodingKey::from_ed_components(member("x")?),
        Alg::Hs256 => return Err("HS256 keys are secret".into()),
    }
    .map_err(|error| format!("unreadable key material ({error})"))?;
    Ok(Key { alg, decoding })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn symmetric_unpinned_and_encryption_keys_are_set_aside() {
        let body = json!({ "keys": [
            { "kty": "oct", "kid": "mac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0" },
            { "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": X },
            { "kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": X },
            { "kty": "OKP", "crv": "Ed25519", "kid": "lying", "alg": "HS256", "x": X },
        ]});
        let parsed = parse(body.to_string().as_bytes(), &[Alg::EdDsa]).unwrap();
        assert_eq!(parsed.keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(parsed.rejected.len(), 3, "{:?}", parsed.rejected);
        assert!(
            parsed.rejected[0].contains("symmetric"),
            "{:?}",
            parsed.rejected
        );

        let parsed = parse(body.to_string().as_bytes(), &[Alg::Es256]).unwrap();
        assert!(parsed.keys.is_empty());
        assert_eq!(parse(b"[]", &[Alg::EdDsa]).err(), Some(JwksError::NoKeys));
        assert_eq!(parse(b"{", &[Alg::EdDsa]).err(), Some(JwksError::NotJson));
    }
}
