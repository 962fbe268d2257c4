//! The session server's validated settings: how long sessions live and when reads write back.

use std::num::NonZeroU32;
use std::time::Duration;

/// When an authenticated read also writes the session back to the store with a later deadline.
/// It only matters with a sliding idle timeout, and it decides how many writes the store sees:
/// `always` is one write per request, `half-ttl` about one per half idle window per session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TouchPolicy {
    /// Reads never write; the session lives until its absolute TTL.
    Never,
    /// Every authenticated request rewrites the idle deadline.
    Always,
    /// Rewrites only once less than half of the idle window is left (what express-session's
    /// `rolling` and many frameworks do to save writes).
    HalfTtl,
}

impl std::str::FromStr for TouchPolicy {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "never" => Ok(TouchPolicy::Never),
            "always" => Ok(TouchPolicy::Always),
            "half-ttl" => Ok(TouchPolicy::HalfTtl),
            other => Err(format!(
                "`{other}` is not a touch policy; use never, always or half-ttl"
            )),
        }
    }
}

/// Why the settings were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--ttl must be at least one second")]
    TtlTooShort,
    #[error("--idle-timeout ({idle:?}) must be shorter than --ttl ({ttl:?})")]
    IdleNotBelowTtl { idle: Duration, ttl: Duration },
    #[error("--idle-timeout must be at least one second")]
    IdleTooShort,
    #[error(
        "--touch {0} needs --idle-timeout: without a sliding deadline there is nothing to write back"
    )]
    TouchWithoutIdle(&'static str),
    #[error(
        "--idle-timeout needs --touch always or half-ttl: with --touch never, sessions would end an idle timeout after login however active they are"
    )]
    IdleWithoutTouch,
}

/// Session lifetime and cookie settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Absolute lifetime from login (OWASP: 4–8 h).
    pub ttl: Duration,
    /// Sliding idle timeout, if any (OWASP: 2–5 min for high-value apps, 15–30 min otherwise).
    pub idle_timeout: Option<Duration>,
    pub touch: TouchPolicy,
    /// A login beyond this many live sessions for one user evicts the user's oldest session.
    pub max_sessions_per_user: Option<NonZeroU32>,
    /// Adds `Secure` to the cookie. Off only for plain-HTTP local runs.
    pub secure_cookie: bool,
}

impl Config {
    /// Validates the settings. `touch = None` means "the default": `half-ttl` with an idle timeout,
    /// `never` without.
    pub fn new(
        ttl: Duration,
        idle_timeout: Option<Duration>,
        touch: Option<TouchPolicy>,
        max_sessions_per_user: Option<NonZeroU32>,
        secure_cookie: bool,
    ) -> Result<Config, ConfigError> {
        if ttl < Duration::from_secs(1) {
            return Err(ConfigError::TtlTooShort);
        }
        let touch = match (idle_timeout, touch) {
            (Some(idle), _) if idle < Duration::from_secs(1) => {
                return Err(ConfigError::IdleTooShort);
            }
            (Some(idle), _) if idle >= ttl => {
                return Err(ConfigError::IdleNotBelowTtl { idle, ttl });
            }
            (Some(_), None) => TouchPolicy::HalfTtl,
            (Some(_), Some(TouchPolicy::Never)) => return Err(ConfigError::IdleWithoutTouch),
            (None, Some(TouchPolicy::Always)) => {
                return Err(ConfigError::TouchWithoutIdle("always"));
            }
            (None, Some(TouchPolicy::HalfTtl)) => {
                return Err(ConfigError::TouchWithoutIdle("half-ttl"));
            }
            (_, Some(policy)) => policy,
            (None, None) => TouchPolicy::Never,
        };
        Ok(Config {
            ttl,
            idle_timeout,
            touch,
            max_sessions_per_user,
            secure_cookie,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ttl: Duration::from_secs(8 * 3600),
            idle_timeout: None,
            touch: TouchPolicy::Never,
            max_sessions_per_user: None,
            secure_cookie: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn idle_timeout_defaults_to_half_ttl_touch() {
        let config = Config::new(HOUR, Some(MIN), None, None, true).unwrap();
        assert_eq!(config.touch, TouchPolicy::HalfTtl);
        assert_eq!(
            Config::new(HOUR, None, None, None, true).unwrap().touch,
            TouchPolicy::Never
        );
    }

    #[test]
    fn contradictory_expiry_settings_are_refused() {
        assert_eq!(
            Config::new(HOUR, None, Some(TouchPolicy::Always), None, true),
            Err(ConfigError::TouchWithoutIdle("always"))
        );
        assert_eq!(
            Config::new(HOUR, Some(MIN), Some(TouchPolicy::Never), None, true),
            Err(ConfigError::IdleWithoutTouch)
        );
        assert_eq!(
            Config::new(MIN, Some(HOUR), None, None, true),
            Err(ConfigError::IdleNotBelowTtl {
                idle: HOUR,
                ttl: MIN
            })
        );
        assert_eq!(
            Config::new(Duration::ZERO, None, None, None, true),
            Err(ConfigError::TtlTooShort)
        );
    }

    #[test]
    fn touch_policy_parses_its_documented_names() {
        assert_eq!("half-ttl".parse(), Ok(TouchPolicy::HalfTtl));
        assert!(
            "sometimes"
                .parse::<TouchPolicy>()
                .unwrap_err()
                .contains("never, always or half-ttl")
        );
    }
}
