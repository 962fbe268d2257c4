//! Where a request carries its session id: the `sid` cookie (browsers) or an
//! `Authorization: Session <id>` header (API clients and load generators that don't keep cookies).
//! The header wins when both are present.

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

/// The cookie that carries the session id.
pub const COOKIE_NAME: &str = "sid";
const SCHEME: &str = "Session ";

/// The session id the request presents, if any. Header values that aren't visible ASCII are
/// ignored (the request then has no credentials and gets a 401).
pub fn presented_session_id(headers: &HeaderMap) -> Option<&str> {
    for value in headers.get_all(AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        if value.len() > SCHEME.len() && value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
            return Some(value[SCHEME.len()..].trim());
        }
    }
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, id)) = pair.trim().split_once('=')
                && name == COOKIE_NAME
            {
                return Some(id.trim_matches('"'));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
