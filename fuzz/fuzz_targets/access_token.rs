//! Access-token validation (`Codec::verify`): header, claims and signature segments.
//!
//! The first byte picks the key (HS256 or EdDSA, both deterministic signers); the second how
//! the rest becomes a token: verbatim, as one segment of a token we issued (base64url-encoded
//! for the fuzzer), or as the header or claims JSON of a token re-signed with our own key, so
//! that the header and claim checks are reached behind a valid signature.
//!
//! Property: a token that verifies carries our algorithm and kid, and its signature is exactly
//! what our key gives for its signing input; its issuer, audience and times are ours and valid.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use authbench_contract::Alg;
use authbench_jwt_server::keys::Keys;
use authbench_jwt_server::token::{Codec, unix_now};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

const LEEWAY: Duration = Duration::from_secs(30);

struct Issuer {
    codec: Codec,
    /// A token this codec issued, valid for a century.
    token: String,
}

static ISSUERS: LazyLock<[Issuer; 2]> = LazyLock::new(|| {
    let hs256 = Keys::from_secret(b"fuzzing-only secret, 32 bytes or more").expect("HS256 key");
    let eddsa =
        Keys::from_pem(Alg::EdDsa, include_bytes!("eddsa-fuzz-only.pem")).expect("EdDSA key");
    [hs256, eddsa].map(|keys| {
        let codec = Codec::new(keys, "authbench".into(), "authbench-api".into(), LEEWAY);
        let claims = codec.new_claims("user1", "family", Duration::from_secs(100 * 365 * 86_400));
        let token = codec.sign(&claims).expect("sign");
        Issuer { codec, token }
    })
});

fuzz_target!(|data: &[u8]| {
    let [key, mode, rest @ ..] = data else {
        return;
    };
    let issuer = &ISSUERS[usize::from(key & 1)];
    let Some(token) = build(issuer, *mode, rest) else {
        return;
    };
    let Ok(claims) = issuer.codec.verify(&token) else {
        return;
    };
    let codec = &issuer.codec;
    let (signing_input, signature) = token
        .rsplit_once('.')
        .expect("a verified token has 3 segments");
    let header = signing_input.split('.').next().expect("header segment");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("header is base64url"))
            .expect("header is JSON");
    assert_eq!(
        header["alg"],
        codec.keys().alg().as_str(),
        "accepted another alg"
    );
    assert_eq!(header["kid"], codec.keys().kid(), "accepted another kid");
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("accepted signature is canonical base64url");
    let ours = codec.keys().sign(signing_input.as_bytes()).expect("sign");
    assert_eq!(signature, ours, "accepted a signature our key did not make");
    assert_eq!(claims.iss, codec.issuer());
    assert_eq!(claims.aud, codec.audience());
    let now = unix_now();
    let leeway = LEEWAY.as_secs() as i64;
    assert!(claims.exp >= now - leeway, "accepted an expired token");
    assert!(claims.nbf <= now + leeway, "accepted a token not yet valid");
});

/// The token the input stands for, or `None` when the input does not make one.
fn build(issuer: &Issuer, mode: u8, rest: &[u8]) -> Option<String> {
    let segments: Vec<&str> = issuer.token.split('.').collect();
    let encoded = URL_SAFE_NO_PAD.encode(rest);
    match mode % 6 {
        0 => std::str::from_utf8(rest).ok().map(str::to_owned),
        // One segment of our token replaced by the input.
        replaced @ 1..=3 => {
            let mut parts = segments.clone();
            parts[usize::from(replaced) - 1] = &encoded;
            Some(parts.join("."))
        }
        // The input as header (4) or claims (5), signed with our key.
        4 => Some(resign(issuer, &encoded, segments[1])),
        _ => Some(resign(issuer, segments[0], &encoded)),
    }
}

fn resign(issuer: &Issuer, header: &str, claims: &str) -> String {
    let signing_input = format!("{header}.{claims}");
    let signature = issuer
        .codec
        .keys()
        .sign(signing_input.as_bytes())
        .expect("sign");
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
