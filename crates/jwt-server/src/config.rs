//! The JWT server's validated settings: token lifetimes, issuer and audience, how revocation
//! works and where the access token travels.

use std::time::Duration;

/// What logout can take back. Every mode drops the refresh family on logout; they differ in what
/// happens to access tokens already issued, and in what each request costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Stateless: a request checks a signature and nothing else. A logged-out access token stays
    /// valid until it expires (at most `--access-ttl`).
    None,
    /// Logout stores the token's `jti` until the token would expire; every request looks its
    /// `jti` up. Keyed on `jti`, never on the token's bytes, so a re-encoded token is still caught.
    Denylist,
    /// Logout sets a per-user "not before" time; every request looks the user's cutoff up, and
    /// tokens issued before it are refused. Ends all the user's access tokens at once.
    Cutoff,
}

impl std::str::FromStr for Revocation {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "none" => Ok(Revocation::None),
            "denylist" => Ok(Revocation::Denylist),
            "cutoff" => Ok(Revocation::Cutoff),
            other => Err(format!(
                "`{other}` is not a revocation mode; use none, denylist or cutoff"
            )),
        }
    }
}

/// Where clients carry the access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `Authorization: Bearer <token>` only.
    Header,
    /// Also an `HttpOnly; SameSite=Lax` cookie set at login and accepted on requests.
    Cookie,
}

impl std::str::FromStr for Transport {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "header" => Ok(Transport::Header),
            "cookie" => Ok(Transport::Cookie),
            other => Err(format!(
                "`{other}` is not a token transport; use header or cookie"
            )),
        }
    }
}

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

    #[test]
    fn modes_parse_their_documented_names() {
        assert_eq!("denylist".parse(), Ok(Revocation::Denylist));
        assert_eq!("cookie".parse(), Ok(Transport::Cookie));
        assert!(
            "soon"
                .parse::<Revocation>()
                .unwrap_err()
                .contains("none, denylist or cutoff")
        );
    }
}
