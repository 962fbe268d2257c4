//! The endpoint suite every server under test must pass, over real HTTP.
//!
//! A server's test file describes how to reach it and how it authenticates ([`Target`]), then
//! expands [`endpoint_suite!`](crate::endpoint_suite) once per configuration (per store, per
//! algorithm...). Each case is a plain async function here, so a failure names the case and the
//! configuration: `redis::garbage_credentials_get_401_not_500`.

use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue};
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// How a server hands out credentials at login and expects them back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Set-Cookie: sid=...` and `session_id` in the body; sent back as `Authorization: Session`.
    Session,
    /// `access_token` in the body; sent back as `Authorization: Bearer`.
    Bearer,
}

/// A running server the suite can drive.
#[derive(Clone, Debug)]
pub struct Target {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub style: AuthStyle,
    /// A seeded account: (username, password, balance in cents).
    pub account: (String, String, i64),
    /// Whether logout makes the caller's credentials stop working at once (true for sessions;
    /// for JWT only with revocation on).
    pub logout_revokes: bool,
    /// Whether `DELETE /sessions` makes every credential of the user stop working at once,
    /// including other logins' (sessions; JWT only with a per-user cutoff).
    pub logout_everywhere_revokes: bool,
}

/// The credential header of one login.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub header: (reqwest::header::HeaderName, HeaderValue),
    pub body: Value,
}

impl Target {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Logs in as the seeded account.
    pub async fn login(&self, client: &Client) -> Credentials {
        let (user, password, _) = &self.account;
        self.login_as(client, user, password).await
    }

    /// Logs in, asserting success.
    pub async fn login_as(&self, client: &Client, user: &str, password: &str) -> Credentials {
        let response = client
            .post(self.url("/login"))
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
            .await
            .expect("POST /login");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "login as {user} should succeed"
        );
        let body: Value = response.json().await.expect("login body is JSON");
        let header = match self.style {
            AuthStyle::Session => {
                let id = body["session_id"]
                    .as_str()
                    .expect("session_id in login body");
                (
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("Session {id}")).expect("header"),
                )
            }
            AuthStyle::Bearer => {
                let token = body["access_token"]
                    .as_str()
                    .expect("access_token in login body");
                (
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
                )
            }
        };
        Credentials { header, body }
    }

    pub async fn balance(&self, client: &Client, credentials: &Credentials) -> reqwest::Response {
        client
            .get(self.url("/user/balance"))
            .header(credentials.header.0.clone(), credentials.header.1.clone())
            .send()
            .await
            .expect("GET /user/balance")
    }
}

/// A client with no cookie store: credentials travel only where a case puts them.
pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

async fn assert_json_error(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    assert!(body["error"].is_string(), "error body has a code: {body}");
    assert!(
        body["message"].is_string(),
        "error body has a message: {body}"
    );
    body
}

pub async fn login_then_balance_returns_the_seeded_balance(target: &Target) {
    let client = client();
    let credentials = target.login(&client).await;
    let response = target.balance(&client, &credentials).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("balance JSON");
    assert_eq!(body["username"], target.account.0.as_str());
    assert_eq!(body["balance_cents"], target.account.2);
}

pub async fn wrong_password_and_unknown_user_get_the_same_401(target: &Target) {
    let client = client();
    let attempt = |user: String, password: String| {
        let client = client.clone();
        let url = target.url("/login");
        async move {
            let started = Instant::now();
            let response = client
                .post(url)
                .json(&serde_json::json!({ "username": user, "password": password }))
                .send()
                .await
                .expect("POST /login");
            let elapsed = started.elapsed();
            (
                assert_json_error(response, StatusCode::UNAUTHORIZED).await,
                elapsed,
            )
        }
    };
    let user = target.account.0.clone();
    // Unknown users are checked against a dummy hash, so they can't be told apart by timing. Other
    // tests share the CPU, and contention only ever adds time, so compare the fastest of each
    // kind, sampling more rounds while a busy CPU keeps the two apart: a server that skipped the
    // hash for unknown users would answer them 20x faster or more in every round.
    let (mut wrong, mut unknown) = (Duration::MAX, Duration::MAX);
    let mut ratio = f64::INFINITY;
    for round in 0..30 {
        let (body_wrong, t_wrong) =
            attempt(user.clone(), format!("not-the-password-{round}")).await;
        let (body_unknown, t_unknown) = attempt(format!("nobody-{round}"), "whatever".into()).await;
        assert_eq!(
            body_wrong, body_unknown,
            "the answers must not tell the two apart"
        );
        wrong = wrong.min(t_wrong);
        unknown = unknown.min(t_unknown);
        let (w, u) = (wrong.as_secs_f64(), unknown.as_secs_f64());
        ratio = w.max(u) / w.min(u).max(1e-6);
        if round >= 4 && ratio < 3.0 {
            break;
        }
    }
    assert!(
        ratio < 3.0,
        "fastest wrong-password {:.4}s vs unknown-user {:.4}s over 30 rounds",
        wrong.as_secs_f64(),
        unknown.as_secs_f64()
    );
}

pub async fn balance_without_credentials_is_401(target: &Target) {
    let response = client()
        .get(target.url("/user/balance"))
        .send()
        .await
        .expect("GET");
    assert_json_error(response, StatusCode::UNAUTHORIZED).await;
}

pub async fn garbage_credentials_get_401_not_500(target: &Target) {
    let client = client();
    let scheme = match target.style {
        AuthStyle::Session => "Session",
        AuthStyle::Bearer => "Bearer",
    };
    let long = "A".repeat(10 * 1024);
    let garbage: Vec<Vec<u8>> = vec![
        format!("{scheme} ").into_bytes(),
        format!("{scheme} ' OR '1'='1'; DROP TABLE sessions; --").into_bytes(),
        format!("{scheme} {long}").into_bytes(),
        [format!("{scheme} ").as_bytes(), b"\xff\xfe\x80\x81binary"].concat(),
        format!("{scheme} ../../etc/passwd").into_bytes(),
        format!("{scheme} %00%0d%0a").into_bytes(),
        b"Basic dXNlcjpwYXNz".to_vec(),
    ];
    for value in garbage {
        let header = HeaderValue::from_bytes(&value).expect("visible bytes");
        let response = client
            .get(target.url("/user/balance"))
            .header(AUTHORIZATION, header)
            .send()
            .await
            .expect("GET with garbage");
        assert_json_error(response, StatusCode::UNAUTHORIZED).await;
    }
    for cookie in [
        &b"sid=\xff\xfe"[..],
        b"sid=' OR 1=1 --",
        long.as_bytes(),
        b"sid=",
    ] {
        let response = client
            .get(target.url("/user/balance"))
            .header(
                COOKIE,
                HeaderValue::from_bytes(cookie).expect("cookie bytes"),
            )
            .send()
            .await
            .expect("GET with garbage cookie");
        assert_json_error(response, StatusCode::UNAUTHORIZED).await;
    }
}

pub async fn logout_ends_the_login(target: &Target) {
    let client = client();
    let credentials = target.login(&client).await;
    let response = client
        .post(target.url("/logout"))
        .header(credentials.header.0.clone(), credentials.header.1.clone())
        .json(&credentials.body)
        .send()
        .await
        .expect("POST /logout");
    assert!(
        response.status().is_success(),
        "logout answered {}",
        response.status()
    );
    let after = target.balance(&client, &credentials).await.status();
    if target.logout_revokes {
        assert_eq!(
            after,
            StatusCode::UNAUTHORIZED,
            "credentials must stop working after logout"
        );
    } else {
        assert_eq!(
            after,
            StatusCode::OK,
            "without revocation, issued credentials stay valid"
        );
    }
}

pub async fn sessions_lists_logins_and_delete_logs_out_everywhere(target: &Target) {
    let client = client();
    let first = target.login(&client).await;
    let second = target.login(&client).await;
    let response = client
        .get(target.url("/sessions"))
        .header(second.header.0.clone(), second.header.1.clone())
        .send()
        .await
        .expect("GET /sessions");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("sessions body");
    let body: Value = serde_json::from_str(&text).expect("sessions JSON");
    assert!(body["count"].as_u64().expect("count") >= 2, "{body}");
    // Never a whole credential in the listing.
    let first_secret = first
        .header
        .1
        .to_str()
        .expect("ascii")
        .split(' ')
        .nth(1)
        .expect("value");
    assert!(
        !text.contains(first_secret),
        "GET /sessions leaked a whole credential"
    );

    let response = client
        .delete(target.url("/sessions"))
        .header(second.header.0.clone(), second.header.1.clone())
        .send()
        .await
        .expect("DELETE /sessions");
    assert!(response.status().is_success());
    let (first_after, second_after) = (
        target.balance(&client, &first).await.status(),
        target.balance(&client, &second).await.status(),
    );
    if target.logout_everywhere_revokes {
        assert_eq!(
            first_after,
            StatusCode::UNAUTHORIZED,
            "other logins must end too"
        );
    } else {
        assert_eq!(
            first_after,
            StatusCode::OK,
            "without a per-user cutoff, other logins stay valid"
        );
    }
    if target.logout_revokes {
        assert_eq!(
            second_after,
            StatusCode::UNAUTHORIZED,
            "the caller's credentials must end"
        );
    }
}

pub async fn malformed_login_bodies_get_400(target: &Target) {
    let client = client();
    for body in [
        "",
        "{",
        "not json",
        "[]",
        r#"{"username": 5, "password": []}"#,
        r#"{"username":"u"}"#,
    ] {
        let response = client
            .post(target.url("/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST /login");
        assert_json_error(response, StatusCode::BAD_REQUEST).await;
    }
}

pub async fn oversized_body_gets_413_and_oversized_headers_431(target: &Target) {
    let client = client();
    let password = "x".repeat(17 * 1024);
    let response = client
        .post(target.url("/login"))
        .json(&serde_json::json!({ "username": "u", "password": password }))
        .send()
        .await
        .expect("POST big body");
    assert_json_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    let big = "h".repeat(4 * 1024);
    let mut request = client.get(target.url("/user/balance"));
    for i in 0..5 {
        request = request.header(format!("x-filler-{i}"), big.as_str());
    }
    let response = request.send().await.expect("GET big headers");
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

pub async fn unknown_route_is_a_json_404(target: &Target) {
    let response = client()
        .get(target.url("/no/such/route"))
        .send()
        .await
        .expect("GET");
    assert_json_error(response, StatusCode::NOT_FOUND).await;
}

pub async fn wrong_method_is_a_json_405(target: &Target) {
    let response = client()
        .put(target.url(authbench_contract::routes::LOGIN))
        .send()
        .await
        .expect("PUT");
    assert_json_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

/// `/openapi.json` documents exactly what the server serves: every documented operation is
/// routed (never the 404 of an unknown path or the 405 of a wrong method), every other method on
/// a documented path is a 405, and every route the servers know that this one serves is in it.
pub async fn openapi_document_lists_exactly_the_served_routes(target: &Target) {
    use authbench_contract::routes;
    let client = client();
    let document: Value = client
        .get(target.url(routes::OPENAPI))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("the document is JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    let methods = ["get", "post", "put", "patch", "delete"];
    for (path, operations) in paths {
        for method in methods {
            let request = client.request(method.to_uppercase().parse().unwrap(), target.url(path));
            let status = request.send().await.expect("request").status();
            if operations.get(method).is_some() {
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but answered {status}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is not documented but answered {status}"
                );
            }
        }
    }
    let known = [
        routes::ROOT,
        routes::LOGIN,
        routes::BALANCE,
        routes::REFRESH,
        routes::LOGOUT,
        routes::SESSIONS,
        routes::JWKS,
        routes::INTROSPECT,
        routes::HEALTHZ,
        routes::METRICS,
        routes::OPENAPI,
    ];
    for path in known {
        let status = client
            .get(target.url(path))
            .send()
            .await
            .expect("GET")
            .status();
        assert_eq!(
            status != StatusCode::NOT_FOUND,
            paths.contains_key(path),
            "{path}: served (GET answered {status}) and documented must go together"
        );
    }
}

pub async fn healthz_is_200_and_metrics_count_requests(target: &Target) {
    let client = client();
    let health = client
        .get(target.url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let body: Value = health.json().await.expect("healthz JSON");
    assert_eq!(body["status"], "ok");

    let credentials = target.login(&client).await;
    assert_eq!(
        target.balance(&client, &credentials).await.status(),
        StatusCode::OK
    );
    let metrics = client
        .get(target.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.expect("metrics text");
    let balance_ok = text.lines().find(|line| {
        line.starts_with("authbench_http_requests_total")
            && line.contains(r#"route="/user/balance""#)
            && line.contains(r#"status="200""#)
    });
    let count: f64 = balance_ok
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no balance counter in /metrics:\n{text}"));
    assert!(count >= 1.0);
    assert!(
        text.contains("authbench_http_request_duration_seconds"),
        "latency histogram missing"
    );
}

/// Expands to one `#[tokio::test]` per case of the suite, in a module named `$name`, each calling
/// `$setup` (an async expression giving a value with a `target(&self) -> &Target` method that
/// keeps the server alive while the case runs).
#[macro_export]
macro_rules! endpoint_suite {
    ($name:ident, $setup:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::endpoint_suite!(@cases $setup;
                login_then_balance_returns_the_seeded_balance,
                wrong_password_and_unknown_user_get_the_same_401,
                balance_without_credentials_is_401,
                garbage_credentials_get_401_not_500,
                logout_ends_the_login,
                sessions_lists_logins_and_delete_logs_out_everywhere,
                malformed_login_bodies_get_400,
                oversized_body_gets_413_and_oversized_headers_431,
                unknown_route_is_a_json_404,
                wrong_method_is_a_json_405,
                openapi_document_lists_exactly_the_served_routes,
                healthz_is_200_and_metrics_count_requests,
            );
        }
    };
    (@cases $setup:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let system = $setup.await;
                $crate::http_suite::$case(system.target()).await;
            }
        )*
    };
}
