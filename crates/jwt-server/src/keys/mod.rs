//! Signing keys: one algorithm per server, keys loaded from a file or generated, held parsed so
//! that signing never re-reads key material, each with its `kid` and JWK; the ring of keys a
//! server holds across rotations (`ring`).
//!
//! Signing goes straight to aws-lc-rs: jsonwebtoken's `encode` re-parses the private key on
//! every call (for RS256 that is most of the cost). Verification stays with jsonwebtoken, through
//! the [`DecodingKey`] built here once.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::json;
use zeroize::Zeroizing;

mod alg;
mod ring;
pub use alg::Alg;
pub(crate) use alg::jsonwebtoken as jsonwebtoken_alg;
pub use ring::{KeyRing, RotateError, Rotated, SigningKey};

/// The shortest HS256 secret accepted: the length of the hash output (RFC 7518 §3.2, OWASP).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a key could not be loaded or made. Messages name files and reasons, never key bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("HS256 secret is {len} bytes; at least {MIN_SECRET_BYTES} are needed")]
    WeakSecret { len: usize },
    #[error("cannot read key file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("invalid key: {0}")]
    Invalid(String),
    #[error("cannot generate a {0} key")]
    Generate(Alg),
    #[error("signing failed")]
    Sign,
}

/// The private half, parsed once.
enum Signer {
    // Boxed: an HMAC key holds its precomputed state inline (over 1 KiB).
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// The public half of an asymmetric key, as published.
struct Public {
    /// SubjectPublicKeyInfo DER, for PEM export.
    spki: Vec<u8>,
    /// The JWK members that RFC 7638 hashes (kty and the key itself); kid/alg/use are added.
    jwk: serde_json::Map<String, serde_json::Value>,
}

/// The server's signing key, its verifying key and its `kid`.
pub struct Keys {
    alg: Alg,
    kid: String,
    signer: Signer,
    decoding: DecodingKey,
    public: Option<Public>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only what is public anyway: never the secret or the private key.
        f.debug_struct("Keys")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// A new key for `alg`: 32 bytes from the OS for HS256, RSA 2048, P-256 or Ed25519.
    pub fn generate(alg: Alg) -> Result<Keys, KeyError> {
        match alg {
            Alg::Hs256 => Keys::from_secret(&random_secret()?[..]),
            Alg::Rs256 => Keys::rsa(
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate(alg))?,
            ),
            Alg::Es256 => Keys::ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generate(alg))?,
            ),
            Alg::EdDsa => {
                Keys::ed25519(Ed25519KeyPair::generate().map_err(|_| KeyError::Generate(alg))?)
            }
        }
    }

    /// Loads the key in `path`. HS256: the file holds the secret itself (trailing line breaks
    /// dropped, so `echo` and editors don't change it). Others: a PEM private key, PKCS#8
    /// (`PRIVATE KEY`), or PKCS#1 (`RSA PRIVATE KEY`) / SEC1 (`EC PRIVATE KEY`) as OpenSSL writes.
    pub fn from_file(alg: Alg, path: &Path) -> Result<Keys, KeyError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?);
        if alg == Alg::Hs256 {
            let end = bytes
                .iter()
                .rposition(|&b| b != b'\n' && b != b'\r')
                .map_or(0, |i| i + 1);
            return Keys::from_secret(&bytes[..end]);
        }
        Keys::parse_pem(alg, &bytes).map_err(|reason| KeyError::Parse {
            path: path.to_owned(),
            reason,
        })
    }

    /// Loads a PEM private key from memory (see [`Keys::from_file`]); not for HS256.
    pub fn from_pem(alg: Alg, pem: &[u8]) -> Result<Keys, KeyError> {
        Keys::parse_pem(alg, pem).map_err(KeyError::Invalid)
    }

    /// An HS256 key. Shorter than [`MIN_SECRET_BYTES`] is refused: jsonwebtoken itself accepts
    /// any secret, even an empty one.
    pub fn from_secret(secret: &[u8]) -> Result<Keys, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::WeakSecret { len: secret.len() });
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        // Derived with the key itself, so it is stable for one secret and says nothing about it
        // that a token signed with it doesn't already.
        let tag = hmac::sign(&key, b"authbench kid v1");
        let kid = URL_SAFE_NO_PAD.encode(&tag.as_ref()[..12]);
        Ok(Keys {
            alg: Alg::Hs256,
            kid,
            signer: Signer::Hmac(Box::new(key)),
            decoding: DecodingKey::from_secret(secret),
            public: None,
        })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The key id in every token's header: the RFC 7638 thumbprint of the public key, or for
    /// HS256 a keyed hash of the secret. The same key always gets the same kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys":[{kty, kid, alg, use: "sig", ...}]}`; `{"keys":[]}` for HS256, whose key is secret.
    pub fn jwks(&self) -> serde_json::Value {
        json!({ "keys": self.jwk().into_iter().collect::<Vec<_>>() })
    }

    /// `{kty, kid, alg, use: "sig", ...}`; `None` for HS256.
    pub fn jwk(&self) -> Option<serde_json::Value> {
        let public = self.public.as_ref()?;
        let mut jwk = public.jwk.clone();
        jwk.insert("kid".into(), self.kid.clone().into());
        jwk.insert("alg".into(), self.alg.as_str().into());
        jwk.insert("use".into(), "sig".into());
        Some(serde_json::Value::Object(jwk))
    }

    /// The public key as SPKI PEM (`PUBLIC KEY`); `None` for HS256.
    pub fn public_pem(&self) -> Option<String> {
        self.public
            .as_ref()
            .map(|public| pem::encode(&pem::Pem::new("PUBLIC KEY", public.spki.clone())))
    }

    /// The public key as SPKI DER; `None` for HS256.
    pub fn public_der(&self) -> Option<&[u8]> {
        self.public.as_ref().map(|public| public.spki.as_slice())
    }

    /// The JWS signature (raw bytes, not base64) over `signing_input`,
    /// `base64url(header).base64url(payload)`.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.signer {
            Signer::Hmac(key) => Ok(hmac::sign(key, signing_input).as_ref().to_vec()),
            Signer::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_input,
                    &mut signature,
                )
                .map_err(|_| KeyError::Sign)?;
                Ok(signature)
            }
            Signer::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
            Signer::Ed(pair) => pair
                .try_sign(signing_input)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
        }
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    fn parse_pem(alg: Alg, input: &[u8]) -> Result<Keys, String> {
        if alg == Alg::Hs256 {
            return Err("HS256 takes a secret, not a PEM key".into());
        }
        let blocks = pem::parse_many(input).map_err(|e| format!("not PEM: {e}"))?;
        // `openssl ecparam -genkey` writes an `EC PARAMETERS` block before the key: skip such.
        let block = blocks
            .iter()
            .find(|block| block.tag().ends_with("PRIVATE KEY"))
            .ok_or_else(|| match blocks.first() {
                Some(block)
                    if block.tag().contains("PUBLIC KEY") || block.tag() == "CERTIFICATE" =>
                {
                    format!("holds a {}, but signing needs the private key", block.tag())
                }
                Some(block) => format!("no private key (found {})", block.tag()),
                None => "no PEM block".to_owned(),
            })?;
        let der = Zeroizing::new(block.contents().to_vec());
        let rejected =
            |e: aws_lc_rs::error::KeyRejected| format!("not a usable {alg} private key ({e})");
        let keys = match (alg, block.tag()) {
            (_, "ENCRYPTED PRIVATE KEY") => {
                return Err("encrypted keys are not supported; decrypt it first".into());
            }
            (Alg::Rs256, "PRIVATE KEY") => {
                Keys::rsa(RsaKeyPair::from_pkcs8(&der).map_err(rejected)?)
            }
            (Alg::Rs256, "RSA PRIVATE KEY") => {
                Keys::rsa(RsaKeyPair::from_der(&der).map_err(rejected)?)
            }
            // Reads PKCS#8 and SEC1 alike, and refuses other curves.
            (Alg::Es256, "PRIVATE KEY" | "EC PRIVATE KEY") => Keys::ecdsa(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .map_err(rejected)?,
            ),
            (Alg::EdDsa, "PRIVATE KEY") => {
                Keys::ed25519(Ed25519KeyPair::from_pkcs8(&der).map_err(rejected)?)
            }
            (_, tag) => return Err(format!("a {tag} block is not a {alg} key")),
        };
        keys.map_err(|e| e.to_string())
    }

    fn rsa(pair: RsaKeyPair) -> Result<Keys, KeyError> {
        let public = pair.public_key();
        let PublicKeyComponents { n, e } = PublicKeyComponents::<Vec<u8>>::from(public);
        // Both are unsigned big-endian without leading zeros, as JWK wants (RFC 7518 §6.3.1).
        let (n, e) = (URL_SAFE_NO_PAD.encode(n), URL_SAFE_NO_PAD.encode(e));
        let thumbprint_input = rsa_thumbprint_input(&n, &e);
        let jwk = json_map(json!({ "kty": "RSA", "n": n, "e": e }));
        let spki = spki(public.as_der().map(|der| der.as_ref().to_vec()))?;
        // PKCS#1 RSAPublicKey DER, the form aws-lc parses fastest on every verify.
        let decoding = DecodingKey::from_rsa_der(public.as_ref());
        Ok(Keys::asymmetric(
            Alg::Rs256,
            Signer::Rsa(pair),
            decoding,
            spki,
            jwk,
            &thumbprint_input,
        ))
    }

    fn ecdsa(pair: EcdsaKeyPair) -> Result<Keys, KeyError> {
        let public = pair.public_key();
        // Uncompressed SEC1 point: 0x04 || x || y, 32 bytes each for P-256.
        let point = public.as_ref();
        if point.len() != 65 || point[0] != 0x04 {
            return Err(KeyError::Invalid(
                "unexpected P-256 public key encoding".into(),
            ));
        }
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..]),
        );
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let jwk = json_map(json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }));
        let spki = spki(public.as_der().map(|der| der.as_ref().to_vec()))?;
        let decoding = DecodingKey::from_ec_der(point);
        Ok(Keys::asymmetric(
            Alg::Es256,
            Signer::Ecdsa(pair),
            decoding,
            spki,
            jwk,
            &thumbprint_input,
        ))
    }

    fn ed25519(pair: Ed25519KeyPair) -> Result<Keys, KeyError> {
        let public = pair.public_key();
        let x = URL_SAFE_NO_PAD.encode(public.as_ref());
        // RFC 8037 §2: the OKP thumbprint members are crv, kty, x.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let jwk = json_map(json!({ "kty": "OKP", "crv": "Ed25519", "x": x }));
        let spki = spki(public.as_der().map(|der| der.as_ref().to_vec()))?;
        let decoding = DecodingKey::from_ed_der(public.as_ref());
        Ok(Keys::asymmetric(
            Alg::EdDsa,
            Signer::Ed(pair),
            decoding,
            spki,
            jwk,
            &thumbprint_input,
        ))
    }

    fn asymmetric(
        alg: Alg,
        signer: Signer,
        decoding: DecodingKey,
        spki: Vec<u8>,
        jwk: serde_json::Map<String, serde_json::Value>,
        thumbprint_input: &str,
    ) -> Keys {
        let kid = thumbprint(thumbprint_input);
        Keys {
            alg,
            kid,
            signer,
            decoding,
            public: Some(Public { spki, jwk }),
        }
    }
}

/// A new private key for `alg` as a file [`Keys::from_file`] reads: PKCS#8 PEM, or for HS256 a
/// base64url secret (43 characters, 256 bits) and a line break. For `authbench`'s key command and
/// for tests; it never exports the key of a running server.
pub fn generate_private_pem(alg: Alg) -> Result<Zeroizing<String>, KeyError> {
    let failed = |_| KeyError::Generate(alg);
    let pkcs8: Zeroizing<Vec<u8>> = match alg {
        Alg::Hs256 => {
            return Ok(Zeroizing::new(format!(
                "{}\n",
                URL_SAFE_NO_PAD.encode(random_secret()?.as_slice())
            )));
        }
        Alg::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
            Zeroizing::new(pair.as_der().map_err(failed)?.as_ref().to_vec())
        }
        Alg::Es256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
            Zeroizing::new(pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec())
        }
        // v1 (no public key inside) is what OpenSSL writes and every library reads.
        Alg::EdDsa => Zeroizing::new(
            Ed25519KeyPair::generate()
                .map_err(failed)?
                .to_pkcs8v1()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        ),
    };
    Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        pkcs8.to_vec(),
    ))))
}

/// RFC 7638 §3.2: the required members, in lexicographic order, no whitespace. Base64url values
/// need no escaping.
fn rsa_thumbprint_input(n: &str, e: &str) -> String {
    format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)
}

fn thumbprint(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, input.as_bytes()))
}

fn random_secret() -> Result<Zeroizing<[u8; MIN_SECRET_BYTES]>, KeyError> {
    let mut secret = Zeroizing::new([0u8; MIN_SECRET_BYTES]);
    getrandom::fill(&mut *secret).map_err(|_| KeyError::Generate(Alg::Hs256))?;
    Ok(secret)
}

fn spki(der: Result<Vec<u8>, aws_lc_rs::error::Unspecified>) -> Result<Vec<u8>, KeyError> {
    der.map_err(|_| KeyError::Invalid("cannot encode the public key".into()))
}

fn json_map(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key_material() {
        let secret = [b'q'; 40];
        let keys = Keys::from_secret(&secret).unwrap();
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("HS256") || debug.contains("Hs256"),
            "{debug}"
        );
        assert!(!debug.contains("qqqq"), "{debug}");
    }

    #[test]
    fn rfc7638_thumbprint_matches_the_rfc_example() {
        // RFC 7638 §3.1: this RSA key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(&rsa_thumbprint_input(n, "AQAB")),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
