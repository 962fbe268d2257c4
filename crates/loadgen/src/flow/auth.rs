//! A VU's credentials once logged in, and how they are learnt from the login (or refresh)
//! answer: a `sid` cookie, or an `access_token` (and maybe a `refresh_token`) in the JSON body.

use bytes::Bytes;
use http::HeaderValue;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use serde::Deserialize;

use crate::client::{AuthHeader, JsonBody};

/// How the system under test wants credentials presented, as learnt from its login answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg(test)]
pub enum AuthStyle {
    /// `Cookie: sid=...`.
    SessionCookie,
    /// `Authorization: Bearer ...`.
    Bearer,
}

/// The credential headers of the current login, built once per login (or refresh).
#[derive(Debug)]
pub(super) enum Auth {
    LoggedOut,
    SessionCookie(AuthHeader),
    Bearer {
        authorization: AuthHeader,
        /// `{"refresh_token": ...}`, when the server issued one.
        refresh: Option<JsonBody>,
    },
}

impl Auth {
    /// `None` while logged out.
    #[cfg(test)]
    pub(super) fn style(&self) -> Option<AuthStyle> {
        match self {
            Auth::LoggedOut => None,
            Auth::SessionCookie(_) => Some(AuthStyle::SessionCookie),
            Auth::Bearer { .. } => Some(AuthStyle::Bearer),
        }
    }

    /// The header an authenticated request carries; `None` while logged out.
    pub(super) fn header(&self) -> Option<&AuthHeader> {
        match self {
            Auth::LoggedOut => None,
            Auth::SessionCookie(header) => Some(header),
            Auth::Bearer { authorization, .. } => Some(authorization),
        }
    }

    /// What `POST /refresh` sends; `None` unless the server issued a refresh token.
    pub(super) fn refresh_body(&self) -> Option<&JsonBody> {
        match self {
            Auth::Bearer { refresh, .. } => refresh.as_ref(),
            _ => None,
        }
    }
}

/// `Cookie: sid=<id>` from a `Set-Cookie: sid=<id>; ...` answer.
pub(super) fn session_cookie(headers: &http::HeaderMap) -> Option<Auth> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let pair = value.to_str().ok()?.split(';').next()?.trim();
        let id = pair.strip_prefix("sid=")?;
        if id.is_empty() {
            return None;
        }
        Some(Auth::SessionCookie(AuthHeader {
            name: COOKIE,
            value: HeaderValue::from_str(pair).ok()?,
        }))
    })
}

/// `Authorization: Bearer <access_token>` and the refresh body from a token-pair answer.
pub(super) fn bearer_tokens(body: &[u8]) -> Option<Auth> {
    #[derive(Deserialize)]
    struct Tokens {
        access_token: String,
        refresh_token: Option<String>,
    }
    let tokens: Tokens = serde_json::from_slice(body).ok()?;
    let authorization = HeaderValue::try_from(format!("Bearer {}", tokens.access_token)).ok()?;
    let refresh = tokens.refresh_token.map(|token| {
        let body = serde_json::json!({ "refresh_token": token });
        JsonBody::new(Bytes::from(body.to_string()))
    });
    Some(Auth::Bearer {
        authorization: AuthHeader {
            name: AUTHORIZATION,
            value: authorization,
        },
        refresh,
    })
}
