//! What a scenario file says, key for key, before any checking beyond TOML types.
//!
//! Every table denies unknown keys, so a misspelled key is an error that names it instead of a
//! default silently taking its place. Counts are read as `i64` and durations as strings so that
//! [`super::validate`] can say which key is out of range, in the file's own terms.

use authbench_contract::{
    Alg, BalanceSource, Balancer, LoadModel, Operation, Revocation, Routing, SystemKind, Touch,
    Transport, Verify,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub main_db: Option<String>,
    pub balance_source: Option<BalanceSource>,
    pub request_timeout: Option<String>,
    pub server_workers: Option<i64>,
    pub server_timeout: Option<String>,
    pub loadgen_workers: Option<i64>,
    pub users: Option<UsersFile>,
    pub argon2: Option<Argon2File>,
    pub flow: Option<FlowFile>,
    pub load: Option<LoadFile>,
    pub timing: Option<TimingFile>,
    pub slo: Option<SloFile>,
    pub pinning: Option<PinningFile>,
    pub store_ceiling: Option<String>,
    pub population: Option<PopulationFile>,
    pub overload: Option<OverloadFile>,
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    #[serde(default)]
    pub stores: Vec<StoreFile>,
    #[serde(default)]
    pub systems: Vec<SystemFile>,
}

/// One `[[stores]]` entry: a store the run starts itself. Kinds share one flat table, so that a
/// key of the other kind is reported as exactly that.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub cpus: Option<f64>,
    pub cores: Option<Vec<i64>>,
    pub rtt: Option<String>,
    // Redis (each node of a cluster).
    pub maxmemory: Option<String>,
    pub appendfsync: Option<String>,
    // A Redis Cluster.
    pub shards: Option<i64>,
    // PostgreSQL.
    pub shared_buffers: Option<String>,
    pub synchronous_commit: Option<String>,
}

/// `[overload]`: a burst of arrivals within each measured step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadFile {
    pub factor: Option<f64>,
    pub start: Option<String>,
    pub duration: Option<String>,
}

/// One `[[faults]]` entry: a fault against each system's run-owned store, in every turn.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    pub kind: Option<String>,
    pub at: Option<String>,
    pub duration: Option<String>,
}

/// `[population]`: the live sessions loaded into the stores, one step each.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationFile {
    pub sessions: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    pub accounts: Option<i64>,
    pub max_active: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2File {
    pub memory_kib: Option<i64>,
    pub iterations: Option<i64>,
    pub parallelism: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    pub balances_per_login: Option<i64>,
    pub refresh_every: Option<i64>,
    pub logout: Option<bool>,
    pub think_time: Option<String>,
    pub stagger: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFile {
    pub model: Option<LoadModel>,
    pub vus: Option<Vec<i64>>,
    pub flows_per_second: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingFile {
    pub step_duration: Option<String>,
    pub warmup: Option<String>,
    pub repeats: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloFile {
    pub percentile: Option<f64>,
    pub latency: Option<String>,
    pub max_error_rate: Option<ErrorRate>,
    pub operations: Option<Vec<Operation>>,
}

/// `max_error_rate` as written: a percentage string (`"0.1%"`), or a bare number, which is read
/// only to be refused with a reason.
#[derive(Debug)]
pub enum ErrorRate {
    Fraction(f64),
    Text(String),
}

/// By hand rather than `#[serde(untagged)]`, whose error for a wrong type ("data did not match
/// any variant") would not say what is allowed.
impl<'de> Deserialize<'de> for ErrorRate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ErrorRateVisitor;

        impl serde::de::Visitor<'_> for ErrorRateVisitor {
            type Value = ErrorRate;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a percentage like \"0.1%\"")
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<ErrorRate, E> {
                Ok(ErrorRate::Fraction(value))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<ErrorRate, E> {
                // Only 0 and 1 are in range, and both are exact as f64.
                Ok(ErrorRate::Fraction(value as f64))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ErrorRate, E> {
                Ok(ErrorRate::Text(value.to_owned()))
            }
        }

        deserializer.deserialize_any(ErrorRateVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinningFile {
    pub servers: Option<Vec<i64>>,
    pub loadgen: Option<Vec<i64>>,
}

/// One `[[systems]]` entry. Kinds share one flat table so that a key belonging to another kind
/// can be reported as exactly that, rather than as an unknown key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    pub name: Option<String>,
    pub kind: Option<SystemKind>,
    pub store: Option<String>,
    // Session systems.
    pub touch: Option<Touch>,
    pub ttl: Option<String>,
    pub idle_timeout: Option<String>,
    // JWT systems.
    pub alg: Option<Alg>,
    pub revocation: Option<Revocation>,
    pub transport: Option<Transport>,
    pub access_ttl: Option<String>,
    // Spawned systems that scale out.
    pub replicas: Option<i64>,
    pub routing: Option<Routing>,
    pub balancer: Option<Balancer>,
    // A resource server beside a spawned system.
    pub resource: Option<Verify>,
    pub introspect_cache: Option<String>,
    // External systems: one URL, or a list (one per replica).
    pub base_url: Option<Urls>,
    pub metrics_url: Option<Urls>,
    pub credentials_csv: Option<String>,
    /// The service's own routes, when they are not authbench's.
    pub mapping: Option<MappingFile>,
}

/// `[systems.mapping]`: every part left out is authbench's own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    pub login: Option<RouteFile>,
    pub credential: Option<CredentialFile>,
    pub requests: Option<Vec<RouteFile>>,
    pub refresh: Option<RouteFile>,
    pub logout: Option<RouteFile>,
    pub metrics: Option<MetricsFile>,
}

/// One mapped request. Routes share one table so that a key one of them does not take (a body
/// on a protected request, a weight on the login) is named as exactly that.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub method: Option<String>,
    pub path: Option<String>,
    pub json: Option<toml::Value>,
    pub form: Option<toml::Table>,
    pub status: Option<i64>,
    /// Protected requests.
    pub weight: Option<i64>,
    /// The refresh route.
    pub token_from: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialFile {
    pub from: Option<String>,
    pub send: Option<String>,
}

/// `metrics = "none"`, or a table naming the service's request counter.
#[derive(Debug)]
pub enum MetricsFile {
    None(String),
    Counter(CounterFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterFile {
    pub counter: Option<String>,
    pub route_label: Option<String>,
    pub status_label: Option<String>,
}

impl<'de> Deserialize<'de> for MetricsFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum TextOrTable {
            Text(String),
            Table(CounterFile),
        }
        match TextOrTable::deserialize(deserializer) {
            Ok(TextOrTable::Text(text)) => Ok(MetricsFile::None(text)),
            Ok(TextOrTable::Table(table)) => Ok(MetricsFile::Counter(table)),
            Err(_) => Err(serde::de::Error::custom(
                "expected \"none\", or a table with `counter` and optionally `route_label` and \
                 `status_label`",
            )),
        }
    }
}

/// A URL, or a list of them: an external system that runs as several replicas is given one base
/// URL (and /metrics URL) per replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Urls(pub Vec<String>);

impl<'de> Deserialize<'de> for Urls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        // Untagged enums fail with "did not match any variant"; say what the key takes instead.
        match OneOrMany::deserialize(deserializer) {
            Ok(OneOrMany::One(url)) => Ok(Urls(vec![url])),
            Ok(OneOrMany::Many(urls)) => Ok(Urls(urls)),
            Err(_) => Err(serde::de::Error::custom(
                "expected a URL string, or a list of URL strings (one per replica)",
            )),
        }
    }
}
