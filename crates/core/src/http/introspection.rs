//! Token introspection (RFC 7662), the answering side both issuers share: the request's form
//! body, the caller's authentication, and the answer. What "active" means is each server's own
//! (a session in the store, an opaque token in the store, a JWT that verifies).
//!
//! RFC 7662 §2.1 requires the endpoint to authenticate its callers, so that it is not an oracle
//! for anyone holding a guessed token: here a shared secret, `Authorization: Bearer <secret>`,
//! from `AUTHBENCH_INTROSPECTION_SECRET`. Without it the endpoint answers 403 to every caller
//! that presents a credential (401 to one that presents none).

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::body::Bytes;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::credentials::authorization;

/// The variable both the issuers and the resource server read the shared secret from.
pub use authbench_contract::routes::INTROSPECTION_SECRET_ENV as SECRET_ENV;

/// The shortest secret accepted: 128 bits as base64url.
pub const MIN_SECRET_CHARS: usize = 22;

/// The introspection secret, as the server holds it. `Debug` never shows it.
#[derive(Clone)]
pub struct IntrospectionSecret(Arc<str>);

impl std::fmt::Debug for IntrospectionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntrospectionSecret(..)")
    }
}

/// Why a secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{SECRET_ENV} is {0} characters; at least {MIN_SECRET_CHARS} are needed")]
pub struct WeakSecret(pub usize);

impl IntrospectionSecret {
    pub fn new(secret: &str) -> Result<IntrospectionSecret, WeakSecret> {
        if secret.len() < MIN_SECRET_CHARS {
            return Err(WeakSecret(secret.len()));
        }
        Ok(IntrospectionSecret(secret.into()))
    }

    /// The value a caller sends.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `headers` carry this secret as a bearer credential; compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        authorization(headers, "Bearer").is_some_and(|presented| {
            verify_slices_are_equal(presented.as_bytes(), self.0.as_bytes()).is_ok()
        })
    }
}

/// A request's body, read within the body limit, for a form to be parsed from.
#[derive(Debug, Clone)]
pub struct FormBody(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        super::json::read_limited(req).await.map(FormBody)
    }
}

/// The answer: `{"active": false}` for anything not active, and nothing else (RFC 7662 §2.2).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub: Option<String>,
    /// Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    /// Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_type: Option<String>,
}

impl Introspection {
    pub fn inactive() -> Introspection {
        Introspection::default()
    }

    pub fn active(sub: &str, iat_millis: i64, exp_millis: i64, token_type: &str) -> Introspection {
        Introspection {
            active: true,
            sub: Some(sub.to_owned()),
            exp: Some(exp_millis.div_euclid(1000)),
            iat: Some(iat_millis.div_euclid(1000)),
            token_type: Some(token_type.to_owned()),
        }
    }
}

/// The token a caller asks about, once the caller is admitted: 401 for a caller without the
/// secret, 403 (to a caller with a credential) when introspection is off, 400 for a body
/// without `token`.
pub fn introspected_token(
    secret: Option<&IntrospectionSecret>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<String, ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "introspection needs the shared secret as a bearer credential",
        )
    };
    // A caller without any credential is told what is missing (401), whether or not
    // introspection is on; one with a credential, that there is nothing it could open (403).
    if authorization(headers, "Bearer").is_none() {
        return Err(refused());
    }
    let Some(secret) = secret else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "introspection_off",
            "introspection is off: the server was started without AUTHBENCH_INTROSPECTION_SECRET",
        ));
    };
    if !secret.admits(headers) {
        return Err(refused());
    }
    form_urlencoded::parse(body)
        .find(|(key, _)| key == "token")
        .map(|(_, token)| token.into_owned())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::malformed("the form body has no `token`"))
}

/// The form body of a call about `token`.
pub fn form_body(token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

    fn secret() -> IntrospectionSecret {
        IntrospectionSecret::new("0123456789abcdefghijklmn").unwrap()
    }

    #[test]
    fn a_short_secret_is_refused_and_debug_hides_it() {
        assert_eq!(
            IntrospectionSecret::new("short").unwrap_err(),
            WeakSecret(5)
        );
        assert!(!format!("{:?}", secret()).contains("0123"));
    }

    #[test]
    fn only_a_caller_with_the_secret_gets_the_token_read() {
        let body = Bytes::from_static(b"token=abc%2Bdef&token_type_hint=access_token");
        let mut headers = HeaderMap::new();
        assert_eq!(
            introspected_token(Some(&secret()), &headers, &body)
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdefghijklmX"),
        );
        assert!(introspected_token(Some(&secret()), &headers, &body).is_err());
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdefghijklmn"),
        );
        assert_eq!(
            introspected_token(Some(&secret()), &headers, &body).unwrap(),
            "abc+def"
        );
        assert_eq!(
            introspected_token(None, &headers, &body)
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            introspected_token(None, &HeaderMap::new(), &body)
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED,
            "a caller with no credential is told so, on or off"
        );
        let empty = Bytes::from_static(b"token=");
        assert_eq!(
            introspected_token(Some(&secret()), &headers, &empty)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn inactive_is_only_active_false() {
        assert_eq!(
            serde_json::to_string(&Introspection::inactive()).unwrap(),
            r#"{"active":false}"#
        );
    }
}
