//! Session-specific security behaviour: fixation, cookie attributes, expiry, eviction, and that
//! garbage ids never reach the store.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use authbench_session_server::{Config, Touch};
use authbench_testkit::http_suite::client;
use common::{Backend, start, start_with};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

/// The value of one labelled counter in the server's /metrics text, 0 when absent.
async fn metric(base_url: &str, name: &str, labels: &[&str]) -> f64 {
    let text = client()
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn login_with_cookie(base_url: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(format!("{base_url}/login"))
        .json(&serde_json::json!({ "username": "user1", "password": "pass-1" }));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

fn sid_of(response: &reqwest::Response) -> String {
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    cookie
        .strip_prefix("sid=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn balance_with_cookie(base_url: &str, sid: &str) -> StatusCode {
    client()
        .get(format!("{base_url}/user/balance"))
        .header(COOKIE, format!("sid={sid}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_never_reuses_a_presented_session_id() {
    let server = start(Backend::Sqlite).await;
    let base = &server.target.base_url;
    // An attacker plants a well-formed id in the victim's browser before login.
    let planted = "AAAAAAAAAAAAAAAAAAAAAA";
    let response = login_with_cookie(base, Some(&format!("sid={planted}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let issued = sid_of(&response);
    assert_ne!(issued, planted);
    assert_eq!(
        balance_with_cookie(base, planted).await,
        StatusCode::UNAUTHORIZED
    );
    // A login made while already logged in also gets a new id.
    let again = login_with_cookie(base, Some(&format!("sid={issued}"))).await;
    assert_ne!(sid_of(&again), issued);
    assert_eq!(balance_with_cookie(base, &issued).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_is_httponly_lax_path_root_with_max_age_and_secure_by_default() {
    let server = start(Backend::Memory).await;
    let response = login_with_cookie(&server.target.base_url, None).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let sid = sid_of(&response);
    assert_eq!(sid.len(), 22, "128-bit id, base64url");
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=28800",
        "Secure",
    ] {
        assert!(
            cookie.split("; ").any(|part| part == attribute),
            "{attribute} missing in {cookie}"
        );
    }
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["session_id"], sid.as_str());
    assert_eq!(body["expires_in"], 28_800);

    let insecure = start_with(Backend::Memory, |o| o.config.secure_cookie = false).await;
    let response = login_with_cookie(&insecure.target.base_url, None).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_past_their_ttl_get_401() {
    let server = start_with(Backend::Sqlite, |o| {
        o.config = Config::new(Duration::from_secs(1), None, None, None, true).unwrap();
    })
    .await;
    let base = &server.target.base_url;
    let sid = sid_of(&login_with_cookie(base, None).await);
    assert_eq!(balance_with_cookie(base, &sid).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        balance_with_cookie(base, &sid).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_slides_the_idle_timeout_and_idleness_ends_the_session() {
    let server = start_with(Backend::Redis, |o| {
        o.config = Config::new(
            Duration::from_secs(60),
            Some(Duration::from_secs(1)),
            Some(Touch::Always),
            None,
            true,
        )
        .unwrap();
    })
    .await;
    let base = &server.target.base_url;
    let sid = sid_of(&login_with_cookie(base, None).await);
    // Active for twice the idle timeout: every read pushes the deadline out.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(balance_with_cookie(base, &sid).await, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        balance_with_cookie(base, &sid).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touch_policy_decides_store_writes_per_read() {
    let always = start_with(Backend::Memory, |o| {
        o.config = Config::new(
            Duration::from_secs(3600),
            Some(Duration::from_secs(600)),
            Some(Touch::Always),
            None,
            true,
        )
        .unwrap();
    })
    .await;
    let never = start(Backend::Memory).await;
    for server in [&always, &never] {
        let base = &server.target.base_url;
        let sid = sid_of(&login_with_cookie(base, None).await);
        for _ in 0..10 {
            // Let the clock move so each slide really is later than the last.
            tokio::time::sleep(Duration::from_millis(2)).await;
            assert_eq!(balance_with_cookie(base, &sid).await, StatusCode::OK);
        }
    }
    let touches = |base: String| async move {
        metric(
            &base,
            "authbench_store_operations_total",
            &[r#"op="touch""#, r#"outcome="ok""#],
        )
        .await
    };
    assert_eq!(touches(always.target.base_url.clone()).await, 10.0);
    assert_eq!(touches(never.target.base_url.clone()).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_beyond_the_cap_evicts_the_oldest_session() {
    let server = start_with(Backend::Postgres, |o| {
        o.config.max_sessions_per_user = NonZeroU32::new(2);
    })
    .await;
    let base = &server.target.base_url;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(sid_of(&login_with_cookie(base, None).await));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        balance_with_cookie(base, &ids[0]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(balance_with_cookie(base, &ids[1]).await, StatusCode::OK);
    assert_eq!(balance_with_cookie(base, &ids[2]).await, StatusCode::OK);
    let listing: serde_json::Value = client()
        .get(format!("{base}/sessions"))
        .header(COOKIE, format!("sid={}", ids[2]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["count"], 2);
    assert_eq!(listing["sessions"][1]["current"], true);
    assert_eq!(listing["sessions"][1]["id_prefix"], &ids[2][..6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_are_refused_without_a_store_lookup() {
    let server = start(Backend::Redis).await;
    let base = &server.target.base_url;
    let loads = || metric(base, "authbench_store_operations_total", &[r#"op="load""#]);
    let before = loads().await;
    for bad in [
        "x",
        "' OR 1=1 --",
        &"A".repeat(10_000),
        "AAAAAAAAAAAAAAAAAAAAA$",
    ] {
        assert_eq!(
            balance_with_cookie(base, bad).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(loads().await, before);
    // A well-formed but unknown id does reach the store, and is a 401.
    assert_eq!(
        balance_with_cookie(base, "AAAAAAAAAAAAAAAAAAAAAA").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(loads().await, before + 1.0);
}
