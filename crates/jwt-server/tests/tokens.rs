//! Keys and access tokens at the Codec level: round trips for every algorithm and key source,
//! key files in the forms OpenSSL writes, JWKS shape, and the attack list refused for the right
//! reason.

mod support;

use std::path::Path;
use std::time::Duration;

use authbench_jwt_server::keys::{Alg, KeyError, Keys, generate_private_pem};
use authbench_jwt_server::token::{AccessClaims, Codec, MAX_TOKEN_BYTES, TokenError, unix_now};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use support::forge;

const ISSUER: &str = "https://authbench.test";
const AUDIENCE: &str = "authbench-api";
const LEEWAY: Duration = Duration::from_secs(5);

fn codec(keys: Keys) -> Codec {
    Codec::new(keys, ISSUER.into(), AUDIENCE.into(), LEEWAY)
}

fn claims(codec: &Codec) -> AccessClaims {
    codec.new_claims("alice", "family-1", Duration::from_secs(300))
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn assert_round_trip(codec: &Codec) -> String {
    let claims = claims(codec);
    let token = codec.sign(&claims).unwrap();
    assert_eq!(
        codec.verify(&token).unwrap(),
        claims,
        "{}",
        codec.keys().alg()
    );
    token
}

fn header_of(token: &str) -> serde_json::Value {
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice(&header).unwrap()
}

#[test]
fn generated_keys_round_trip_for_every_alg_with_kid_in_the_header() {
    for alg in Alg::ALL {
        let codec = codec(Keys::generate(alg).unwrap());
        let token = assert_round_trip(&codec);
        let header = header_of(&token);
        assert_eq!(
            header,
            json!({ "alg": alg.as_str(), "typ": "at+jwt", "kid": codec.keys().kid() })
        );
        assert!(!codec.keys().kid().is_empty());
    }
}

#[test]
fn pem_key_files_round_trip_and_keep_their_kid() {
    let dir = tempfile::tempdir().unwrap();
    for alg in Alg::ALL {
        let pem = generate_private_pem(alg).unwrap();
        let path = write(dir.path(), &format!("{alg}.key"), pem.as_bytes());
        let (first, second) = (
            Keys::from_file(alg, &path).unwrap(),
            Keys::from_file(alg, &path).unwrap(),
        );
        assert_eq!(
            first.kid(),
            second.kid(),
            "{alg}: kid is stable for one key"
        );
        assert_ne!(
            first.kid(),
            Keys::generate(alg).unwrap().kid(),
            "{alg}: kid differs between keys"
        );
        assert_eq!(first.jwks(), second.jwks());
        // A replica loading the same file accepts the other's tokens.
        let signer = codec(first);
        let token = signer.sign(&claims(&signer)).unwrap();
        assert!(codec(second).verify(&token).is_ok(), "{alg}");
    }
}

#[test]
fn hs256_secret_file_drops_trailing_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let secret = b"0123456789abcdef0123456789abcdef-secret";
    let plain = Keys::from_secret(secret).unwrap();
    for (name, contents) in [("lf", b"\n".as_slice()), ("crlf", b"\r\n"), ("none", b"")] {
        let path = write(dir.path(), name, &[secret.as_slice(), contents].concat());
        assert_eq!(
            Keys::from_file(Alg::Hs256, &path).unwrap().kid(),
            plain.kid(),
            "{name}"
        );
    }
    assert_round_trip(&codec(plain));
}

#[test]
fn weak_hs256_secrets_are_refused() {
    assert!(matches!(
        Keys::from_secret(b""),
        Err(KeyError::WeakSecret { len: 0 })
    ));
    assert!(matches!(
        Keys::from_secret(&[b'x'; 31]),
        Err(KeyError::WeakSecret { len: 31 })
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "short",
        &[[b'x'; 31].as_slice(), b"\n"].concat(),
    );
    assert!(matches!(
        Keys::from_file(Alg::Hs256, &path),
        Err(KeyError::WeakSecret { len: 31 })
    ));
    let generated = generate_private_pem(Alg::Hs256).unwrap();
    assert!(generated.trim_end().len() >= 32);
}

/// The body of the OCTET STRING in a PKCS#8 PrivateKeyInfo: PKCS#1 for RSA, SEC1 for EC.
fn pkcs8_inner(der: &[u8]) -> Vec<u8> {
    fn read(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let (tag, first) = (der[0], der[1] as usize);
        let (len, start) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            (
                der[2..2 + n]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | b as usize),
                2 + n,
            )
        };
        (tag, &der[start..start + len], &der[start + len..])
    }
    let (_, info, _) = read(der);
    let (_, _, rest) = read(info); // version
    let (_, _, rest) = read(rest); // algorithm
    let (tag, key, _) = read(rest);
    assert_eq!(tag, 0x04, "OCTET STRING");
    key.to_vec()
}

fn pem_block(tag: &str, der: Vec<u8>) -> String {
    pem::encode(&pem::Pem::new(tag, der))
}

#[test]
fn openssl_style_pkcs1_and_sec1_files_load_as_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    for (alg, tag) in [
        (Alg::Rs256, "RSA PRIVATE KEY"),
        (Alg::Es256, "EC PRIVATE KEY"),
    ] {
        let pkcs8 = generate_private_pem(alg).unwrap();
        let der = pem::parse(pkcs8.as_bytes()).unwrap().into_contents();
        let mut legacy = pem_block(tag, pkcs8_inner(&der));
        if alg == Alg::Es256 {
            // `openssl ecparam -name prime256v1 -genkey` puts the curve first.
            legacy = format!(
                "{}{legacy}",
                pem_block("EC PARAMETERS", vec![6, 8, 42, 134, 72, 206, 61, 3, 1, 7])
            );
        }
        let path = write(dir.path(), tag, legacy.as_bytes());
        let loaded = Keys::from_file(alg, &path).unwrap();
        assert_eq!(
            loaded.kid(),
            Keys::from_pem(alg, pkcs8.as_bytes()).unwrap().kid(),
            "{alg}"
        );
        assert_round_trip(&codec(loaded));
    }
}

#[test]
fn unusable_key_files_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Keys::from_file(Alg::Rs256, &dir.path().join("absent.pem")).unwrap_err();
    assert!(matches!(missing, KeyError::Read { .. }), "{missing}");

    let ec = write(
        dir.path(),
        "ec.pem",
        generate_private_pem(Alg::Es256).unwrap().as_bytes(),
    );
    for alg in [Alg::Rs256, Alg::EdDsa] {
        let error = Keys::from_file(alg, &ec).unwrap_err();
        assert!(matches!(error, KeyError::Parse { .. }), "{error}");
        assert!(error.to_string().contains("ec.pem"), "{error}");
    }
    let public = Keys::generate(Alg::Es256).unwrap().public_pem().unwrap();
    let public = write(dir.path(), "public.pem", public.as_bytes());
    let error = Keys::from_file(Alg::Es256, &public)
        .unwrap_err()
        .to_string();
    assert!(error.contains("private key"), "{error}");
    let garbage = write(dir.path(), "garbage.pem", b"not a key");
    assert!(matches!(
        Keys::from_file(Alg::EdDsa, &garbage),
        Err(KeyError::Parse { .. })
    ));
    assert!(Keys::from_pem(Alg::Hs256, b"-----BEGIN PRIVATE KEY-----").is_err());
}

#[test]
fn jwks_publishes_the_public_key_under_its_kid() {
    let hs = Keys::generate(Alg::Hs256).unwrap();
    assert_eq!(hs.jwks(), json!({ "keys": [] }));
    assert!(hs.public_pem().is_none());
    let decoded =
        |value: &serde_json::Value| URL_SAFE_NO_PAD.decode(value.as_str().unwrap()).unwrap();
    for (alg, kty) in [(Alg::Rs256, "RSA"), (Alg::Es256, "EC"), (Alg::EdDsa, "OKP")] {
        let keys = Keys::generate(alg).unwrap();
        let jwks = keys.jwks();
        let [jwk] = jwks["keys"].as_array().unwrap().as_slice() else {
            panic!("one key: {jwks}")
        };
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["kid"], keys.kid());
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none(), "no private member");
        match alg {
            Alg::Rs256 => {
                assert_eq!(decoded(&jwk["n"]).len(), 256, "2048-bit modulus");
                assert_eq!(jwk["e"], "AQAB");
            }
            Alg::Es256 => {
                assert_eq!(jwk["crv"], "P-256");
                assert_eq!(
                    (decoded(&jwk["x"]).len(), decoded(&jwk["y"]).len()),
                    (32, 32)
                );
            }
            _ => {
                assert_eq!(jwk["crv"], "Ed25519");
                assert_eq!(decoded(&jwk["x"]).len(), 32);
            }
        }
        assert!(
            keys.public_pem()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
    }
}

#[test]
fn every_attack_is_refused_for_the_right_reason() {
    for alg in Alg::ALL {
        let codec = codec(Keys::generate(alg).unwrap());
        let valid = claims(&codec);
        // The forging path itself makes tokens that pass, so a refusal below is the check's doing.
        let resigned =
            forge::sign_json(&codec.keys(), &forge::server_header(&codec), &json!(valid));
        assert_eq!(
            codec.verify(&resigned).unwrap(),
            valid,
            "{alg}: re-signed genuine token"
        );

        let attacks = forge::attacks(&codec, &valid);
        assert!(attacks.len() >= 45, "{alg}: {} attacks", attacks.len());
        let mut failures = Vec::new();
        for attack in &attacks {
            match codec.verify(&attack.token) {
                Ok(_) => failures.push(format!("{alg} {}: ACCEPTED", attack.name)),
                Err(error) if !attack.expect.contains(&error.code()) => failures.push(format!(
                    "{alg} {}: refused as {} ({error}), expected {:?}",
                    attack.name,
                    error.code(),
                    attack.expect
                )),
                Err(_) => {}
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }
}

#[test]
fn clock_skew_within_the_leeway_is_accepted() {
    let codec = codec(Keys::generate(Alg::EdDsa).unwrap());
    let now = unix_now();
    let skew = i64::try_from(LEEWAY.as_secs()).unwrap() - 2;
    let mut late = claims(&codec);
    late.exp = now - skew;
    assert!(
        codec.verify(&codec.sign(&late).unwrap()).is_ok(),
        "expired {skew}s ago, within leeway"
    );
    let mut early = claims(&codec);
    early.nbf = now + skew;
    assert!(
        codec.verify(&codec.sign(&early).unwrap()).is_ok(),
        "valid in {skew}s, within leeway"
    );
}

#[test]
fn tokens_up_to_the_size_cap_verify_and_larger_ones_do_not() {
    let codec = codec(Keys::generate(Alg::Hs256).unwrap());
    let header = forge::server_header(&codec);
    let with_pad = |pad: usize| {
        let mut claims = json!(claims(&codec));
        claims["pad"] = json!("A".repeat(pad));
        forge::sign_json(&codec.keys(), &header, &claims)
    };
    let base = with_pad(0).len();
    // Base64 turns 3 bytes into 4, so this lands just at the cap.
    let at_cap = with_pad((MAX_TOKEN_BYTES - base) * 3 / 4);
    assert!(
        at_cap.len() <= MAX_TOKEN_BYTES && at_cap.len() > MAX_TOKEN_BYTES - 8,
        "{}",
        at_cap.len()
    );
    assert!(codec.verify(&at_cap).is_ok());
    let over = with_pad((MAX_TOKEN_BYTES - base) * 3 / 4 + 8);
    assert!(
        matches!(codec.verify(&over), Err(TokenError::TooLarge)),
        "{}",
        over.len()
    );
}

#[test]
fn a_codec_for_another_audience_refuses_our_tokens() {
    let keys_pem = generate_private_pem(Alg::Es256).unwrap();
    let ours = codec(Keys::from_pem(Alg::Es256, keys_pem.as_bytes()).unwrap());
    let theirs = Codec::new(
        Keys::from_pem(Alg::Es256, keys_pem.as_bytes()).unwrap(),
        ISSUER.into(),
        "billing-api".into(),
        LEEWAY,
    );
    let token = ours.sign(&claims(&ours)).unwrap();
    assert!(matches!(
        theirs.verify(&token),
        Err(TokenError::BadAudience)
    ));
}
