//! The validated scenario: what a run does, with every value typed and checked. Built from a
//! [`super::file::ScenarioFile`] by [`super::validate`]; nothing else constructs it in production.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::mapping::Mapping;

pub use authbench_contract::{
    AccessToken, Alg, BalanceSource, Balancer, Operation, Revocation, Routing, StoreKind, Touch,
    Transport, Verify,
};
/// The latency and error target a step must meet: report.json's own [`Slo`], so the run, the
/// report and `--slo` judge by one definition.
pub use authbench_report::Slo;

/// One scenario, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short name used in the results folder (`results/<name>-<UTC time>/`): the `name` key, or
    /// the file stem. Letters, digits, `-` and `_` only.
    pub name: String,
    /// What question the scenario answers (the `description` key).
    pub description: String,
    /// The TOML text as read, kept verbatim in report.json so a run can be reproduced.
    pub source: String,
    /// Where the file was read from.
    pub path: PathBuf,
    pub main_db: MainDb,
    pub users: Users,
    pub argon2: Argon2,
    pub flow: Flow,
    pub balance_source: BalanceSource,
    pub load: Load,
    pub timing: Timing,
    pub slo: Slo,
    /// How long to saturate each session system's store before the steps, to measure its
    /// ceiling; `None` (`store_ceiling = "0s"`) for a store that must not be hammered.
    pub store_ceiling: Option<Duration>,
    /// `[population]`: the load held at one value while the stores' population rises, step by
    /// step; `None`: the load rises instead.
    pub population: Option<Population>,
    /// The stores the run starts itself (`[[stores]]`), which systems name as their store.
    pub stores: Vec<OwnedStore>,
    /// In the order they take turns within a step. At least one; names unique.
    pub systems: Vec<System>,
    /// Cores for the spawned servers and for the load generator; `None`: no pinning.
    pub pinning: Option<Pinning>,
    /// `[overload]`: a burst of arrivals within each measured step; `None`: the steady rate.
    pub overload: Option<Overload>,
    /// `[[faults]]`: against each system's run-owned store, in every measured turn, by offset.
    pub faults: Vec<Fault>,
    /// `--workers` for each spawned server; `None`: the server's default (one per core).
    pub server_workers: Option<NonZeroU32>,
    /// `--request-timeout` for each spawned server (past it a request gets a 503); `None`: the
    /// server's default.
    pub server_timeout: Option<Duration>,
    /// Load-generator runtime threads; `None`: one per core the load generator may run on.
    pub loadgen_workers: Option<NonZeroU32>,
    /// How long one request may take before the load generator counts a timeout error.
    pub request_timeout: Duration,
}

impl Scenario {
    /// How long load is applied over the whole run: every system's turn at every step, warmup
    /// included. Seeding and starting the servers come on top.
    pub fn load_time(&self) -> Duration {
        let turn = self.timing.warmup.saturating_add(self.timing.step_duration);
        let turns = u32::try_from(self.systems.len().saturating_mul(self.load.steps()))
            .unwrap_or(u32::MAX)
            .saturating_mul(self.timing.repeats.get());
        turn.saturating_mul(turns)
    }
}

/// A burst of arrivals at `factor` times the step's rate, from `start` into each measured
/// step for `duration`: the same offset in every system's turn, so each meets it under its own
/// load. Open model only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overload {
    pub factor: f64,
    pub start: Duration,
    pub duration: Duration,
}

impl Overload {
    /// When the burst ends, from the start of the measured step.
    pub fn end(&self) -> Duration {
        self.start.saturating_add(self.duration)
    }
}

/// A fault against a system's run-owned store or its issuer, `at` into every measured turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub at: Duration,
    /// Pause, partition, issuer pause: how long. Restart: how long down before it starts
    /// again. Kill: `None`, down to the turn's end (it is started again before the next turn).
    /// Rotate key: `None`, done at once.
    pub duration: Option<Duration>,
}

impl Fault {
    /// When the store is back, from the start of the measured turn; a kill's is its start.
    pub fn end(&self) -> Duration {
        self.at.saturating_add(self.duration.unwrap_or_default())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Pause,
    Kill,
    Restart,
    /// The delay relay in front of the store stops forwarding (SIGSTOP on the relay): the
    /// store runs on, and the servers' connections to it carry nothing.
    Partition,
    /// The system's own server processes (the issuer) stop (SIGSTOP, SIGCONT after the
    /// duration): logins fail; a resource server beside it goes on as its style allows.
    IssuerPause,
    /// A JWT system takes a new signing key (a new key file, SIGHUP to every replica): the old
    /// key verifies on for its overlap. Other systems have no key and are left alone.
    RotateKey,
}

impl FaultKind {
    /// Whether the fault is done to the system's server processes rather than its store.
    pub fn is_issuer_fault(self) -> bool {
        matches!(self, FaultKind::IssuerPause | FaultKind::RotateKey)
    }
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Pause => "pause",
            FaultKind::Kill => "kill",
            FaultKind::Restart => "restart",
            FaultKind::Partition => "partition",
            FaultKind::IssuerPause => "issuer-pause",
            FaultKind::RotateKey => "rotate-key",
        }
    }
}

/// main_DB for the spawned servers: seeded before the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MainDb {
    /// A fresh SQLite file inside the run's folder.
    Sqlite,
    /// A Postgres database (URL after `${VAR}` expansion); seeding upserts the accounts.
    Postgres { url: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Users {
    /// Accounts seeded (user1 .. userN). Each VU logs in as its own user, so the largest closed
    /// step and the open model's `max_active` must not exceed this.
    pub accounts: NonZeroU32,
    /// Open model only: how many flows may be in flight at once (one connection each). A flow
    /// due while all are busy starts late, and that lateness is counted. Closed model: the
    /// largest VU step.
    pub max_active: NonZeroU32,
}

/// argon2id cost used when seeding (the servers verify with whatever the stored hash says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2 {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2 {
    /// OWASP's recommendation: 19 MiB, t=2, p=1.
    pub const OWASP: Argon2 = Argon2 {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

/// One virtual user's flow: `login -> balance x N -> [refresh every K balances] -> [logout]`,
/// then again from login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub balances_per_login: NonZeroU32,
    /// JWT systems only (session systems have no refresh route and skip it): `POST /refresh`
    /// after every K balance requests.
    pub refresh_every: Option<NonZeroU32>,
    pub logout: bool,
    /// Pause between one response and the next request of the same VU.
    pub think_time: Duration,
    /// Closed model: each VU's first login is followed by a share of `balances_per_login`
    /// (see [`Flow::first_login_balances`]), so that the VUs' later logins are spread over the
    /// cycle instead of arriving together, as real users' sign-ins are.
    pub stagger: bool,
}

impl Flow {
    /// The balance requests after VU `index`'s first login: all of `balances_per_login`
    /// without `stagger`; with it, a share from the golden-ratio sequence, which spreads any
    /// number of VUs evenly over (0, 1] without knowing how many there will be (a step that
    /// adds VUs keeps the spread even).
    pub fn first_login_balances(&self, index: usize) -> u32 {
        let every = self.balances_per_login.get();
        if !self.stagger {
            return every;
        }
        const GOLDEN_FRACTION: f64 = 0.618_033_988_749_894_9;
        let share = ((index as f64 + 1.0) * GOLDEN_FRACTION).fract();
        ((f64::from(every) * share).ceil() as u32).clamp(1, every)
    }
}

/// Live sessions loaded straight into each system's store before each step, for synthetic
/// users who are logged in but send no requests. One value per step, rising; the load repeats
/// its single value at every step. A JWT system with a store gets as many refresh families
/// (and denylist entries or cutoffs, with revocation on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Population {
    pub sessions: Vec<u64>,
}

/// The largest population step: ten times the largest the project documents running.
pub const MAX_POPULATION: u64 = 100_000_000;

/// The load model and its steps, in the order they run (rising).
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// Each step keeps this many VUs busy, back to back (plus think time).
    Closed { vus: Vec<NonZeroU32> },
    /// Each step starts flows at this many per second (Poisson-free, evenly spaced); latency
    /// counts from each flow's intended start (coordinated omission).
    Open { flows_per_second: Vec<f64> },
}

impl Load {
    pub fn steps(&self) -> usize {
        match self {
            Load::Closed { vus } => vus.len(),
            Load::Open { flows_per_second } => flows_per_second.len(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Measured time of one system's turn at one step.
    pub step_duration: Duration,
    /// Load applied before each turn's measurement starts, and not recorded.
    pub warmup: Duration,
    /// How many turns each system gets at each step (A, B, A, B ...), for a spread.
    pub repeats: NonZeroU32,
}

/// One system under test.
#[derive(Clone, Debug, PartialEq)]
pub struct System {
    /// Unique within the scenario; letters, digits, `-` and `_` (used in file names).
    pub name: String,
    pub target: Target,
    /// Server processes: for a spawned system, how many the run starts (each its own
    /// `authbench serve`, sharing the store URL and, for JWT, one signing key); for an external
    /// system, how many base URLs it was given.
    pub replicas: NonZeroU32,
    /// How requests are spread over the replicas.
    pub routing: Routing,
    /// Who spreads them: the load generator, or nginx in front of the replicas.
    pub balancer: Balancer,
    /// A resource server the run starts beside a spawned system: the flow's balance requests
    /// go to it, the logins (and refreshes, logouts) to the system itself, the issuer.
    pub resource: Option<Resource>,
}

/// `resource = "..."` on a spawned system: `authbench serve resource` with this style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    pub verify: Verify,
    /// Introspection only: how long an active answer is reused (zero: none).
    pub introspect_cache: Duration,
}

/// The most replicas of one system: each is a process with its own runtime, on the same cores.
pub const MAX_REPLICAS: u32 = 16;

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Started by the run as `authbench serve ...` on port 0.
    Spawned(Server),
    /// Already running; the run neither seeds nor starts it. Boxed: its mapping makes it large.
    External(Box<External>),
}

/// A server the run starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Server {
    Session {
        store: StoreSpec,
        /// `--touch`; `None`: the server's default.
        touch: Option<Touch>,
        ttl: Option<Duration>,
        idle_timeout: Option<Duration>,
    },
    Jwt {
        /// Refresh families and revocation state (and opaque access tokens).
        store: StoreSpec,
        alg: Alg,
        revocation: Revocation,
        transport: Transport,
        access_ttl: Option<Duration>,
        /// `kind = "opaque"`: opaque access tokens, kept in the store.
        access_token: AccessToken,
    },
}

impl Server {
    pub fn store(&self) -> &StoreSpec {
        match self {
            Server::Session { store, .. } | Server::Jwt { store, .. } => store,
        }
    }
}

/// A store a spawned server uses (and the run probes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    Memory,
    /// A fresh SQLite file inside the run's folder.
    Sqlite,
    Redis {
        url: String,
    },
    /// A Redis Cluster, by a `redis+cluster://` URL naming its nodes.
    RedisCluster {
        url: String,
    },
    Postgres {
        url: String,
    },
    /// One of the scenario's `[[stores]]`, by name: the run starts it, and replaces this with
    /// its URL before any server starts.
    Owned {
        name: String,
        kind: StoreKind,
    },
}

impl StoreSpec {
    pub fn kind(&self) -> StoreKind {
        match self {
            StoreSpec::Memory => StoreKind::Memory,
            StoreSpec::Sqlite => StoreKind::Sqlite,
            StoreSpec::Redis { .. } => StoreKind::Redis,
            StoreSpec::RedisCluster { .. } => StoreKind::RedisCluster,
            StoreSpec::Postgres { .. } => StoreKind::Postgres,
            StoreSpec::Owned { kind, .. } => *kind,
        }
    }

    /// The URL of a store that runs as a server of its own (Redis, a Redis Cluster,
    /// PostgreSQL): one the run can probe, measure and load a population into.
    pub fn server_url(&self) -> Option<&str> {
        match self {
            StoreSpec::Redis { url }
            | StoreSpec::RedisCluster { url }
            | StoreSpec::Postgres { url } => Some(url),
            StoreSpec::Memory | StoreSpec::Sqlite | StoreSpec::Owned { .. } => None,
        }
    }
}

/// A store the run starts itself, from the system's binaries, with these limits and settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedStore {
    /// Unique among the stores; what systems write as their `store`.
    pub name: String,
    pub server: OwnedServer,
    /// A network round trip between the servers and the store, emulated by a delay relay;
    /// `None`: the servers reach it directly over loopback.
    pub rtt: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OwnedServer {
    Redis(authbench_launch::RedisSettings),
    /// `shards` masters, each with the settings (its own CPU cap).
    RedisCluster {
        settings: authbench_launch::RedisSettings,
        shards: usize,
    },
    Postgres(authbench_launch::PostgresSettings),
}

impl OwnedServer {
    pub fn kind(&self) -> StoreKind {
        match self {
            OwnedServer::Redis(_) => StoreKind::Redis,
            OwnedServer::RedisCluster { .. } => StoreKind::RedisCluster,
            OwnedServer::Postgres(_) => StoreKind::Postgres,
        }
    }

    pub fn limits(&self) -> &authbench_launch::Limits {
        match self {
            OwnedServer::Redis(settings) | OwnedServer::RedisCluster { settings, .. } => {
                &settings.limits
            }
            OwnedServer::Postgres(settings) => &settings.limits,
        }
    }
}

/// A server that is already running: one process, or several replicas given one URL each.
#[derive(Clone, Debug, PartialEq)]
pub struct External {
    /// `http://host:port` (no path) of each replica; validated as http URLs; at least one.
    pub base_urls: Vec<String>,
    /// Each replica's Prometheus endpoint; default `<base_url>/metrics`.
    pub metrics_urls: Vec<String>,
    /// `username,password` lines (with a header line), as `authbench seed --credentials-csv`
    /// writes them. Relative paths are relative to the scenario file.
    pub credentials_csv: PathBuf,
    /// The store it uses, when the run may probe it (Redis or Postgres URL).
    pub store: Option<StoreSpec>,
    /// Its routes, when they are not authbench's.
    pub mapping: Mapping,
}

/// Which cores each side may run on (Linux CPU numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinning {
    pub servers: Vec<u32>,
    pub loadgen: Vec<u32>,
}
