//! A virtual user: its own connection and account, its credentials once logged in, and its place
//! in the flow `login -> balance x N -> [refresh every K balances] -> [logout] -> login ...`, kept
//! across turns (a turn may end mid-flow; the next one continues from there).
//!
//! The auth style is learnt from the login answer, so the load generator needs nothing from the
//! servers' crates: a `sid` cookie means a session server (`Cookie: sid=...` from then on, no
//! refresh); `access_token` in the JSON body means a JWT server (`Authorization: Bearer ...`, and
//! `POST /refresh` with the refresh token when the flow asks for it).
//!
//! This module decides what a VU sends next and what it learns from the answer; the load models
//! in [`crate::drive`] decide when it sends.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{AuthHeader, Body, Call, Connection, Endpoint, ErrorKind, JsonBody, Reply};
use crate::drive::Recorder;
use crate::live::Live;
use crate::recording::Sample;
use crate::scenario::{Flow, Operation};

static LOGIN: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/login"));
static BALANCE: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/user/balance"));
static REFRESH: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/refresh"));
static LOGOUT: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/logout"));

/// One account a VU logs in as.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

/// Keeps the password out of logs and panic messages.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How the system under test wants credentials presented, as learnt from its login answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Cookie: sid=...`.
    SessionCookie,
    /// `Authorization: Bearer ...`.
    Bearer,
}

/// The credential headers of the current login, built once per login (or refresh).
#[derive(Debug)]
enum Auth {
    LoggedOut,
    SessionCookie(AuthHeader),
    Bearer {
        authorization: AuthHeader,
        /// `{"refresh_token": ...}`, when the server issued one.
        refresh: Option<JsonBody>,
    },
}

/// What the VU tasks of one turn share: where to record, and when to stop sending.
#[derive(Clone, Copy, Debug)]
pub struct Turn<'a> {
    pub recorder: &'a Recorder,
    pub live: &'a Live,
    /// No request is sent at or after this instant; one in flight is finished and recorded.
    pub deadline: Instant,
    /// Stops the turn early, with the same clean ending as the deadline.
    pub cancel: &'a CancellationToken,
}

/// One request a VU made.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    pub operation: Operation,
    pub started: Instant,
    pub finished: Instant,
    pub error: Option<ErrorKind>,
}

/// How an answer moves the VU along its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// 401/403 on an authenticated request: the credentials are no good any more.
    AuthRejected,
    Failed,
}

/// One virtual user. Requests go out one at a time on its own connection.
#[derive(Debug)]
pub struct Vu {
    connection: Connection,
    /// One login body per account this VU logs in as, in turn: a flow that ends (by logout or
    /// by abandoning the login) starts the next one as the next account.
    login_bodies: Vec<JsonBody>,
    account: usize,
    flow: Flow,
    auth: Auth,
    next: Operation,
    balances_since_login: u32,
    balances_since_refresh: u32,
}

impl Vu {
    pub fn new(
        endpoint: Arc<Endpoint>,
        credential: &Credential,
        flow: Flow,
        request_timeout: Duration,
    ) -> Vu {
        Vu::with_accounts(
            endpoint,
            std::slice::from_ref(credential),
            flow,
            request_timeout,
        )
    }

    /// A VU that logs in as each of `credentials` in turn, one flow each. The caller gives every
    /// VU its own accounts, so no two VUs ever share one.
    pub fn with_accounts(
        endpoint: Arc<Endpoint>,
        credentials: &[Credential],
        flow: Flow,
        request_timeout: Duration,
    ) -> Vu {
        let login_bodies = credentials
            .iter()
            .map(|credential| {
                let login = serde_json::json!({
                    "username": credential.username,
                    "password": credential.password,
                });
                JsonBody::new(Bytes::from(login.to_string()))
            })
            .collect();
        Vu {
            connection: Connection::new(endpoint, request_timeout),
            login_bodies,
            account: 0,
            flow,
            auth: Auth::LoggedOut,
            next: Operation::Login,
            balances_since_login: 0,
            balances_since_refresh: 0,
        }
    }

    /// The next account of this VU's own, for the next flow.
    fn next_account(&mut self) {
        self.account = (self.account + 1) % self.login_bodies.len().max(1);
    }

    /// The request the VU sends next.
    pub fn next_operation(&self) -> Operation {
        self.next
    }

    /// `None` while logged out.
    pub fn auth_style(&self) -> Option<AuthStyle> {
        match self.auth {
            Auth::LoggedOut => None,
            Auth::SessionCookie(_) => Some(AuthStyle::SessionCookie),
            Auth::Bearer { .. } => Some(AuthStyle::Bearer),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connection.is_open()
    }

    /// Pause between one answer and the VU's next request.
    pub fn think_time(&self) -> Duration {
        self.flow.think_time
    }

    /// Sends the next request of the flow, records it and moves on; `None` (nothing sent) once
    /// the turn is over. With `intended`, the recorded latency counts from that instant (or
    /// from the actual send, if that was earlier), and the raw one from the actual send.
    pub async fn request(&mut self, intended: Option<Instant>, turn: &Turn<'_>) -> Option<Sent> {
        let started = Instant::now();
        if started >= turn.deadline || turn.cancel.is_cancelled() {
            return None;
        }
        let operation = self.next;
        let call = call_for(operation, &self.auth, &self.login_bodies[self.account]);
        let result = self.connection.send(&call, started).await;
        let from = intended.map_or(started, |intended| intended.min(started));
        let answered = result.is_ok();
        let (error, finished, bytes_sent, bytes_received) = match result {
            Ok(reply) => {
                let (finished, sent, received) =
                    (reply.finished, reply.bytes_sent, reply.bytes_received);
                let (outcome, error) = self.absorb(operation, reply);
                self.advance(operation, outcome);
                turn.live.record_latency(finished - from);
                (error, finished, sent, received)
            }
            Err(kind) => {
                self.advance(operation, Outcome::Failed);
                (Some(kind), Instant::now(), 0, 0)
            }
        };
        if error.is_some() {
            turn.live.record_error(answered);
        }
        turn.recorder.record(&Sample {
            operation,
            error,
            latency: finished - from,
            raw_latency: finished - started,
            bytes_sent,
            bytes_received,
        });
        Some(Sent {
            operation,
            started,
            finished,
            error,
        })
    }

    /// Takes what an answer carries (new credentials) and says how it went.
    fn absorb(&mut self, operation: Operation, reply: Reply) -> (Outcome, Option<ErrorKind>) {
        let status = reply.status;
        if !status.is_success() {
            let rejected = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
            let outcome = if rejected && operation != Operation::Login {
                Outcome::AuthRejected
            } else {
                Outcome::Failed
            };
            return (outcome, Some(ErrorKind::Status(status.as_u16())));
        }
        let learnt = match operation {
            Operation::Balance | Operation::Logout => return (Outcome::Ok, None),
            Operation::Login => reply.kept.and_then(|kept| {
                session_cookie(&kept.headers).or_else(|| bearer_tokens(&kept.body))
            }),
            Operation::Refresh => reply.kept.and_then(|kept| bearer_tokens(&kept.body)),
        };
        match learnt {
            Some(auth) => {
                self.auth = auth;
                (Outcome::Ok, None)
            }
            None => {
                tracing::debug!(?operation, "answer carried no usable credentials");
                (Outcome::Failed, Some(ErrorKind::Protocol))
            }
        }
    }

    fn advance(&mut self, operation: Operation, outcome: Outcome) {
        self.next = match (operation, outcome) {
            (Operation::Login, Outcome::Ok) => {
                self.balances_since_login = 0;
                self.balances_since_refresh = 0;
                Operation::Balance
            }
            (Operation::Login, _) => Operation::Login,
            (_, Outcome::AuthRejected) => {
                self.auth = Auth::LoggedOut;
                Operation::Login
            }
            (Operation::Logout, _) => {
                self.auth = Auth::LoggedOut;
                self.next_account();
                Operation::Login
            }
            (Operation::Balance, _) => {
                self.balances_since_login += 1;
                self.balances_since_refresh += 1;
                self.after_balance()
            }
            // A failed refresh is not retried at once: the access token may still be good.
            (Operation::Refresh, _) => {
                self.balances_since_refresh = 0;
                self.after_balance()
            }
        };
    }

    fn after_balance(&mut self) -> Operation {
        let can_refresh = matches!(
            &self.auth,
            Auth::Bearer {
                refresh: Some(_),
                ..
            }
        );
        let refresh_due = self
            .flow
            .refresh_every
            .is_some_and(|every| self.balances_since_refresh >= every.get());
        if can_refresh && refresh_due {
            Operation::Refresh
        } else if self.balances_since_login < self.flow.balances_per_login.get() {
            Operation::Balance
        } else if self.flow.logout {
            Operation::Logout
        } else {
            // The login is abandoned, as a client that never logs out would.
            self.auth = Auth::LoggedOut;
            self.next_account();
            Operation::Login
        }
    }

    /// Forgets the login: the next request is a fresh login.
    pub fn start_over(&mut self) {
        self.auth = Auth::LoggedOut;
        self.next = Operation::Login;
        self.balances_since_login = 0;
        self.balances_since_refresh = 0;
    }
}

fn call_for<'a>(operation: Operation, auth: &'a Auth, login_body: &'a JsonBody) -> Call<'a> {
    let auth_header = match auth {
        Auth::LoggedOut => None,
        Auth::SessionCookie(header) => Some(header),
        Auth::Bearer { authorization, .. } => Some(authorization),
    };
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
            auth: auth_header,
            body: None,
            response_body: Body::Drain,
        },
        Operation::Refresh => Call {
            method: &Method::POST,
            path: &REFRESH,
            auth: None,
            body: match auth {
                Auth::Bearer { refresh, .. } => refresh.as_ref(),
                _ => None,
            },
            response_body: Body::Keep,
        },
        Operation::Logout => Call {
            method: &Method::POST,
            path: &LOGOUT,
            auth: auth_header,
            body: None,
            response_body: Body::Drain,
        },
    }
}

/// `Cookie: sid=<id>` from a `Set-Cookie: sid=<id>; ...` answer.
fn session_cookie(headers: &http::HeaderMap) -> Option<Auth> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let pair = value.to_str().ok()?.split(';').next()?.trim();
        let id = pair.strip_prefix("sid=")?;
        if id.is_empty() {
            return None;
        }
        Some(Auth::SessionCookie(AuthHeader {
            name: COOKIE,
            value: HeaderValue::from_str(pair).ok()?,
        }))
    })
}

/// `Authorization: Bearer <access_token>` and the refresh body from a token-pair answer.
fn bearer_tokens(body: &[u8]) -> Option<Auth> {
    #[derive(Deserialize)]
    struct Tokens {
        access_token: String,
        refresh_token: Option<String>,
    }
    let tokens: Tokens = serde_json::from_slice(body).ok()?;
    let authorization = HeaderValue::try_from(format!("Bearer {}", tokens.access_token)).ok()?;
    let refresh = tokens.refresh_token.map(|token| {
        let body = serde_json::json!({ "refresh_token": token });
        JsonBody::new(Bytes::from(body.to_string()))
    });
    Some(Auth::Bearer {
        authorization: AuthHeader {
            name: AUTHORIZATION,
            value: authorization,
        },
        refresh,
    })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn vu(balances: u32, refresh_every: Option<u32>, logout: bool) -> Vu {
        let flow = Flow {
            balances_per_login: NonZeroU32::new(balances).unwrap(),
            refresh_every: refresh_every.and_then(NonZeroU32::new),
            logout,
            think_time: Duration::ZERO,
        };
        let credential = Credential {
            username: "user1".into(),
            password: "pass-1".into(),
        };
        let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
        Vu::new(endpoint, &credential, flow, Duration::from_secs(1))
    }

    fn bearer() -> Auth {
        bearer_tokens(br#"{"access_token":"a.b.c","refresh_token":"r1","expires_in":60}"#).unwrap()
    }

    /// Walks the flow with every request succeeding, starting logged in with `auth`.
    fn walk(vu: &mut Vu, auth: fn() -> Auth, steps: usize) -> Vec<&'static str> {
        (0..steps)
            .map(|_| {
                let operation = vu.next;
                if operation == Operation::Login {
                    vu.auth = auth();
                }
                vu.advance(operation, Outcome::Ok);
                operation.name()
            })
            .collect()
    }

    #[test]
    fn bearer_flow_refreshes_every_k_balances_then_logs_out() {
        let mut vu = vu(3, Some(2), true);
        let walked = walk(&mut vu, bearer, 7);
        assert_eq!(
            walked,
            [
                "login", "balance", "balance", "refresh", "balance", "logout", "login"
            ]
        );
    }

    #[test]
    fn cookie_sessions_skip_refresh_and_without_logout_log_in_again() {
        let cookie = || {
            Auth::SessionCookie(AuthHeader {
                name: COOKIE,
                value: HeaderValue::from_static("sid=x"),
            })
        };
        let mut vu = vu(2, Some(1), false);
        assert_eq!(walk(&mut vu, cookie, 3), ["login", "balance", "balance"]);
        assert_eq!(vu.next_operation(), Operation::Login);
        assert_eq!(vu.auth_style(), None);
    }

    #[test]
    fn each_new_flow_logs_in_as_the_vus_next_own_account_and_a_rejection_keeps_it() {
        let flow = Flow {
            balances_per_login: NonZeroU32::new(1).unwrap(),
            refresh_every: None,
            logout: true,
            think_time: Duration::ZERO,
        };
        let accounts: Vec<Credential> = ["user1", "user3"]
            .iter()
            .map(|name| Credential {
                username: (*name).into(),
                password: "p".into(),
            })
            .collect();
        let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
        let mut vu = Vu::with_accounts(endpoint, &accounts, flow, Duration::from_secs(1));
        let login_as =
            |vu: &Vu| String::from_utf8_lossy(vu.login_bodies[vu.account].bytes()).into_owned();
        assert!(login_as(&vu).contains("user1"));
        walk(&mut vu, bearer, 3); // login, balance, logout
        assert!(
            login_as(&vu).contains("user3"),
            "the next flow is the next account"
        );
        vu.advance(Operation::Balance, Outcome::AuthRejected);
        assert!(
            login_as(&vu).contains("user3"),
            "a rejection retries the same account"
        );
        walk(&mut vu, bearer, 3);
        assert!(login_as(&vu).contains("user1"), "and round again");
    }

    #[test]
    fn a_rejected_credential_or_failed_login_goes_back_to_login() {
        let mut vu = vu(5, None, true);
        vu.auth = bearer();
        vu.advance(Operation::Login, Outcome::Ok);
        vu.advance(Operation::Balance, Outcome::Failed);
        assert_eq!(vu.next_operation(), Operation::Balance);
        vu.advance(Operation::Balance, Outcome::AuthRejected);
        assert_eq!(vu.next_operation(), Operation::Login);
        assert_eq!(vu.auth_style(), None);
        vu.advance(Operation::Login, Outcome::Failed);
        assert_eq!(vu.next_operation(), Operation::Login);
    }

    #[test]
    fn login_answers_reveal_the_auth_style() {
        let mut headers = http::HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("theme=dark; Path=/"));
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("sid=abc123; HttpOnly; Path=/; Max-Age=60"),
        );
        match session_cookie(&headers) {
            Some(Auth::SessionCookie(header)) => {
                assert_eq!(header.name, COOKIE);
                assert_eq!(header.value, "sid=abc123");
            }
            other => panic!("{other:?}"),
        }
        match bearer() {
            Auth::Bearer {
                authorization,
                refresh: Some(refresh),
            } => {
                assert_eq!(authorization.value, "Bearer a.b.c");
                assert_eq!(&refresh.bytes()[..], br#"{"refresh_token":"r1"}"#);
            }
            other => panic!("{other:?}"),
        }
        assert!(session_cookie(&http::HeaderMap::new()).is_none());
        assert!(bearer_tokens(br#"{"session_id":"x"}"#).is_none());
    }
}
