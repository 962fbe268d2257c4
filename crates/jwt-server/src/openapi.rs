//! The JWT server's OpenAPI document: its operations, next to its router in `lib.rs`, with the
//! schemas of the types its routes read and write. The access token is a bearer token, and with
//! `--transport cookie` also the `access_token` cookie.

use authbench_contract::routes as paths;
use authbench_core::account::{Balance, LoginRequest};
use authbench_core::http::openapi::{
    ACCESS_TOKEN_COOKIE, Answer, BEARER, Document, Operation, Security, add_common,
    add_introspection,
};
use http::Method;
use serde_json::{Value, json};

use crate::config::Transport;
use crate::routes::login::{RefreshRequest, TokenPair};
use crate::routes::sessions::{Deleted, FamilyList};

/// The document `/openapi.json` serves for a server with `transport`.
pub fn document(transport: Transport) -> Value {
    let access: Security = match transport {
        Transport::Header => &[BEARER],
        Transport::Cookie => &[BEARER, ACCESS_TOKEN_COOKIE],
    };
    let mut document = Document::new(
        "authbench JWT server",
        "Signed access tokens checked without a store, refresh tokens rotated in a store, \
         optional revocation.",
    );
    let login = document.schema::<LoginRequest>();
    let refresh = document.schema::<RefreshRequest>();
    let pair = document.schema::<TokenPair<'static>>();
    let balance = document.schema::<Balance>();
    let families = document.schema::<FamilyList>();
    let deleted = document.schema::<Deleted>();
    let issued = |description| {
        let answer = Answer::json(200, description, pair.clone());
        match transport {
            Transport::Header => answer,
            Transport::Cookie => answer.setting_cookie(),
        }
    };
    let operations = [
        (
            paths::LOGIN,
            Method::POST,
            Operation {
                id: "login",
                summary: "Check the password in main_DB; a new refresh family and token pair",
                security: &[],
                request: Some(login),
                answers: vec![issued("The first access and refresh tokens")],
            },
        ),
        (
            paths::REFRESH,
            Method::POST,
            Operation {
                id: "refresh",
                summary: "Rotate a refresh token; reusing a rotated one revokes its family",
                security: &[],
                request: Some(refresh),
                answers: vec![issued("The next access and refresh tokens")],
            },
        ),
        (
            paths::LOGOUT,
            Method::POST,
            Operation {
                id: "logout",
                summary: "End the caller's refresh family (and revoke its access token when on)",
                security: access,
                request: None,
                answers: vec![Answer::empty(204, "Ended").setting_cookie()],
            },
        ),
        (
            paths::BALANCE,
            Method::GET,
            Operation {
                id: "balance",
                summary: "The caller's balance: the authenticated request every flow repeats",
                security: access,
                request: None,
                answers: vec![Answer::json(200, "The balance", balance)],
            },
        ),
        (
            paths::SESSIONS,
            Method::GET,
            Operation {
                id: "listSessions",
                summary: "The caller's refresh families (its logins)",
                security: access,
                request: None,
                answers: vec![Answer::json(200, "Each family, by id prefix", families)],
            },
        ),
        (
            paths::SESSIONS,
            Method::DELETE,
            Operation {
                id: "logoutEverywhere",
                summary: "End every refresh family of the caller",
                security: access,
                request: None,
                answers: vec![Answer::json(200, "How many ended", deleted).setting_cookie()],
            },
        ),
        (
            paths::JWKS,
            Method::GET,
            Operation {
                id: "jwks",
                summary: "The public verification keys (empty for HS256)",
                security: &[],
                request: None,
                answers: vec![Answer::json(200, "A JWK set (RFC 7517)", jwk_set())],
            },
        ),
    ];
    for (path, method, operation) in operations {
        document.operation(path, &method, operation);
    }
    add_introspection(&mut document);
    add_common(&mut document);
    document.finish()
}

/// RFC 7517's JWK set, as far as this server fills it in.
fn jwk_set() -> Value {
    json!({
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kty", "kid", "alg", "use"],
                    "properties": {
                        "kty": { "type": "string" },
                        "kid": { "type": "string" },
                        "alg": { "type": "string" },
                        "use": { "const": "sig" },
                    },
                },
            },
        },
    })
}
