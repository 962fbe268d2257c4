//! A resource server that knows only the issuer's JWKS: it accepts the issuer's tokens and
//! refuses every forged one the JWT server's own attack suite holds (replayed here), tokens of
//! unknown keys after a refetch, symmetric keys a JWKS tries to add, and tokens for another
//! audience; it refetches at most once per interval; a fetch failure at start stops it, and a
//! later one keeps the cached keys and says so on /healthz and /metrics; it follows a rotation.

mod common;
#[path = "../../jwt-server/tests/support/forge.rs"]
#[allow(dead_code)]
mod forge;

use std::time::Duration;

use authbench_contract::{AccessToken, Alg};
use authbench_jwt_server::keys::{Keys, generate_private_pem};
use authbench_jwt_server::token::AccessClaims;
use authbench_resource_server::StartError;
use authbench_resource_server::Style;
use authbench_resource_server::jwks::{JwksSettings, JwksSource};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{AUDIENCE, World, jwks_style};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn claims_of(token: &str) -> AccessClaims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn bearer(credentials: &authbench_testkit::http_suite::Credentials) -> String {
    credentials.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn replay_the_attack_suite(alg: Alg) {
    let world = World::new().await;
    let issuer = world.token_issuer(alg, None, AccessToken::Jwt).await;
    let resource = world
        .resource(jwks_style(JwksSource::Url(issuer.jwks_url()), &[alg]))
        .await
        .expect("resource server");
    let login = issuer.login().await;
    assert_eq!(
        resource.balance(&login).await,
        StatusCode::OK,
        "{alg}: a genuine token"
    );

    let valid = claims_of(&bearer(&login));
    let attacks = forge::attack_tokens(issuer.state.codec(), &valid);
    assert!(attacks.len() >= 40, "only {} attacks", attacks.len());
    for (name, token) in &attacks {
        assert_eq!(
            resource.balance_with(token).await,
            StatusCode::UNAUTHORIZED,
            "{alg}: `{name}` was not refused"
        );
    }
    let refresh = login.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        resource.balance_with(refresh).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_tokens_verify_by_jwks_alone_and_every_forgery_is_refused() {
    replay_the_attack_suite(Alg::Es256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_tokens_verify_by_jwks_alone_and_every_forgery_is_refused() {
    replay_the_attack_suite(Alg::EdDsa).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_verify_by_jwks_alone_and_every_forgery_is_refused() {
    replay_the_attack_suite(Alg::Rs256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_refetch_at_most_once_per_interval_and_other_audiences_are_refused() {
    let world = World::new().await;
    let issuer = world.token_issuer(Alg::Es256, None, AccessToken::Jwt).await;
    let resource = world
        .resource(jwks_style(
            JwksSource::Url(issuer.jwks_url()),
            &[Alg::Es256],
        ))
        .await
        .unwrap();
    let valid = claims_of(&bearer(&issuer.login().await));
    let claims = serde_json::to_value(&valid).unwrap();

    // A key the JWKS doesn't hold, under a kid of its own, and under the issuer's kid.
    let stranger = Keys::generate(Alg::Es256).unwrap();
    let own_kid = json!({ "alg": "ES256", "typ": "at+jwt", "kid": stranger.kid() });
    let token = forge::sign_json(&stranger, &own_kid, &claims);
    assert_eq!(
        resource.balance_with(&token).await,
        StatusCode::UNAUTHORIZED
    );
    let borrowed = forge::sign_json(
        &stranger,
        &forge::server_header(issuer.state.codec()),
        &claims,
    );
    assert_eq!(
        resource.balance_with(&borrowed).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        resource
            .metric("authbench_jwks_unknown_kid_refetches_total")
            .await,
        1.0
    );

    // A flood of made-up kids within the interval: not one more fetch.
    for n in 0..20 {
        let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": format!("made-up-{n}") });
        let token = forge::sign_json(&stranger, &header, &claims);
        assert_eq!(
            resource.balance_with(&token).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        resource
            .metric("authbench_jwks_unknown_kid_refetches_total")
            .await,
        1.0
    );
    assert_eq!(
        resource
            .metric("authbench_jwks_refetches_refused_total")
            .await,
        20.0
    );
    assert_eq!(
        resource
            .metric("authbench_jwks_fetches_total{outcome=\"ok\"}")
            .await,
        2.0,
        "the start and one refetch"
    );

    // Signed by the issuer's own key, but for another audience.
    let mut other = claims.clone();
    other["aud"] = json!("another-api");
    assert_ne!(AUDIENCE, "another-api");
    let token = forge::sign_json(
        &issuer.state.codec().keys(),
        &forge::server_header(issuer.state.codec()),
        &other,
    );
    assert_eq!(
        resource.balance_with(&token).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_that_adds_a_symmetric_key_cannot_make_its_tokens_accepted() {
    let world = World::new().await;
    let issuer = world.token_issuer(Alg::EdDsa, None, AccessToken::Jwt).await;
    let secret = b"a-secret-anyone-reading-the-jwks-knows!!";
    let mut jwks: Value = issuer.state.codec().jwks();
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": "oct", "kid": "shared", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(secret)
    }));
    let file = world.path("jwks.json");
    std::fs::write(&file, jwks.to_string()).unwrap();
    // Even with HS256 among the accepted algorithms, the oct key is never taken.
    let resource = world
        .resource(jwks_style(
            JwksSource::File(file),
            &[Alg::EdDsa, Alg::Hs256],
        ))
        .await
        .unwrap();
    let login = issuer.login().await;
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    let claims = serde_json::to_value(claims_of(&bearer(&login))).unwrap();
    let hs = Keys::from_secret(secret).unwrap();
    let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": "shared" });
    let token = forge::sign_json(&hs, &header, &claims);
    assert_eq!(
        resource.balance_with(&token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(resource.metric("authbench_jwks_keys").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_fetch_failure_at_start_is_a_clear_error() {
    let world = World::new().await;
    let unreachable = "http://127.0.0.1:9/.well-known/jwks.json".to_owned();
    let error = world
        .resource(jwks_style(
            JwksSource::Url(unreachable.clone()),
            &[Alg::Es256],
        ))
        .await
        .err()
        .expect("no keys, no start");
    assert!(matches!(error, StartError::Jwks(_)));
    let text = authbench_contract::error::Chain(&error).to_string();
    assert!(
        text.starts_with(
            "cannot read the issuer's keys at start: cannot fetch http://127.0.0.1:9/"
        ),
        "{text}"
    );

    // A key set with no key of an accepted algorithm is refused as well, saying why.
    let file = world.path("rsa-only.json");
    let rsa = Keys::generate(Alg::Rs256).unwrap();
    std::fs::write(&file, rsa.jwks().to_string()).unwrap();
    let error = world
        .resource(jwks_style(JwksSource::File(file), &[Alg::Es256]))
        .await
        .err()
        .expect("no usable key, no start");
    let text = authbench_contract::error::Chain(&error).to_string();
    assert!(text.contains("holds no key this server accepts"), "{text}");
    assert!(
        text.contains("RS256 is not among the accepted algorithms"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_fetch_failure_keeps_the_cached_keys_and_is_reported() {
    let world = World::new().await;
    let issuer = world.token_issuer(Alg::Es256, None, AccessToken::Jwt).await;
    let file = world.path("jwks.json");
    std::fs::write(&file, issuer.state.codec().jwks().to_string()).unwrap();
    let Style::Jwks { mut jwks, expected } =
        jwks_style(JwksSource::File(file.clone()), &[Alg::Es256])
    else {
        unreachable!()
    };
    jwks = JwksSettings {
        ttl: Duration::from_millis(200),
        refetch_interval: Duration::from_millis(200),
        max_stale: Duration::from_secs(3),
        ..jwks
    };
    let resource = world
        .resource(Style::Jwks { jwks, expected })
        .await
        .unwrap();
    let login = issuer.login().await;
    assert_eq!(resource.balance(&login).await, StatusCode::OK);
    let (status, body) = resource.get_text("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    // The issuer's keys become unreachable: past the TTL a background fetch fails.
    std::fs::remove_file(&file).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        resource.balance(&login).await,
        StatusCode::OK,
        "triggers the refresh"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        resource.balance(&login).await,
        StatusCode::OK,
        "cached keys still verify"
    );
    let (status, body) = resource.get_text("/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""status":"degraded""#), "{body}");
    assert!(body.contains("cannot read"), "{body}");
    assert!(
        resource
            .metric("authbench_jwks_fetches_total{outcome=\"failed\"}")
            .await
            >= 1.0
    );

    // Past the longest staleness allowed, the keys stop verifying: 503, not a false 401.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        resource.balance(&login).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (status, _) = resource.get_text("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    // The issuer's keys come back: the next refresh takes them.
    std::fs::write(&file, issuer.state.codec().jwks().to_string()).unwrap();
    let mut recovered = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if resource.balance(&login).await == StatusCode::OK {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the keys did not come back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_at_the_issuer_is_followed_with_one_refetch_and_no_refusal() {
    let world = World::new().await;
    let key_file = world.path("signing.pem");
    std::fs::write(
        &key_file,
        generate_private_pem(Alg::EdDsa).unwrap().as_bytes(),
    )
    .unwrap();
    let issuer = world
        .token_issuer(Alg::EdDsa, Some(&key_file), AccessToken::Jwt)
        .await;
    let resource = world
        .resource(jwks_style(
            JwksSource::Url(issuer.jwks_url()),
            &[Alg::EdDsa],
        ))
        .await
        .unwrap();
    let before = issuer.login().await;
    assert_eq!(resource.balance(&before).await, StatusCode::OK);

    std::fs::write(
        &key_file,
        generate_private_pem(Alg::EdDsa).unwrap().as_bytes(),
    )
    .unwrap();
    issuer.state.rotate_key().expect("rotation");
    let after = issuer.login().await;
    assert_ne!(
        forge::header_kid(&bearer(&after)),
        forge::header_kid(&bearer(&before))
    );
    assert_eq!(
        resource.balance(&after).await,
        StatusCode::OK,
        "the new key, fetched"
    );
    assert_eq!(
        resource.balance(&before).await,
        StatusCode::OK,
        "the old key, still published"
    );
    assert_eq!(
        resource
            .metric("authbench_jwks_unknown_kid_refetches_total")
            .await,
        1.0
    );
    assert_eq!(resource.metric("authbench_jwks_keys").await, 2.0);
}
