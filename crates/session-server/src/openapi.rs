//! The session server's OpenAPI document: its operations, next to its router in `lib.rs`, with
//! the schemas of the types its routes read and write.

use authbench_contract::routes as paths;
use authbench_core::account::{Balance, LoginRequest};
use authbench_core::http::openapi::{
    Answer, Document, Operation, SESSION_COOKIE, SESSION_HEADER, Security, add_common,
    add_introspection,
};
use http::Method;
use serde_json::Value;

use crate::routes::login::LoginResponse;
use crate::routes::sessions::{Deleted, SessionList};

/// A session id, in the `sid` cookie or as `Authorization: Session <id>`.
const SESSION: Security = &[SESSION_COOKIE, SESSION_HEADER];

/// The document `/openapi.json` serves.
pub fn document() -> Value {
    let mut document = Document::new(
        "authbench session server",
        "Sessions in a server-side store: POST /login sets a `sid` cookie; every \
         authenticated request looks the session up in the store.",
    );
    let login = document.schema::<LoginRequest>();
    let session = document.schema::<LoginResponse<'static>>();
    let balance = document.schema::<Balance>();
    let sessions = document.schema::<SessionList>();
    let deleted = document.schema::<Deleted>();
    let operations = [
        (
            paths::LOGIN,
            Method::POST,
            Operation {
                id: "login",
                summary: "Check the password in main_DB and start a session",
                security: &[],
                request: Some(login),
                answers: vec![
                    Answer::json(200, "A new session; its id is also in the cookie", session)
                        .setting_cookie(),
                ],
            },
        ),
        (
            paths::LOGOUT,
            Method::POST,
            Operation {
                id: "logout",
                summary: "End the caller's session",
                security: SESSION,
                request: None,
                answers: vec![Answer::empty(204, "Ended; the cookie is cleared").setting_cookie()],
            },
        ),
        (
            paths::BALANCE,
            Method::GET,
            Operation {
                id: "balance",
                summary: "The caller's balance: the authenticated request every flow repeats",
                security: SESSION,
                request: None,
                answers: vec![Answer::json(200, "The balance", balance)],
            },
        ),
        (
            paths::SESSIONS,
            Method::GET,
            Operation {
                id: "listSessions",
                summary: "The caller's live sessions",
                security: SESSION,
                request: None,
                answers: vec![Answer::json(
                    200,
                    "Each live session, by id prefix",
                    sessions,
                )],
            },
        ),
        (
            paths::SESSIONS,
            Method::DELETE,
            Operation {
                id: "logoutEverywhere",
                summary: "End every session of the caller",
                security: SESSION,
                request: None,
                answers: vec![Answer::json(200, "How many ended", deleted).setting_cookie()],
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
