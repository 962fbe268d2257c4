//! The JSON error body every route answers with: `{"error": "<code>", "message": "..."}`.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

/// An HTTP error answer. `code` is stable and machine-readable; `message` is for people and never
/// holds secrets, passwords, hashes or whole tokens.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Cow<'static, str>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody<'a> {
    /// Stable and machine-readable: `invalid_credentials`, `store_unavailable` ...
    pub error: &'a str,
    /// For people; never holds secrets, passwords, hashes or whole tokens.
    pub message: &'a str,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    /// The one answer for every authentication failure (unknown user, wrong password, missing,
    /// unknown, expired or garbage credentials), so the answer itself tells an attacker nothing.
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials",
        )
    }

    pub fn bad_credentials() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "unknown user or wrong password",
        )
    }

    pub fn unavailable(what: &'static str) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            match what {
                "store" => "the session store is unavailable; retry later",
                "main_db" => "main_DB is unavailable; retry later",
                _ => "a dependency is unavailable; retry later",
            },
        )
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take this method",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// A JSON error response for layers that build responses themselves (timeouts, panics).
pub fn error_response(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    ApiError::new(status, code, message).into_response()
}
