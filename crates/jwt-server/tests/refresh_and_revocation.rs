//! Refresh rotation and reuse detection, each revocation mode, cookie transport, JWKS, and what a
//! store outage does to each mode: on real Redis and Postgres from the harness.

mod common;

use std::time::{Duration, Instant};

use authbench_jwt_server::keys::Alg;
use authbench_jwt_server::{KeySource, Revocation, Transport};
use authbench_testkit::http_suite::{Credentials, Target, client};
use common::{Backend, start, start_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn refresh(target: &Target, token: &str) -> (StatusCode, Value) {
    let response = client()
        .post(target.url("/refresh"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

fn bearer(token: &str) -> Credentials {
    Credentials {
        header: (
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        ),
        body: Value::Null,
    }
}

async fn balance_status(target: &Target, token: &str) -> StatusCode {
    target.balance(&client(), &bearer(token)).await.status()
}

async fn rotation_and_reuse_detection(backend: Backend) {
    let server = start(backend, Alg::EdDsa, Revocation::None).await;
    let target = &server.target;
    let login = target.login(&client()).await.body;
    let first = login["refresh_token"].as_str().unwrap().to_owned();

    let (status, rotated) = refresh(target, &first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(rotated["token_type"], "Bearer");
    assert_eq!(
        balance_status(target, rotated["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // Replaying the rotated token revokes the family, so the current one dies with it.
    let (status, body) = refresh(target, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("refresh_token_reused"))
    );
    let (status, body) = refresh(target, &second).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token"))
    );

    for garbage in ["", "x.y", "' OR 1=1 --", &"A".repeat(9000)] {
        assert_eq!(refresh(target, garbage).await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_refresh_rotates_and_reuse_revokes_the_family() {
    rotation_and_reuse_detection(Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refresh_rotates_and_reuse_revokes_the_family() {
    rotation_and_reuse_detection(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let server = start(Backend::Postgres, Alg::Hs256, Revocation::None).await;
    let login = server.target.login(&client()).await.body;
    let token = login["refresh_token"].as_str().unwrap().to_owned();
    let mut racers = Vec::new();
    for _ in 0..8 {
        let (target, token) = (server.target.clone(), token.clone());
        racers.push(tokio::spawn(
            async move { refresh(&target, &token).await.0 },
        ));
    }
    let mut winners = 0;
    for racer in racers {
        if racer.await.unwrap() == StatusCode::OK {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// Logs in, logs out, and reports whether the access token still works afterwards, and whether a
/// re-encoding of it (same claims and `jti`, different bytes, valid signature) does.
async fn after_logout(backend: Backend, revocation: Revocation) -> (StatusCode, StatusCode) {
    let secret = b"0123456789abcdef0123456789abcdef-test-secret".to_vec();
    let server = start_with(backend, |o| {
        o.alg = Alg::Hs256;
        o.key = KeySource::Secret(secret.clone());
        o.config.revocation = revocation;
    })
    .await;
    let target = &server.target;
    let login = target.login(&client()).await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let reencoded = reencode(&token, &secret, server.state.codec().keys().kid());
    assert_ne!(reencoded, token, "the re-encoding must differ in bytes");
    assert_eq!(
        balance_status(target, &reencoded).await,
        StatusCode::OK,
        "re-encoding verifies"
    );

    let logout = client()
        .post(target.url("/logout"))
        .header(login.header.0.clone(), login.header.1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let refresh_after = refresh(target, login.body["refresh_token"].as_str().unwrap())
        .await
        .0;
    assert_eq!(
        refresh_after,
        StatusCode::UNAUTHORIZED,
        "logout always drops the refresh family"
    );
    (
        balance_status(target, &token).await,
        balance_status(target, &reencoded).await,
    )
}

/// The same claims, serialised with keys in another order, signed again with the same secret.
fn reencode(token: &str, secret: &[u8], kid: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
    let reordered: serde_json::Map<String, Value> = claims.into_iter().rev().collect();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &reordered,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_logout_leaves_the_access_token_valid_until_it_expires() {
    let (token, reencoded) = after_logout(Backend::Redis, Revocation::None).await;
    assert_eq!((token, reencoded), (StatusCode::OK, StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_denylist_revokes_the_token_and_its_reencodings_by_jti() {
    let (token, reencoded) = after_logout(Backend::Redis, Revocation::Denylist).await;
    assert_eq!(
        (token, reencoded),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_denylist_revokes_the_token_and_its_reencodings_by_jti() {
    let (token, reencoded) = after_logout(Backend::Postgres, Revocation::Denylist).await;
    assert_eq!(
        (token, reencoded),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cutoff_ends_every_login_of_the_user_and_later_logins_work() {
    let server = start(Backend::Postgres, Alg::Es256, Revocation::Cutoff).await;
    let target = &server.target;
    let phone = target.login(&client()).await;
    let laptop = target.login(&client()).await;
    let everywhere = client()
        .delete(target.url("/sessions"))
        .header(laptop.header.0.clone(), laptop.header.1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), StatusCode::OK);
    for login in [&phone, &laptop] {
        let token = login.body["access_token"].as_str().unwrap();
        assert_eq!(
            balance_status(target, token).await,
            StatusCode::UNAUTHORIZED
        );
        let refresh_token = login.body["refresh_token"].as_str().unwrap();
        assert_eq!(
            refresh(target, refresh_token).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Tokens carry whole-second `iat`s: a login at once after the cutoff waits for the next
    // second rather than get a token that is born revoked.
    let fresh = target.login(&client()).await.body;
    assert_eq!(
        balance_status(target, fresh["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_transport_sets_an_httponly_cookie_and_accepts_it() {
    let server = start_with(Backend::Memory, |o| o.config.transport = Transport::Cookie).await;
    let response = client()
        .post(server.target.url("/login"))
        .json(&json!({ "username": "user1", "password": "pass-1" }))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=900",
        "Secure",
    ] {
        assert!(
            cookie.split("; ").any(|part| part == attribute),
            "{attribute} missing in {cookie:.60}"
        );
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let balance = client()
        .get(server.target.url("/user/balance"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_serves_the_signing_key_for_asymmetric_algorithms_only() {
    let es256 = start(Backend::Memory, Alg::Es256, Revocation::None).await;
    let jwks: Value = client()
        .get(es256.target.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], es256.state.codec().keys().kid());
    assert_eq!(keys[0]["kty"], "EC");
    assert!(
        keys[0].get("d").is_none(),
        "private key material in the JWKS"
    );

    let hs256 = start(Backend::Memory, Alg::Hs256, Revocation::None).await;
    let jwks: Value = client()
        .get(hs256.target.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_hs256_secrets_are_refused_at_start() {
    for weak in [&b""[..], b"short", &[b'x'; 31]] {
        let mut options =
            authbench_jwt_server::Options::new("sqlite::memory:", "memory".parse().unwrap());
        options.key = KeySource::Secret(weak.to_vec());
        let error = authbench_jwt_server::AppState::open(&options)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("32"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_leaves_stateless_balance_up_and_gives_denylist_a_fast_503() {
    let mut stateless = start(Backend::Redis, Alg::Hs256, Revocation::None).await;
    let mut denylist = start(Backend::Redis, Alg::Hs256, Revocation::Denylist).await;
    let stateless_login = stateless.target.login(&client()).await;
    let denylist_login = denylist.target.login(&client()).await;
    stateless.redis.as_mut().unwrap().stop();
    denylist.redis.as_mut().unwrap().stop();

    // C2: a signature check needs no store.
    let response = stateless.target.balance(&client(), &stateless_login).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Revocation brings the store back onto every request, and with it the store's availability.
    let started = Instant::now();
    let response = denylist.target.balance(&client(), &denylist_login).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "503 took {:?}",
        started.elapsed()
    );
    let refresh_token = stateless_login.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(&stateless.target, refresh_token).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    denylist.redis.as_mut().unwrap().restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while denylist
        .target
        .balance(&client(), &denylist_login)
        .await
        .status()
        != StatusCode::OK
    {
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
