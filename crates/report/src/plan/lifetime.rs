//! How long what a login leaves in the store lives: the plan's lifetime, else the run's server
//! setting, else the server's default; and reading the durations the run recorded.

use std::time::Duration;

use crate::format::trim_number;
use crate::model::{SystemInfo, SystemKind};

use super::PlanInput;

/// The session server's default lifetime (`serve session --ttl`).
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The JWT server's default refresh-family lifetime (`serve jwt --refresh-ttl`).
const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(24 * 3600);
/// The JWT server's default access-token lifetime (`serve jwt --access-ttl`).
pub(super) const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// The lifetime of what a login leaves in the store, and where it came from.
pub(super) fn lifetime(system: &SystemInfo, input: &PlanInput) -> (Duration, String) {
    let jwt = system.kind == SystemKind::Jwt;
    let (setting, default, server) = if jwt {
        (
            "refresh-ttl",
            DEFAULT_REFRESH_TTL,
            "the JWT server's default refresh-family",
        )
    } else {
        (
            "ttl",
            DEFAULT_SESSION_TTL,
            "the session server's default session",
        )
    };
    if let Some(ttl) = input.ttl {
        return (
            ttl,
            format!("lifetime {} as given for the plan", format_lifetime(ttl)),
        );
    }
    if let Some(ttl) = setting_duration(system, setting) {
        let text = format!("lifetime {} from settings.{setting}", format_lifetime(ttl));
        return (ttl, text);
    }
    let unknown = if system.kind == SystemKind::External {
        " (an external server's own lifetime is unknown: give one)"
    } else {
        ""
    };
    let text = format!(
        "lifetime {}: {server} lifetime, since the run set none{unknown}",
        format_lifetime(default)
    );
    (default, text)
}

pub(super) fn setting_duration(system: &SystemInfo, key: &str) -> Option<Duration> {
    system
        .settings
        .get(key)
        .and_then(|text| parse_lifetime(text))
}

/// Reads the run's recorded server flags, written as humantime does (`8h`, `1h 30m`, `15m`).
fn parse_lifetime(text: &str) -> Option<Duration> {
    let mut total = 0.0;
    for part in text.split_whitespace() {
        let split = part.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (number, unit) = part.split_at(split);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * seconds;
    }
    (total > 0.0).then(|| Duration::from_secs_f64(total))
}

pub(super) fn format_lifetime(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 3600.0 && seconds % 3600.0 == 0.0 {
        format!("{}h", seconds / 3600.0)
    } else if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{}m", seconds / 60.0)
    } else {
        format!("{}s", trim_number(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_server_durations_are_read_as_humantime_wrote_them() {
        assert_eq!(parse_lifetime("8h"), Some(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_lifetime("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_lifetime("1day 2h"),
            Some(Duration::from_secs(26 * 3600))
        );
        assert_eq!(parse_lifetime("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_lifetime("soon"), None);
        assert_eq!(parse_lifetime(""), None);
    }

    #[test]
    fn lifetimes_print_in_the_largest_whole_unit() {
        assert_eq!(format_lifetime(Duration::from_secs(8 * 3600)), "8h");
        assert_eq!(format_lifetime(Duration::from_secs(15 * 60)), "15m");
        assert_eq!(format_lifetime(Duration::from_secs(90)), "90s");
    }
}
