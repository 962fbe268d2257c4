//! `[systems.mapping]` to a [`Mapping`]: each part the file gives is checked and replaces
//! authbench's own; every problem is named by its key (`systems[0].mapping.login.form`).

use http::{HeaderName, Method, Uri};

use super::checker::Checker;
use super::file::{CounterFile, CredentialFile, MappingFile, MetricsFile, RouteFile};
use super::mapping::{
    BodyTemplate, CredentialRule, MappedRoute, Mapping, PASSWORD, Presentation, ProtectedRequest,
    REFRESH_TOKEN, RefreshRoute, RequestCounter, ServerCounts, Source, USERNAME,
};

/// The most a protected request's weight may be: a cycle of requests is built from the
/// weights, so they are kept small.
const MAX_WEIGHT: i64 = 1000;

/// `file` checked into a mapping; `prefix` is the mapping's key (`systems[0].mapping`).
pub fn mapping(checker: &mut Checker<'_>, file: MappingFile, prefix: &str) -> Option<Mapping> {
    let problems_before = checker.problems.len();
    let reference = Mapping::reference();
    let login = match file.login {
        None => Some(reference.login),
        Some(route) => login(checker, route, &format!("{prefix}.login")),
    };
    let credential = match file.credential {
        None => Some(reference.credential),
        Some(table) => credential(checker, table, &format!("{prefix}.credential")).map(|c| vec![c]),
    };
    let requests = match file.requests {
        None => Some(reference.requests),
        Some(list) => protected_requests(checker, list, &format!("{prefix}.requests")),
    };
    let refresh = match file.refresh {
        None => Some(reference.refresh),
        Some(route) => refresh(checker, route, &format!("{prefix}.refresh")),
    };
    let logout = match file.logout {
        None => Some(reference.logout),
        Some(route) => {
            let key = format!("{prefix}.logout");
            refuse_keys(
                checker,
                &route,
                &key,
                &[JSON, FORM, WEIGHT, TOKEN_FROM],
                "a logout",
            );
            plain_route(checker, route, &key, Method::POST)
        }
    };
    let server_counts = match file.metrics {
        None => Some(reference.server_counts),
        Some(metrics) => server_counts(checker, metrics, &format!("{prefix}.metrics")),
    };
    if checker.problems.len() != problems_before {
        return None;
    }
    Some(Mapping {
        login: login?,
        credential: credential?,
        requests: requests?,
        refresh: refresh?,
        logout: logout?,
        server_counts: server_counts?,
    })
}

/// A route key that only some routes take, and whether a route gives it.
type RouteKey = (&'static str, fn(&RouteFile) -> bool);
type Refused = [RouteKey];

const JSON: RouteKey = ("json", |r| r.json.is_some());
const FORM: RouteKey = ("form", |r| r.form.is_some());
const WEIGHT: RouteKey = ("weight", |r| r.weight.is_some());
const TOKEN_FROM: RouteKey = ("token_from", |r| r.token_from.is_some());

fn refuse_keys(
    checker: &mut Checker<'_>,
    route: &RouteFile,
    key: &str,
    refused: &Refused,
    what: &str,
) {
    for (name, given) in refused {
        if given(route) {
            checker.problem(
                format!("{key}.{name}"),
                format!("{what} request does not take `{name}`"),
            );
        }
    }
}

fn login(checker: &mut Checker<'_>, mut route: RouteFile, key: &str) -> Option<MappedRoute> {
    refuse_keys(checker, &route, key, &[WEIGHT, TOKEN_FROM], "the login");
    let body = body(checker, &mut route, key, &[USERNAME, PASSWORD], true);
    let mut login = plain_route(checker, route, key, Method::POST)?;
    login.body = Some(body?.unwrap_or_else(|| {
        Mapping::reference()
            .login
            .body
            .expect("the reference login has a body")
    }));
    Some(login)
}

fn refresh(checker: &mut Checker<'_>, mut route: RouteFile, key: &str) -> Option<RefreshRoute> {
    refuse_keys(checker, &route, key, &[WEIGHT], "the refresh");
    let token_from = checker
        .required(
            route.token_from.take(),
            &format!("{key}.token_from"),
            "where the login answer carries the refresh token: \"json:/POINTER\", \
             \"cookie:NAME\" or \"header:NAME\"",
        )
        .and_then(|text| source(checker, &text, &format!("{key}.token_from")));
    let body = body(checker, &mut route, key, &[REFRESH_TOKEN], true);
    let body = match body? {
        Some(body) => Some(body),
        None => {
            checker.problem(
                format!("{key}.json"),
                "is missing; the refresh request sends the refresh token in its body: give \
                 `json` or `form` with a \"{refresh_token}\" value",
            );
            None
        }
    };
    let mut refresh = plain_route(checker, route, key, Method::POST)?;
    refresh.body = body;
    Some(RefreshRoute {
        route: refresh,
        token_from: token_from?,
    })
}

fn protected_requests(
    checker: &mut Checker<'_>,
    list: Vec<RouteFile>,
    key: &str,
) -> Option<Vec<ProtectedRequest>> {
    if list.is_empty() {
        checker.problem(
            key,
            "the list is empty; give at least one protected request ({ path = \"/api/me\" })",
        );
        return None;
    }
    let checked: Vec<Option<ProtectedRequest>> = list
        .into_iter()
        .enumerate()
        .map(|(index, route)| {
            let key = format!("{key}[{index}]");
            refuse_keys(
                checker,
                &route,
                &key,
                &[JSON, FORM, TOKEN_FROM],
                "a protected",
            );
            let weight = match route.weight {
                None => Some(1),
                Some(weight) if (1..=MAX_WEIGHT).contains(&weight) => Some(weight as u32),
                Some(weight) => {
                    checker.problem(
                        format!("{key}.weight"),
                        format!("{weight} is out of range; it must be 1 to {MAX_WEIGHT}"),
                    );
                    None
                }
            };
            let route = plain_route(checker, route, &key, Method::GET);
            Some(ProtectedRequest {
                route: route?,
                weight: weight?,
            })
        })
        .collect();
    checked.into_iter().collect()
}

/// Method, path and status; the body is the caller's.
fn plain_route(
    checker: &mut Checker<'_>,
    route: RouteFile,
    key: &str,
    default_method: Method,
) -> Option<MappedRoute> {
    let method = match route.method {
        None => Some(default_method),
        Some(text) => method(checker, &text, &format!("{key}.method")),
    };
    let path = checker
        .required(
            route.path,
            &format!("{key}.path"),
            "the route's path on the service, e.g. \"/api/me\"",
        )
        .and_then(|path| origin_path(checker, path, &format!("{key}.path")));
    let status = match route.status {
        None => Some(None),
        Some(status) if (100..=599).contains(&status) => Some(Some(status as u16)),
        Some(status) => {
            checker.problem(
                format!("{key}.status"),
                format!("{status} is not an HTTP status; it must be 100 to 599"),
            );
            None
        }
    };
    Some(MappedRoute {
        method: method?,
        path: path?,
        body: None,
        status: status?,
    })
}

fn method(checker: &mut Checker<'_>, text: &str, key: &str) -> Option<Method> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_uppercase());
    match Method::from_bytes(text.as_bytes()) {
        Ok(method) if valid => Some(method),
        _ => {
            checker.problem(
                key,
                format!("{text:?} is not an HTTP method; use GET, POST, PUT, PATCH, DELETE ..."),
            );
            None
        }
    }
}

fn origin_path(checker: &mut Checker<'_>, path: String, key: &str) -> Option<String> {
    let parsed = path.parse::<Uri>();
    let origin_form =
        path.starts_with('/') && parsed.as_ref().is_ok_and(|uri| uri.scheme().is_none());
    if origin_form {
        return Some(path);
    }
    checker.problem(
        key,
        format!(
            "{path:?} is not a path; give the path alone, starting with \"/\" (the host comes \
             from base_url)"
        ),
    );
    None
}

/// `json` or `form`, with only `allowed` placeholders; with `all_required`, each of them must
/// appear. `Some(None)` when neither key is given.
fn body(
    checker: &mut Checker<'_>,
    route: &mut RouteFile,
    key: &str,
    allowed: &[&str],
    all_required: bool,
) -> Option<Option<BodyTemplate>> {
    let (template, body_key) = match (route.json.take(), route.form.take()) {
        (None, None) => return Some(None),
        (Some(_), Some(_)) => {
            checker.problem(
                format!("{key}.form"),
                "a request has one body: give `json` or `form`, not both",
            );
            return None;
        }
        (Some(json), None) => (json_body(checker, json, &format!("{key}.json"))?, "json"),
        (None, Some(form)) => (form_body(checker, form, &format!("{key}.form"))?, "form"),
    };
    let body_key = format!("{key}.{body_key}");
    let mut found = Vec::new();
    for text in template_strings(&template) {
        for name in placeholders(&text) {
            if allowed.contains(&name.as_str()) {
                found.push(name);
            } else {
                checker.problem(
                    &body_key,
                    format!(
                        "{{{name}}} is not a placeholder this request knows; it takes {}",
                        listed(allowed)
                    ),
                );
                return None;
            }
        }
    }
    let missing: Vec<&str> = allowed
        .iter()
        .copied()
        .filter(|name| !found.iter().any(|f| f == name))
        .collect();
    if all_required && !missing.is_empty() {
        checker.problem(
            &body_key,
            format!(
                "the body never sends {}; put it in a value",
                listed(&missing)
            ),
        );
        return None;
    }
    Some(Some(template))
}

fn listed(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|name| format!("{{{name}}}")).collect();
    names.join(" and ")
}

fn json_body(checker: &mut Checker<'_>, value: toml::Value, key: &str) -> Option<BodyTemplate> {
    if !value.is_table() {
        checker.problem(
            key,
            "a JSON body is a table: json = { username = \"{username}\", ... }",
        );
        return None;
    }
    match serde_json::to_value(&value) {
        Ok(json) => Some(BodyTemplate::Json(json)),
        Err(error) => {
            checker.problem(key, format!("cannot be written as JSON: {error}"));
            None
        }
    }
}

fn form_body(checker: &mut Checker<'_>, table: toml::Table, key: &str) -> Option<BodyTemplate> {
    let mut fields = Vec::with_capacity(table.len());
    for (name, value) in table {
        match value {
            toml::Value::String(text) => fields.push((name, text)),
            other => {
                checker.problem(
                    format!("{key}.{name}"),
                    format!(
                        "a form field is a string, not a {}; write it in quotes",
                        other.type_str()
                    ),
                );
                return None;
            }
        }
    }
    Some(BodyTemplate::Form(fields))
}

/// Every string of a body template (form field names and values; JSON keys and strings).
fn template_strings(template: &BodyTemplate) -> Vec<String> {
    fn walk(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => into.push(text.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, into)),
            serde_json::Value::Object(fields) => {
                for (name, item) in fields {
                    into.push(name.clone());
                    walk(item, into);
                }
            }
            _ => {}
        }
    }
    let mut strings = Vec::new();
    match template {
        BodyTemplate::Json(value) => walk(value, &mut strings),
        BodyTemplate::Form(fields) => {
            for (name, value) in fields {
                strings.push(name.clone());
                strings.push(value.clone());
            }
        }
    }
    strings
}

/// The `{name}`s in `text`: a name is letters, digits and `_`; other braces are text.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            found.push(name.to_owned());
            rest = &after[close + 1..];
        } else {
            rest = after;
        }
    }
    found
}

fn credential(
    checker: &mut Checker<'_>,
    table: CredentialFile,
    key: &str,
) -> Option<CredentialRule> {
    let from = checker
        .required(
            table.from,
            &format!("{key}.from"),
            "where the login answer carries the credential: \"cookie:NAME\", \"json:/POINTER\" \
             (e.g. \"json:/data/token\") or \"header:NAME\"",
        )
        .and_then(|text| source(checker, &text, &format!("{key}.from")));
    let send_key = format!("{key}.send");
    let send = match (table.send, &from) {
        (Some(text), _) => presentation(checker, &text, &send_key, from.as_ref()),
        (None, Some(Source::Cookie(name))) => Some(Presentation::Cookie(name.clone())),
        (None, _) => Some(Presentation::Bearer),
    };
    Some(CredentialRule {
        from: from?,
        send: send?,
    })
}

fn source(checker: &mut Checker<'_>, text: &str, key: &str) -> Option<Source> {
    let refused = |checker: &mut Checker<'_>, why: String| {
        checker.problem(key, why);
        None
    };
    match text.split_once(':') {
        Some(("cookie", name)) if is_token(name) => Some(Source::Cookie(name.to_owned())),
        Some(("header", name)) if HeaderName::from_bytes(name.as_bytes()).is_ok() => {
            Some(Source::Header(name.to_ascii_lowercase()))
        }
        Some(("json", pointer)) => match pointer_problem(pointer) {
            None => Some(Source::Json(pointer.to_owned())),
            Some(why) => refused(checker, format!("{pointer:?} is not a JSON pointer: {why}")),
        },
        Some(("cookie" | "header", name)) => refused(
            checker,
            format!("{name:?} is not a valid cookie or header name"),
        ),
        _ => refused(
            checker,
            format!(
                "{text:?} is not a credential source; use \"cookie:NAME\", \"json:/POINTER\" or \
                 \"header:NAME\""
            ),
        ),
    }
}

/// Why `pointer` is not an RFC 6901 JSON pointer to a value inside the body.
fn pointer_problem(pointer: &str) -> Option<&'static str> {
    if !pointer.starts_with('/') {
        return Some("it must start with \"/\" (e.g. \"/data/token\")");
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some("\"~\" must be followed by 0 (for \"~\") or 1 (for \"/\")");
        }
    }
    None
}

fn presentation(
    checker: &mut Checker<'_>,
    text: &str,
    key: &str,
    from: Option<&Source>,
) -> Option<Presentation> {
    match (text, text.split_once(':')) {
        ("bearer", _) => Some(Presentation::Bearer),
        ("cookie", _) => match from {
            Some(Source::Cookie(name)) => Some(Presentation::Cookie(name.clone())),
            Some(_) => {
                checker.problem(
                    key,
                    "\"cookie\" alone sends the cookie the credential came in; this one does not \
                     come in a cookie, so name one: \"cookie:NAME\"",
                );
                None
            }
            None => None,
        },
        (_, Some(("cookie", name))) if is_token(name) => {
            Some(Presentation::Cookie(name.to_owned()))
        }
        (_, Some(("header", name))) if HeaderName::from_bytes(name.as_bytes()).is_ok() => {
            Some(Presentation::Header(name.to_ascii_lowercase()))
        }
        _ => {
            checker.problem(
                key,
                format!(
                    "{text:?} is not a way to send a credential; use \"bearer\", \"cookie\", \
                     \"cookie:NAME\" or \"header:NAME\""
                ),
            );
            None
        }
    }
}

/// A cookie name: an RFC 7230 token.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn server_counts(
    checker: &mut Checker<'_>,
    metrics: MetricsFile,
    key: &str,
) -> Option<ServerCounts> {
    match metrics {
        MetricsFile::None(text) if text == "none" => Some(ServerCounts::None),
        MetricsFile::None(text) => {
            checker.problem(
                key,
                format!(
                    "{text:?} is not allowed; give \"none\" (the service exposes no request \
                     counts) or a table naming its counter: {{ counter = \"http_requests_total\" }}"
                ),
            );
            None
        }
        MetricsFile::Counter(table) => counter(checker, table, key).map(ServerCounts::Counter),
    }
}

fn counter(checker: &mut Checker<'_>, table: CounterFile, key: &str) -> Option<RequestCounter> {
    let name = checker
        .required(
            table.counter,
            &format!("{key}.counter"),
            "the service's request counter as its /metrics writes it, e.g. \
             \"http_requests_total\"",
        )
        .and_then(|name| metric_name(checker, name, &format!("{key}.counter")));
    let route_key = format!("{key}.route_label");
    let route_label = checker.optional(table.route_label, |checker, label| {
        metric_name(checker, label, &route_key)
    });
    let status_key = format!("{key}.status_label");
    let status_label = checker.optional(table.status_label, |checker, label| {
        metric_name(checker, label, &status_key)
    });
    Some(RequestCounter {
        name: name?,
        route_label: route_label?,
        status_label: status_label?,
    })
}

fn metric_name(checker: &mut Checker<'_>, name: String, key: &str) -> Option<String> {
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    if valid {
        return Some(name);
    }
    checker.problem(
        key,
        format!("{name:?} is not a Prometheus name (letters, digits, `_` and `:`)"),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_names_in_braces() {
        assert_eq!(placeholders("{username}"), ["username"]);
        assert_eq!(placeholders("a{x}b{y_2}"), ["x", "y_2"]);
        assert!(placeholders("{}{ x }{").is_empty());
        assert_eq!(placeholders("{{password}}"), ["password"]);
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        assert_eq!(pointer_problem("/data/token"), None);
        assert_eq!(pointer_problem("/a~0b/c~1d"), None);
        assert!(pointer_problem("data/token").is_some());
        assert!(pointer_problem("/a~2").is_some());
        assert!(pointer_problem("/a~").is_some());
    }
}
