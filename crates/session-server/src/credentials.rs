//! Where a request carries its session id: the `sid` cookie (browsers) or an
//! `Authorization: Session <id>` header (API clients and load generators that don't keep cookies).
//! The header wins when both are present.

use authbench_core::http::credentials::{authorization, cookie};
use http::HeaderMap;

/// The cookie that carries the session id.
pub const COOKIE_NAME: &str = "sid";

/// The session id the request presents, if any. Header values that aren't visible ASCII are
/// ignored (the request then has no credentials and gets a 401).
pub fn presented_session_id(headers: &HeaderMap) -> Option<&str> {
    authorization(headers, "Session").or_else(|| cookie(headers, COOKIE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{AUTHORIZATION, COOKIE};

    fn headers(pairs: &[(http::HeaderName, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn finds_the_id_in_a_cookie_among_others() {
        let map = headers(&[(COOKIE, b"theme=dark; sid=abc; lang=en")]);
        assert_eq!(presented_session_id(&map), Some("abc"));
    }

    #[test]
    fn authorization_header_wins_over_cookie() {
        let map = headers(&[
            (COOKIE, b"sid=from-cookie"),
            (AUTHORIZATION, b"session from-header"),
        ]);
        assert_eq!(presented_session_id(&map), Some("from-header"));
    }

    #[test]
    fn other_schemes_and_non_ascii_values_present_nothing() {
        let map = headers(&[(AUTHORIZATION, b"Bearer abc"), (COOKIE, b"sid=\xff\xfe")]);
        assert_eq!(presented_session_id(&map), None);
        assert_eq!(
            presented_session_id(&headers(&[(COOKIE, b"xsid=1; sidx=2")])),
            None
        );
    }
}
