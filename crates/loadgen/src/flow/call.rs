//! The request each operation makes, assembled per send from parts prepared at login, so that
//! sending allocates nothing of its own.

use authbench_contract::routes;
use std::sync::LazyLock;

use http::{Method, Uri};

use super::auth::Auth;
use crate::client::{Body, Call, JsonBody};
use crate::scenario::Operation;

static LOGIN: LazyLock<Uri> = LazyLock::new(|| Uri::from_static(routes::LOGIN));
static BALANCE: LazyLock<Uri> = LazyLock::new(|| Uri::from_static(routes::BALANCE));
static REFRESH: LazyLock<Uri> = LazyLock::new(|| Uri::from_static(routes::REFRESH));
static LOGOUT: LazyLock<Uri> = LazyLock::new(|| Uri::from_static(routes::LOGOUT));

pub(super) fn call_for<'a>(
    operation: Operation,
    auth: &'a Auth,
    login_body: &'a JsonBody,
) -> Call<'a> {
    match operation {
        Operation::Login => Call {
            method: &Method::POST,
            path: &LOGIN,
            auth: None,
            body: Some(login_body),
            response_body: Body::Keep,
        },
        Operation::Balance => Call {
            method: &Method::GET,
            path: &BALANCE,
            auth: auth.header(),
            body: None,
            response_body: Body::Drain,
        },
        Operation::Refresh => Call {
            method: &Method::POST,
            path: &REFRESH,
            auth: None,
            body: auth.refresh_body(),
            response_body: Body::Keep,
        },
        Operation::Logout => Call {
            method: &Method::POST,
            path: &LOGOUT,
            auth: auth.header(),
            body: None,
            response_body: Body::Drain,
        },
    }
}
