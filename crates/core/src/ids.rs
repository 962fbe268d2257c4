//! Unguessable ids: session ids, refresh-token parts, `jti`s.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The OS random number generator failed: the machine can't do crypto at all.
#[derive(Debug, thiserror::Error)]
#[error("the OS random number generator failed: {0}")]
pub struct RandomError(String);

/// `N` bytes from the OS CSPRNG, base64url without padding.
pub fn random_base64url<const N: usize>() -> Result<String, RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_encoded_length_of_their_bytes_and_differ() {
        let a = super::random_base64url::<16>().unwrap();
        let b = super::random_base64url::<16>().unwrap();
        assert_eq!(
            (a.len(), super::random_base64url::<32>().unwrap().len()),
            (22, 43)
        );
        assert_ne!(a, b);
    }
}
