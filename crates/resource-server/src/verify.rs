//! How a request is authenticated here, by one of three styles, each asking for what its style
//! needs and no more: a JWT checked with the issuer's published keys (nothing per request
//! beyond the CPU), a session read from the store the issuer writes (a store read per request),
//! or any token the issuer is asked about (a call per request, or fewer with the cache).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use authbench_contract::Alg;
use authbench_core::http::ApiError;
use authbench_core::http::credentials::authorization;
use authbench_jwt_server::token::{
    TokenError, check_header, decode_checked, split_token, validation,
};
use authbench_session_server::credentials::presented_session_id;
use authbench_session_server::session_id;
use authbench_store::Store;
use http::{HeaderMap, StatusCode};
use jsonwebtoken::Validation;

use crate::introspect::Introspector;
use crate::jwks::{Jwks, Missing};

/// What a JWT must say about itself besides its signature.
#[derive(Clone, Debug)]
pub struct Expected {
    pub issuer: String,
    pub audience: String,
    pub leeway: Duration,
}

/// The style this server authenticates requests by.
#[derive(Debug)]
pub enum Verifier {
    Jwks(JwtVerifier),
    Store(Store),
    Introspect(Introspector),
}

impl Verifier {
    /// The style, as `--verify` names it.
    pub fn style(&self) -> authbench_contract::Verify {
        match self {
            Verifier::Jwks(_) => authbench_contract::Verify::Jwks,
            Verifier::Store(_) => authbench_contract::Verify::Store,
            Verifier::Introspect(_) => authbench_contract::Verify::Introspect,
        }
    }

    /// The user a request is authenticated as, or 401 (503 when what the style needs is down).
    pub async fn user(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        match self {
            Verifier::Jwks(jwt) => {
                let token = authorization(headers, "Bearer").ok_or_else(ApiError::unauthorized)?;
                jwt.verify(token).await
            }
            Verifier::Store(store) => {
                let id = presented_session_id(headers).ok_or_else(ApiError::unauthorized)?;
                if !session_id::is_well_formed(id) {
                    return Err(ApiError::unauthorized());
                }
                let record = store.load(id).await?.ok_or_else(ApiError::unauthorized)?;
                Ok(record.user.to_string())
            }
            Verifier::Introspect(introspector) => {
                let token = authorization(headers, "Bearer")
                    .or_else(|| presented_session_id(headers))
                    .ok_or_else(ApiError::unauthorized)?;
                introspector.user_of(token).await
            }
        }
    }
}

/// JWTs checked with the issuer's key set: the same header and claim checks as the issuer's own
/// (shared code), a key from the set for the token's `kid`, and the algorithm pinned.
pub struct JwtVerifier {
    jwks: Arc<Jwks>,
    validations: HashMap<Alg, Validation>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(jwks: Arc<Jwks>, expected: &Expected) -> JwtVerifier {
        let validations = jwks
            .pinned()
            .iter()
            .map(|&alg| {
                let checks = validation(alg, &expected.issuer, &expected.audience, expected.leeway);
                (alg, checks)
            })
            .collect();
        JwtVerifier { jwks, validations }
    }

    pub fn jwks(&self) -> &Arc<Jwks> {
        &self.jwks
    }

    /// The token's subject once every check has passed.
    pub async fn verify(&self, token: &str) -> Result<String, ApiError> {
        self.claims(token).await.map_err(|error| match error {
            Refused::Token(error) => {
                tracing::debug!(%error, "access token refused");
                ApiError::unauthorized()
            }
            Refused::KeysExpired => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "issuer_keys_expired",
                "the issuer's keys are older than allowed and cannot be fetched; retry later",
            ),
        })
    }

    /// The subject, or why the token was refused.
    pub async fn claims(&self, token: &str) -> Result<String, Refused> {
        let header = split_token(token)?;
        let (alg, kid) = check_header(header, self.jwks.pinned())?;
        let validation = self
            .validations
            .get(&alg)
            .ok_or(TokenError::WrongAlgorithm)?;
        let checked = self
            .jwks
            .with_key(&kid, |key| {
                // The key's own algorithm must be the token's: a key is for one algorithm only.
                if key.alg != alg {
                    return Err(TokenError::WrongAlgorithm);
                }
                decode_checked(token, &key.decoding, validation)
            })
            .await
            .map_err(|missing| match missing {
                Missing::UnknownKid => Refused::Token(TokenError::UnknownKid),
                Missing::Expired => Refused::KeysExpired,
            })?;
        Ok(checked?.sub)
    }
}

/// Why a JWT was not accepted.
#[derive(Debug)]
pub enum Refused {
    Token(TokenError),
    /// The key set is past its longest staleness.
    KeysExpired,
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Refused {
        Refused::Token(error)
    }
}
