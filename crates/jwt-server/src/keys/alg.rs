//! The four signing algorithms and their names.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

/// The signing algorithm. The server's configuration picks it; a token's `alg` header never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    Hs256,
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name, as it appears in the `alg` header and the JWKS.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Whether tokens are verified with a public key (and the server publishes a JWKS).
    pub fn is_asymmetric(self) -> bool {
        self != Alg::Hs256
    }

    pub(crate) fn jsonwebtoken(self) -> Algorithm {
        match self {
            Alg::Hs256 => Algorithm::HS256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Es256 => Algorithm::ES256,
            Alg::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An algorithm name that is none of the four.
#[derive(Debug, thiserror::Error)]
#[error("unknown algorithm {0:?}: expected one of HS256, RS256, ES256, EdDSA")]
pub struct UnknownAlg(String);

impl FromStr for Alg {
    type Err = UnknownAlg;

    /// Case-insensitive, as a convenience for flags; tokens are held to the exact spelling.
    fn from_str(name: &str) -> Result<Alg, UnknownAlg> {
        Alg::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownAlg(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_parse_case_insensitively_and_display_canonically() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().to_lowercase().parse::<Alg>().unwrap(), alg);
            assert_eq!(alg.to_string().parse::<Alg>().unwrap(), alg);
        }
        let error = "none".parse::<Alg>().unwrap_err().to_string();
        assert!(error.contains("HS256, RS256, ES256, EdDSA"), "{error}");
    }
}
