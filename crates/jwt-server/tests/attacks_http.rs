//! The RFC 8725 attack list (tests/support/forge.rs) replayed over HTTP against
//! `GET /user/balance`, for every algorithm: each forged token gets a JSON 401 and never reaches
//! the balance. A refresh token presented as an access token is refused the same way.

mod common;
mod support;

use authbench_jwt_server::Revocation;
use authbench_jwt_server::keys::Alg;
use authbench_jwt_server::token::AccessClaims;
use authbench_testkit::http_suite::client;
use base64::Engine as _;
use common::{Backend, start};
use reqwest::StatusCode;

async fn replay_attacks(alg: Alg) {
    let server = start(Backend::Memory, alg, Revocation::None).await;
    let target = &server.target;
    let login = target.login(&client()).await;
    let access = login.body["access_token"].as_str().unwrap();
    let payload = access.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let valid: AccessClaims = serde_json::from_slice(&bytes).unwrap();

    let mut attacks = support::forge::attack_tokens(server.state.codec(), &valid);
    let refresh_token = login.body["refresh_token"].as_str().unwrap().to_owned();
    attacks.push(("refresh token used as an access token", refresh_token));
    assert!(attacks.len() >= 40, "only {} attacks", attacks.len());

    let http = client();
    for (name, token) in &attacks {
        let response = http
            .get(target.url("/user/balance"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{alg}: `{name}` got {status}: {body}"
        );
        assert!(
            body.get("balance_cents").is_none(),
            "{alg}: `{name}` reached the balance"
        );
    }
    // The genuine token still works: the refusals came from the forgeries, not a broken server.
    assert_eq!(target.balance(&http, &login).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_server_refuses_every_forged_token() {
    replay_attacks(Alg::Hs256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_server_refuses_every_forged_token() {
    replay_attacks(Alg::Rs256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_server_refuses_every_forged_token() {
    replay_attacks(Alg::Es256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_server_refuses_every_forged_token() {
    replay_attacks(Alg::EdDsa).await;
}
