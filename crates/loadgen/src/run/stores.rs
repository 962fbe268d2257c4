//! The stores a run owns (`[[stores]]`): started before the systems, in the order written, each
//! system's `store = "<name>"` replaced by the started store's URL, and stopped when the run
//! ends (dropped; if the run is killed, the kernel stops them, since they are started with a
//! parent-death signal). What the report says of each is read at the end, when the kernel's
//! throttling counters cover the whole run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use authbench_launch::cgroup::CpuGroup;
use authbench_launch::relay::RelayProcess;
use authbench_launch::{PostgresServer, RedisCluster, RedisServer, RedisSettings};
use authbench_report::{CpuCap, NetworkEmulation, OwnedNodeInfo, OwnedStoreInfo};

use super::{Error, Options};
use crate::probe::redact;
use crate::progress::Progress;
use crate::scenario::{OwnedServer, OwnedStore, Scenario, Server, StoreSpec, Target};

/// One started store, the entry that asked for it, and the relay in front of it if any.
#[derive(Debug)]
struct Started {
    spec: OwnedStore,
    server: Running,
    distance: Option<Distance>,
}

/// A delay relay in front of a store, and the round trips measured before the steps.
#[derive(Debug)]
struct Distance {
    relay: RelayProcess,
    cores: Option<Vec<usize>>,
    direct: Duration,
    through: Duration,
}

#[derive(Debug)]
enum Running {
    Redis(RedisServer),
    /// Never behind a relay: its clients reach each node at the address the cluster gives.
    RedisCluster(RedisCluster),
    Postgres(PostgresServer),
}

impl Running {
    fn url(&self) -> String {
        match self {
            Running::RedisCluster(cluster) => cluster.url(),
            Running::Redis(server) => self.url_at(server.port()),
            Running::Postgres(server) => self.url_at(server.port()),
        }
    }

    /// The store's URL with `port` for its own (a relay's in front of it).
    fn url_at(&self, port: u16) -> String {
        match self {
            Running::Redis(_) => format!("redis://127.0.0.1:{port}"),
            Running::RedisCluster(cluster) => cluster.url(),
            Running::Postgres(_) => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }

    /// The store as one process, for what acts on one (a relay, a fault); none for a cluster.
    fn single(&mut self) -> Option<Single<'_>> {
        match self {
            Running::Redis(server) => Some(Single::Redis(server)),
            Running::Postgres(server) => Some(Single::Postgres(server)),
            Running::RedisCluster(_) => None,
        }
    }

    /// Each process with its log, pid and CPU group: the one server, or every cluster node.
    fn processes(&self) -> Vec<Process<'_>> {
        match self {
            Running::Redis(server) => vec![Process::of_redis(server)],
            Running::RedisCluster(cluster) => {
                cluster.nodes().iter().map(Process::of_redis).collect()
            }
            Running::Postgres(server) => vec![Process {
                address: format!("127.0.0.1:{}", server.port()),
                log: server.log_path(),
                pid: server.pid(),
                cpu_group: server.cpu_group(),
            }],
        }
    }
}

/// One process of a run-owned store.
struct Process<'a> {
    address: String,
    log: std::path::PathBuf,
    pid: Option<u32>,
    cpu_group: Option<&'a CpuGroup>,
}

impl<'a> Process<'a> {
    fn of_redis(server: &'a RedisServer) -> Process<'a> {
        Process {
            address: format!("127.0.0.1:{}", server.port()),
            log: server.log_path(),
            pid: server.pid(),
            cpu_group: server.cpu_group(),
        }
    }
}

/// A store of one process.
#[derive(Debug)]
enum Single<'a> {
    Redis(&'a mut RedisServer),
    Postgres(&'a mut PostgresServer),
}

impl Single<'_> {
    fn pid(&self) -> Option<u32> {
        match self {
            Single::Redis(server) => server.pid(),
            Single::Postgres(server) => server.pid(),
        }
    }
}

/// A run-owned store as a fault sees it: paused, killed, started again. Each call blocks until
/// done (a start, until the store answers).
#[derive(Debug)]
pub(super) struct StoreControl<'a> {
    running: Single<'a>,
    /// The delay relay in front of it, if any.
    relay: Option<u32>,
}

impl StoreControl<'_> {
    /// SIGSTOP (`resume`: SIGCONT): the store keeps its connections and answers nothing.
    pub fn pause(&mut self) -> Result<(), String> {
        self.signal(nix::sys::signal::Signal::SIGSTOP)
    }

    pub fn resume(&mut self) -> Result<(), String> {
        self.signal(nix::sys::signal::Signal::SIGCONT)
    }

    /// SIGSTOP on the relay (`heal`: SIGCONT): the store runs on, unreachable.
    pub fn partition(&mut self) -> Result<(), String> {
        signal(self.relay, nix::sys::signal::Signal::SIGSTOP)
    }

    pub fn heal(&mut self) -> Result<(), String> {
        signal(self.relay, nix::sys::signal::Signal::SIGCONT)
    }

    /// SIGKILL, and waited for: its port refuses connections.
    pub fn kill(&mut self) {
        match &mut self.running {
            Single::Redis(server) => server.stop(),
            Single::Postgres(server) => server.stop(),
        }
    }

    /// Started again on the same port with the same settings; what it kept depends on its
    /// persistence.
    pub fn start(&mut self) -> Result<(), String> {
        let started = match &mut self.running {
            Single::Redis(server) => server.restart(),
            Single::Postgres(server) => server.restart(),
        };
        started.map_err(|error| authbench_contract::error::Chain(&error).to_string())
    }

    pub fn is_running(&self) -> bool {
        match &self.running {
            Single::Redis(server) => server.is_running(),
            Single::Postgres(server) => server.is_running(),
        }
    }

    fn signal(&mut self, signal: nix::sys::signal::Signal) -> Result<(), String> {
        self::signal(self.running.pid(), signal)
    }
}

/// Sends `signal` to the process `pid`; an error when it is not running or cannot be signalled.
pub(super) fn signal(pid: Option<u32>, signal: nix::sys::signal::Signal) -> Result<(), String> {
    let pid = pid.ok_or("the process is not running")?;
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid, signal).map_err(|error| format!("{signal}: {error}"))
}

/// The run's own stores, running.
#[derive(Debug, Default)]
pub(super) struct OwnedStores {
    started: Vec<Started>,
}

impl OwnedStores {
    /// Starts every store of `scenario`, one after the other. A store that cannot start (or
    /// cannot be capped as asked) stops the run before anything is measured; those already
    /// started are stopped as this returns.
    pub async fn start(
        scenario: &Scenario,
        options: &Options,
        progress: &Progress,
    ) -> Result<OwnedStores, Error> {
        let mut owned = OwnedStores::default();
        for spec in &scenario.stores {
            let server = spec.server.clone();
            // Launching blocks (initdb takes a second or two): keep it off the runtime's workers.
            let started = tokio::task::spawn_blocking(move || match server {
                OwnedServer::Redis(settings) => RedisServer::start(&settings).map(Running::Redis),
                OwnedServer::RedisCluster { settings, shards } => {
                    RedisCluster::start(shards, &settings).map(Running::RedisCluster)
                }
                OwnedServer::Postgres(settings) => {
                    PostgresServer::start(&settings).map(Running::Postgres)
                }
            })
            .await
            .map_err(|error| Error::Store {
                store: spec.name.clone(),
                source: authbench_launch::Error::Failed {
                    server: spec.name.clone(),
                    why: error.to_string(),
                },
            })?
            .map_err(|source| Error::Store {
                store: spec.name.clone(),
                source,
            })?;
            progress.note(&format!(
                "started store {} ({}) at {}{}",
                spec.name,
                spec.server.kind().as_str(),
                redact(&started.url()),
                limits_shown(&spec.server)
            ));
            let distance = match spec.rtt {
                Some(rtt) => {
                    let cores = scenario
                        .pinning
                        .as_ref()
                        .map(|pinning| pinning.loadgen.iter().map(|&core| core as usize).collect());
                    let distance =
                        distance(&started, rtt, cores, options)
                            .await
                            .map_err(|source| Error::Store {
                                store: spec.name.clone(),
                                source,
                            })?;
                    progress.note(&format!(
                        "store {} sits {} ms away behind a delay relay (measured {:.3} ms)",
                        spec.name,
                        rtt.as_secs_f64() * 1e3,
                        distance
                            .through
                            .saturating_sub(distance.direct)
                            .as_secs_f64()
                            * 1e3
                    ));
                    Some(distance)
                }
                None => None,
            };
            owned.started.push(Started {
                spec: spec.clone(),
                server: started,
                distance,
            });
        }
        Ok(owned)
    }

    /// Each system that uses a store of the run's, by system name: the store's name. Read from
    /// the scenario as written (before [`OwnedStores::resolve`]).
    pub fn owners(scenario: &Scenario) -> BTreeMap<String, String> {
        scenario
            .systems
            .iter()
            .filter_map(|system| match &system.target {
                Target::Spawned(server) => match server.store() {
                    StoreSpec::Owned { name, .. } => Some((system.name.clone(), name.clone())),
                    _ => None,
                },
                Target::External(_) => None,
            })
            .collect()
    }

    /// The store called `name`, to fault; none for a cluster (the scenario refuses faults on
    /// one).
    pub fn control(&mut self, name: &str) -> Option<StoreControl<'_>> {
        let started = self
            .started
            .iter_mut()
            .find(|started| started.spec.name == name)?;
        let relay = started.distance.as_ref().map(|d| d.relay.pid());
        Some(StoreControl {
            running: started.server.single()?,
            relay,
        })
    }

    /// `scenario` with every system's run-owned store replaced by the started store's URL.
    pub fn resolve(&self, scenario: &Scenario) -> Scenario {
        let mut resolved = scenario.clone();
        for system in &mut resolved.systems {
            if let Target::Spawned(server) = &mut system.target {
                let store = match server {
                    Server::Session { store, .. } | Server::Jwt { store, .. } => store,
                };
                if let StoreSpec::Owned { name, .. } = store {
                    let started = self
                        .started
                        .iter()
                        .find(|started| &started.spec.name == name)
                        .expect("validation resolved every store name");
                    let url = match &started.distance {
                        Some(distance) => started.server.url_at(distance.relay.address().port()),
                        None => started.server.url(),
                    };
                    *store = match started.server {
                        Running::Redis(_) => StoreSpec::Redis { url },
                        Running::RedisCluster(_) => StoreSpec::RedisCluster { url },
                        Running::Postgres(_) => StoreSpec::Postgres { url },
                    };
                }
            }
        }
        resolved
    }

    /// For each store behind a relay, the URL the servers use and the store's own: a store's
    /// ceiling is its capacity, measured without the distance (which only asks clients for more
    /// requests in flight).
    pub fn direct_urls(&self) -> Vec<(String, String)> {
        self.started
            .iter()
            .filter_map(|started| {
                let relay = &started.distance.as_ref()?.relay;
                Some((
                    started.server.url_at(relay.address().port()),
                    started.server.url(),
                ))
            })
            .collect()
    }

    /// What the report says of each store, read now, each process's log copied into `logs`
    /// (`store-<name>.log`; `store-<name>-<node>.log` for each node of a cluster) before the
    /// store and its temp dir go.
    pub fn infos(&self, logs: &std::path::Path) -> Vec<OwnedStoreInfo> {
        self.started
            .iter()
            .map(|started| info(started, logs))
            .collect()
    }
}

fn info(started: &Started, logs: &std::path::Path) -> OwnedStoreInfo {
    let limits = started.spec.server.limits();
    let processes = started.server.processes();
    let several = processes.len() > 1;
    let mut nodes: Vec<OwnedNodeInfo> = processes
        .iter()
        .enumerate()
        .map(|(index, process)| {
            let name = match several {
                true => format!("store-{}-{index}.log", started.spec.name),
                false => format!("store-{}.log", started.spec.name),
            };
            OwnedNodeInfo {
                address: process.address.clone(),
                pid: process.pid,
                cpu_cap: limits
                    .cpus
                    .and_then(|cores| cpu_cap(cores, process.cpu_group?)),
                log: keep_log(&process.log, logs, &name, &started.spec.name),
            }
        })
        .collect();
    // One process is the store itself; several are listed node by node.
    let single = match several {
        true => None,
        false => nodes.pop(),
    };
    OwnedStoreInfo {
        name: started.spec.name.clone(),
        kind: started.spec.server.kind(),
        url: redact(&started.server.url()),
        pid: single.as_ref().and_then(|node| node.pid),
        cores: limits.cores.as_deref().map(core_list),
        settings: settings(&started.spec.server),
        cpu_cap: single.as_ref().and_then(|node| node.cpu_cap.clone()),
        network: started.distance.as_ref().map(network),
        log: single.and_then(|node| node.log),
        nodes,
    }
}

/// The cap as the kernel held it over the run.
fn cpu_cap(cores: f64, group: &CpuGroup) -> Option<CpuCap> {
    let enforced = group.enforced().ok()?;
    Some(CpuCap {
        cores,
        enforced_cores: enforced.cores,
        mechanism: group.version().as_str().to_owned(),
        period_ms: Some(enforced.period_us as f64 / 1e3),
        periods: enforced.periods,
        throttled_periods: enforced.throttled_periods,
        throttled_s: enforced.throttled_us as f64 / 1e6,
    })
}

/// `log` copied to `logs/name`; its path in the run folder, or none (with a warning).
fn keep_log(
    log: &std::path::Path,
    logs: &std::path::Path,
    name: &str,
    store: &str,
) -> Option<String> {
    match std::fs::copy(log, logs.join(name)) {
        Ok(_) => Some(format!("logs/{name}")),
        Err(error) => {
            tracing::warn!(%store, %error, "could not keep the store's log");
            None
        }
    }
}

fn network(distance: &Distance) -> NetworkEmulation {
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    NetworkEmulation {
        mechanism: "delay relay (authbench relay): each chunk held for half the RTT each way, in \
                    order, no throughput cap"
            .to_owned(),
        rtt_ms: ms(distance.relay.rtt()),
        measured_rtt_ms: ms(distance.through.saturating_sub(distance.direct)),
        direct_rtt_ms: ms(distance.direct),
        relay_pid: distance.relay.pid(),
        relay_cores: distance.cores.as_deref().map(core_list),
        relay_cpu_s: crate::probe::total_cpu([distance.relay.pid()])
            .map_or(0.0, |cpu| cpu.as_secs_f64()),
    }
}

/// How many pings each round-trip figure is the median of.
const PINGS: usize = 50;

/// Starts a relay in front of `store` and measures the round trip with and without it.
async fn distance(
    store: &Running,
    rtt: Duration,
    cores: Option<Vec<usize>>,
    options: &Options,
) -> Result<Distance, authbench_launch::Error> {
    let port = match store {
        Running::Redis(server) => server.port(),
        Running::Postgres(server) => server.port(),
        Running::RedisCluster(_) => {
            return Err(authbench_launch::Error::Failed {
                server: "the delay relay".into(),
                why: "a Redis Cluster cannot sit behind a relay".into(),
            });
        }
    };
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let exe = options.exe.clone();
    let relay_cores = cores.clone();
    let postgres = matches!(store, Running::Postgres(_));
    tokio::task::spawn_blocking(move || {
        let relay = RelayProcess::start(&exe, target, rtt, relay_cores)?;
        let ping = |address| {
            crate::probe::ping::median_round_trip(address, postgres, PINGS).map_err(|error| {
                authbench_launch::Error::Io {
                    server: format!("the store at {address}"),
                    what: "measure the round trip to it".into(),
                    source: error,
                }
            })
        };
        let direct = ping(target)?;
        let through = ping(relay.address())?;
        Ok(Distance {
            relay,
            cores,
            direct,
            through,
        })
    })
    .await
    .map_err(|error| authbench_launch::Error::Failed {
        server: "the delay relay".into(),
        why: error.to_string(),
    })?
}

/// `0,1` for cores 0 and 1, as report.json lists cores.
fn core_list(cores: &[usize]) -> String {
    let listed: Vec<String> = cores.iter().map(usize::to_string).collect();
    listed.join(",")
}

/// The settings that change the answer, as the store was started with them.
fn settings(server: &OwnedServer) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    match server {
        OwnedServer::RedisCluster {
            settings: redis,
            shards,
        } => {
            settings.insert("shards".to_owned(), shards.to_string());
            redis_settings(&mut settings, redis);
        }
        OwnedServer::Redis(redis) => redis_settings(&mut settings, redis),
        OwnedServer::Postgres(postgres) => {
            let or_default =
                |value: &Option<String>| value.clone().unwrap_or_else(|| "default".to_owned());
            settings.insert(
                "shared_buffers".to_owned(),
                or_default(&postgres.shared_buffers),
            );
            settings.insert(
                "synchronous_commit".to_owned(),
                or_default(&postgres.synchronous_commit),
            );
            settings.insert(
                "max_connections".to_owned(),
                postgres.max_connections.to_string(),
            );
            let fsync = if postgres.durable { "on" } else { "off" };
            settings.insert("fsync".to_owned(), fsync.to_owned());
        }
    }
    settings
}

/// Persistence and `maxmemory` (of each node, for a cluster).
fn redis_settings(settings: &mut BTreeMap<String, String>, redis: &RedisSettings) {
    let persistence = match &redis.appendfsync {
        Some(fsync) => format!("appendonly, appendfsync {fsync}"),
        None => "none".to_owned(),
    };
    settings.insert("persistence".to_owned(), persistence);
    let maxmemory = redis.maxmemory.clone().unwrap_or_else(|| "none".into());
    settings.insert("maxmemory".to_owned(), maxmemory);
}

/// `, capped at 0.25 cores, on cores 1` for the progress line.
fn limits_shown(server: &OwnedServer) -> String {
    let limits = server.limits();
    let mut shown = String::new();
    if let Some(cpus) = limits.cpus {
        shown.push_str(&format!(", capped at {cpus} cores"));
        if let OwnedServer::RedisCluster { .. } = server {
            shown.push_str(" per shard");
        }
    }
    if let Some(cores) = &limits.cores {
        shown.push_str(&format!(", on cores {cores:?}"));
    }
    shown
}
