//! The resource server's two stateful styles: asking the issuer on every request (opaque access
//! tokens and session ids, RFC 7662), where a revocation holds at once without the cache and
//! within the cache's window with it, and an issuer that is down means 503; and reading the
//! session from the issuer's store, which needs the store and not the issuer.

mod common;

use std::time::{Duration, Instant};

use authbench_contract::{AccessToken, Alg};
use authbench_resource_server::Style;
use authbench_testkit::http_suite::client;
use common::{SECRET, World, introspect_style};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cache_a_logout_at_the_issuer_holds_on_the_next_request() {
    let world = World::new().await;
    let issuer = world
        .token_issuer(Alg::Es256, None, AccessToken::Opaque)
        .await;
    let resource = world
        .resource(introspect_style(issuer.introspect_url(), Duration::ZERO))
        .await
        .unwrap();
    let login = issuer.login().await;
    let token = login.body["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "an opaque token, not a JWT: {token}");
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    assert_eq!(
        resource
            .metric("authbench_issuer_calls_total{outcome=\"active\"}")
            .await,
        2.0,
        "one call per request"
    );
    issuer.logout(&login).await;
    assert_eq!(resource.balance(&login).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        issuer.target.balance(&client(), &login).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_cache_a_revoked_token_is_refused_within_the_cache_window() {
    let world = World::new().await;
    let issuer = world
        .token_issuer(Alg::Es256, None, AccessToken::Opaque)
        .await;
    let window = Duration::from_millis(1500);
    let resource = world
        .resource(introspect_style(issuer.introspect_url(), window))
        .await
        .unwrap();
    let login = issuer.login().await;
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    let cached_at = Instant::now();
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    assert_eq!(
        resource
            .metric("authbench_introspection_cache_hits_total")
            .await,
        1.0
    );

    issuer.logout(&login).await;
    // Inside the window the cache still answers for the revoked token: the staleness it buys.
    if cached_at.elapsed() < window - Duration::from_millis(500) {
        assert_eq!(resource.balance(&login).await, StatusCode::OK);
    }
    let mut refused_after = None;
    while cached_at.elapsed() < window * 2 {
        if resource.balance(&login).await == StatusCode::UNAUTHORIZED {
            refused_after = Some(cached_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused_after = refused_after.expect("the revoked token was never refused");
    assert!(
        refused_after <= window + Duration::from_millis(300),
        "refused {refused_after:?} after caching, past the {window:?} window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_be_introspected_and_an_issuer_that_is_down_is_a_fast_503() {
    let world = World::new().await;
    let store = format!("sqlite://{}", world.path("sessions.db").display());
    let issuer = world.session_issuer(&store).await;
    let resource = world
        .resource(introspect_style(issuer.introspect_url(), Duration::ZERO))
        .await
        .unwrap();
    let login = issuer.login().await;
    assert_eq!(resource.balance(&login).await, StatusCode::OK);

    // The introspection endpoint itself: only for callers with the secret.
    let http = client();
    let id = login.body["session_id"].as_str().unwrap();
    let without = http
        .post(issuer.introspect_url())
        .body(format!("token={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    let answer: Value = http
        .post(issuer.introspect_url())
        .bearer_auth(SECRET)
        .body(format!("token={id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], "user1", "{answer}");

    drop(issuer);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert_eq!(
        resource.balance(&login).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        resource
            .metric("authbench_issuer_calls_total{outcome=\"failed\"}")
            .await
            >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_read_from_the_shared_store_need_the_store_not_the_issuer() {
    let world = World::new().await;
    let store = format!("sqlite://{}", world.path("sessions.db").display());
    let issuer = world.session_issuer(&store).await;
    let resource = world
        .resource(Style::Store {
            url: store.parse().unwrap(),
        })
        .await
        .unwrap();
    let login = issuer.login().await;
    let other = issuer.login().await;
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    issuer.logout(&login).await;
    assert_eq!(resource.balance(&login).await, StatusCode::UNAUTHORIZED);
    drop(issuer);
    assert_eq!(
        resource.balance(&other).await,
        StatusCode::OK,
        "the issuer is gone, the store is not"
    );
}
