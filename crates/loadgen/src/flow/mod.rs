//! A virtual user: its own connection and account, its credentials once logged in, and its place
//! in the flow `login -> balance x N -> [refresh every K balances] -> [logout] -> login ...`, kept
//! across turns (a turn may end mid-flow; the next one continues from there).
//!
//! The routes and the credential rules come from the system's [`Mapping`]: authbench's own by
//! default, where the auth style is learnt from the login answer, so the load generator needs
//! nothing from the servers' crates: a `sid` cookie means a session server (`Cookie: sid=...`
//! from then on, no refresh); `access_token` in the JSON body means a JWT server
//! (`Authorization: Bearer ...`, and `POST /refresh` with the refresh token when the flow asks for
//! it). A mapped service's protected requests all count as the flow's `balance`.
//!
//! [`Mapping`]: crate::scenario::Mapping
//!
//! This module decides what a VU sends next and what it learns from the answer; the load models
//! in [`crate::drive`] decide when it sends.
//!
//! # Layout
//!
//! - `account`: [`Credential`], and the accounts a VU logs in as in turn.
//! - `auth`: the credentials learnt from a login answer.
//! - `routes`: [`FlowRoutes`], a mapping made ready to send.
//! - `call`: the request each operation makes.

mod account;
mod auth;
mod call;
mod routes;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use account::Credential;
#[cfg(test)]
pub use auth::AuthStyle;
pub use routes::FlowRoutes;

use crate::client::{Connection, Endpoint, ErrorKind, Reply};
use crate::live::Live;
use crate::recording::Recorder;
use crate::recording::Sample;
use crate::scenario::{Flow, Operation};
use account::Accounts;
use auth::{Auth, learn};
use call::call_for;

/// What the VU tasks of one turn share: where to record, and when to stop sending.
#[derive(Clone, Copy, Debug)]
pub struct TurnContext<'a> {
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

/// One virtual user. Requests go out one at a time on its own connection (one per replica of
/// the system when its requests are spread over several, and one more to a resource server
/// beside the system, which its balance requests go to).
#[derive(Debug)]
pub struct Vu {
    connections: Vec<Connection>,
    /// A resource server's connection: balance requests go here when there is one.
    resource: Option<Connection>,
    /// With several connections: the system-wide request counter that picks the replica of each
    /// request, as a round-robin load balancer in front of the replicas would.
    router: Option<Arc<AtomicUsize>>,
    accounts: Accounts,
    flow: Flow,
    routes: Arc<FlowRoutes>,
    auth: Auth,
    next: Operation,
    /// How many protected requests this VU has sent: its place in the routes' cycle of them.
    protected_sent: usize,
    /// The balance requests the current login is followed by.
    login_balances: u32,
    /// With `flow.stagger`: the first login's share, taken by that login.
    first_login_balances: Option<u32>,
    balances_since_login: u32,
    balances_since_refresh: u32,
}

impl Vu {
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn with_accounts(
        endpoint: Arc<Endpoint>,
        credentials: &[Credential],
        flow: Flow,
        request_timeout: Duration,
    ) -> Vu {
        let routes = Arc::new(FlowRoutes::default());
        Vu::spread_over(
            vec![endpoint],
            None,
            (credentials, routes),
            flow,
            request_timeout,
        )
    }

    /// A VU with one connection to each of `endpoints` (a system's replicas); `router`, shared
    /// by all the system's VUs, numbers the requests, and request `k` goes to `endpoints[k mod
    /// n]`. So a login lands on one replica and the same user's next request on whichever the
    /// count reaches, as behind a round-robin load balancer.
    pub fn spread_over(
        endpoints: Vec<Arc<Endpoint>>,
        router: Option<Arc<AtomicUsize>>,
        (credentials, routes): (&[Credential], Arc<FlowRoutes>),
        flow: Flow,
        request_timeout: Duration,
    ) -> Vu {
        let connections: Vec<Connection> = endpoints
            .into_iter()
            .map(|endpoint| Connection::new(endpoint, request_timeout))
            .collect();
        let router = router.filter(|_| connections.len() > 1);
        Vu {
            connections,
            resource: None,
            router,
            accounts: Accounts::new(credentials, &routes),
            flow,
            routes,
            auth: Auth::LoggedOut,
            next: Operation::Login,
            protected_sent: 0,
            login_balances: flow.balances_per_login.get(),
            first_login_balances: None,
            balances_since_login: 0,
            balances_since_refresh: 0,
        }
    }

    /// Balance requests go to `resource` (a resource server that accepts the credentials the
    /// system issues), on a connection of their own.
    pub fn with_resource(mut self, resource: Arc<Endpoint>, request_timeout: Duration) -> Vu {
        self.resource = Some(Connection::new(resource, request_timeout));
        self
    }

    /// VU `index` of its system: its first login is followed by its share of the balance
    /// requests (all of them without `flow.stagger`; see [`Flow::first_login_balances`]).
    pub fn staggered(mut self, index: usize) -> Vu {
        self.first_login_balances = Some(self.flow.first_login_balances(index));
        self
    }

    /// The request the VU sends next.
    pub fn next_operation(&self) -> Operation {
        self.next
    }

    /// `None` while logged out.
    #[cfg(test)]
    pub fn auth_style(&self) -> Option<AuthStyle> {
        self.auth.style()
    }

    pub fn is_connected(&self) -> bool {
        self.connections
            .iter()
            .chain(&self.resource)
            .all(Connection::is_open)
    }

    /// Pause between one answer and the VU's next request.
    pub fn think_time(&self) -> Duration {
        self.flow.think_time
    }

    /// Sends the next request of the flow, records it and moves on; `None` (nothing sent) once
    /// the turn is over. With `intended`, the recorded latency counts from that instant (or
    /// from the actual send, if that was earlier), and the raw one from the actual send.
    pub async fn request(
        &mut self,
        intended: Option<Instant>,
        turn: &TurnContext<'_>,
    ) -> Option<Sent> {
        let started = Instant::now();
        if started >= turn.deadline || turn.cancel.is_cancelled() {
            return None;
        }
        let operation = self.next;
        let (call, route) = call_for(
            operation,
            &self.routes,
            self.protected_sent,
            &self.auth,
            self.accounts.login_body(),
        );
        if operation == Operation::Balance {
            self.protected_sent = self.protected_sent.wrapping_add(1);
        }
        let expected = route.status;
        let connection = match (&mut self.resource, operation) {
            (Some(resource), Operation::Balance) => resource,
            _ => {
                let on = self.router.as_ref().map_or(0, |count| {
                    count.fetch_add(1, Ordering::Relaxed) % self.connections.len()
                });
                &mut self.connections[on]
            }
        };
        let result = connection.send(&call, started).await;
        let from = intended.map_or(started, |intended| intended.min(started));
        let answered = result.is_ok();
        let (error, finished, bytes_sent, bytes_received) = match result {
            Ok(reply) => {
                let (finished, sent, received) =
                    (reply.finished, reply.bytes_sent, reply.bytes_received);
                let (outcome, error) = self.absorb(operation, expected, reply);
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
            started,
            finished,
            error,
        })
    }

    /// Takes what an answer carries (new credentials) and says how it went.
    fn absorb(
        &mut self,
        operation: Operation,
        expected: Option<StatusCode>,
        reply: Reply,
    ) -> (Outcome, Option<ErrorKind>) {
        let status = reply.status;
        let succeeded = expected.map_or(status.is_success(), |expected| expected == status);
        if !succeeded {
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
            Operation::Login | Operation::Refresh => {
                reply.kept.and_then(|kept| learn(&self.routes, &kept))
            }
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
                self.login_balances = self
                    .first_login_balances
                    .take()
                    .unwrap_or(self.flow.balances_per_login.get());
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
                self.accounts.next();
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
        let can_refresh = self.auth.refresh_body().is_some();
        let refresh_due = self
            .flow
            .refresh_every
            .is_some_and(|every| self.balances_since_refresh >= every.get());
        if can_refresh && refresh_due {
            Operation::Refresh
        } else if self.balances_since_login < self.login_balances {
            Operation::Balance
        } else if self.flow.logout {
            Operation::Logout
        } else {
            // The login is abandoned, as a client that never logs out would.
            self.auth = Auth::LoggedOut;
            self.accounts.next();
            Operation::Login
        }
    }

    /// Forgets the login: the next request is a fresh login, of a whole flow.
    pub fn start_over(&mut self) {
        self.first_login_balances = None;
        self.auth = Auth::LoggedOut;
        self.next = Operation::Login;
        self.balances_since_login = 0;
        self.balances_since_refresh = 0;
    }
}

#[cfg(test)]
mod tests;
