//! A JSON body extractor whose failures are the project's JSON errors.
//!
//! axum's own `Json` answers 415 without a JSON content type and 422 for a body of the wrong
//! shape; clients of a benchmark want one rule: a body that isn't the expected JSON is a 400, one
//! past the size limit a 413.

use axum::extract::{FromRequest, Request};
use http::StatusCode;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The request body, parsed as JSON into `T`; the content type is not checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(req).await?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::malformed(format!(
                "the body is not the expected JSON: {}",
                e.classify_for_humans()
            ))
        })
    }
}

/// The whole request body, up to [`super::MAX_BODY_BYTES`] (413 past it). The limit is applied
/// here, where the body is read, rather than by a layer on every request of every route.
pub async fn read_limited(req: Request) -> Result<bytes::Bytes, ApiError> {
    let limited = Limited::new(req.into_body(), super::MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large()),
        Err(_) => Err(ApiError::malformed("the request body could not be read")),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is over {} bytes", super::MAX_BODY_BYTES),
    )
}

/// Short, input-free descriptions of serde_json errors: the full message can echo parts of the
/// body back, and the body may hold a password.
trait ClassifyForHumans {
    fn classify_for_humans(&self) -> &'static str;
}

impl ClassifyForHumans for serde_json::Error {
    fn classify_for_humans(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "invalid JSON syntax",
            serde_json::error::Category::Data => "missing or wrongly typed fields",
            serde_json::error::Category::Eof => "the body ends early",
        }
    }
}
