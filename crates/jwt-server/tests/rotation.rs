//! Key rotation: several keys at once (one signing, the retired ones verifying), the JWKS
//! publishing them for the overlap, tokens signed before a rotation good until they expire, and
//! a retired key refused once its overlap is over, even on a token that has not expired.

mod common;
mod support;

use std::time::Duration;

use authbench_jwt_server::keys::{Alg, Keys, RotateError, Rotated, generate_private_pem};
use authbench_jwt_server::token::{Codec, TokenError};
use authbench_jwt_server::{KeySource, Revocation, RotationError};
use authbench_testkit::http_suite::client;
use common::{Backend, start_with};
use reqwest::StatusCode;
use serde_json::Value;

fn codec(alg: Alg) -> Codec {
    Codec::new(
        Keys::generate(alg).unwrap(),
        "issuer".into(),
        "audience".into(),
        Duration::from_secs(1),
    )
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_retired_key_verifies_for_its_overlap_and_not_after() {
    let codec = codec(Alg::Es256);
    let old = codec.keys();
    // Signed by the old key and good for an hour: only the overlap can end it.
    let long_lived = codec
        .sign(&codec.new_claims("alice", "f", Duration::from_secs(3600)))
        .unwrap();

    let next = Keys::generate(Alg::Es256).unwrap();
    let new_kid = next.kid().to_owned();
    let rotated = codec.rotate(next, Duration::from_millis(800)).unwrap();
    assert_eq!(
        rotated,
        Rotated::Rotated {
            old_kid: old.kid().to_owned(),
            new_kid: new_kid.clone()
        }
    );
    assert_eq!(codec.verifying_keys(), 2);
    assert_eq!(kids(&codec.jwks()), [new_kid.clone(), old.kid().to_owned()]);

    let fresh = codec
        .sign(&codec.new_claims("bob", "g", Duration::from_secs(60)))
        .unwrap();
    assert_eq!(codec.verify(&long_lived).unwrap().sub, "alice");
    assert_eq!(codec.verify(&fresh).unwrap().sub, "bob");

    std::thread::sleep(Duration::from_millis(900));
    assert!(matches!(
        codec.verify(&long_lived),
        Err(TokenError::UnknownKid)
    ));
    assert_eq!(codec.verify(&fresh).unwrap().sub, "bob");
    assert_eq!(codec.verifying_keys(), 1);
    assert_eq!(kids(&codec.jwks()), [new_kid]);
}

#[test]
fn rotation_keeps_the_algorithm_pinned_and_the_same_key_is_no_rotation() {
    let codec = codec(Alg::Es256);
    let refused = codec.rotate(Keys::generate(Alg::EdDsa).unwrap(), Duration::from_secs(5));
    assert_eq!(
        refused,
        Err(RotateError::AlgorithmChange {
            pinned: Alg::Es256,
            new: Alg::EdDsa
        })
    );
    let secret = [7u8; 32];
    let hs = Codec::new(
        Keys::from_secret(&secret).unwrap(),
        "i".into(),
        "a".into(),
        Duration::ZERO,
    );
    let same = Keys::from_secret(&secret).unwrap();
    assert!(matches!(
        hs.rotate(same, Duration::from_secs(5)),
        Ok(Rotated::Unchanged { .. })
    ));
    assert_eq!(hs.verifying_keys(), 1);
}

#[test]
fn three_rotations_keep_every_key_still_in_its_overlap() {
    let codec = codec(Alg::EdDsa);
    let first = codec
        .sign(&codec.new_claims("a", "f", Duration::from_secs(60)))
        .unwrap();
    for _ in 0..3 {
        codec
            .rotate(Keys::generate(Alg::EdDsa).unwrap(), Duration::from_secs(60))
            .unwrap();
    }
    assert_eq!(codec.verifying_keys(), 4);
    assert_eq!(codec.verify(&first).unwrap().sub, "a");
}

/// A server reading its key from a file: a new file and a rotation (what SIGHUP does), and the
/// old token still answers while the new login's token carries the new kid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_rotates_from_its_key_file_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("signing.pem");
    std::fs::write(
        &key_file,
        generate_private_pem(Alg::Es256).unwrap().as_bytes(),
    )
    .unwrap();
    let path = key_file.clone();
    let server = start_with(Backend::Memory, move |options| {
        options.alg = Alg::Es256;
        options.key = KeySource::File(path);
        options.config.revocation = Revocation::None;
    })
    .await;
    let http = client();
    let before = server.target.login(&http).await;
    let old_kid = server.state.codec().keys().kid().to_owned();

    // The same file again: nothing to rotate.
    assert!(matches!(
        server.state.rotate_key(),
        Ok(Rotated::Unchanged { .. })
    ));
    std::fs::write(
        &key_file,
        generate_private_pem(Alg::Es256).unwrap().as_bytes(),
    )
    .unwrap();
    let Ok(Rotated::Rotated { new_kid, .. }) = server.state.rotate_key() else {
        panic!("the new key file did not rotate the key");
    };
    assert_ne!(new_kid, old_kid);

    let balance = server.target.balance(&http, &before).await;
    assert_eq!(
        balance.status(),
        StatusCode::OK,
        "a token from before the rotation"
    );
    let after = server.target.login(&http).await;
    let token = after.body["access_token"].as_str().unwrap();
    assert!(
        support::forge::header_kid(token) == new_kid,
        "the new token is not signed by the new key"
    );
    assert_eq!(
        server.target.balance(&http, &after).await.status(),
        StatusCode::OK
    );

    let jwks: Value = http
        .get(server.target.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kids(&jwks), [new_kid, old_kid]);
    let metrics = http
        .get(server.target.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authbench_jwt_key_rotations_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_from_the_environment_cannot_rotate() {
    let server = start_with(Backend::Memory, |options| {
        options.key = KeySource::Secret(vec![b'k'; 32]);
    })
    .await;
    assert!(matches!(
        server.state.rotate_key(),
        Err(RotationError::FixedSecret)
    ));
}
