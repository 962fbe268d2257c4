//! The one trait every backend implements, and the options they are opened with.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::Error;
use crate::record::{Namespace, Record};

/// How a backend is opened. The defaults suit a benchmark server: fail fast when the store is
/// down (the server answers 503 instead of queueing requests), purge expired rows once a minute.
#[derive(Clone, Debug)]
pub struct Options {
    pub namespace: Namespace,
    /// Upper bound on one operation, connection attempts included.
    pub op_timeout: Duration,
    /// Connections for backends that keep several (Postgres, SQLite). Redis always uses one
    /// multiplexed connection.
    pub connections: NonZeroU32,
    /// How often SQL backends delete expired rows (Redis expires keys itself).
    pub purge_interval: Duration,
}

impl Options {
    pub fn new(namespace: Namespace) -> Self {
        Options {
            namespace,
            op_timeout: Duration::from_millis(250),
            connections: NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN),
            purge_interval: Duration::from_secs(60),
        }
    }
}

/// TTL'd records with a per-user index. Implemented by the memory, SQLite, Redis, Redis Cluster and Postgres
/// backends; [`crate::Store`] wraps one with metrics and timeouts.
///
/// Contract, checked by the conformance suite in `tests/conformance.rs`:
/// - a record is never returned by `load`, `list_user` or `count_user` at or after `expires`;
/// - `create` with an id that is already stored (live or expired) replaces that record whole,
///   user included: the per-user index then lists it under the new user only, once;
/// - `create` with `max_per_user = Some(n)` leaves at most `n` live records for that user, evicting
///   the oldest by `created` (then by `id`), also when several creates for one user race;
/// - `touch` changes only `expires`, and only of a record that is still live;
/// - `replace_data` changes only `data`, only of a live record, and only if it still holds the
///   expected value; of several racing calls with the same `expected`, exactly one succeeds;
/// - `list_user` returns live records oldest first.
pub trait Backend: Send + Sync + 'static {
    /// Stores a record, replacing any with the same id, then evicts the user's oldest records
    /// beyond `max_per_user`.
    fn create(
        &self,
        record: &Record,
        max_per_user: Option<NonZeroU32>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The live record with this id, if any.
    fn load(&self, id: &str) -> impl Future<Output = Result<Option<Record>, Error>> + Send;

    /// Writes `record.expires` back for the live record with `record.id`. Returns whether it existed.
    fn touch(&self, record: &Record) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Replaces `data` of the live record `id` with `new` only if it currently equals `expected`.
    /// Returns whether it did. Atomic: of several concurrent calls with the same `expected`,
    /// exactly one wins. Refresh-token rotation relies on this: `data` holds the hash of the
    /// family's current token, so a replayed old token finds a mismatch instead of rotating twice.
    fn replace_data(
        &self,
        id: &str,
        expected: &str,
        new: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Stores `records` as one batch: a population loaded before a measurement, not logins one
    /// at a time. Each record replaces any with the same id, as `create` does, with no per-user
    /// cap; the layout is exactly `create`'s. Returns how many were stored. Not atomic: a failure
    /// part-way may leave part of the batch stored.
    fn create_many(&self, records: &[Record]) -> impl Future<Output = Result<u64, Error>> + Send;

    /// How many live records the namespace holds, all users together: what a population load
    /// left in the store, counted by the store itself. A full scan; not for the request path.
    fn count_live(&self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// How many records the namespace holds, expired ones not yet removed included (in Redis,
    /// record and index keys): what grows without bound if expiry or the purge falls behind.
    /// A full scan; not for the request path.
    fn count_stored(&self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Deletes one record. Returns whether it existed.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send;

    /// The user's live records, oldest first.
    fn list_user(&self, user: &str) -> impl Future<Output = Result<Vec<Record>, Error>> + Send;

    /// How many live records the user has.
    fn count_user(&self, user: &str) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Deletes all the user's records. Returns how many there were.
    fn delete_user(&self, user: &str) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Deletes expired records; returns how many. A no-op where the backend expires by itself.
    fn purge_expired(&self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Checks that the store answers (for `/healthz`).
    fn ping(&self) -> impl Future<Output = Result<(), Error>> + Send;
}
