//! Times as the HTTP answers show them.

use std::time::{Duration, UNIX_EPOCH};

/// Unix milliseconds as RFC 3339 with milliseconds, UTC (`2026-11-24T11:15:01.402Z`).
pub fn rfc3339_millis(millis: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(time).to_string()
}

/// A duration in whole milliseconds, the unit records and deadlines use.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(
            super::rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(super::rfc3339_millis(-5), "1970-01-01T00:00:00.000Z");
    }
}
