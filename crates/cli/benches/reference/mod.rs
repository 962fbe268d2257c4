//! The plainest honest version of each check the servers make, to hold them against: an axum
//! app with the same routes and answers, on the same runtime (one tokio worker), written the way
//! a tutorial would write it: no metrics, no limits, no timeouts, no panic guard, no error
//! types. Whatever authbench's servers cost beyond this is their own fixed cost, which would
//! otherwise blur the auth cost they exist to compare.
//!
//! It runs as a child process of the routes bench (the bench binary runs itself with
//! [`ENV`] set), so it is pinned and measured exactly like `authbench serve`.
//!
//! Checks (`--check`):
//! - `none`: `GET /` only;
//! - `memory`: a session id looked up in a `RwLock<HashMap>`;
//! - `redis URL`: one `GET` of the session's key, the record parsed;
//! - `postgres URL`: one prepared `SELECT` by id, with the expiry in the query, of the session's
//!   columns (user, created, expires, data: what any session store hands back) from a table of
//!   the same shape as the store's;
//! - `jwt ALG SOURCE`: `jsonwebtoken::decode` with the same pinned algorithm, issuer, audience,
//!   required claims and leeway as the JWT server; the key from the JWT server's JWKS (or the
//!   HS256 secret in `AUTHBENCH_JWT_SECRET`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// Set (to anything) when the bench binary should be the reference server instead.
pub const ENV: &str = "AUTHBENCH_REFERENCE_SERVER";

/// How the reference server checks a request's credential.
#[derive(Clone)]
enum Check {
    None,
    Memory(Arc<RwLock<HashMap<String, Session>>>),
    Redis(redis::aio::ConnectionManager),
    Postgres(Arc<(tokio_postgres::Client, tokio_postgres::Statement)>),
    Jwt(Arc<(DecodingKey, Validation)>),
}

#[derive(Clone)]
struct Session {
    user: String,
    expires_ms: i64,
}

#[derive(Clone)]
struct App {
    check: Check,
    balances: Arc<HashMap<String, i64>>,
}

#[derive(Serialize)]
struct About {
    service: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Balance {
    username: String,
    balance_cents: i64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<jsonwebtoken::jwk::Jwk>,
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    since.as_millis() as i64
}

/// Runs the reference server from its command line (`--check ...`, `--session-id ID`); prints
/// `listening on http://ADDR` as `authbench serve` does, and serves until killed.
pub fn serve(args: &[String]) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let session_id = value_after(args, "--session-id").unwrap_or_default();
        let check = check(args, &session_id).await;
        let balances = Arc::new(HashMap::from([("user1".to_owned(), 10_001)]));
        let app = Router::new()
            .route("/", get(about))
            .route("/user/balance", get(balance))
            .with_state(App { check, balances });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
    std::process::exit(0)
}

fn value_after(args: &[String], flag: &str) -> Option<String> {
    let at = args.iter().position(|arg| arg == flag)?;
    args.get(at + 1).cloned()
}

async fn check(args: &[String], session_id: &str) -> Check {
    let check = value_after(args, "--check").expect("--check");
    let target = value_after(args, "--target").unwrap_or_default();
    let hour_from_now = now_ms() + 3_600_000;
    match check.as_str() {
        "none" => Check::None,
        "memory" => {
            let session = Session {
                user: "user1".into(),
                expires_ms: hour_from_now,
            };
            let map = HashMap::from([(session_id.to_owned(), session)]);
            Check::Memory(Arc::new(RwLock::new(map)))
        }
        "redis" => {
            let client = redis::Client::open(target).unwrap();
            let mut redis = redis::aio::ConnectionManager::new(client).await.unwrap();
            let value = format!("user1|{hour_from_now}");
            let _: () = redis::cmd("SET")
                .arg(format!("reference:session:{session_id}"))
                .arg(value)
                .query_async(&mut redis)
                .await
                .unwrap();
            Check::Redis(redis)
        }
        "postgres" => {
            let (client, connection) = tokio_postgres::connect(&target, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS reference_sessions (id text COLLATE \"C\" \
                     PRIMARY KEY, username text COLLATE \"C\" NOT NULL, created bigint NOT NULL, \
                     expires bigint NOT NULL, data text NOT NULL)",
                )
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO reference_sessions VALUES ($1, 'user1', 0, $2, '') \
                     ON CONFLICT (id) DO UPDATE SET expires = $2",
                    &[&session_id, &hour_from_now],
                )
                .await
                .unwrap();
            let select = client
                .prepare(
                    "SELECT username, created, expires, data FROM reference_sessions \
                     WHERE id = $1 AND expires > $2",
                )
                .await
                .unwrap();
            Check::Postgres(Arc::new((client, select)))
        }
        alg => Check::Jwt(Arc::new(jwt(alg, &target).await)),
    }
}

/// The key and validation the JWT server uses for `alg`: the secret from the environment for
/// HS256, else the public key from the server's JWKS at `jwks_url`.
async fn jwt(alg: &str, jwks_url: &str) -> (DecodingKey, Validation) {
    let algorithm: Algorithm = alg.parse().expect("an algorithm");
    let key = if algorithm == Algorithm::HS256 {
        let secret = std::env::var("AUTHBENCH_JWT_SECRET").expect("AUTHBENCH_JWT_SECRET");
        DecodingKey::from_secret(secret.as_bytes())
    } else {
        let jwks: Jwks = reqwest::get(jwks_url).await.unwrap().json().await.unwrap();
        DecodingKey::from_jwk(&jwks.keys[0]).unwrap()
    };
    let mut validation = Validation::new(algorithm);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.set_issuer(&["authbench"]);
    validation.set_audience(&["authbench-api"]);
    (key, validation)
}

async fn about() -> Json<About> {
    Json(About {
        service: "authbench reference server",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn balance(State(app): State<App>, headers: HeaderMap) -> Result<Json<Balance>, StatusCode> {
    let user = authenticate(&app.check, &headers)
        .await
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let balance_cents = *app.balances.get(&user).ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Json(Balance {
        username: user,
        balance_cents,
    }))
}

/// The user the request's credential belongs to.
async fn authenticate(check: &Check, headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    match check {
        Check::None => None,
        Check::Memory(sessions) => {
            let id = authorization.strip_prefix("Session ")?;
            let sessions = sessions.read().unwrap();
            let session = sessions.get(id)?;
            (session.expires_ms > now_ms()).then(|| session.user.clone())
        }
        Check::Redis(redis) => {
            let id = authorization.strip_prefix("Session ")?;
            let value: Option<String> = redis::cmd("GET")
                .arg(format!("reference:session:{id}"))
                .query_async(&mut redis.clone())
                .await
                .ok()?;
            let (user, expires) = value?
                .split_once('|')
                .map(|(u, e)| (u.to_owned(), e.to_owned()))?;
            (expires.parse::<i64>().ok()? > now_ms()).then_some(user)
        }
        Check::Postgres(postgres) => {
            let id = authorization.strip_prefix("Session ")?;
            let (client, select) = &**postgres;
            let row = client.query_opt(select, &[&id, &now_ms()]).await.ok()??;
            let (user, _created, _expires, _data): (String, i64, i64, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            Some(user)
        }
        Check::Jwt(jwt) => {
            let token = authorization.strip_prefix("Bearer ")?;
            let (key, validation) = &**jwt;
            let data = jsonwebtoken::decode::<Claims>(token, key, validation).ok()?;
            Some(data.claims.sub)
        }
    }
}
