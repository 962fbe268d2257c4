//! The signing algorithms, as jsonwebtoken names them. [`Alg`] itself is the contract's.

pub use authbench_contract::Alg;
use jsonwebtoken::Algorithm;

/// jsonwebtoken's name for `alg`, for [`jsonwebtoken::Validation`]'s pinned list.
pub(crate) fn jsonwebtoken(alg: Alg) -> Algorithm {
    match alg {
        Alg::Hs256 => Algorithm::HS256,
        Alg::Rs256 => Algorithm::RS256,
        Alg::Es256 => Algorithm::ES256,
        Alg::EdDsa => Algorithm::EdDSA,
    }
}
