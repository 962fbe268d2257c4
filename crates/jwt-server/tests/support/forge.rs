//! Forged and tampered access tokens, each of which a server must refuse: the Codec-level tests
//! check the reason, and the HTTP tests replay the same list against `/user/balance`.
//!
//! Tokens that test a header or claim check are signed with the server's own key, so that they
//! can only fail on that check and not, by accident, on the signature.

use authbench_jwt_server::keys::{Alg, Keys};
use authbench_jwt_server::token::{AccessClaims, Codec, MAX_TOKEN_BYTES, unix_now};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// One forged token and the [`TokenError::code`]s that count as refusing it for the right reason.
///
/// [`TokenError::code`]: authbench_jwt_server::token::TokenError::code
#[derive(Debug)]
pub struct Attack {
    pub name: &'static str,
    pub token: String,
    pub expect: &'static [&'static str],
}

/// Every attack as (name, token), for replaying over HTTP where only "401" is checked.
pub fn attack_tokens(codec: &Codec, valid: &AccessClaims) -> Vec<(&'static str, String)> {
    attacks(codec, valid)
        .into_iter()
        .map(|attack| (attack.name, attack.token))
        .collect()
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The header the server itself writes.
pub fn server_header(codec: &Codec) -> Value {
    json!({ "alg": codec.keys().alg().as_str(), "typ": "at+jwt", "kid": codec.keys().kid() })
}

/// `header.claims.signature` from raw JSON texts, signed by `keys` (the server's or another).
pub fn sign_raw(keys: &Keys, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = keys.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(signature))
}

/// Like [`sign_raw`], from JSON values.
pub fn sign_json(keys: &Keys, header: &Value, claims: &Value) -> String {
    sign_raw(keys, &header.to_string(), &claims.to_string())
}

/// An HS256 signature with an arbitrary secret, even one [`Keys`] would refuse.
fn sign_hmac(secret: &[u8], header: &Value, claims: &Value) -> String {
    use aws_lc_rs::hmac;
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

fn with(value: &Value, changes: Value) -> Value {
    let mut value = value.clone();
    for (key, change) in changes.as_object().expect("object") {
        if change.is_null() {
            value.as_object_mut().expect("object").remove(key);
        } else {
            value[key] = change.clone();
        }
    }
    value
}

fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.splitn(3, '.');
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

const WRONG_ALG: &[&str] = &["wrong_algorithm"];
const BAD_SIG: &[&str] = &["bad_signature"];
const BAD_SIG_OR_MALFORMED: &[&str] = &["bad_signature", "malformed"];
const MALFORMED: &[&str] = &["malformed"];
const FORBIDDEN: &[&str] = &["forbidden_header"];
const WRONG_TYPE: &[&str] = &["wrong_type"];
const UNKNOWN_KID: &[&str] = &["unknown_kid"];

/// The attack list: RFC 8725's threats and the classic JWT library bugs, for `codec`'s algorithm.
pub fn attacks(codec: &Codec, valid: &AccessClaims) -> Vec<Attack> {
    let alg = codec.keys().alg();
    let keys = &*codec.keys();
    let header = server_header(codec);
    let claims = serde_json::to_value(valid).expect("claims");
    let genuine = sign_json(keys, &header, &claims);
    let (h, p, s) = segments(&genuine);
    let now = unix_now();
    let mut list = Vec::new();
    let mut add = |name: &'static str, token: String, expect: &'static [&'static str]| {
        list.push(Attack {
            name,
            token,
            expect,
        });
    };

    // alg "none" (CVE-2015-9235 and friends), in the casings libraries have let through.
    for (none, empty, fake) in [
        (
            "none",
            "alg none, empty signature",
            "alg none, fake signature",
        ),
        (
            "None",
            "alg None, empty signature",
            "alg None, fake signature",
        ),
        (
            "NONE",
            "alg NONE, empty signature",
            "alg NONE, fake signature",
        ),
        (
            "nOnE",
            "alg nOnE, empty signature",
            "alg nOnE, fake signature",
        ),
    ] {
        let unsigned = format!(
            "{}.{p}",
            b64(with(&header, json!({ "alg": none })).to_string())
        );
        add(empty, format!("{unsigned}."), WRONG_ALG);
        add(fake, format!("{unsigned}.{s}"), WRONG_ALG);
    }
    // The server's alg in another casing, validly signed: alg is case-sensitive.
    let lower = with(&header, json!({ "alg": alg.as_str().to_lowercase() }));
    add(
        "alg in lower case, signed by the server",
        sign_json(keys, &lower, &claims),
        WRONG_ALG,
    );

    // Key confusion: HS256 keyed with the public key, which the attacker has.
    let hs_header = with(&header, json!({ "alg": "HS256" }));
    if let (Some(pem), Some(der)) = (keys.public_pem(), keys.public_der()) {
        add(
            "HS256 keyed with the public key PEM",
            sign_hmac(pem.as_bytes(), &hs_header, &claims),
            WRONG_ALG,
        );
        add(
            "HS256 keyed with the public key DER",
            sign_hmac(der, &hs_header, &claims),
            WRONG_ALG,
        );
    }
    // jsonwebtoken itself accepts an empty HMAC secret.
    let empty_expect = if alg == Alg::Hs256 {
        BAD_SIG
    } else {
        WRONG_ALG
    };
    add(
        "HS256 keyed with an empty secret",
        sign_hmac(b"", &hs_header, &claims),
        empty_expect,
    );
    let other = if alg == Alg::Es256 {
        Alg::EdDsa
    } else {
        Alg::Es256
    };
    let other_keys = Keys::generate(other).expect("other keys");
    let other_header = json!({ "alg": other.as_str(), "typ": "at+jwt", "kid": keys.kid() });
    add(
        "another algorithm, attacker's key",
        sign_json(&other_keys, &other_header, &claims),
        WRONG_ALG,
    );

    // The signature itself.
    add(
        "signature removed",
        format!("{h}.{p}."),
        BAD_SIG_OR_MALFORMED,
    );
    add("signature segment dropped", format!("{h}.{p}"), MALFORMED);
    add(
        "signature truncated",
        format!("{h}.{p}.{}", &s[..s.len() - 6]),
        BAD_SIG_OR_MALFORMED,
    );
    let mut flipped = URL_SAFE_NO_PAD.decode(s).expect("signature");
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    add(
        "signature bit-flipped",
        format!("{h}.{p}.{}", b64(flipped)),
        BAD_SIG,
    );
    let admin = with(&claims, json!({ "sub": "admin" }));
    add(
        "payload changed under the old signature",
        format!("{h}.{}.{s}", b64(admin.to_string())),
        BAD_SIG,
    );
    let stranger = Keys::generate(alg).expect("stranger keys");
    add(
        "another key of the same alg, our kid",
        sign_json(&stranger, &header, &claims),
        BAD_SIG,
    );
    let their_kid = with(&header, json!({ "kid": stranger.kid() }));
    add(
        "another key of the same alg, its kid",
        sign_json(&stranger, &their_kid, &claims),
        UNKNOWN_KID,
    );

    // Claims, validly signed.
    let leeway = i64::try_from(codec.leeway().as_secs()).unwrap_or(0);
    let expired = with(
        &claims,
        json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 }),
    );
    add(
        "expired an hour ago",
        sign_json(keys, &header, &expired),
        &["expired"],
    );
    let just_expired = with(
        &claims,
        json!({ "exp": now - leeway - 3, "nbf": now - 600, "iat": now - 600 }),
    );
    add(
        "expired just past the leeway",
        sign_json(keys, &header, &just_expired),
        &["expired"],
    );
    let early = with(&claims, json!({ "nbf": now + 3600, "exp": now + 7200 }));
    add(
        "not yet valid",
        sign_json(keys, &header, &early),
        &["not_yet_valid"],
    );
    let wrong_iss = with(&claims, json!({ "iss": "https://attacker.invalid" }));
    add(
        "wrong iss",
        sign_json(keys, &header, &wrong_iss),
        &["bad_issuer"],
    );
    let wrong_aud = with(&claims, json!({ "aud": "another-service" }));
    add(
        "wrong aud",
        sign_json(keys, &header, &wrong_aud),
        &["bad_audience"],
    );
    let no_iss = with(&claims, json!({ "iss": null }));
    add(
        "iss missing",
        sign_json(keys, &header, &no_iss),
        &["missing_claim", "malformed"],
    );
    let exp_string = with(&claims, json!({ "exp": (now + 600).to_string() }));
    add(
        "exp as a string",
        sign_json(keys, &header, &exp_string),
        MALFORMED,
    );
    let nbf_string = with(&claims, json!({ "nbf": (now + 3600).to_string() }));
    add(
        "nbf as a string",
        sign_json(keys, &header, &nbf_string),
        MALFORMED,
    );
    let dup_exp = claims
        .to_string()
        .replacen('{', &format!("{{\"exp\":{},", now + 86_400), 1);
    add(
        "exp given twice",
        sign_raw(keys, &header.to_string(), &dup_exp),
        MALFORMED,
    );

    // typ: only access tokens are access tokens.
    for (name, typ) in [
        ("typ missing", Value::Null),
        ("typ JWT", json!("JWT")),
        ("typ refresh+jwt", json!("refresh+jwt")),
    ] {
        add(
            name,
            sign_json(keys, &with(&header, json!({ "typ": typ })), &claims),
            WRONG_TYPE,
        );
    }

    // Headers the server never uses.
    let crit = with(
        &header,
        json!({ "crit": ["x-authbench"], "x-authbench": true }),
    );
    add(
        "unknown crit header",
        sign_json(keys, &crit, &claims),
        FORBIDDEN,
    );
    let dup_alg = header.to_string().replacen('{', "{\"alg\":\"none\",", 1);
    add(
        "alg given twice",
        sign_raw(keys, &dup_alg, &claims.to_string()),
        MALFORMED,
    );
    for (name, kid) in [
        ("unknown kid", json!("not-our-key")),
        ("kid path traversal", json!("../../etc/passwd")),
    ] {
        add(
            name,
            sign_json(keys, &with(&header, json!({ "kid": kid })), &claims),
            UNKNOWN_KID,
        );
    }
    add(
        "kid missing",
        sign_json(keys, &with(&header, json!({ "kid": null })), &claims),
        UNKNOWN_KID,
    );
    let attacker = Keys::generate(alg).expect("attacker keys");
    let attacker_jwk = match alg {
        Alg::Hs256 => json!({ "kty": "oct", "k": b64(b"attacker's own 32-byte HMAC key!") }),
        _ => attacker.jwks()["keys"][0].clone(),
    };
    let jwk_header = with(&header, json!({ "jwk": attacker_jwk }));
    add(
        "embedded jwk with the attacker's key",
        sign_json(&attacker, &jwk_header, &claims),
        FORBIDDEN,
    );
    let jku = with(
        &header,
        json!({ "jku": "https://attacker.invalid/jwks.json", "kid": attacker.kid() }),
    );
    add("jku header", sign_json(&attacker, &jku, &claims), FORBIDDEN);
    let x5u = with(
        &header,
        json!({ "x5u": "https://attacker.invalid/cert.pem" }),
    );
    add("x5u header", sign_json(&attacker, &x5u, &claims), FORBIDDEN);
    let x5c = with(&header, json!({ "x5c": ["MIIBszCCAVmgAwIBAgIU"] }));
    add("x5c header", sign_json(&attacker, &x5c, &claims), FORBIDDEN);

    // Shape and size.
    let padded = with(&claims, json!({ "pad": "A".repeat(MAX_TOKEN_BYTES) }));
    add(
        "oversized token, validly signed",
        sign_json(keys, &header, &padded),
        &["too_large"],
    );
    add("empty string", String::new(), MALFORMED);
    add("opaque refresh token", b64([0x5a; 32]), MALFORMED);
    add("non-base64 garbage", "!!!.@@@.###".into(), MALFORMED);
    add(
        "empty JSON objects",
        format!("{}.{}.{s}", b64("{}"), b64("{}")),
        MALFORMED,
    );
    add(
        "header with base64 padding",
        format!("{h}=.{p}.{s}"),
        MALFORMED,
    );
    add("four segments", format!("{genuine}.{s}"), MALFORMED);
    add(
        "five segments (JWE shape)",
        format!("{h}..{p}.{s}.{s}"),
        MALFORMED,
    );
    list
}

/// The `kid` in a token's header.
pub fn header_kid(token: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("base64url header"),
    )
    .expect("JSON header");
    header["kid"].as_str().unwrap_or_default().to_owned()
}
