//! Metric and label names the servers expose on `/metrics` and the load generator's probes read.
//!
//! The names here are as registered; the exposition adds `_total` to counters (and the
//! servers' registry adds the [`PREFIX`]).

/// The registry prefix of every family the servers expose.
pub const PREFIX: &str = "authbench";

/// Counter: HTTP requests, by [`ROUTE`], [`METHOD`] and [`STATUS`].
pub const HTTP_REQUESTS: &str = "http_requests";
/// Histogram: HTTP request latency in seconds, by [`ROUTE`].
pub const HTTP_REQUEST_SECONDS: &str = "http_request_duration_seconds";
/// Counter: store operations, by [`NAMESPACE`], [`OP`] and [`OUTCOME`].
pub const STORE_OPERATIONS: &str = "store_operations";
/// Histogram: store operation latency in seconds, by [`NAMESPACE`] and [`OP`].
pub const STORE_OPERATION_SECONDS: &str = "store_operation_duration_seconds";
/// Counter: JWT verifications, by outcome.
pub const JWT_VERIFICATIONS: &str = "jwt_verifications";
/// Histogram: JWT verification time in seconds.
pub const JWT_VERIFY_SECONDS: &str = "jwt_verify_duration_seconds";

/// Counter: signing-key rotations that took a new key.
pub const JWT_KEY_ROTATIONS: &str = "jwt_key_rotations";

/// Counter: the resource server's JWKS fetches, by [`OUTCOME`] (`ok`, `failed`).
pub const JWKS_FETCHES: &str = "jwks_fetches";
/// Counter: JWKS fetches made because a token named a kid the set lacked.
pub const JWKS_UNKNOWN_KID_REFETCHES: &str = "jwks_unknown_kid_refetches";
/// Counter: unknown-kid refetches not made, the last fetch being within the refetch interval.
pub const JWKS_REFETCHES_REFUSED: &str = "jwks_refetches_refused";
/// Gauge: keys the resource server holds.
pub const JWKS_KEYS: &str = "jwks_keys";
/// Counter: the resource server's calls to the issuer per request (introspection), by
/// [`OUTCOME`] (`active`, `inactive`, `failed`).
pub const ISSUER_CALLS: &str = "issuer_calls";
/// Counter: requests the resource server's introspection cache answered.
pub const INTROSPECTION_CACHE_HITS: &str = "introspection_cache_hits";

/// The suffix the text exposition adds to a counter's name.
pub const COUNTER_SUFFIX: &str = "_total";
/// The suffix of a histogram's sum of observations.
pub const SUM_SUFFIX: &str = "_sum";

pub const ROUTE: &str = "route";
pub const METHOD: &str = "method";
pub const STATUS: &str = "status";
pub const NAMESPACE: &str = "namespace";
pub const OP: &str = "op";
pub const OUTCOME: &str = "outcome";
