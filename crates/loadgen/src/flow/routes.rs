//! A [`Mapping`] made ready to send: methods and URIs parsed once, the protected requests laid
//! out as a weighted cycle, and the bodies rendered from their templates once per login or
//! refresh, so that a request costs the same whatever the mapping.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};

use crate::client::RequestBody;
use crate::scenario::{
    BodyTemplate, CredentialRule, Mapping, PASSWORD, REFRESH_TOKEN, Source, USERNAME,
};

use super::Credential;

/// One route, parsed.
#[derive(Debug)]
pub(super) struct Route {
    pub method: Method,
    pub uri: Uri,
    /// `None`: any 2xx.
    pub status: Option<StatusCode>,
}

impl Route {
    fn new(route: &crate::scenario::MappedRoute) -> Route {
        Route {
            method: route.method.clone(),
            // Checked as an origin-form URI when the scenario was validated.
            uri: route.path.parse().unwrap_or_else(|_| Uri::from_static("/")),
            status: route.status.and_then(|s| StatusCode::from_u16(s).ok()),
        }
    }
}

/// What a system's VUs send, shared by all of them.
#[derive(Debug)]
pub struct FlowRoutes {
    pub(super) login: Route,
    login_body: Option<BodyTemplate>,
    pub(super) credential: Vec<CredentialRule>,
    /// The protected requests in the order a flow takes them, each as often as its weight.
    pub(super) cycle: Vec<Route>,
    pub(super) refresh: Route,
    refresh_body: Option<BodyTemplate>,
    pub(super) refresh_token_from: Source,
    pub(super) logout: Route,
}

impl FlowRoutes {
    pub fn new(mapping: &Mapping) -> FlowRoutes {
        if mapping.requests.is_empty() {
            // A validated mapping has at least one; a flow without any would have nothing to do.
            return FlowRoutes::default();
        }
        let weights: Vec<u32> = mapping.requests.iter().map(|r| r.weight).collect();
        let cycle = smooth_weighted_cycle(&weights)
            .into_iter()
            .map(|index| Route::new(&mapping.requests[index].route))
            .collect();
        FlowRoutes {
            login: Route::new(&mapping.login),
            login_body: mapping.login.body.clone(),
            credential: mapping.credential.clone(),
            cycle,
            refresh: Route::new(&mapping.refresh.route),
            refresh_body: mapping.refresh.route.body.clone(),
            refresh_token_from: mapping.refresh.token_from.clone(),
            logout: Route::new(&mapping.logout),
        }
    }

    /// The login body of one account.
    pub(super) fn login_body(&self, credential: &Credential) -> Option<RequestBody> {
        let values = [
            (USERNAME, credential.username.as_str()),
            (PASSWORD, credential.password.as_str()),
        ];
        self.login_body.as_ref().map(|body| render(body, &values))
    }

    /// The refresh body carrying `token`.
    pub(super) fn refresh_body(&self, token: &str) -> Option<RequestBody> {
        let body = self.refresh_body.as_ref()?;
        Some(render(body, &[(REFRESH_TOKEN, token)]))
    }
}

impl Default for FlowRoutes {
    fn default() -> FlowRoutes {
        FlowRoutes::new(&Mapping::reference())
    }
}

/// The order of a weighted round robin that spreads each entry out over the cycle (nginx's
/// "smooth" one): weights 3 and 1 give `a a b a`, not `a a a b`. Equal weights keep list order.
fn smooth_weighted_cycle(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut cycle = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (value, &weight) in current.iter_mut().zip(weights) {
            *value += i64::from(weight);
        }
        let Some(chosen) = (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
        else {
            break;
        };
        current[chosen] -= total;
        cycle.push(chosen);
    }
    cycle
}

static APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
static FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");

/// `template` with each `{name}` replaced by its value.
fn render(template: &BodyTemplate, values: &[(&str, &str)]) -> RequestBody {
    let fill = |text: &str| {
        values.iter().fold(text.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    };
    match template {
        BodyTemplate::Json(value) => {
            let filled = fill_json(value, &fill);
            RequestBody::new(Bytes::from(filled.to_string()), APPLICATION_JSON.clone())
        }
        BodyTemplate::Form(fields) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                form.append_pair(&fill(name), &fill(value));
            }
            RequestBody::new(Bytes::from(form.finish()), FORM.clone())
        }
    }
}

fn fill_json(value: &serde_json::Value, fill: &dyn Fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(fill(text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, fill)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, v)| (fill(name), fill_json(v, fill)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_spread_each_request_over_the_cycle() {
        assert_eq!(smooth_weighted_cycle(&[1]), [0]);
        assert_eq!(smooth_weighted_cycle(&[1, 1, 1]), [0, 1, 2]);
        assert_eq!(smooth_weighted_cycle(&[3, 1]), [0, 0, 1, 0]);
        let cycle = smooth_weighted_cycle(&[5, 2, 1]);
        assert_eq!(cycle.len(), 8);
        assert_eq!(cycle.iter().filter(|&&i| i == 0).count(), 5);
        assert_eq!(cycle.iter().filter(|&&i| i == 2).count(), 1);
    }

    #[test]
    fn bodies_are_rendered_as_json_or_form_with_values_escaped() {
        let credential = Credential {
            username: "u\"1".to_owned(),
            password: "p&w=d".to_owned(),
        };
        let reference = FlowRoutes::default();
        let body = reference.login_body(&credential).unwrap();
        let json: serde_json::Value = serde_json::from_slice(body.bytes()).unwrap();
        assert_eq!(json["username"], "u\"1");
        assert_eq!(json["password"], "p&w=d");

        let form = BodyTemplate::Form(vec![
            ("user".to_owned(), "{username}".to_owned()),
            ("pass".to_owned(), "{password}".to_owned()),
        ]);
        let values = [(USERNAME, "u 1"), (PASSWORD, "p&w=d")];
        let body = render(&form, &values);
        assert_eq!(&body.bytes()[..], b"user=u+1&pass=p%26w%3Dd");
        assert_eq!(body.content_type(), &FORM);
    }
}
