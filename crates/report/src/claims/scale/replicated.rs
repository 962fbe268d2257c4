//! The replicated systems of a run as C6 sees them: where their state lives, how requests
//! reached their replicas, and how many authenticated requests a replica answered 401.

use super::LOST_SESSIONS;
use crate::claims::{Cell, Run, Style, System};
use crate::format::{count, extent, number, percent, routing, span};
use crate::model::{Operation, Routing, StoreKind, SystemStep};

/// The requests that present a credential: a 401 on them means the replica did not know it.
const AUTHENTICATED: [Operation; 3] = [Operation::Balance, Operation::Refresh, Operation::Logout];
/// The error kind the load generator counts a 401 answer under.
const UNAUTHORIZED: &str = "status_401";

/// Where a system's store keeps its state, as its replicas see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// Process memory: each replica has its own.
    Process,
    /// A SQLite file: shared by replicas on one host only.
    Host,
    /// A network store (Redis, Postgres) that every replica reaches.
    Shared,
    Unknown,
}

/// A replicated system's 401s on authenticated requests and its errors, over its measured steps.
pub(super) struct Scaled<'s, 'a> {
    pub system: &'s System<'a>,
    pub replicas: usize,
    pub reach: Reach,
    pub routing: Option<Routing>,
    /// Per authenticated operation that ran: the operation, its 401s and its requests.
    pub operations: Vec<(Operation, u64, u64)>,
    /// The 401 share of authenticated requests at each measured step.
    pub step_shares: Vec<f64>,
    pub requests: u64,
    pub errors: u64,
}

impl<'s, 'a> Scaled<'s, 'a> {
    pub fn new(system: &'s System<'a>) -> Self {
        let authenticated = |cell: &Cell<'_>| {
            AUTHENTICATED.map(|operation| {
                cell.operation(operation).map_or((0, 0), |stats| {
                    let unauthorized = stats.errors.get(UNAUTHORIZED).copied().unwrap_or(0);
                    (unauthorized, stats.requests)
                })
            })
        };
        let per_step: Vec<[(u64, u64); 3]> = system.cells.iter().map(authenticated).collect();
        let operations = AUTHENTICATED
            .iter()
            .enumerate()
            .map(|(index, operation)| {
                let (unauthorized, requests) = per_step.iter().fold((0, 0), |(u, r), step| {
                    (u + step[index].0, r + step[index].1)
                });
                (*operation, unauthorized, requests)
            })
            .filter(|(_, _, requests)| *requests > 0)
            .collect();
        let step_shares = per_step
            .iter()
            .filter_map(|step| {
                let (unauthorized, requests) = step
                    .iter()
                    .fold((0, 0), |(u, r), (su, sr)| (u + su, r + sr));
                (requests > 0).then(|| unauthorized as f64 / requests as f64)
            })
            .collect();
        let reach = match system.info.store {
            Some(StoreKind::Memory) => Reach::Process,
            Some(StoreKind::Sqlite) => Reach::Host,
            Some(StoreKind::Redis | StoreKind::RedisCluster | StoreKind::Postgres) => Reach::Shared,
            None => Reach::Unknown,
        };
        Scaled {
            system,
            replicas: system.info.replica_count(),
            reach,
            routing: system.info.routing,
            operations,
            step_shares,
            requests: system.cells.iter().map(|cell| cell.result.requests).sum(),
            errors: system.cells.iter().map(|cell| cell.result.errors).sum(),
        }
    }

    pub fn unauthorized(&self) -> u64 {
        self.operations.iter().map(|(_, u, _)| u).sum()
    }

    /// The share of authenticated requests answered 401.
    pub fn share(&self) -> f64 {
        let requests: u64 = self.operations.iter().map(|(_, _, r)| r).sum();
        self.unauthorized() as f64 / requests.max(1) as f64
    }

    /// Sessions that only the replica which saw the login holds, and requests that go to the
    /// others: what the claim says fails.
    pub fn exposed(&self) -> bool {
        self.system.style == Style::Session
            && self.reach == Reach::Process
            && self.routing == Some(Routing::RoundRobin)
    }

    /// What the claim says keeps working: JWT, or sessions on a shared store or behind sticky
    /// routing. Its reason, for sentences.
    pub fn kept_by(&self) -> Option<&'static str> {
        match self.system.style {
            Style::Jwt => Some("it checks a signature"),
            Style::Session if self.routing == Some(Routing::Sticky) => {
                Some("its routing is sticky")
            }
            Style::Session if matches!(self.reach, Reach::Shared | Reach::Host) => {
                Some("its replicas share one store")
            }
            _ => None,
        }
    }

    /// "session-memory (session server, 2 processes, sessions in process memory, one store per
    /// replica, round robin routing): 401 on 50.0% of its 252,676 authenticated requests ..."
    pub fn line(&self, run: &Run<'_>) -> String {
        let system = self.system;
        let (kind, state) = match system.style {
            Style::Jwt => ("JWT server", "refresh state"),
            _ => ("session server", "sessions"),
        };
        let store = match self.reach {
            Reach::Process => "process memory, one store per replica".to_owned(),
            Reach::Host => "one SQLite file its replicas share on this host".to_owned(),
            Reach::Shared => format!("{}, shared by its replicas", system.store_name()),
            Reach::Unknown => "a store whose reach the report does not know".to_owned(),
        };
        let by = match &system.info.balancer {
            Some(balancer) => format!(" by {}", balancer.version),
            None => String::new(),
        };
        let routed = self.routing.map_or("routing not recorded".to_owned(), |r| {
            format!("{} routing{by}", routing(r))
        });
        let operations: Vec<String> = self
            .operations
            .iter()
            .map(|(operation, unauthorized, requests)| {
                format!(
                    "{} {} of {}",
                    operation.as_str(),
                    count(*unauthorized),
                    count(*requests)
                )
            })
            .collect();
        let steps = match extent(self.step_shares.iter().copied()) {
            Some((low, high)) if self.step_shares.len() > 1 && percent(low) == percent(high) => {
                format!("; {} at every step", percent(low))
            }
            Some((low, high)) if self.step_shares.len() > 1 => {
                format!("; {} per step", span(low, high, percent))
            }
            _ => String::new(),
        };
        let mut line = format!(
            "{} ({kind}, {} processes, {state} in {store}, {routed}): 401 on {} of its \
             authenticated requests ({}{steps}); errors overall {} of {} requests ({}).",
            system.name(),
            self.replicas,
            percent(self.share()),
            operations.join(", "),
            percent(self.errors as f64 / self.requests.max(1) as f64),
            count(self.requests),
            run.loads(system)
        );
        if self.exposed() {
            let expected = (self.replicas - 1) as f64 / self.replicas as f64;
            line.push_str(&format!(
                " Round robin over {} replicas sends about {} of them to a replica that did not \
                 see the login.",
                self.replicas,
                percent(expected)
            ));
        }
        line
    }
}

/// What the balancer hop cost a system behind nginx: its CPU per request and, against the same
/// replicas that the load generator routed itself in this run, the throughput and median
/// balance latency at the top step.
pub(super) fn balancer_line(run: &Run<'_>, scaled: &Scaled<'_, '_>) -> Option<String> {
    let system = scaled.system;
    let balancer = system.info.balancer.as_ref()?;
    let top = system.top()?;
    let cpu = top
        .result
        .derived
        .balancer_cpu_us_per_request
        .map_or(String::new(), |us| {
            format!(
                " {} used {} µs of CPU per request;",
                balancer.version,
                number(us)
            )
        });
    let direct = run.systems.iter().find(|other| {
        other.info.balancer.is_none()
            && other.style == system.style
            && other.info.replica_count() == system.info.replica_count()
            && other.info.routing == system.info.routing
            && other.info.store == system.info.store
            && other.setting("alg") == system.setting("alg")
    });
    let compared = direct.and_then(|other| {
        let cell = other.cells.iter().find(|cell| cell.load == top.load)?;
        let p50 = |step: &SystemStep| {
            step.operations
                .iter()
                .find(|op| op.operation == Operation::Balance)
                .map(|op| op.latency.p50_us)
        };
        let (ours, theirs) = (
            top.result.requests_per_second,
            cell.result.requests_per_second,
        );
        let latency = match (p50(top.result), p50(cell.result)) {
            (Some(ours), Some(theirs)) => format!(
                ", balance p50 {} µs against {} µs",
                number(ours as f64),
                number(theirs as f64)
            ),
            _ => String::new(),
        };
        Some(format!(
            " at {} it served {} req/s, {}× the {} req/s of {}, whose requests the load \
             generator spread itself{latency}",
            run.load(top.load),
            number(ours),
            number(ours / theirs.max(f64::MIN_POSITIVE)),
            number(theirs),
            other.name()
        ))
    });
    Some(format!(
        "{} took every request through {}:{cpu}{}.",
        system.name(),
        balancer.version,
        compared.unwrap_or_else(|| {
            " no system in this run had the same replicas routed by the load generator, so the \
             hop's cost beside them was not measured"
                .to_owned()
        })
    ))
}

/// A replicated system's requests/s at its top step against a single-process system of the
/// same kind at the same load: the same store (and algorithm) where the run has one.
pub(super) fn throughput_line(run: &Run<'_>, scaled: &Scaled<'_, '_>) -> Option<String> {
    let system = scaled.system;
    let top = system.top()?;
    let single = run
        .systems
        .iter()
        .filter(|other| other.style == system.style && other.info.replica_count() == 1)
        .filter_map(|other| {
            let cell = other.cells.iter().find(|cell| cell.load == top.load)?;
            let alike = usize::from(other.info.store == system.info.store) * 2
                + usize::from(other.setting("alg") == system.setting("alg"));
            Some((alike, other, cell))
        })
        .max_by_key(|(alike, _, _)| *alike);
    let (_, other, cell) = single?;
    let (ours, theirs) = (
        top.result.requests_per_second,
        cell.result.requests_per_second,
    );
    let answered = if scaled.share() >= LOST_SESSIONS {
        " (its 401 answers, which cost a replica less, included)"
    } else {
        ""
    };
    let store = match other.info.store {
        Some(store) if other.info.store != system.info.store => format!(" (store: {store})"),
        _ => String::new(),
    };
    Some(format!(
        "At {}, {}'s {} processes served {} req/s{answered}, {}× the {} req/s of {}{store} with \
         one.",
        run.load(top.load),
        system.name(),
        scaled.replicas,
        number(ours),
        number(ours / theirs.max(f64::MIN_POSITIVE)),
        number(theirs),
        other.name()
    ))
}
