//! Whole requests to both servers, in process: login bodies, credentials in `Authorization`
//! and cookies, content types, methods and paths, through each server's real routes, guard and
//! error handling (memory store, SQLite main_DB, two seeded users).
//!
//! The first byte picks the server and the route; the rest, split at 0xFF bytes, gives the
//! `Authorization` value, the `Cookie` value, the `Content-Type` and the body. An odd second
//! byte puts the credential of a real login into the `Authorization` value first, so that the
//! routes behind authentication are reached as well (only on routes that change nothing).
//!
//! Property: no answer is a 5xx; every error answer is a JSON `{"error", "message"}` body; a
//! balance answers 200 only to a request that carries the real credential.
#![no_main]

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use authbench_contract::{StoreUrl, routes};
use authbench_core::http::Guarded;
use authbench_core::maindb::MainDb;
use authbench_core::password::{Cost, Passwords};
use authbench_core::seed;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// argon2id's smallest cost: the fuzzer explores request shapes, not password hashing.
const CHEAP: Cost = Cost {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

struct Server {
    app: Guarded,
    /// `Session <id>` or `Bearer <token>` of a real login.
    credential: String,
}

struct World {
    runtime: Runtime,
    servers: [Server; 2],
    _dir: tempfile::TempDir,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let main_db_url = format!("sqlite://{}", dir.path().join("main.db").display());
    let servers = runtime.block_on(async {
        let db = MainDb::connect(&main_db_url, Duration::from_secs(5))
            .await
            .expect("main_DB");
        let passwords = Passwords::new(CHEAP).expect("argon2 params");
        seed::seed(&db, &passwords, NonZeroU32::new(2).expect("nonzero"))
            .await
            .expect("seed");
        let session = session_server(&main_db_url).await;
        let jwt = jwt_server(&main_db_url).await;
        [
            login(authbench_session_server::app(session), "Session").await,
            login(authbench_jwt_server::app(jwt), "Bearer").await,
        ]
    });
    World {
        runtime,
        servers,
        _dir: dir,
    }
});

async fn session_server(main_db_url: &str) -> authbench_session_server::AppState {
    let mut options = authbench_session_server::Options::new(main_db_url, StoreUrl::Memory);
    options.common.password_cost = CHEAP;
    let opened = authbench_session_server::AppState::open(&options).await;
    opened.expect("session server")
}

async fn jwt_server(main_db_url: &str) -> authbench_jwt_server::AppState {
    let mut options = authbench_jwt_server::Options::new(main_db_url, StoreUrl::Memory);
    options.common.password_cost = CHEAP;
    let opened = authbench_jwt_server::AppState::open(&options).await;
    opened.expect("JWT server")
}

async fn body_of(response: axum::response::Response) -> bytes::Bytes {
    let body = response.into_body().collect().await.expect("body");
    body.to_bytes()
}

async fn login(app: Guarded, scheme: &str) -> Server {
    let body = format!(
        r#"{{"username":"{}","password":"{}"}}"#,
        seed::username(1),
        seed::password(1)
    );
    let request = Request::post(routes::LOGIN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::from(body))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK, "the seeded login works");
    let set_cookie = response.headers().get(header::SET_COOKIE).cloned();
    let body = body_of(response).await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let value = match json.get("access_token").and_then(|t| t.as_str()) {
        Some(token) => token.to_owned(),
        None => {
            let cookie = set_cookie.expect("a session login sets a cookie");
            let cookie = cookie.to_str().expect("ASCII cookie");
            let pair = cookie.split(';').next().expect("name=value");
            pair.split_once('=').expect("name=value").1.to_owned()
        }
    };
    Server {
        app,
        credential: format!("{scheme} {value}"),
    }
}

/// The routes, with the methods each takes and a few it doesn't.
const ROUTES: [(&str, &str, bool); 12] = [
    ("POST", routes::LOGIN, false),
    ("GET", routes::BALANCE, true),
    ("GET", routes::SESSIONS, true),
    ("POST", routes::REFRESH, false),
    ("POST", routes::LOGOUT, false),
    ("DELETE", routes::SESSIONS, false),
    ("GET", routes::ROOT, true),
    ("GET", routes::HEALTHZ, true),
    ("GET", routes::JWKS, true),
    ("PUT", routes::LOGIN, true),
    ("GET", "/user/balance/../balance", true),
    ("POST", routes::BALANCE, true),
];

fuzz_target!(|data: &[u8]| {
    let [choice, flags, rest @ ..] = data else {
        return;
    };
    let world = &*WORLD;
    let server = &world.servers[usize::from(choice & 1)];
    let (method, path, read_only) = ROUTES[usize::from(choice >> 1) % ROUTES.len()];
    let mut parts = rest.splitn(4, |&b| b == 0xFF);
    let (authorization, cookie, content_type, body) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next().unwrap_or_default(),
    );

    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path);
    let mut sent_credential = false;
    if flags & 1 == 1 && read_only {
        request = request.header(header::AUTHORIZATION, server.credential.as_str());
        sent_credential = true;
    }
    for (name, value) in [
        (header::AUTHORIZATION, authorization),
        (header::COOKIE, cookie),
        (header::CONTENT_TYPE, content_type),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty())
            && let Ok(value) = http::HeaderValue::from_bytes(value)
        {
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(Full::from(body.to_vec())) else {
        return;
    };
    let raw_credentials: Vec<Vec<u8>> = [authorization, cookie]
        .into_iter()
        .flatten()
        .map(<[u8]>::to_vec)
        .collect();

    let (status, body) = world.runtime.block_on(async {
        let response = server
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        (response.status(), body_of(response).await)
    });
    assert!(
        !status.is_server_error(),
        "{method} {path} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if !status.is_success() && status != StatusCode::NOT_MODIFIED {
        let json: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{status} without a JSON body: {body:?}"));
        assert!(
            json["error"].is_string() && json["message"].is_string(),
            "{status}: {json}"
        );
    }
    if path == routes::BALANCE && method == "GET" && status == StatusCode::OK {
        let token = server
            .credential
            .split_once(' ')
            .expect("scheme value")
            .1
            .as_bytes();
        let carried = sent_credential
            || raw_credentials
                .iter()
                .any(|raw| raw.windows(token.len()).any(|w| w == token));
        assert!(
            carried,
            "a balance was answered without the real credential"
        );
    }
});
