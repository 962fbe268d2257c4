//! The HTTP routes both servers serve and the load generator requests.

/// `POST`: credentials in, a session or tokens out.
pub const LOGIN: &str = "/login";
/// `GET`: the authenticated request every flow repeats.
pub const BALANCE: &str = "/user/balance";
/// `POST`: a refresh token in, a new pair out (JWT).
pub const REFRESH: &str = "/refresh";
/// `POST`: ends the session, or the refresh family (and denylists the token when on).
pub const LOGOUT: &str = "/logout";
/// `GET`: the user's sessions or refresh families; `DELETE`: logout everywhere.
pub const SESSIONS: &str = "/sessions";
/// `GET`: the JWT server's public keys.
pub const JWKS: &str = "/.well-known/jwks.json";
/// `POST`: token introspection (RFC 7662) for resource servers holding the shared secret.
pub const INTROSPECT: &str = "/introspect";
/// The environment variable holding the secret callers of [`INTROSPECT`] present: issuers and
/// resource servers read it; never a flag, which `ps` would show.
pub const INTROSPECTION_SECRET_ENV: &str = "AUTHBENCH_INTROSPECTION_SECRET";
/// `GET`: the store and main_DB reachable.
pub const HEALTHZ: &str = "/healthz";
/// `GET`: the server's OpenAPI 3.1 document.
pub const OPENAPI: &str = "/openapi.json";
/// `GET`: Prometheus text.
pub const METRICS: &str = "/metrics";
/// `GET`: no auth, no store; the server's fixed cost per request.
pub const ROOT: &str = "/";
/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";
