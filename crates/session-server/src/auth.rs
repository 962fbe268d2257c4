//! Turning a request into its session: find the id, look it up, and (per the touch policy) write
//! the sliding deadline back. This is the per-request session_DB load the benchmark measures.

use authbench_core::http::ApiError;
use authbench_core::time::millis;
use authbench_store::{Record, UnixMillis, now_millis};
use http::HeaderMap;

use crate::config::{Config, Touch};
use crate::credentials::presented_session_id;
use crate::session_id;
use crate::state::AppState;

/// The session a request is authenticated as.
#[derive(Debug)]
pub struct Session {
    pub record: Record,
}

/// The live session the request presents, or 401. A malformed id is refused without asking the
/// store.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let id = presented_session_id(headers).ok_or_else(ApiError::unauthorized)?;
    session_of(state, id).await
}

/// The live session `id` names (written back per the touch policy), or 401.
pub async fn session_of(state: &AppState, id: &str) -> Result<Session, ApiError> {
    if !session_id::is_well_formed(id) {
        return Err(ApiError::unauthorized());
    }
    let store = state.store();
    let mut record = match store.load(id).await {
        Ok(Some(record)) => record,
        Ok(None) => return Err(ApiError::unauthorized()),
        Err(error) => return Err(error.into()),
    };
    if let Some(expires) = next_deadline(state.config(), &record, now_millis) {
        record.expires = expires;
        // A touch that finds the session gone (it expired or was logged out in between) leaves the
        // request authenticated by the read that just succeeded. Boxed: only an idle-timeout
        // policy writes, and inline the write's state would enlarge every request's future.
        Box::pin(store.touch(&record)).await?;
    }
    Ok(Session { record })
}

/// The deadline to write back now, if the touch policy asks for a write. The clock is read only
/// with an idle timeout, the one case that needs it.
fn next_deadline(
    config: &Config,
    record: &Record,
    clock: impl FnOnce() -> UnixMillis,
) -> Option<UnixMillis> {
    let idle = config.idle_timeout?;
    let now = clock();
    let absolute = record.created.saturating_add(millis(config.ttl));
    let slid = now.saturating_add(millis(idle)).min(absolute);
    if slid <= record.expires {
        return None;
    }
    match config.touch {
        Touch::Never => None,
        Touch::Always => Some(slid),
        Touch::HalfTtl => (record.expires - now < millis(idle) / 2).then_some(slid),
    }
}

/// The first deadline of a session created at `now`.
pub fn initial_deadline(config: &Config, now: UnixMillis) -> UnixMillis {
    let absolute = now.saturating_add(millis(config.ttl));
    match config.idle_timeout {
        Some(idle) => now.saturating_add(millis(idle)).min(absolute),
        None => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record(created: UnixMillis, expires: UnixMillis) -> Record {
        Record {
            id: "x".into(),
            user: "u".into(),
            created,
            expires,
            data: "".into(),
        }
    }

    fn config(touch: Touch) -> Config {
        Config::new(
            Duration::from_secs(100),
            Some(Duration::from_secs(10)),
            Some(touch),
            None,
            true,
        )
        .unwrap()
    }

    #[test]
    fn always_slides_the_idle_deadline_but_not_past_the_absolute_one() {
        let config = config(Touch::Always);
        assert_eq!(
            next_deadline(&config, &record(0, 10_000), || 1_000),
            Some(11_000)
        );
        assert_eq!(
            next_deadline(&config, &record(0, 99_000), || 95_000),
            Some(100_000)
        );
        assert_eq!(next_deadline(&config, &record(0, 100_000), || 99_000), None);
    }

    #[test]
    fn half_ttl_writes_only_in_the_second_half_of_the_idle_window() {
        let config = config(Touch::HalfTtl);
        assert_eq!(next_deadline(&config, &record(0, 10_000), || 4_000), None);
        assert_eq!(
            next_deadline(&config, &record(0, 10_000), || 6_000),
            Some(16_000)
        );
    }

    #[test]
    fn without_idle_timeout_reads_never_write() {
        assert_eq!(
            next_deadline(&Config::default(), &record(0, 10_000), || 9_000),
            None
        );
        assert_eq!(initial_deadline(&Config::default(), 0), 8 * 3600 * 1000);
    }
}
