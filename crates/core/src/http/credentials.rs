//! Where requests carry credentials (an `Authorization` scheme, a cookie) and how cookies are
//! set and cleared: the same rules for session ids and access tokens.

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue};

/// The value after `Authorization: <scheme> ` (scheme matched case-insensitively), if any.
/// A credential that isn't UTF-8 is ignored: the request then presents nothing.
pub fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    headers.get_all(AUTHORIZATION).iter().find_map(|value| {
        // On bytes, and only the credential checked as text: this runs on every request, and
        // a token is a few hundred bytes.
        let bytes = value.as_bytes();
        let prefix = bytes.get(..scheme.len())?;
        let rest = bytes[scheme.len()..].strip_prefix(b" ")?;
        if !prefix.eq_ignore_ascii_case(scheme.as_bytes()) || rest.is_empty() {
            return None;
        }
        // Only spaces after the scheme is no credential at all.
        std::str::from_utf8(rest)
            .ok()
            .map(str::trim)
            .filter(|credential| !credential.is_empty())
    })
}

/// The value of cookie `name`, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(COOKIE).iter().find_map(|value| {
        value.to_str().ok()?.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.trim_matches('"'))
        })
    })
}

/// `name=value; HttpOnly; SameSite=Lax; Path=/; Max-Age=<max_age>[; Secure]`.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}");
    // Names and values here are base64url (and dots): always a valid header.
    HeaderValue::try_from(cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An expired cookie `name`, so browsers drop the one they hold.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(http::HeaderName, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn a_scheme_followed_only_by_spaces_presents_nothing() {
        // Found by the credentials fuzz target.
        let map = headers(&[(AUTHORIZATION, b"Session    ")]);
        assert_eq!(authorization(&map, "Session"), None);
    }

    #[test]
    fn finds_a_cookie_among_others_and_nothing_for_lookalikes() {
        let map = headers(&[(COOKIE, b"theme=dark; sid=abc; lang=en")]);
        assert_eq!(cookie(&map, "sid"), Some("abc"));
        assert_eq!(
            cookie(&headers(&[(COOKIE, b"xsid=1; sidx=2")]), "sid"),
            None
        );
    }

    #[test]
    fn authorization_scheme_is_case_insensitive_and_exact() {
        let map = headers(&[(AUTHORIZATION, b"bearer tok")]);
        assert_eq!(authorization(&map, "Bearer"), Some("tok"));
        assert_eq!(authorization(&map, "Session"), None);
        assert_eq!(
            authorization(&headers(&[(AUTHORIZATION, b"Bearertok")]), "Bearer"),
            None
        );
        assert_eq!(
            authorization(&headers(&[(AUTHORIZATION, b"Bearer \xff")]), "Bearer"),
            None
        );
    }

    #[test]
    fn cookies_carry_every_attribute() {
        assert_eq!(
            set_cookie("sid", "x", 60, true),
            "sid=x; HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure"
        );
        assert_eq!(
            clear_cookie("sid", false),
            "sid=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
