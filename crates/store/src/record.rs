//! The unit every backend stores: one TTL'd record that belongs to one user.

use authbench_contract::population::namespace;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch. Every backend stores times in this form so that a record
/// reads back exactly as it was written, whatever the backend's own time types are.
pub type UnixMillis = i64;

/// The current time as [`UnixMillis`].
pub fn now_millis() -> UnixMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A session, a refresh-token family, a denylist entry or a user's cutoff, depending on the
/// [`Namespace`] of the store that holds it.
///
/// The text fields are shared (`Arc<str>`): a record is copied out of the in-memory store on
/// every authenticated request, and a copy then costs reference counts, not allocations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Unique within the namespace: a session id, a family id, a token's `jti`, or (for a cutoff)
    /// the user name itself.
    pub id: Arc<str>,
    /// The user it belongs to; the per-user index is keyed on this.
    pub user: Arc<str>,
    /// When it was created; the per-user index is ordered by this (oldest evicted first).
    pub created: UnixMillis,
    /// When it stops being valid. A record is never returned at or after this time.
    pub expires: UnixMillis,
    /// What the owner needs beside the fixed fields (a user agent, a refresh-token hash, a cutoff
    /// time). [`crate::Backend::replace_data`] swaps it atomically.
    pub data: Arc<str>,
}

impl Record {
    /// Whether the record is still valid at `now`.
    pub fn is_live(&self, now: UnixMillis) -> bool {
        self.expires > now
    }
}

/// Which kind of record a store holds. Each namespace is a separate table or key prefix, so the
/// JWT server can keep refresh families, denylist entries and cutoffs on the same backend without
/// mixing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    Sessions,
    RefreshFamilies,
    Denylist,
    /// A user's "not before" time for JWT logout-everywhere: id and user are the user name, data
    /// is the cutoff in [`UnixMillis`] as decimal text. Tokens issued before it are rejected.
    Cutoffs,
    /// Opaque access tokens: the id is the SHA-256 of the token (never the token), data the
    /// refresh family it was issued in.
    AccessTokens,
}

impl Namespace {
    pub const ALL: [Namespace; 5] = [
        Namespace::Sessions,
        Namespace::RefreshFamilies,
        Namespace::Denylist,
        Namespace::Cutoffs,
        Namespace::AccessTokens,
    ];

    /// The namespace whose [`Namespace::name`] this is.
    pub fn from_name(name: &str) -> Option<Namespace> {
        Self::ALL
            .into_iter()
            .find(|namespace| namespace.name() == name)
    }

    /// The table name (SQL) or key prefix (Redis) of this namespace.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Sessions => namespace::SESSIONS,
            Namespace::RefreshFamilies => namespace::REFRESH_FAMILIES,
            Namespace::Denylist => namespace::DENYLIST,
            Namespace::Cutoffs => namespace::CUTOFFS,
            Namespace::AccessTokens => namespace::ACCESS_TOKENS,
        }
    }
}
