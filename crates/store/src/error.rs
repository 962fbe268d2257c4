//! What can go wrong when talking to a store. Each variant is the root of its chain: the
//! driver's error is flattened into its text (for PostgreSQL, the server's message, code and
//! detail), so a message never repeats itself.

use authbench_contract::error::Cause;

/// A store operation failed. Servers answer 503 for [`Error::Unavailable`] and
/// [`Error::Timeout`]: both mean the store can't be reached right now, and both clear by
/// themselves once it is back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store refused or dropped the connection, or answered with an error.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer within the configured operation timeout.
    #[error("store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The store answered with data this program did not write (a foreign key layout, a
    /// truncated value). Never retried: it would fail again.
    #[error("store returned a malformed record: {0}")]
    Corrupt(String),
    /// The store could not be opened from its URL (bad URL, missing file permissions).
    #[error("cannot open store: {0}")]
    Open(String),
}

impl Error {
    /// Whether the failure is the store being down or slow (a 503), rather than bad data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Timeout(_))
    }
}

/// The answer a server gives when a store operation fails: 503 while the store is down or slow
/// (it clears by itself once the store is back), 500 for data this program did not write.
impl From<Error> for authbench_core::http::ApiError {
    fn from(error: Error) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "store request failed");
            authbench_core::http::ApiError::unavailable("store")
        } else {
            tracing::error!(%error, "store failed");
            authbench_core::http::ApiError::internal()
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Error::Unavailable("connection pool timed out".into()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                Error::Corrupt(cause(&error))
            }
            other => Error::Unavailable(cause(&other)),
        }
    }
}

/// A driver's error as the root of a chain: its text and its sources', nothing repeated.
pub(crate) fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    Cause::of(error).to_string()
}

/// A PostgreSQL error as the server said it: its message, SQLSTATE code and detail; any other
/// failure (a refused connection, a timeout) as the driver and the OS said it.
pub(crate) fn postgres_cause(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        return cause(error);
    };
    let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    if let Some(detail) = db.detail() {
        text.push_str(&format!("; detail: {detail}"));
    }
    text
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        // A reply of the wrong shape, or a key of the wrong type: the key holds something
        // this program did not write.
        let foreign = matches!(
            error.kind(),
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
        ) || error.code() == Some("WRONGTYPE");
        if foreign {
            Error::Corrupt(cause(&error))
        } else {
            Error::Unavailable(cause(&error))
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Error::Unavailable(postgres_cause(&error))
    }
}
