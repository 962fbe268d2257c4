//! `GET /healthz`: 200 when the session store and main_DB both answer, 503 otherwise.

use authbench_core::http::{Check, health_response};
use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;

pub async fn healthz(State(state): State<AppState>) -> Response {
    let (store, main_db) = tokio::join!(state.store().ping(), state.shared.main_db.ping());
    health_response(&[
        Check::from_result("store", store),
        Check::from_result("main_db", main_db),
    ])
}
