//! Session ids: 128 bits from the OS CSPRNG, base64url without padding (22 characters).

use authbench_core::ids::{RandomError, random_base64url};

/// Bytes of randomness in an id (OWASP asks for at least 64 bits of entropy).
const ID_BYTES: usize = 16;
/// Characters in an encoded id.
pub const ID_LEN: usize = 22;

/// A fresh, unguessable session id.
pub fn generate() -> Result<String, RandomError> {
    random_base64url::<ID_BYTES>()
}

/// Whether `candidate` could be an id this server issued. Anything else is refused before the
/// store is asked, so garbage (huge values, SQL, control bytes) never reaches it.
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.len() == ID_LEN && candidate.bytes().all(|b| BASE64URL[usize::from(b)])
}

/// Which bytes are base64url characters: one table lookup a byte, on every request.
const BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

/// The first characters of an id, enough to tell a user's sessions apart in `GET /sessions`
/// without handing out a usable id.
pub fn prefix(id: &str) -> &str {
    id.get(..6).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_22_url_safe_characters_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| generate().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| is_well_formed(id)));
    }

    #[test]
    fn garbage_is_not_well_formed() {
        for bad in [
            "",
            "short",
            "' OR 1=1 --aaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaa/",
            &"a".repeat(10_000),
        ] {
            assert!(!is_well_formed(bad), "{bad:.40}");
        }
    }
}
