//! The request each operation makes, assembled per send from parts prepared at login, so that
//! sending allocates nothing of its own.

use super::auth::Auth;
use super::routes::{FlowRoutes, Route};
use crate::client::{Body, Call, RequestBody};
use crate::scenario::Operation;

/// The call for `operation`, and the route it goes to (whose status means success).
pub(super) fn call_for<'a>(
    operation: Operation,
    routes: &'a FlowRoutes,
    protected: usize,
    auth: &'a Auth,
    login_body: Option<&'a RequestBody>,
) -> (Call<'a>, &'a Route) {
    let (route, auth, body, response_body) = match operation {
        Operation::Login => (&routes.login, None, login_body, Body::Keep),
        Operation::Balance => {
            let route = &routes.cycle[protected % routes.cycle.len()];
            (route, auth.header(), None, Body::Drain)
        }
        Operation::Refresh => (&routes.refresh, None, auth.refresh_body(), Body::Keep),
        Operation::Logout => (&routes.logout, auth.header(), None, Body::Drain),
    };
    let call = Call {
        method: &route.method,
        path: &route.uri,
        auth,
        body,
        response_body,
    };
    (call, route)
}
