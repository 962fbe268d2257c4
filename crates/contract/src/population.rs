//! What `authbench populate` reports on its one line of JSON, and the load generator reads back.

use serde::{Deserialize, Serialize};

/// The stores' namespaces by name: SQL table names and Redis key prefixes, and what
/// `authbench populate --namespace` takes.
pub mod namespace {
    pub const SESSIONS: &str = "sessions";
    pub const REFRESH_FAMILIES: &str = "refresh_families";
    pub const DENYLIST: &str = "denylist";
    pub const CUTOFFS: &str = "cutoffs";
    pub const ACCESS_TOKENS: &str = "access_tokens";
    pub const ALL: [&str; 5] = [SESSIONS, REFRESH_FAMILIES, DENYLIST, CUTOFFS, ACCESS_TOKENS];
}

/// One population load: records `from..to` of one namespace, and the store's count after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationLoad {
    /// The namespace loaded: `sessions`, `refresh_families`, `denylist` or `cutoffs`.
    pub namespace: String,
    pub from: u64,
    pub to: u64,
    /// Records the store took.
    pub loaded: u64,
    /// Wall time of the load itself (not the count).
    pub seconds: f64,
    /// Live records in the namespace afterwards, counted by the store itself: the population
    /// plus whatever logins left there.
    pub live_records: u64,
}
