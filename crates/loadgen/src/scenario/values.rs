//! Single values as a scenario file writes them: durations, error rates, names and URLs. Each
//! parser returns the reason it refused a value, phrased to follow the key in a message.

use std::time::Duration;

use super::file::ErrorRate;
use authbench_contract::{StoreKind, StoreUrl, redact};

use super::model::StoreSpec;

/// `"250ms"`, `"5s"`, `"1m 30s"`: humantime's format.
pub fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|reason| {
        format!(
            "{text:?} is not a duration ({reason}); write a number and a unit, \
             e.g. \"250ms\", \"5s\" or \"2m\""
        )
    })
}

/// A share of requests, in [0, 1], written as `--slo` writes it: `"0.1%"`
/// ([`authbench_report::slo::error_rate`]). A bare number is refused, as it is there: `1` could
/// mean 1% or 100%.
pub fn error_rate(rate: &ErrorRate) -> Result<f64, String> {
    const ALLOWED: &str = "write a percentage from \"0%\" to \"100%\", e.g. \"0.1%\"";
    match rate {
        ErrorRate::Fraction(number) => Err(format!(
            "{number} is a bare number, which could mean {number}% or {}%; {ALLOWED}",
            number * 100.0
        )),
        ErrorRate::Text(text) => match authbench_report::slo::error_rate(text) {
            Some(fraction) => Ok(fraction),
            None if !text.trim().ends_with('%') => Err(format!("{text:?} has no `%`; {ALLOWED}")),
            None => Err(format!(
                "{text:?} is not a percentage from 0% to 100%; {ALLOWED}"
            )),
        },
    }
}

/// A latency target, written as `--slo` writes it ([`authbench_report::slo::latency`]).
pub fn latency(text: &str) -> Result<Duration, String> {
    authbench_report::slo::latency(text).ok_or_else(|| {
        format!(
            "{text:?} is not a latency of at least 1us; write a number with us, µs, ms or s, \
             e.g. \"50ms\""
        )
    })
}

/// Names end up in file names and report keys, so they stay to a safe alphabet.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub const NAME_RULE: &str = "use letters, digits, `-` and `_` only";

pub const STORE_FORMS: &str = "\"memory\", \"sqlite\" (a fresh file in the run's folder), a \
                               redis:// URL (rediss://, redis+unix://, unix://), a \
                               redis+cluster:// URL, a postgres:// or postgresql:// URL, or the name of one of the scenario's \
                               [[stores]]";

/// A store as a spawned server's `--store` takes it (after `${VAR}` expansion). The URL is
/// classified by the contract's [`StoreUrl`]; `sqlite` alone means a fresh file, and an SQLite
/// URL is refused because the run owns its SQLite files.
pub fn store(text: &str) -> Result<StoreSpec, String> {
    if text == "sqlite" {
        return Ok(StoreSpec::Sqlite);
    }
    let refused = || format!("{} is not a store; allowed: {STORE_FORMS}", shown(text));
    match text.parse::<StoreUrl>().map_err(|_| refused())? {
        StoreUrl::Memory if text == "memory" => Ok(StoreSpec::Memory),
        StoreUrl::Redis(url) => Ok(StoreSpec::Redis { url }),
        StoreUrl::RedisCluster(url) => Ok(StoreSpec::RedisCluster { url }),
        StoreUrl::Postgres(url) => Ok(StoreSpec::Postgres { url }),
        StoreUrl::Memory | StoreUrl::Sqlite(_) => Err(refused()),
    }
}

/// A value for a message: quoted, any password redacted.
fn shown(text: &str) -> String {
    format!("{:?}", redact(text))
}

/// main_DB: a fresh SQLite file, or a Postgres database.
pub fn is_postgres_url(text: &str) -> bool {
    text.parse::<StoreUrl>()
        .is_ok_and(|url| url.kind() == StoreKind::Postgres)
}

/// `http://host:port`, as the load generator's plain HTTP/1.1 client can reach it. A trailing
/// `/` is dropped so that paths can be appended to the result.
pub fn http_base_url(text: &str) -> Result<String, String> {
    const FORM: &str = "write http://HOST:PORT, e.g. \"http://10.0.0.5:8080\"";
    if text.starts_with("https://") {
        return Err(format!(
            "{text:?} uses https, which the load generator does not speak (it drives plain \
             HTTP/1.1); {FORM}"
        ));
    }
    let Some(authority) = text.strip_prefix("http://") else {
        return Err(format!("{text:?} is not an http:// URL; {FORM}"));
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    if authority.contains(['/', '?', '#']) {
        return Err(format!("{text:?} has a path; {FORM} with no path"));
    }
    let port = authority
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(port))) if !host.is_empty() && port != 0 => {
            Ok(format!("http://{authority}"))
        }
        _ => Err(format!("{text:?} has no host and port; {FORM}")),
    }
}

/// Any http:// URL (a metrics endpoint may have a path).
pub fn http_url(text: &str) -> Result<String, String> {
    match text.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(text.to_owned()),
        _ => Err(format!(
            "{text:?} is not an http:// URL; write e.g. \"http://10.0.0.5:8080/metrics\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_humantime_units() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn duration_without_unit_is_refused_with_an_example() {
        let message = duration("5").err().unwrap_or_default();
        assert!(message.contains("\"5\" is not a duration"), "{message}");
        assert!(message.contains("\"250ms\""), "{message}");
    }

    #[test]
    fn error_rate_reads_percentages_as_the_slo_flag_does() {
        assert_eq!(error_rate(&ErrorRate::Text("0.1%".into())), Ok(0.001));
        assert_eq!(error_rate(&ErrorRate::Text("100%".into())), Ok(1.0));
        assert_eq!(error_rate(&ErrorRate::Text(" 5 %".into())), Ok(0.05));
    }

    #[test]
    fn error_rate_outside_zero_to_a_hundred_percent_or_bare_is_refused() {
        for bad in [
            ErrorRate::Text("150%".into()),
            ErrorRate::Text("-1%".into()),
        ] {
            let message = error_rate(&bad).err().unwrap_or_default();
            assert!(
                message.contains("is not a percentage from 0% to 100%"),
                "{message}"
            );
        }
        let message = error_rate(&ErrorRate::Fraction(1.0))
            .err()
            .unwrap_or_default();
        assert_eq!(
            message,
            "1 is a bare number, which could mean 1% or 100%; write a percentage from \"0%\" to \
             \"100%\", e.g. \"0.1%\""
        );
    }

    #[test]
    fn error_rate_text_needs_a_percent_sign() {
        let message = error_rate(&ErrorRate::Text("0.1".into()))
            .err()
            .unwrap_or_default();
        assert!(message.contains("has no `%`"), "{message}");
        let message = error_rate(&ErrorRate::Text("x%".into()))
            .err()
            .unwrap_or_default();
        assert!(message.contains("not a percentage"), "{message}");
    }

    #[test]
    fn names_allow_letters_digits_dash_and_underscore() {
        assert!(is_name("jwt-HS256_2"));
        assert!(!is_name(""));
        assert!(!is_name("jwt hs256"));
        assert!(!is_name("a/b"));
    }

    #[test]
    fn stores_are_keywords_or_urls_with_known_schemes() {
        assert_eq!(store("memory"), Ok(StoreSpec::Memory));
        assert_eq!(store("sqlite"), Ok(StoreSpec::Sqlite));
        assert_eq!(
            store("rediss://h:6380").map(|s| s.kind()),
            Ok(StoreKind::Redis)
        );
        assert_eq!(
            store("redis+unix:///run/redis.sock").map(|s| s.kind()),
            Ok(StoreKind::Redis)
        );
        assert_eq!(
            store("postgresql://u@h/db").map(|s| s.kind()),
            Ok(StoreKind::Postgres)
        );
        assert!(store("sqlite://x.db").is_err());
        assert!(store("redis://").is_err());
        assert!(store("mysql://h/db").is_err());
        assert!(store("Memory").is_err());
    }

    #[test]
    fn base_urls_are_plain_http_host_and_port() {
        assert_eq!(
            http_base_url("http://10.0.0.5:8080/"),
            Ok("http://10.0.0.5:8080".into())
        );
        assert_eq!(
            http_base_url("http://[::1]:8080"),
            Ok("http://[::1]:8080".into())
        );
        for bad in [
            "https://h:1",
            "h:8080",
            "http://h",
            "http://h:0",
            "http://:80",
            "http://h:80/api",
        ] {
            assert!(http_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_urls_may_have_a_path() {
        assert!(http_url("http://h:9090/metrics").is_ok());
        assert!(http_url("https://h/metrics").is_err());
        assert!(http_url("http://").is_err());
    }
}
