//! A flow mapped onto a service's own routes: where it logs in and with what body, where the
//! credential comes from and how it goes back, which protected requests a flow makes, and how
//! the service counts its requests on `/metrics`. [`Mapping::reference`] is authbench's own
//! servers, and what every part a scenario leaves out defaults to.

use authbench_contract::{metrics as names, routes};
use http::Method;

/// How the load generator speaks to one system.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// The request that trades a username and password for a credential.
    pub login: MappedRoute,
    /// Where the credential is found in the login (and refresh) answer and how it is sent back:
    /// the first rule whose source the answer carries wins.
    pub credential: Vec<CredentialRule>,
    /// The protected requests of a flow (each counts as one `balance` of the flow), taken in
    /// turn, each as often as its weight.
    pub requests: Vec<ProtectedRequest>,
    /// Used only when the login answer carried a refresh token.
    pub refresh: RefreshRoute,
    /// Used only when the scenario's flow logs out.
    pub logout: MappedRoute,
    /// How the service counts its own requests on `/metrics`.
    pub server_counts: ServerCounts,
}

/// One request of the flow: its method, path, body and the status that means success.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedRoute {
    pub method: Method,
    /// Origin form (`/api/auth/token`, maybe with a query).
    pub path: String,
    pub body: Option<BodyTemplate>,
    /// `None`: any 2xx.
    pub status: Option<u16>,
}

/// A request body with `{placeholder}`s in its string values, rendered once per login (or
/// refresh), never per request.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyTemplate {
    /// `application/json`: placeholders may appear in any string value.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`: field names and values, in order.
    Form(Vec<(String, String)>),
}

/// The placeholders a login body takes.
pub const USERNAME: &str = "username";
pub const PASSWORD: &str = "password";
/// The placeholder a refresh body takes.
pub const REFRESH_TOKEN: &str = "refresh_token";

/// Where a credential (or refresh token) is found in an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `Set-Cookie: NAME=value`.
    Cookie(String),
    /// A JSON pointer (RFC 6901) to a string in the JSON body: `/data/token`.
    Json(String),
    /// A response header's value.
    Header(String),
}

/// How a credential is sent back on authenticated requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presentation {
    /// `Cookie: NAME=value`.
    Cookie(String),
    /// `Authorization: Bearer value`.
    Bearer,
    /// `NAME: value`.
    Header(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRule {
    pub from: Source,
    pub send: Presentation,
}

/// A protected request and how often it comes up in the flow's cycle of requests.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtectedRequest {
    pub route: MappedRoute,
    pub weight: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefreshRoute {
    /// Its body carries the `{refresh_token}` placeholder.
    pub route: MappedRoute,
    /// Where the login (and refresh) answer carries the refresh token.
    pub token_from: Source,
}

/// The service's own request counter, read to check the load generator's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCounts {
    /// A counter as exposed (`app_requests_total`), its route and status labels if it has them.
    Counter(RequestCounter),
    /// The service exposes no request counts: the report says it has none for this system.
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestCounter {
    /// The sample name in the exposition, suffix included (`http_requests_total`); a registry
    /// prefix before it is allowed (`authbench_http_requests_total` matches).
    pub name: String,
    pub route_label: Option<String>,
    pub status_label: Option<String>,
}

impl RequestCounter {
    /// authbench's servers' own counter.
    pub fn reference() -> RequestCounter {
        RequestCounter {
            name: format!("{}{}", names::HTTP_REQUESTS, names::COUNTER_SUFFIX),
            route_label: Some(names::ROUTE.to_owned()),
            status_label: Some(names::STATUS.to_owned()),
        }
    }
}

impl MappedRoute {
    fn reference(method: Method, path: &str, body: Option<BodyTemplate>) -> MappedRoute {
        MappedRoute {
            method,
            path: path.to_owned(),
            body,
            status: None,
        }
    }
}

impl Mapping {
    /// authbench's servers: `POST /login` with a JSON body; a `sid` cookie (session server) or
    /// an `access_token` in the body (JWT server, with a `refresh_token`); `GET /user/balance`.
    pub fn reference() -> Mapping {
        let placeholder = |name: &str| serde_json::Value::String(format!("{{{name}}}"));
        let login_body = serde_json::json!({
            USERNAME: placeholder(USERNAME),
            PASSWORD: placeholder(PASSWORD),
        });
        let refresh_body = serde_json::json!({ REFRESH_TOKEN: placeholder(REFRESH_TOKEN) });
        Mapping {
            login: MappedRoute::reference(
                Method::POST,
                routes::LOGIN,
                Some(BodyTemplate::Json(login_body)),
            ),
            credential: vec![
                CredentialRule {
                    from: Source::Cookie("sid".to_owned()),
                    send: Presentation::Cookie("sid".to_owned()),
                },
                CredentialRule {
                    from: Source::Json("/access_token".to_owned()),
                    send: Presentation::Bearer,
                },
            ],
            requests: vec![ProtectedRequest {
                route: MappedRoute::reference(Method::GET, routes::BALANCE, None),
                weight: 1,
            }],
            refresh: RefreshRoute {
                route: MappedRoute::reference(
                    Method::POST,
                    routes::REFRESH,
                    Some(BodyTemplate::Json(refresh_body)),
                ),
                token_from: Source::Json("/refresh_token".to_owned()),
            },
            logout: MappedRoute::reference(Method::POST, routes::LOGOUT, None),
            server_counts: ServerCounts::Counter(RequestCounter::reference()),
        }
    }
}

impl Mapping {
    /// The mapping as the report's settings of a system: each part in one line.
    pub fn describe(&self) -> std::collections::BTreeMap<String, String> {
        let route = |route: &MappedRoute| {
            let body = match &route.body {
                Some(BodyTemplate::Json(_)) => " (JSON body)",
                Some(BodyTemplate::Form(_)) => " (form body)",
                None => "",
            };
            let status = route
                .status
                .map_or_else(String::new, |s| format!(" -> {s}"));
            format!("{} {}{body}{status}", route.method, route.path)
        };
        let source = |source: &Source| match source {
            Source::Cookie(name) => format!("cookie {name}"),
            Source::Json(pointer) => format!("JSON {pointer}"),
            Source::Header(name) => format!("header {name}"),
        };
        let credential: Vec<String> = self
            .credential
            .iter()
            .map(|rule| {
                let send = match &rule.send {
                    Presentation::Cookie(name) => format!("cookie {name}"),
                    Presentation::Bearer => "Authorization: Bearer".to_owned(),
                    Presentation::Header(name) => format!("header {name}"),
                };
                format!("from {}, sent as {send}", source(&rule.from))
            })
            .collect();
        let requests: Vec<String> = self
            .requests
            .iter()
            .map(|r| format!("{} x{}", route(&r.route), r.weight))
            .collect();
        let counts = match &self.server_counts {
            ServerCounts::Counter(counter) => format!(
                "{} by {} and {}",
                counter.name,
                counter.route_label.as_deref().unwrap_or("(no route label)"),
                counter
                    .status_label
                    .as_deref()
                    .unwrap_or("(no status label)")
            ),
            ServerCounts::None => "none exposed".to_owned(),
        };
        [
            ("mapping.login", route(&self.login)),
            ("mapping.credential", credential.join("; or ")),
            ("mapping.requests", requests.join(", ")),
            (
                "mapping.refresh",
                format!(
                    "{}, token from {}",
                    route(&self.refresh.route),
                    source(&self.refresh.token_from)
                ),
            ),
            ("mapping.logout", route(&self.logout)),
            ("mapping.request_counter", counts),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }
}

impl Default for Mapping {
    fn default() -> Mapping {
        Mapping::reference()
    }
}
