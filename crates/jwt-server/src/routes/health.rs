//! `GET /healthz`: 200 when main_DB and the stores this mode needs all answer, 503 otherwise.

use authbench_core::http::{Check, health_response};
use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;

pub async fn healthz(State(state): State<AppState>) -> Response {
    let shared = &state.shared;
    let revocations = async {
        match &shared.revocations {
            Some(store) => store.ping().await,
            None => Ok(()),
        }
    };
    let access_tokens = async {
        match &shared.access_tokens {
            Some(store) => store.ping().await,
            None => Ok(()),
        }
    };
    let (refresh, revocations, access_tokens, main_db) = tokio::join!(
        shared.refresh.ping(),
        revocations,
        access_tokens,
        shared.main_db.ping()
    );
    health_response(&[
        Check::from_result("refresh_store", refresh),
        Check::from_result("revocation_store", revocations),
        Check::from_result("access_token_store", access_tokens),
        Check::from_result("main_db", main_db),
    ])
}
