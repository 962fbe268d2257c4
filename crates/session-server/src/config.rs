//! The session server's validated settings: how long sessions live and when reads write back.

use std::num::NonZeroU32;
use std::time::Duration;

pub use authbench_contract::Touch;

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
    pub touch: Touch,
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
        touch: Option<Touch>,
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
            (Some(_), None) => Touch::HalfTtl,
            (Some(_), Some(Touch::Never)) => return Err(ConfigError::IdleWithoutTouch),
            (None, Some(Touch::Always)) => {
                return Err(ConfigError::TouchWithoutIdle("always"));
            }
            (None, Some(Touch::HalfTtl)) => {
                return Err(ConfigError::TouchWithoutIdle("half-ttl"));
            }
            (_, Some(policy)) => policy,
            (None, None) => Touch::Never,
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
            touch: Touch::Never,
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
        assert_eq!(config.touch, Touch::HalfTtl);
        assert_eq!(
            Config::new(HOUR, None, None, None, true).unwrap().touch,
            Touch::Never
        );
    }

    #[test]
    fn contradictory_expiry_settings_are_refused() {
        assert_eq!(
            Config::new(HOUR, None, Some(Touch::Always), None, true),
            Err(ConfigError::TouchWithoutIdle("always"))
        );
        assert_eq!(
            Config::new(HOUR, Some(MIN), Some(Touch::Never), None, true),
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
}
