//! The load models that drive one system: closed (a fixed number of VUs back to back), open
//! (flows started on a schedule, latency counted from the schedule) and a fixed-request mode for
//! comparing the client itself with wrk.
//!
//! # Layout
//!
//! - `closed`: [`Driver::closed`].
//! - `open`: [`Driver::open`], its schedule and pool of idle VUs.
//! - `fixed`: [`fixed()`], one path over and over on N connections.
//!
//! Every VU runs as a task on the caller's multi-thread runtime, which the caller sizes. A
//! [`Driver`] keeps its VUs, and so their connections and logins, from one call to the next.
//! Every call ends with nothing in flight: VUs stop sending at the deadline (or on cancel) and
//! finish the request they have in flight, so the server's own counters, read between calls,
//! match the recording. Cancel with the token rather than by dropping the future: a dropped call
//! leaves its tasks to run until the deadline.

mod arrivals;
mod closed;
mod fixed;
mod open;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

pub use arrivals::{Arrivals, Burst};
pub use fixed::fixed;
/// Re-exported so that callers need no direct dependency to stop a turn early.
pub use tokio_util::sync::CancellationToken;

use tokio::time::Instant;

use crate::client::Endpoint;
use crate::flow::{Credential, FlowRoutes, TurnContext, Vu};
use crate::scenario::{Flow, Mapping, Routing};

/// After a failed connect a VU waits this long (or its think time, if longer) before trying
/// again, so that a dead server doesn't turn every VU into a busy loop of refused connects.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// One system's virtual users, created as steps need them and kept across calls.
#[derive(Debug)]
pub struct Driver {
    /// One per replica of the system; usually one.
    endpoints: Vec<Arc<Endpoint>>,
    routing: Routing,
    /// Numbers every request of the system's VUs, for round-robin routing over replicas.
    router: Arc<AtomicUsize>,
    credentials: Arc<[Credential]>,
    flow: Flow,
    /// The system's routes, shared by its VUs.
    routes: Arc<FlowRoutes>,
    request_timeout: Duration,
    /// VU `i` logs in with `credentials[i]`. `None`: not created yet, or lent to a running task.
    vus: Vec<Option<Vu>>,
    /// With [`Driver::rotating_accounts`], VU `i` also uses `credentials[i + k * stride]`.
    accounts_stride: usize,
    /// A resource server beside the system: the balance requests go there.
    resource: Option<Arc<Endpoint>>,
}

impl Driver {
    /// VU `i` uses `credentials[i]`; the caller provides at least as many as the largest step
    /// (more VUs than credentials would share accounts, and are refused with a warning).
    pub fn new(
        endpoint: Endpoint,
        credentials: Arc<[Credential]>,
        flow: Flow,
        request_timeout: Duration,
    ) -> Driver {
        Driver {
            endpoints: vec![Arc::new(endpoint)],
            routing: Routing::RoundRobin,
            router: Arc::new(AtomicUsize::new(0)),
            credentials,
            flow,
            routes: Arc::new(FlowRoutes::default()),
            request_timeout,
            vus: Vec::new(),
            accounts_stride: usize::MAX,
            resource: None,
        }
    }

    /// Sends every VU's balance requests to `resource` (a resource server that accepts the
    /// system's credentials) over a second connection of its own; logins and the rest go to
    /// the system.
    pub fn with_resource(mut self, resource: Endpoint) -> Driver {
        self.resource = Some(Arc::new(resource));
        self
    }

    /// Each VU logs in as the next of its own accounts at every new flow, rather than always
    /// as one: `stride` is the most VUs the run will create, so accounts `i, i + stride, ...`
    /// are VU `i`'s alone. Users then log in again only after a whole round of the VU's other
    /// accounts, as on a real service, instead of the same user at once (which a per-user
    /// revocation cutoff from that user's logout in the same second would refuse).
    pub fn rotating_accounts(mut self, stride: usize) -> Driver {
        self.accounts_stride = stride;
        self
    }

    /// Sends the flow to the service's own routes instead of authbench's.
    pub fn mapped(mut self, mapping: &Mapping) -> Driver {
        self.routes = Arc::new(FlowRoutes::new(mapping));
        self
    }

    /// Spreads the VUs' requests over `more` replicas besides the first endpoint: with
    /// [`Routing::Sticky`] VU `i` keeps to replica `i mod n`; with [`Routing::RoundRobin`] the
    /// system's requests go to the replicas in turn, whichever VU sends them.
    pub fn spread_over(mut self, more: Vec<Endpoint>, routing: Routing) -> Driver {
        self.endpoints.extend(more.into_iter().map(Arc::new));
        self.routing = routing;
        self
    }

    /// The endpoints VU `index` sends to.
    fn endpoints_of(&self, index: usize) -> Vec<Arc<Endpoint>> {
        match self.routing {
            Routing::Sticky => vec![self.endpoints[index % self.endpoints.len()].clone()],
            Routing::RoundRobin => self.endpoints.clone(),
        }
    }

    /// VUs whose connection is open.
    pub fn connections_open(&self) -> usize {
        self.vus
            .iter()
            .flatten()
            .filter(|vu| vu.is_connected())
            .count()
    }

    /// Lends out VU `index`, creating it on first use; `None` when there is no credential for it.
    fn take_vu(&mut self, index: usize) -> Option<Vu> {
        if self.vus.len() <= index {
            self.vus.resize_with(index + 1, || None);
        }
        if let Some(vu) = self.vus[index].take() {
            return Some(vu);
        }
        if index >= self.credentials.len() {
            tracing::warn!(
                index,
                credentials = self.credentials.len(),
                "not enough credentials for this many virtual users; running fewer"
            );
            return None;
        }
        // VU `i` owns accounts i, i + stride, i + 2 stride ...: its own, never another VU's.
        let stride = self.accounts_stride.max(1);
        let accounts: Vec<Credential> = self
            .credentials
            .iter()
            .skip(index)
            .step_by(stride)
            .cloned()
            .collect();
        let vu = Vu::spread_over(
            self.endpoints_of(index),
            Some(self.router.clone()),
            (&accounts, self.routes.clone()),
            self.flow,
            self.request_timeout,
        )
        .staggered(index);
        Some(match &self.resource {
            Some(resource) => vu.with_resource(resource.clone(), self.request_timeout),
            None => vu,
        })
    }

    /// Takes a VU back after its task ended; a task that panicked loses its VU, which is then
    /// created afresh next time.
    fn return_vu(&mut self, index: usize, vu: Result<Vu, tokio::task::JoinError>) {
        match vu {
            Ok(vu) => self.vus[index] = Some(vu),
            Err(error) => tracing::error!(index, %error, "a virtual user's task failed"),
        }
    }
}

/// Waits `pause` after `from`; false when the turn is over first (no request would be sent).
async fn pause_until(from: Instant, pause: Duration, turn: &TurnContext<'_>) -> bool {
    if pause.is_zero() {
        return true;
    }
    let wake = from + pause;
    if wake >= turn.deadline {
        return false;
    }
    tokio::select! {
        biased;
        () = turn.cancel.cancelled() => false,
        () = tokio::time::sleep_until(wake) => true,
    }
}
