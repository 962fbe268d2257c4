//! The servers' HTTP contract as an OpenAPI 3.1 document, served at `/openapi.json`. The bodies'
//! schemas are generated (schemars) from the very types the routes read and answer with, so
//! they cannot drift from the code; each server lists its operations next to its router, and a
//! test holds the list to the router (every documented operation is served, every served path
//! is documented) while schemathesis holds the answers to the document.

use http::Method;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// How an operation wants its caller authenticated: the names of security schemes from
/// [`Document::new`], any one of which will do. Empty: no credentials.
pub type Security = &'static [&'static str];

/// The security schemes the servers use.
pub const SESSION_COOKIE: &str = "sessionCookie";
pub const SESSION_HEADER: &str = "sessionHeader";
pub const BEARER: &str = "bearer";
pub const ACCESS_TOKEN_COOKIE: &str = "accessTokenCookie";

/// What an answer carries.
#[derive(Debug)]
pub enum Content {
    /// No body (204).
    Empty,
    /// `application/json`, with this schema.
    Json(Value),
    /// The OpenMetrics text exposition.
    Text,
}

/// One answer an operation documents.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
    /// Response headers it sets: `Set-Cookie`.
    pub sets_cookie: bool,
}

impl Answer {
    pub fn json(status: u16, description: &'static str, schema: Value) -> Answer {
        Answer {
            status,
            description,
            content: Content::Json(schema),
            sets_cookie: false,
        }
    }

    pub fn empty(status: u16, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            content: Content::Empty,
            sets_cookie: false,
        }
    }

    pub fn setting_cookie(mut self) -> Answer {
        self.sets_cookie = true;
        self
    }
}

/// One method on one path.
#[derive(Debug)]
pub struct Operation {
    pub id: &'static str,
    pub summary: &'static str,
    pub security: Security,
    /// A required JSON request body, by its schema.
    pub request: Option<Value>,
    /// The answers it gives on purpose; any other status is an error body (`default`).
    pub answers: Vec<Answer>,
}

/// A server's document, built operation by operation.
#[derive(Debug)]
pub struct Document {
    generator: SchemaGenerator,
    title: &'static str,
    description: &'static str,
    security_schemes: Map<String, Value>,
    paths: Map<String, Value>,
}

impl Document {
    /// An empty document; operations name the security schemes they take from
    /// [`SESSION_COOKIE`], [`SESSION_HEADER`], [`BEARER`] and [`ACCESS_TOKEN_COOKIE`].
    pub fn new(title: &'static str, description: &'static str) -> Document {
        let mut settings = SchemaSettings::draft2020_12();
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
        settings.contract = Contract::Serialize;
        let security_schemes = json!({
            SESSION_COOKIE: { "type": "apiKey", "in": "cookie", "name": "sid" },
            SESSION_HEADER: {
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Authorization: Session <session id>`",
            },
            BEARER: { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            ACCESS_TOKEN_COOKIE: { "type": "apiKey", "in": "cookie", "name": "access_token" },
        });
        Document {
            generator: settings.into_generator(),
            title,
            description,
            security_schemes: match security_schemes {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            paths: Map::new(),
        }
    }

    /// `T`'s schema: a `$ref` into the document's components.
    pub fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// Adds `operation` as `method` on `path`.
    pub fn operation(&mut self, path: &str, method: &Method, operation: Operation) {
        let error = self.schema::<super::error::ErrorBody<'static>>();
        let mut responses = Map::new();
        for answer in operation.answers {
            responses.insert(answer.status.to_string(), response(answer));
        }
        responses.insert(
            "default".into(),
            json!({
                "description": "An error: the status says which kind, the body why.",
                "content": { "application/json": { "schema": error } },
            }),
        );
        let mut entry = json!({
            "operationId": operation.id,
            "summary": operation.summary,
            "responses": responses,
            "security": if operation.security.is_empty() {
                json!([])
            } else {
                Value::Array(operation.security.iter().map(|name| json!({ *name: [] })).collect())
            },
        });
        if let Some(schema) = operation.request {
            entry["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } },
            });
        }
        let methods = self
            .paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        methods[method.as_str().to_ascii_lowercase()] = entry;
    }

    /// The finished document.
    pub fn finish(mut self) -> Value {
        let schemas = self.generator.take_definitions(true);
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "description": self.description,
                "version": env!("CARGO_PKG_VERSION"),
            },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": self.security_schemes,
            },
        })
    }
}

fn response(answer: Answer) -> Value {
    let mut response = json!({ "description": answer.description });
    match answer.content {
        Content::Empty => {}
        Content::Json(schema) => {
            response["content"] = json!({ "application/json": { "schema": schema } });
        }
        Content::Text => {
            response["content"] =
                json!({ "application/openmetrics-text": { "schema": { "type": "string" } } });
        }
    }
    if answer.sets_cookie {
        response["headers"] = json!({
            "Set-Cookie": {
                "description": "The credential cookie (HttpOnly, SameSite=Strict)",
                "schema": { "type": "string" },
            }
        });
    }
    response
}

/// `POST /introspect` (RFC 7662): a form body with `token`, the shared secret as a bearer
/// credential, the token's state as JSON.
pub fn add_introspection(document: &mut Document) {
    use authbench_contract::routes;
    let answer = document.schema::<super::introspection::Introspection>();
    document.operation(
        routes::INTROSPECT,
        &Method::POST,
        Operation {
            id: "introspect",
            summary: "Whether a token is active (RFC 7662), for callers holding the shared secret",
            security: &[BEARER],
            request: None,
            answers: vec![Answer::json(
                200,
                "The token's state; only `active` when inactive",
                answer,
            )],
        },
    );
    document.paths[routes::INTROSPECT]["post"]["requestBody"] = json!({
        "required": true,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": { "type": "string" },
                        "token_type_hint": { "type": "string" },
                    },
                },
            },
        },
    });
}

/// The operations every authbench server has: `GET /`, `/healthz`, `/metrics` and
/// `/openapi.json` itself.
pub fn add_common(document: &mut Document) {
    use authbench_contract::routes;
    let about = document.schema::<crate::account::About>();
    let health = document.schema::<super::Health<'static>>();
    document.operation(
        routes::ROOT,
        &Method::GET,
        Operation {
            id: "about",
            summary: "The server's name and version: no auth, no store (the fixed cost floor)",
            security: &[],
            request: None,
            answers: vec![Answer::json(200, "The server", about)],
        },
    );
    document.operation(
        routes::HEALTHZ,
        &Method::GET,
        Operation {
            id: "healthz",
            summary: "Whether the store and main_DB answer",
            security: &[],
            request: None,
            answers: vec![
                Answer::json(200, "Every dependency answers", health.clone()),
                Answer::json(503, "A dependency does not answer", health),
            ],
        },
    );
    document.operation(
        routes::METRICS,
        &Method::GET,
        Operation {
            id: "metrics",
            summary: "Prometheus text: requests by route and status, store operations, timings",
            security: &[],
            request: None,
            answers: vec![Answer {
                status: 200,
                description: "The exposition",
                content: Content::Text,
                sets_cookie: false,
            }],
        },
    );
    document.operation(
        routes::OPENAPI,
        &Method::GET,
        Operation {
            id: "openapi",
            summary: "This document",
            security: &[],
            request: None,
            answers: vec![Answer::json(
                200,
                "OpenAPI 3.1",
                json!({ "type": "object" }),
            )],
        },
    );
}
