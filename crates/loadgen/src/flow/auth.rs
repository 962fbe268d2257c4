//! A VU's credentials once logged in, and how they are learnt from the login (or refresh)
//! answer by the system's credential rules: authbench's own servers give a `sid` cookie or an
//! `access_token` (and maybe a `refresh_token`) in the JSON body; a mapped service whatever its
//! mapping names.

use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::client::{AuthHeader, KeptResponse, RequestBody};
use crate::scenario::{Presentation, Source};

use super::routes::FlowRoutes;

/// How the system under test wants credentials presented, as learnt from its login answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg(test)]
pub enum AuthStyle {
    /// A `Cookie` header.
    SessionCookie,
    /// `Authorization: Bearer ...`.
    Bearer,
}

/// The credential headers of the current login, built once per login (or refresh).
#[derive(Debug)]
pub(super) enum Auth {
    LoggedOut,
    LoggedIn {
        header: AuthHeader,
        /// The refresh request's body, when the answer carried a refresh token.
        refresh: Option<RequestBody>,
    },
}

impl Auth {
    /// `None` while logged out.
    #[cfg(test)]
    pub(super) fn style(&self) -> Option<AuthStyle> {
        match self {
            Auth::LoggedOut => None,
            Auth::LoggedIn { header, .. } if header.name == COOKIE => {
                Some(AuthStyle::SessionCookie)
            }
            Auth::LoggedIn { .. } => Some(AuthStyle::Bearer),
        }
    }

    /// The header an authenticated request carries; `None` while logged out.
    pub(super) fn header(&self) -> Option<&AuthHeader> {
        match self {
            Auth::LoggedOut => None,
            Auth::LoggedIn { header, .. } => Some(header),
        }
    }

    /// What the refresh request sends; `None` unless the server issued a refresh token.
    pub(super) fn refresh_body(&self) -> Option<&RequestBody> {
        match self {
            Auth::LoggedIn { refresh, .. } => refresh.as_ref(),
            Auth::LoggedOut => None,
        }
    }
}

/// The credentials an answer carries, by the first of the routes' credential rules whose source
/// it has; `None` when it has none.
pub(super) fn learn(routes: &FlowRoutes, answer: &KeptResponse) -> Option<Auth> {
    let mut body = Answer::new(answer);
    let header = routes.credential.iter().find_map(|rule| {
        let value = body.find(&rule.from)?;
        present(&rule.send, &value)
    })?;
    let refresh = body
        .find(&routes.refresh_token_from)
        .and_then(|token| routes.refresh_body(&token));
    Some(Auth::LoggedIn { header, refresh })
}

/// An answer, its JSON body parsed at most once and only when a rule looks into it.
struct Answer<'a> {
    headers: &'a HeaderMap,
    body: &'a [u8],
    json: Option<Option<serde_json::Value>>,
}

impl<'a> Answer<'a> {
    fn new(answer: &'a KeptResponse) -> Answer<'a> {
        Answer {
            headers: &answer.headers,
            body: &answer.body,
            json: None,
        }
    }

    /// The non-empty value `source` points at.
    fn find(&mut self, source: &Source) -> Option<String> {
        let value = match source {
            Source::Cookie(name) => cookie(self.headers, name),
            Source::Header(name) => self.headers.get(name)?.to_str().ok().map(str::to_owned),
            Source::Json(pointer) => {
                let body = self.body;
                let json = self
                    .json
                    .get_or_insert_with(|| serde_json::from_slice(body).ok());
                json.as_ref()?.pointer(pointer)?.as_str().map(str::to_owned)
            }
        }?;
        (!value.is_empty()).then_some(value)
    }
}

/// The value of cookie `name` among the answer's `Set-Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let pair = value.to_str().ok()?.split(';').next()?.trim();
        let (found, value) = pair.split_once('=')?;
        (found == name).then(|| value.to_owned())
    })
}

fn present(send: &Presentation, value: &str) -> Option<AuthHeader> {
    let (name, value) = match send {
        Presentation::Cookie(cookie) => (COOKIE, format!("{cookie}={value}")),
        Presentation::Bearer => (AUTHORIZATION, format!("Bearer {value}")),
        Presentation::Header(header) => (
            HeaderName::from_bytes(header.as_bytes()).ok()?,
            value.to_owned(),
        ),
    };
    Some(AuthHeader {
        name,
        value: HeaderValue::try_from(value).ok()?,
    })
}
