//! The token server's validated settings: token lifetimes, issuer and audience, how revocation
//! works, what an access token is and where it travels.

use std::time::Duration;

pub use authbench_contract::{AccessToken, Revocation, Transport};

/// Why the settings were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--access-ttl must be at least one second")]
    AccessTtlTooShort,
    #[error("--refresh-ttl ({refresh:?}) must be longer than --access-ttl ({access:?})")]
    RefreshNotAboveAccess { refresh: Duration, access: Duration },
    #[error("--issuer must not be empty")]
    EmptyIssuer,
    #[error("--audience must not be empty")]
    EmptyAudience,
    #[error("--leeway ({0:?}) must be under a minute: clock skew, not a grace period")]
    LeewayTooLong(Duration),
    #[error(
        "--revocation {0} is for JWTs; an opaque access token is revoked by deleting it, so give --revocation none"
    )]
    RevocationForOpaque(Revocation),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub access_ttl: Duration,
    /// Lifetime of a refresh family from login; rotation does not extend it.
    pub refresh_ttl: Duration,
    pub issuer: String,
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    pub revocation: Revocation,
    pub transport: Transport,
    /// Adds `Secure` to the access-token cookie (with `--transport cookie`).
    pub secure_cookie: bool,
    /// A signed JWT, or an opaque token kept in the store.
    pub access_token: AccessToken,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(24 * 3600),
            issuer: "authbench".into(),
            audience: "authbench-api".into(),
            leeway: Duration::from_secs(5),
            revocation: Revocation::None,
            transport: Transport::Header,
            secure_cookie: true,
            access_token: AccessToken::Jwt,
        }
    }
}

impl Config {
    /// Checks the settings hang together.
    pub fn validated(self) -> Result<Config, ConfigError> {
        if self.access_ttl < Duration::from_secs(1) {
            return Err(ConfigError::AccessTtlTooShort);
        }
        if self.refresh_ttl <= self.access_ttl {
            return Err(ConfigError::RefreshNotAboveAccess {
                refresh: self.refresh_ttl,
                access: self.access_ttl,
            });
        }
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::EmptyAudience);
        }
        if self.leeway >= Duration::from_secs(60) {
            return Err(ConfigError::LeewayTooLong(self.leeway));
        }
        if self.access_token == AccessToken::Opaque && self.revocation != Revocation::None {
            return Err(ConfigError::RevocationForOpaque(self.revocation));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validated(), Ok(Config::default()));
    }

    #[test]
    fn inconsistent_lifetimes_are_refused() {
        let config = Config {
            refresh_ttl: Duration::from_secs(60),
            ..Config::default()
        };
        assert!(matches!(
            config.validated(),
            Err(ConfigError::RefreshNotAboveAccess { .. })
        ));
        let config = Config {
            access_ttl: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(config.validated(), Err(ConfigError::AccessTtlTooShort));
        let config = Config {
            leeway: Duration::from_secs(600),
            ..Config::default()
        };
        assert!(matches!(
            config.validated(),
            Err(ConfigError::LeewayTooLong(_))
        ));
    }
}
