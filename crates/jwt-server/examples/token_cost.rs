//! What one access token costs the server, per algorithm: sign and verify time (mean µs, one
//! core) and token size, beside jsonwebtoken's own `encode` (which re-parses the private key on
//! every call; `Codec::sign` holds it parsed) and a bare aws-lc signature check (the floor
//! under `Codec::verify`, which adds parsing, claim checks and jsonwebtoken's per-call key setup).
//!
//! Run: `cargo run --release -p authbench-jwt-server --example token_cost [ITERATIONS]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use authbench_jwt_server::keys::{Alg, Keys, generate_private_pem};
use authbench_jwt_server::token::Codec;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

/// Mean time of `f` over `iterations` runs, after a short warm-up.
fn mean_micros(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations.min(100) {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .map_or(3000, |n| n.parse().expect("ITERATIONS is a number"));
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful figures");
    }
    println!("{iterations} iterations each, mean µs per operation, one thread\n");
    println!(
        "{:<6} {:>8} {:>10} {:>14} {:>8} {:>10} {:>11} {:>10}",
        "alg", "bytes", "sign µs", "jwt encode µs", "×", "verify µs", "raw sig µs", "verify/s"
    );
    for alg in Alg::ALL {
        let private = generate_private_pem(alg).expect("key");
        let (keys, encoding_key, raw) = match alg {
            Alg::Hs256 => {
                let secret = private.trim_end().as_bytes();
                (
                    Keys::from_secret(secret).expect("keys"),
                    EncodingKey::from_secret(secret),
                    None,
                )
            }
            _ => {
                let keys = Keys::from_pem(alg, private.as_bytes()).expect("keys");
                let encoding_key = match alg {
                    Alg::Rs256 => EncodingKey::from_rsa_pem(private.as_bytes()),
                    Alg::Es256 => EncodingKey::from_ec_pem(private.as_bytes()),
                    _ => EncodingKey::from_ed_pem(private.as_bytes()),
                }
                .expect("encoding key");
                let verification: &'static dyn VerificationAlgorithm = match alg {
                    Alg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
                    Alg::Es256 => &ECDSA_P256_SHA256_FIXED,
                    _ => &ED25519,
                };
                let spki = keys.public_der().expect("public key").to_vec();
                let parsed = ParsedPublicKey::new(verification, spki).expect("parsed public key");
                (keys, encoding_key, Some(parsed))
            }
        };
        let hmac_key = (alg == Alg::Hs256).then(|| {
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, private.trim_end().as_bytes())
        });
        let codec = Codec::new(
            keys,
            "https://authbench.local".into(),
            "authbench".into(),
            Duration::from_secs(5),
        );
        let claims = codec.new_claims(
            "user-000042",
            "f3Xq2Wc0f8Xb1rA9kQ7pLw",
            Duration::from_secs(900),
        );
        let token = codec.sign(&claims).expect("sign");
        assert_eq!(codec.verify(&token).expect("verify"), claims);

        let mut header = Header::new(match alg {
            Alg::Hs256 => Algorithm::HS256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Es256 => Algorithm::ES256,
            Alg::EdDsa => Algorithm::EdDSA,
        });
        header.typ = Some("at+jwt".into());
        header.kid = Some(codec.keys().kid().to_owned());
        let theirs = encode(&header, &claims, &encoding_key).expect("jsonwebtoken encode");
        assert!(
            codec.verify(&theirs).is_ok(),
            "{alg}: jsonwebtoken's token verifies with ours"
        );

        let sign = mean_micros(iterations, || {
            black_box(codec.sign(black_box(&claims)).expect("sign"));
        });
        let jwt_encode = mean_micros(iterations, || {
            black_box(encode(&header, black_box(&claims), &encoding_key).expect("encode"));
        });
        let verify = mean_micros(iterations, || {
            black_box(codec.verify(black_box(&token)).expect("verify"));
        });
        let (message, signature) = token.rsplit_once('.').expect("token");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("signature");
        let raw_verify = mean_micros(iterations, || match (&raw, &hmac_key) {
            (Some(key), _) => key
                .verify_sig(message.as_bytes(), &signature)
                .expect("raw verify"),
            (None, Some(key)) => {
                aws_lc_rs::hmac::verify(key, message.as_bytes(), &signature).expect("raw verify")
            }
            (None, None) => unreachable!(),
        });
        println!(
            "{:<6} {:>8} {:>10.1} {:>14.1} {:>8.1} {:>10.1} {:>11.1} {:>10.0}",
            alg.as_str(),
            token.len(),
            sign,
            jwt_encode,
            jwt_encode / sign,
            verify,
            raw_verify,
            1e6 / verify
        );
    }
    println!(
        "\nsign: Codec::sign (held key pair); jwt encode: jsonwebtoken::encode (× = its cost over sign);\n\
         verify: Codec::verify, every check; raw sig: aws-lc signature check alone, key parsed once."
    );
}
