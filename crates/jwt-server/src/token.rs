//! Access tokens: the claims, signing with the held key pair, and verification.
//!
//! Verification is jsonwebtoken's (signature, `exp`/`nbf` with leeway, `iss`, `aud`) with the
//! algorithm pinned by the server's configuration, behind checks it does not make (RFC 8725):
//! a size cap, `typ` (so that no other kind of token stands in for an access token), `kid`
//! among our own keys, and refusal of `crit` and of headers that would let a token name its
//! own key (`jku`, `jwk`, `x5u`, `x5c`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

use arc_swap::ArcSwap;

use crate::keys::{Alg, KeyRing, Keys, RotateError, Rotated, SigningKey};

/// Tokens longer than this are refused before any parsing: ours are well under 1 KiB, and the
/// cap bounds the work an attacker can make us do.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` of access tokens (RFC 9068 §2.1). Refresh tokens are opaque random strings, not
/// JWTs, so one presented as an access token fails to parse.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// 128 random bits, base64url: what a denylist keys on (never the token's bytes).
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// The refresh-token family this token was issued in.
    pub sid: String,
}

/// Why a token was refused. The messages are safe to send to clients: they never quote the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token is larger than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("token is malformed")]
    Malformed,
    #[error("token header {0:?} is not accepted")]
    ForbiddenHeader(&'static str),
    #[error("token key id is unknown")]
    UnknownKid,
    #[error("token is not an access token")]
    WrongType,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is wrong")]
    BadIssuer,
    #[error("token audience is wrong")]
    BadAudience,
    #[error("token claim {0:?} is missing")]
    MissingClaim(&'static str),
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token algorithm is not the one this server uses")]
    WrongAlgorithm,
    #[error("cannot sign token: {0}")]
    Sign(String),
}

impl TokenError {
    /// A short stable code for error bodies and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::ForbiddenHeader(_) => "forbidden_header",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::WrongType => "wrong_type",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::BadIssuer => "bad_issuer",
            TokenError::BadAudience => "bad_audience",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongAlgorithm => "wrong_algorithm",
            TokenError::Sign(_) => "sign_failed",
        }
    }
}

/// The header members looked at before jsonwebtoken runs. Field names that appear twice make
/// serde fail, so a header can't say one thing to us and another to jsonwebtoken.
#[derive(Deserialize)]
struct HeaderCheck<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
}

/// True whenever the member is there at all, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// Signs access tokens with the ring's signing key and verifies them with any key of the ring,
/// for one issuer and audience.
pub struct Codec {
    /// Swapped whole by a rotation; a request loads it once, without a lock.
    ring: ArcSwap<KeyRing>,
    issuer: String,
    audience: String,
    leeway: Duration,
    validation: Validation,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("keys", &self.keys())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// `leeway` is the clock skew allowed on `exp` and `nbf`, in whole seconds (rounded down).
    pub fn new(keys: Keys, issuer: String, audience: String, leeway: Duration) -> Codec {
        let validation = validation(keys.alg(), &issuer, &audience, leeway);
        Codec {
            ring: ArcSwap::from_pointee(KeyRing::new(SigningKey::new(keys, ACCESS_TOKEN_TYPE))),
            issuer,
            audience,
            leeway,
            validation,
        }
    }

    /// The key that signs now.
    pub fn keys(&self) -> Arc<Keys> {
        self.ring.load().signing().keys.clone()
    }

    /// Every key that verifies now, the signing key first, as a JWKS.
    pub fn jwks(&self) -> serde_json::Value {
        self.ring.load().jwks(Instant::now())
    }

    /// How many keys verify now.
    pub fn verifying_keys(&self) -> usize {
        self.ring.load().verifying_count(Instant::now())
    }

    /// `next` signs from now on; the key it replaces still verifies for `overlap` (so tokens it
    /// signed stay good until they expire), then is dropped from verification and the JWKS.
    pub fn rotate(&self, next: Keys, overlap: Duration) -> Result<Rotated, RotateError> {
        let next = SigningKey::new(next, ACCESS_TOKEN_TYPE);
        let (ring, rotated) = self.ring.load().rotated(next, overlap, Instant::now())?;
        self.ring.store(Arc::new(ring));
        Ok(rotated)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Claims for a new access token for `sub` in refresh family `sid`, valid from now for `ttl`,
    /// with this codec's issuer and audience and a fresh `jti`.
    pub fn new_claims(&self, sub: &str, sid: &str, ttl: Duration) -> AccessClaims {
        let now = unix_now();
        AccessClaims {
            sub: sub.to_owned(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            jti: new_jti(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: sid.to_owned(),
        }
    }

    /// `base64url(header).base64url(claims).base64url(signature)` with the header
    /// `{"alg","typ":"at+jwt","kid"}` of the signing key.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let ring = self.ring.load();
        let signing = ring.signing();
        let payload = serde_json::to_vec(claims).map_err(|e| TokenError::Sign(e.to_string()))?;
        let mut token = String::with_capacity(signing.header.len() + payload.len() * 4 / 3 + 400);
        token.push_str(&signing.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = signing
            .keys
            .sign(token.as_bytes())
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// The claims of `token` once every check has passed.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = split_token(token)?;
        let ring = self.ring.load();
        // Every token the signing key signed carries exactly its header, byte for byte, and that
        // header passes every check: only another header needs decoding.
        let keys = if header == ring.signing().header {
            &*ring.signing().keys
        } else {
            let (_, kid) = check_header(header, &[ring.signing().keys.alg()])?;
            ring.verifying(&kid, Instant::now())
                .ok_or(TokenError::UnknownKid)?
        };
        decode_checked(token, keys.decoding_key(), &self.validation)
    }
}

/// jsonwebtoken's checks for one pinned algorithm, issuer and audience: signature, `exp` and
/// `nbf` with `leeway`, and the claims every access token must carry.
pub fn validation(alg: Alg, issuer: &str, audience: &str, leeway: Duration) -> Validation {
    let mut validation = Validation::new(crate::keys::jsonwebtoken_alg(alg));
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation
}

/// The encoded header of a token of the right size and shape (three segments).
pub fn split_token(token: &str) -> Result<&str, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut segments = token.split('.');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(header), Some(_), Some(_), None) => Ok(header),
        _ => Err(TokenError::Malformed),
    }
}

/// The signature and claim checks, once the header has passed and picked the key.
pub fn decode_checked(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    validation: &Validation,
) -> Result<AccessClaims, TokenError> {
    decode::<AccessClaims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|error| map_error(error.into_kind()))
}

/// Checks an encoded header any verifier of access tokens must make (RFC 8725) and returns its
/// algorithm, one of `pinned`, and its `kid`, which picks among the verifier's own keys by
/// equality: it is never a path or a URL.
pub fn check_header(encoded: &str, pinned: &[Alg]) -> Result<(Alg, String), TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| TokenError::Malformed)?;
    let header: HeaderCheck<'_> =
        serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    // RFC 7515 §4.1.11: a `crit` we would have to understand; we understand none.
    // The others would let the token choose its own verification key (RFC 8725 §3.10).
    for (forbidden, name) in [
        (header.crit, "crit"),
        (header.jku, "jku"),
        (header.jwk, "jwk"),
        (header.x5u, "x5u"),
        (header.x5c, "x5c"),
    ] {
        if forbidden {
            return Err(TokenError::ForbiddenHeader(name));
        }
    }
    // `alg` is case-sensitive (RFC 7515 §4.1.1): "none", "None", "rs256" all fail here.
    let alg = *pinned
        .iter()
        .find(|alg| header.alg == alg.as_str())
        .ok_or(TokenError::WrongAlgorithm)?;
    // Media types are case-insensitive, and "application/" may be spelled out (RFC 7515
    // §4.1.9, RFC 9068 §4).
    let typ = header.typ.as_deref().unwrap_or("");
    let typ = typ
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("application/"))
        .map_or(typ, |_| &typ[12..]);
    if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) {
        return Err(TokenError::WrongType);
    }
    let kid = header.kid.ok_or(TokenError::UnknownKid)?;
    Ok((alg, kid.into_owned()))
}

fn map_error(kind: ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::BadIssuer,
        ErrorKind::InvalidAudience => TokenError::BadAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(match claim.as_str() {
            "exp" => "exp",
            "nbf" => "nbf",
            "iss" => "iss",
            "aud" => "aud",
            "sub" => "sub",
            _ => "?",
        }),
        // Base64, JSON (including `exp`/`nbf` as strings), shape, claim format.
        _ => TokenError::Malformed,
    }
}

/// 128 random bits from the OS, base64url (22 characters).
pub fn new_jti() -> String {
    // The OS generator failing means the machine can't do crypto at all.
    authbench_core::ids::random_base64url::<16>().expect("OS random number generator failed")
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(alg: Alg) -> Codec {
        Codec::new(
            Keys::generate(alg).unwrap(),
            "iss".into(),
            "aud".into(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn header_holds_alg_typ_and_kid_only() {
        let codec = codec(Alg::Es256);
        let token = codec
            .sign(&codec.new_claims("u", "f", Duration::from_secs(60)))
            .unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        let expected = format!(
            r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#,
            codec.keys().kid()
        );
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(
            header,
            serde_json::from_str::<serde_json::Value>(&expected).unwrap()
        );
    }

    #[test]
    fn typ_accepts_the_media_type_forms_of_at_jwt() {
        let codec = codec(Alg::Hs256);
        let kid = codec.keys().kid().to_owned();
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/AT+JWT",
        ] {
            let header = format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"{kid}"}}"#);
            assert!(
                check_header(&URL_SAFE_NO_PAD.encode(header), &[Alg::Hs256]).is_ok(),
                "{typ}"
            );
        }
        for typ in [
            "JWT",
            "application/jwt",
            "at+jwt2",
            "application/",
            "",
            "refresh+jwt",
        ] {
            let header = format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"{kid}"}}"#);
            assert!(
                matches!(
                    check_header(&URL_SAFE_NO_PAD.encode(header), &[Alg::Hs256]),
                    Err(TokenError::WrongType)
                ),
                "{typ}"
            );
        }
    }

    #[test]
    fn codec_can_be_shared_between_request_tasks() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<Codec>();
    }

    #[test]
    fn jti_is_128_bits_base64url_and_fresh() {
        let (a, b) = (new_jti(), new_jti());
        assert_eq!(a.len(), 22);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn errors_never_echo_the_token() {
        let codec = codec(Alg::Hs256);
        let error = codec.verify("secret-looking-garbage.abc.def").unwrap_err();
        assert!(!error.to_string().contains("secret-looking"), "{error}");
        assert!(!format!("{codec:?}").contains("Hmac"), "{codec:?}");
    }
}
