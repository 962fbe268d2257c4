//! Where a request's credentials are found: `Authorization: <scheme> <credential>` and the
//! `Cookie` header (`authbench_core::http::credentials`), and the session id the session server
//! takes from them (`presented_session_id`, `is_well_formed`).
//!
//! The input is split at its first 0xFF bytes into Authorization values and Cookie values.
//!
//! Property: what is found is a part of one of the request's own header values (the credential
//! after the scheme, a cookie's value), never something pieced together; a session id accepted
//! as well formed is 22 base64url characters.
#![no_main]

use authbench_core::http::credentials::{authorization, cookie};
use authbench_session_server::credentials::presented_session_id;
use authbench_session_server::session_id::{ID_LEN, is_well_formed};
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for (index, value) in data.split(|&b| b == 0xFF).enumerate().take(6) {
        let name: HeaderName = if index % 2 == 0 {
            AUTHORIZATION
        } else {
            COOKIE
        };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    }
    let values = |name: &HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    let is_part_of =
        |found: &str, name: &HeaderName| values(name).iter().any(|v| v.contains(found));

    for scheme in ["Bearer", "Session"] {
        if let Some(found) = authorization(&headers, scheme) {
            assert!(!found.is_empty(), "an empty credential was found");
            assert!(is_part_of(found, &AUTHORIZATION));
        }
    }
    if let Some(found) = cookie(&headers, "sid") {
        assert!(is_part_of(found, &COOKIE));
    }
    if let Some(id) = presented_session_id(&headers) {
        assert!(is_part_of(id, &AUTHORIZATION) || is_part_of(id, &COOKIE));
        if is_well_formed(id) {
            assert_eq!(id.len(), ID_LEN);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }
});
