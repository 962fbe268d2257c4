//! Interop with PyJWT, an independent implementation: our tokens verify there against the JWKS
//! (or the HS256 secret) with iss/aud checked, and PyJWT's tokens verify here, for every
//! algorithm. The Python side is scripts/pyjwt_interop.py; a missing PyJWT fails the test.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use authbench_jwt_server::keys::{Alg, Keys, generate_private_pem};
use authbench_jwt_server::token::{AccessClaims, Codec};
use serde_json::{Value, json};

const ISSUER: &str = "https://authbench.test";
const AUDIENCE: &str = "authbench-api";
const INSTALL: &str = "pip install 'pyjwt[crypto]' — scripts/test.sh does this";

/// A server's key in both forms: ours, and what PyJWT needs to sign with the same key.
struct Fixture {
    alg: Alg,
    codec: Codec,
    /// `private_pem` or `secret`, as the script takes them.
    python_key: (&'static str, String),
}

fn fixtures() -> Vec<Fixture> {
    Alg::ALL
        .into_iter()
        .map(|alg| {
            let private = generate_private_pem(alg).unwrap();
            let (keys, python_key) = if alg == Alg::Hs256 {
                let secret = private.trim_end().to_owned();
                (
                    Keys::from_secret(secret.as_bytes()).unwrap(),
                    ("secret", secret),
                )
            } else {
                (
                    Keys::from_pem(alg, private.as_bytes()).unwrap(),
                    ("private_pem", private.to_string()),
                )
            };
            let codec = Codec::new(keys, ISSUER.into(), AUDIENCE.into(), Duration::from_secs(5));
            Fixture {
                alg,
                codec,
                python_key,
            }
        })
        .collect()
}

/// Runs the script on `cases` and returns its results, in order.
fn pyjwt(cases: &[Value]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pyjwt_interop.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); the PyJWT interop test needs it: {INSTALL}")
        });
    // The script reads all of stdin before it writes, so this can't deadlock.
    let request = json!({ "cases": cases }).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!("PyJWT or cryptography is missing: {INSTALL}\n{stderr}"),
        _ => panic!("{} failed ({}):\n{stderr}", script.display(), output.status),
    }
    let response: Value = serde_json::from_slice(&output.stdout).expect("script output is JSON");
    let results = response["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), cases.len());
    results
}

fn verify_case(fixture: &Fixture, token: &str, audience: &str) -> Value {
    let mut case = json!({
        "op": "verify",
        "alg": fixture.alg.as_str(),
        "token": token,
        "issuer": ISSUER,
        "audience": audience,
    });
    if fixture.alg.is_asymmetric() {
        case["jwks"] = fixture.codec.keys().jwks();
    } else {
        case["secret"] = json!(fixture.python_key.1);
    }
    case
}

#[test]
fn our_tokens_verify_with_pyjwt_using_the_jwks_or_secret() {
    let fixtures = fixtures();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for fixture in &fixtures {
        let claims = fixture
            .codec
            .new_claims("alice", "family-1", Duration::from_secs(300));
        let token = fixture.codec.sign(&claims).unwrap();
        cases.push(verify_case(fixture, &token, AUDIENCE));
        // The harness must be able to say no: PyJWT refuses another audience and a changed payload.
        cases.push(verify_case(fixture, &token, "another-service"));
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut tampered = claims.clone();
        tampered.sub = "admin".into();
        let payload = base64_url(&serde_json::to_vec(&tampered).unwrap());
        parts[1] = &payload;
        cases.push(verify_case(fixture, &parts.join("."), AUDIENCE));
        expected.push((fixture, claims));
    }
    let results = pyjwt(&cases);
    for (chunk, (fixture, claims)) in results.chunks(3).zip(expected) {
        let alg = fixture.alg;
        let [accepted, other_audience, tampered] = chunk else {
            unreachable!()
        };
        assert_eq!(
            accepted["ok"], true,
            "{alg}: PyJWT refused our token: {accepted}"
        );
        let seen: AccessClaims = serde_json::from_value(accepted["claims"].clone()).unwrap();
        assert_eq!(seen, claims, "{alg}");
        assert_eq!(
            accepted["header"]["kid"],
            fixture.codec.keys().kid(),
            "{alg}"
        );
        if alg.is_asymmetric() {
            assert_eq!(
                accepted["thumbprint_matches_kid"], true,
                "{alg}: kid is the RFC 7638 thumbprint"
            );
        }
        assert_eq!(other_audience["ok"], false, "{alg}: {other_audience}");
        assert!(
            other_audience["error"]
                .as_str()
                .unwrap()
                .contains("Audience"),
            "{alg}: {other_audience}"
        );
        assert_eq!(tampered["ok"], false, "{alg}: {tampered}");
    }
}

#[test]
fn pyjwt_tokens_verify_with_our_codec() {
    let fixtures = fixtures();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for fixture in &fixtures {
        let claims = fixture
            .codec
            .new_claims("bob", "family-2", Duration::from_secs(300));
        let (key_name, key) = &fixture.python_key;
        let mut case = json!({
            "op": "sign",
            "alg": fixture.alg.as_str(),
            "kid": fixture.codec.keys().kid(),
            "claims": claims,
        });
        case[*key_name] = json!(key);
        cases.push(case);
        expected.push(claims);
    }
    let results = pyjwt(&cases);
    for ((fixture, claims), result) in fixtures.iter().zip(expected).zip(results) {
        let token = result["token"].as_str().expect("token");
        let verified = fixture.codec.verify(token);
        assert_eq!(
            verified.unwrap_or_else(|e| panic!("{}: {e}", fixture.alg)),
            claims,
            "{}",
            fixture.alg
        );
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
