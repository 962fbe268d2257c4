//! report.json as types: what a run measured, per system, step and operation. The JSON Schema in
//! `schema/report.schema.json` is generated from these types (see `schema.rs`), so the two cannot
//! drift apart unnoticed.

use std::collections::BTreeMap;

pub use authbench_contract::{
    BalanceSource, Balancer, LoadModel, Operation, Revocation, Routing, StoreKind, SystemKind,
    Verify,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bumped whenever a change would make an older reader misread a file.
pub const SCHEMA_VERSION: u32 = 7;

/// Older versions this one still reads: version 1 lacks `stores`, which reads as none; before
/// version 4 no step has a timeline; before version 5 no system has a store command sample;
/// before version 6 no store has nodes (a Redis Cluster's shards); before version 7 no system
/// has a resource server.
pub const READS_VERSIONS: [u32; 7] = [1, 2, 3, 4, 5, 6, SCHEMA_VERSION];

/// One run of one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] for files this version writes.
    pub schema_version: u32,
    /// `authbench <version>`.
    pub generator: String,
    pub scenario: ScenarioInfo,
    pub machine: Machine,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    pub status: RunStatus,
    pub load_model: LoadModel,
    pub slo: Slo,
    pub loadgen: LoadgenInfo,
    /// The stores the run started itself (`[[stores]]`), with their limits as the kernel
    /// enforced them. Empty when every store was given by URL or lives in the server.
    #[serde(default)]
    pub stores: Vec<OwnedStoreInfo>,
    pub systems: Vec<SystemInfo>,
    /// In the order they ran (rising load).
    pub steps: Vec<Step>,
    /// This run was one shard of a run split over several load generators (`--shard I/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// This report was merged from shards (`authbench merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
}

/// Which share of a split run a load generator drove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// From 0 to `count - 1`.
    pub index: u32,
    pub count: u32,
    /// The common start every shard waited for (RFC 3339, UTC); each turn starts at a fixed
    /// offset from it, so the shards' measured windows line up.
    pub start_at: String,
}

/// How a merged report was made from its shards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInfo {
    /// Each shard's index, folder as given to `merge`, and the host its load generator ran on.
    pub shards: Vec<MergedShard>,
    /// The least overlap of the shards' measured windows, over every turn, as a share of the
    /// longest window: 1.0 when they ran exactly together.
    pub min_window_overlap: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergedShard {
    pub index: u32,
    pub source: String,
    pub hostname: String,
}

/// What a store answered when saturated with session lookups before the steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreCeiling {
    /// The command, as the session lookup sends it.
    pub command: String,
    pub operations_per_second: f64,
    /// The store's CPU at the ceiling, in cores, where readable.
    pub cpu_cores: Option<f64>,
    /// Connections used: as many as the servers hold to the store.
    pub connections: u32,
    /// Lookups in flight on each.
    pub in_flight: u32,
    pub seconds: f64,
}

/// A store the run started itself: what it was, how it was limited, and what the kernel says it
/// enforced. A cap and a core list are emulations of a smaller store machine, and say so here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnedStoreInfo {
    /// The name systems gave as their `store`.
    pub name: String,
    pub kind: StoreKind,
    /// Where the servers reached it (password redacted).
    pub url: String,
    /// The server's pid (Redis; the postmaster for PostgreSQL).
    pub pid: Option<u32>,
    /// The cores it was pinned to, as the kernel lists them (`1`, `0-1`); none if not pinned.
    pub cores: Option<String>,
    /// The settings the run started it with that change the answer (`maxmemory`,
    /// `appendfsync`, `shared_buffers`, `synchronous_commit`, `max_connections`, `fsync`).
    pub settings: BTreeMap<String, String>,
    pub cpu_cap: Option<CpuCap>,
    /// The emulated distance between the servers and the store, where one was asked for.
    #[serde(default)]
    pub network: Option<NetworkEmulation>,
    /// The store's log, relative to the run folder. Missing from reports written before it was
    /// kept.
    #[serde(default)]
    pub log: Option<String>,
    /// Each node of a store of several (a Redis Cluster's shards), with its own pid and CPU
    /// cap; empty for a store of one process, whose `pid` and `cpu_cap` are above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<OwnedNodeInfo>,
}

/// A balancer the run started in front of a system's replicas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerInfo {
    pub kind: Balancer,
    /// `nginx/1.22.1`.
    pub version: String,
    /// Where the load generator sent every request.
    pub base_url: String,
    pub pid: Option<u32>,
    /// How it spread them: round-robin, or sticky by the credential.
    pub routing: Routing,
    /// Its configuration and log, relative to the run folder.
    pub config: Option<String>,
}

/// One node of a run-owned store of several processes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnedNodeInfo {
    /// `host:port`, as the store's load names it.
    pub address: String,
    pub pid: Option<u32>,
    pub cpu_cap: Option<CpuCap>,
    /// The node's log, relative to the run folder.
    pub log: Option<String>,
}

/// A network distance emulated between the servers and a store, and what it measured of itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkEmulation {
    /// What ran, e.g. `delay relay (authbench relay), half the RTT each way`.
    pub mechanism: String,
    /// The round trip asked for.
    pub rtt_ms: f64,
    /// The round trip measured through the relay before the steps (median of pings to the
    /// store), less the direct one: the distance the servers actually had.
    pub measured_rtt_ms: f64,
    /// The median ping to the store without the relay, for comparison.
    pub direct_rtt_ms: f64,
    pub relay_pid: u32,
    /// The cores the relay ran on; none if unpinned.
    pub relay_cores: Option<String>,
    /// The relay process's CPU over the whole run: the cost of the emulation itself.
    pub relay_cpu_s: f64,
}

/// A CPU cap on a store, as asked for and as the kernel held it over the whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuCap {
    /// The cap asked for, in cores.
    pub cores: f64,
    /// Quota over period as read back from the kernel: the cap actually enforced.
    pub enforced_cores: f64,
    /// Which mechanism enforced it, e.g. `cgroup v1 cpu.cfs_quota_us`.
    pub mechanism: String,
    /// The CFS period the quota is a share of, in ms: the longest the capped store can be held
    /// back at once. Missing from reports written before it was recorded.
    #[serde(default)]
    pub period_ms: Option<f64>,
    /// CFS periods in which the store ran, over the run.
    pub periods: u64,
    /// Periods in which it used its whole quota and was held back.
    pub throttled_periods: u64,
    /// Time its processes waited for the next period, over the run.
    pub throttled_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    /// The file as given on the command line.
    pub path: String,
    /// The file's text, verbatim, so the run can be repeated.
    pub source: String,
    /// Settings the command line changed from the file (e.g. `step_duration=1s`).
    pub overrides: Vec<String>,
    pub accounts: u32,
    pub balances_per_login: u32,
    pub refresh_every: Option<u32>,
    pub logout: bool,
    /// Each VU's first login was followed by a share of `balances_per_login`, spreading the
    /// VUs' logins over the cycle (`flow.stagger`); absent in files from before it: false.
    #[serde(default)]
    pub stagger_logins: bool,
    pub think_time_ms: f64,
    pub balance_source: BalanceSource,
    pub step_duration_s: f64,
    pub warmup_s: f64,
    pub repeats: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub cpu_model: String,
    /// Logical CPUs online.
    pub cores: u32,
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunStatus {
    Complete,
    /// Stopped early (Ctrl-C, a fatal fault); what was measured before is kept.
    Partial {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    pub percentile: f64,
    pub latency_us: u64,
    /// A share in [0, 1].
    pub max_error_rate: f64,
    pub operations: Vec<Operation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadgenInfo {
    pub pid: u32,
    /// Cpus_allowed_list of the load generator.
    pub cores: String,
    pub worker_threads: u32,
}

/// A system under test, as it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemInfo {
    pub name: String,
    pub kind: SystemKind,
    pub base_url: String,
    /// The server's settings (flag → value), passwords redacted.
    pub settings: BTreeMap<String, String>,
    /// None when not known (an external system without a store URL).
    pub store: Option<StoreKind>,
    /// The store server's version as it reports it (`Redis 7.0.15`, `PostgreSQL 15.14 ...`);
    /// none for in-process stores. Missing from reports written before it was recorded.
    #[serde(default)]
    pub store_version: Option<String>,
    /// The ceiling of the store this system's session lookups go to, measured before the steps;
    /// none for in-process stores, JWT systems and runs that switched it off.
    #[serde(default)]
    pub store_ceiling: Option<StoreCeiling>,
    /// Spawned systems: the process id and Cpus_allowed_list.
    pub pid: Option<u32>,
    pub cores: Option<String>,
    /// The server's log, relative to the run folder.
    pub log: Option<String>,
    /// Faults seen during the run (start failure, exit, store loss).
    pub events: Vec<Event>,
    /// Every server process behind this system when it scales out (`replicas` > 1), the first
    /// being the one the fields above describe; empty for a single process (and in reports
    /// written before replicas existed).
    #[serde(default)]
    pub replicas: Vec<Replica>,
    /// How the load generator spread requests over the replicas; none for a single process.
    #[serde(default)]
    pub routing: Option<Routing>,
    /// Which store commands, on which keys, this system's requests cause, as the store showed
    /// them during the first warm-up; none where the store cannot show them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_commands: Option<StoreCommandSample>,
    /// The balancer the run started in front of the replicas; none where the load generator
    /// spread the requests itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer: Option<BalancerInfo>,
    /// The resource server the run started beside the system, which the flow's balance
    /// requests went to; none where they went to the system itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
}

/// A resource server (`authbench serve resource`) beside a system: it accepts the credentials
/// the system (the issuer) hands out, checked as `verify` says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInfo {
    pub verify: Verify,
    pub base_url: String,
    pub pid: Option<u32>,
    /// Introspection: how long an active answer was reused, in milliseconds (0: every request
    /// asked the issuer). A token revoked at the issuer may be accepted for up to this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspect_cache_ms: Option<u64>,
    /// Its settings (flag → value).
    pub settings: BTreeMap<String, String>,
    /// Its log, relative to the run folder.
    pub log: Option<String>,
}

/// What the resource server did over a step, from its own process and `/metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceLoad {
    /// Its CPU over the measured windows.
    pub cpu_s: Option<f64>,
    /// Requests it answered (from its own count).
    pub requests: u64,
    /// Introspection calls to the issuer, and those that failed.
    pub issuer_calls: u64,
    pub issuer_calls_failed: u64,
    /// Requests its introspection cache answered.
    pub cache_hits: u64,
    /// Key-set fetches from the issuer, those that failed, and those made for an unknown kid.
    pub jwks_fetches: u64,
    pub jwks_fetches_failed: u64,
    pub unknown_kid_refetches: u64,
    /// Store operations it made itself (reading sessions from the shared store).
    pub store_operations: u64,
    /// Per request it answered: its CPU, calls to the issuer, store operations.
    pub cpu_us_per_request: Option<f64>,
    pub issuer_calls_per_request: Option<f64>,
    pub store_operations_per_request: Option<f64>,
}

/// The store's own view of what a system asks of it: each command with the pattern of the keys
/// it touched (ids and user names as `*`), counted over a short sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreCommandSample {
    /// How it was taken: `redis_monitor` (Redis `MONITOR`, which every command passes through
    /// while it is on, so it is taken during a warm-up and never in a measured window) or
    /// `pg_stat_statements` (calls per statement over the same window).
    pub source: String,
    /// How long it listened.
    pub seconds: f64,
    /// Commands seen; the sample stops at a bound, so a busy store's is a prefix.
    pub commands_seen: u64,
    /// Most frequent first.
    pub patterns: Vec<KeyPattern>,
}

/// One command on one pattern of keys, or one SQL statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPattern {
    /// Lower case, as Redis names it in `INFO commandstats` (`get`, `set`, `hgetall`), or a
    /// statement's first word (`select`).
    pub command: String,
    /// The key with its variable parts as `*` (`shop:session:*`; empty for keyless commands), or
    /// the statement's normalized text (`SELECT ... WHERE id = $1`).
    pub key_pattern: String,
    pub count: u64,
}

/// One server process of a system that scales out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replica {
    pub base_url: String,
    pub pid: Option<u32>,
    /// Cpus_allowed_list.
    pub cores: Option<String>,
    /// Its log, relative to the run folder.
    pub log: Option<String>,
}

impl SystemInfo {
    /// A server setting as its flag names it (`revocation`, `touch` ...), typed; none where the
    /// report does not record it or records something else.
    pub fn setting<T: std::str::FromStr>(&self, flag: &str) -> Option<T> {
        self.settings.get(flag)?.parse().ok()
    }

    /// The JWT server's revocation mode, where recorded.
    pub fn revocation(&self) -> Option<Revocation> {
        self.setting("revocation")
    }

    /// Server processes behind the system: 1 unless it scaled out.
    pub fn replica_count(&self) -> usize {
        self.replicas.len().max(1)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Seconds since the run started.
    pub at_s: f64,
    pub message: String,
}

/// One level of load, every system's turns at it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub index: u32,
    /// Virtual users (closed) or flows per second (open).
    pub load: f64,
    /// In a population scenario, the synthetic logged-in users whose records were loaded into
    /// each system's store before this step (the load stays fixed and this rises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<u64>,
    pub results: Vec<SystemStep>,
}

impl Step {
    /// What sets this step apart from the others, and what its charts plot it at: the
    /// population in a population run (where the load is the same at every step), the load
    /// otherwise.
    pub fn position(&self) -> f64 {
        self.population
            .map_or(self.load, |sessions| sessions as f64)
    }
}

impl Report {
    /// Whether the steps rise in population at a fixed load rather than in load.
    pub fn steps_population(&self) -> bool {
        self.steps.iter().any(|step| step.population.is_some())
    }
}

/// One system at one step: its repeats merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemStep {
    pub system: String,
    /// Measured wall time, summed over repeats.
    pub duration_s: f64,
    /// Requests sent in the measured windows, every operation.
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    /// The operations that ran, in flow order.
    pub operations: Vec<OperationStats>,
    /// Each repeat on its own, for the spread.
    pub repeats: Vec<RepeatStats>,
    pub resources: Resources,
    pub store: Option<StoreLoad>,
    /// The server's own request counts for the measured windows (from its /metrics).
    pub server_requests: Option<u64>,
    /// The population in this system's store at this step; none outside population scenarios
    /// and for systems whose store lives in the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<Population>,
    /// The first repeat's measured window over time, with the burst in it; none in files
    /// written before schema version 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// How the system went through the burst (`[overload]`), from the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overload: Option<OverloadFigures>,
    /// How the system went through each fault against its store (`[[faults]]`), from the
    /// timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultFigures>,
    /// With faults: authenticated requests refused (401/403) over the step, each a credential
    /// the system no longer knew (a user then logged in again): sessions or refresh families
    /// lost with the store's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_refused: Option<u64>,
    /// The resource server beside the system, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceLoad>,
    pub derived: Derived,
    pub schedule: Option<Schedule>,
    /// Whether this step met the SLO (latency on the SLO's operations, errors over all).
    pub slo_met: bool,
    pub flags: Vec<Flag>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationStats {
    pub operation: Operation,
    pub requests: u64,
    pub ok: u64,
    pub requests_per_second: f64,
    /// By kind: `connect`, `timeout`, `protocol`, `status_<code>`.
    pub errors: BTreeMap<String, u64>,
    pub bytes_sent_per_request: f64,
    pub bytes_received_per_request: f64,
    /// From the intended send time in the open model; from the send in the closed model.
    pub latency: Latency,
    /// Open model only: from the actual send, beside the corrected figure.
    pub latency_uncorrected: Option<Latency>,
    /// The whole histogram (HdrHistogram V2 + DEFLATE, base64), for spectra and comparisons.
    pub histogram: String,
}

/// Percentiles in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub stdev_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatStats {
    pub duration_s: f64,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    /// Per operation that ran: the SLO percentile of its latency.
    pub slo_percentile_us: BTreeMap<String, u64>,
    /// Per operation that ran: p50 and p99 of its latency, so a comparison can tell a change at
    /// either from the repeats' own spread. Empty in reports written before they were kept.
    #[serde(default)]
    pub p50_us: BTreeMap<String, u64>,
    #[serde(default)]
    pub p99_us: BTreeMap<String, u64>,
    /// This repeat's per-request costs, as in [`Derived`] for the whole step; none where not
    /// measured (or in reports written before they were kept).
    #[serde(default)]
    pub store_operations_per_request: Option<f64>,
    #[serde(default)]
    pub store_cpu_us_per_request: Option<f64>,
    #[serde(default)]
    pub server_cpu_us_per_request: Option<f64>,
    /// The measured window in Unix milliseconds, so that shards' windows can be lined up; none
    /// in reports written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MeasuredWindow>,
    /// At this repeat's end, for the drift of a long run: the server's resident memory and
    /// open file descriptors (replicas summed), and the keys its Redis store holds by its own
    /// count; none where not measured or before schema version 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_rss_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_open_fds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_keys: Option<u64>,
}

/// When a repeat's measured window began and ended, in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasuredWindow {
    pub start_unix_ms: u64,
    pub end_unix_ms: u64,
}

/// CPU and memory over the measured windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Spawned systems only.
    pub server_cpu_s: Option<f64>,
    /// The balancer the run started in front of the replicas (nginx), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer_cpu_s: Option<f64>,
    pub server_peak_rss_bytes: Option<u64>,
    pub loadgen_cpu_s: f64,
    /// Load generator CPU over wall time, divided by the cores it may use: 1.0 is saturated.
    pub loadgen_cpu_share: f64,
    pub loadgen_peak_rss_bytes: u64,
}

/// The store's load, read from the store itself where it can be (Redis INFO, pg_stat_*),
/// and from the server's /metrics otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreLoad {
    pub kind: StoreKind,
    /// Where `operations` comes from.
    pub source: StoreLoadSource,
    /// Commands (Redis), transactions (Postgres) or store calls (SQLite, memory).
    pub operations: u64,
    /// Per command or per store operation.
    pub breakdown: BTreeMap<String, u64>,
    /// The store's operations as the server counted them (its /metrics).
    pub server_counted_operations: Option<u64>,
    /// CPU of the store's own processes; none for in-process stores.
    pub cpu_s: Option<f64>,
    /// Change in the store's memory (Redis used_memory, Postgres table size).
    pub memory_delta_bytes: Option<i64>,
    /// Change in the number of keys or rows.
    pub keys_delta: Option<i64>,
    /// Per node of a store of several (a Redis Cluster's masters), read from each node's own
    /// `INFO`: how the load spread, so that a hot shard shows. Empty for one node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<StoreNodeLoad>,
}

/// One node's share of a step's store load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreNodeLoad {
    /// `host:port`.
    pub address: String,
    /// Commands the node ran (the probe's own left out).
    pub operations: u64,
    /// The node process's CPU.
    pub cpu_s: f64,
    /// Keys on the node at the step's end.
    pub keys: u64,
}

/// A store holding a step's population, as the store itself counted and weighed it after the
/// load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// The namespaces loaded for this system (`sessions`; `refresh_families`, and `denylist`
    /// or `cutoffs` for a JWT system with revocation), one record per synthetic user in each.
    pub namespaces: Vec<String>,
    /// Live records in those namespaces after the load, counted by the store itself (Redis
    /// `SCAN`, SQL `count(*)`): the population plus what the run's own logins left there.
    pub live_records: u64,
    /// Records added before this step (the step's population less the one before it), and
    /// the wall time that took.
    pub added_records: u64,
    pub load_seconds: f64,
    /// The store's memory after the load: Redis `used_memory`, or the PostgreSQL tables'
    /// `pg_total_relation_size` (heap, indexes, TOAST).
    pub memory_bytes: Option<u64>,
    /// Memory growth since before the first load over the records loaded since, every
    /// system's on this store together: what one more record costs the store.
    pub bytes_per_record: Option<f64>,
}

/// Where a step's store figures were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreLoadSource {
    /// Redis `INFO`: commands the Redis server ran, and its CPU.
    RedisInfo,
    /// PostgreSQL's `pg_stat_*` views: transactions, statements, and the backends' CPU.
    PgStat,
    /// The server's own `/metrics`: the store calls it made (in-process stores).
    ServerMetrics,
}

impl std::fmt::Display for StoreLoadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreLoadSource::RedisInfo => "redis_info",
            StoreLoadSource::PgStat => "pg_stat",
            StoreLoadSource::ServerMetrics => "server_metrics",
        })
    }
}

/// Per-request figures, the ones the claims rest on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    pub store_operations_per_request: Option<f64>,
    pub store_cpu_us_per_request: Option<f64>,
    pub server_cpu_us_per_request: Option<f64>,
    /// The balancer's CPU per request, where the run started one (nginx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer_cpu_us_per_request: Option<f64>,
    /// Store memory growth per login (each login creates one session or refresh family); only
    /// in flows that never log out, where that growth is the logins' own.
    pub store_bytes_per_session: Option<f64>,
    /// The store's operations per second over its measured ceiling (`store_ceiling`): how near
    /// saturation the step drove it. The ceiling counts lookups only, so a step with logins and
    /// writes can sit below 1.0 at saturation; read it beside the CPU share.
    #[serde(default)]
    pub store_ops_of_ceiling: Option<f64>,
    /// The store's CPU over its CPU at the ceiling (which a cap bounds).
    #[serde(default)]
    pub store_cpu_of_ceiling: Option<f64>,
}

/// Open model: how well the schedule was kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub flows_intended: u64,
    /// Started more than 1 ms after their intended time.
    pub flows_late: u64,
    /// Of the late ones, those that waited because every connection was busy.
    pub flows_waited_for_connection: u64,
    pub max_lag_us: u64,
}

/// One tick of a measured window (half a second), as the load generator counted it live.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelinePoint {
    /// The tick's end, in seconds since the measured window started.
    pub at_s: f64,
    /// The tick's length in seconds.
    pub seconds: f64,
    /// Requests that finished in the tick, failed ones included.
    pub requests: u64,
    pub errors: u64,
    /// The p99 of the tick's answered requests from log-spaced buckets (at most 12.5% high);
    /// 0 when none was answered.
    pub p99_us: u64,
}

impl TimelinePoint {
    /// Whether the tick is a sliver: the window's last one, holding what was in flight at its
    /// end, too short for its rate to mean anything.
    pub fn is_sliver(&self) -> bool {
        self.seconds < 0.1
    }
}

/// A system's measured window over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    pub points: Vec<TimelinePoint>,
    /// The burst of arrivals in it (`[overload]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<BurstWindow>,
    /// The faults against the system's store in it (`[[faults]]`), as they happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultWindow>,
}

/// A fault against a system's run-owned store within its measured window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultWindow {
    /// `pause`, `kill` or `restart`.
    pub kind: String,
    /// When it was done, in seconds since the measured window started.
    pub start_s: f64,
    /// When the store answered again; none: down to the window's end (a kill).
    pub end_s: Option<f64>,
}

/// How a system went through one fault, read off its timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultFigures {
    pub kind: String,
    pub start_s: f64,
    pub end_s: Option<f64>,
    /// Requests/s finished in the ticks before the fault: what recovery means.
    pub before_rps: f64,
    /// Seconds from the fault to the first tick with an error, to the tick (a tick is 0.5 s);
    /// none: no error.
    pub first_error_s: Option<f64>,
    /// Seconds from the store's return to the first tick at least at 90% of the rate before,
    /// after which no tick had an error; none: not back by the window's end.
    pub recovery_s: Option<f64>,
    /// Requests that failed from the fault to the next fault (or the window's end).
    pub failed_requests: u64,
    /// While the store was away (to the window's end after a kill): the requests answered
    /// without error, as a share of what the rate before the fault would have served (at most
    /// 1). A closed-model user waits for each answer, so a count of failures alone would hide
    /// a system that simply stopped answering.
    pub availability: f64,
}

/// A window of the measured step in which flows arrived `factor` times as fast.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BurstWindow {
    pub start_s: f64,
    pub end_s: f64,
    pub factor: f64,
}

/// A system through a burst, read off its timeline: the rate and latency before it (what
/// recovery means), what it answered during it, and how long after it ended the system was
/// back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverloadFigures {
    /// Requests/s finished in the ticks before the burst.
    pub before_rps: f64,
    /// The highest tick p99 before the burst.
    pub before_p99_us: u64,
    /// Requests/s finished during the burst, failed ones included.
    pub during_rps: f64,
    pub during_errors: u64,
    /// The highest tick p99 during the burst.
    pub during_p99_us: u64,
    /// Failed requests from the burst's end to the window's end.
    pub after_errors: u64,
    /// Seconds from the burst's end to the first tick from which every tick to the window's
    /// end finished at least 90% of `before_rps` with no errors and a p99 within 2x
    /// `before_p99_us` (or 1 ms above it); `None`: that never happened before the window ended.
    pub recovery_s: Option<f64>,
}

/// Something a reader must know before trusting the step's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Flag {
    /// The load generator, not the system, limited the step.
    LoadgenBound { reason: String },
    /// Requests failed.
    Errors { rate: f64 },
    /// The step did not run to its end (Ctrl-C, the system died).
    Partial { reason: String },
    /// The system was not running for this step.
    SystemDown { reason: String },
    /// Too few connections for the arrival rate: flows waited for one.
    ConnectionsExhausted { waited: u64 },
}
