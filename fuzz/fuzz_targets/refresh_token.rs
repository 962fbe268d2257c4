//! Refresh tokens as presented (`refresh::split`): `family.secret`, both base64url.
//!
//! Property: a token that splits is exactly `family.secret`, each part of the length and
//! alphabet the server mints, so anything else is refused before the store is asked.
#![no_main]

use authbench_jwt_server::refresh::{FAMILY_LEN, SECRET_LEN, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Some((family, secret)) = split(token) else {
        return;
    };
    assert_eq!(format!("{family}.{secret}"), token);
    assert_eq!(family.len(), FAMILY_LEN);
    assert_eq!(secret.len(), SECRET_LEN);
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    assert!(
        base64url(family) && base64url(secret),
        "accepted a non-base64url token"
    );
});
