//! The stores a run owns (`[[stores]]`): started before the systems, in the order written, each
//! system's `store = "<name>"` replaced by the started store's URL, and stopped when the run
//! ends (dropped; if the run is killed, the kernel stops them, since they are started with a
//! parent-death signal). What the report says of each is read at the end, when the kernel's
//! throttling counters cover the whole run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use authbench_launch::relay::RelayProcess;
use authbench_launch::{PostgresServer, RedisServer};
use authbench_report::{CpuCap, NetworkEmulation, OwnedStoreInfo};

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
    Postgres(PostgresServer),
}

impl Running {
    fn url(&self) -> String {
        self.url_at(self.port())
    }

    /// The store's URL with `port` for its own (a relay's in front of it).
    fn url_at(&self, port: u16) -> String {
        match self {
            Running::Redis(_) => format!("redis://127.0.0.1:{port}"),
            Running::Postgres(_) => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Running::Redis(server) => server.port(),
            Running::Postgres(server) => server.port(),
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        match self {
            Running::Redis(server) => server.log_path(),
            Running::Postgres(server) => server.log_path(),
        }
    }

    fn pid(&self) -> Option<u32> {
        match self {
            Running::Redis(server) => server.pid(),
            Running::Postgres(server) => server.pid(),
        }
    }

    fn cpu_group(&self) -> Option<&authbench_launch::cgroup::CpuGroup> {
        match self {
            Running::Redis(server) => server.cpu_group(),
            Running::Postgres(server) => server.cpu_group(),
        }
    }
}

/// A run-owned store as a fault sees it: paused, killed, started again. Each call blocks until
/// done (a start, until the store answers).
#[derive(Debug)]
pub(super) struct StoreControl<'a> {
    running: &'a mut Running,
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
        match self.running {
            Running::Redis(server) => server.stop(),
            Running::Postgres(server) => server.stop(),
        }
    }

    /// Started again on the same port with the same settings; what it kept depends on its
    /// persistence.
    pub fn start(&mut self) -> Result<(), String> {
        let started = match self.running {
            Running::Redis(server) => server.restart(),
            Running::Postgres(server) => server.restart(),
        };
        started.map_err(|error| authbench_contract::error::Chain(&error).to_string())
    }

    pub fn is_running(&self) -> bool {
        match &self.running {
            Running::Redis(server) => server.is_running(),
            Running::Postgres(server) => server.is_running(),
        }
    }

    fn signal(&mut self, signal: nix::sys::signal::Signal) -> Result<(), String> {
        self::signal(self.running.pid(), signal)
    }
}

fn signal(pid: Option<u32>, signal: nix::sys::signal::Signal) -> Result<(), String> {
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

    /// The store called `name`, to fault.
    pub fn control(&mut self, name: &str) -> Option<StoreControl<'_>> {
        self.started
            .iter_mut()
            .find(|started| started.spec.name == name)
            .map(|started| StoreControl {
                running: &mut started.server,
                relay: started.distance.as_ref().map(|d| d.relay.pid()),
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

    /// What the report says of each store, read now, each store's log copied into `logs`
    /// (`store-<name>.log`) before the store and its temp dir go.
    pub fn infos(&self, logs: &std::path::Path) -> Vec<OwnedStoreInfo> {
        self.started
            .iter()
            .map(|started| {
                let name = format!("store-{}.log", started.spec.name);
                let kept = std::fs::copy(started.server.log_path(), logs.join(&name));
                if let Err(error) = &kept {
                    tracing::warn!(store = %started.spec.name, %error, "could not keep the store's log");
                }
                OwnedStoreInfo {
                    log: kept.ok().map(|_| format!("logs/{name}")),
                    ..info(started)
                }
            })
            .collect()
    }
}

fn info(started: &Started) -> OwnedStoreInfo {
    let limits = started.spec.server.limits();
    let cpu_cap = match (limits.cpus, started.server.cpu_group()) {
        (Some(cores), Some(group)) => group.enforced().ok().map(|enforced| CpuCap {
            cores,
            enforced_cores: enforced.cores,
            mechanism: group.version().as_str().to_owned(),
            period_ms: Some(enforced.period_us as f64 / 1e3),
            periods: enforced.periods,
            throttled_periods: enforced.throttled_periods,
            throttled_s: enforced.throttled_us as f64 / 1e6,
        }),
        _ => None,
    };
    OwnedStoreInfo {
        name: started.spec.name.clone(),
        kind: started.spec.server.kind(),
        url: redact(&started.server.url()),
        pid: started.server.pid(),
        cores: limits.cores.as_deref().map(core_list),
        settings: settings(&started.spec.server),
        cpu_cap,
        network: started.distance.as_ref().map(network),
        log: None,
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
    let target = SocketAddr::from(([127, 0, 0, 1], store.port()));
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
        OwnedServer::Redis(redis) => {
            let persistence = match &redis.appendfsync {
                Some(fsync) => format!("appendonly, appendfsync {fsync}"),
                None => "none".to_owned(),
            };
            settings.insert("persistence".to_owned(), persistence);
            let maxmemory = redis.maxmemory.clone().unwrap_or_else(|| "none".into());
            settings.insert("maxmemory".to_owned(), maxmemory);
        }
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

/// `, capped at 0.25 cores, on cores 1` for the progress line.
fn limits_shown(server: &OwnedServer) -> String {
    let limits = server.limits();
    let mut shown = String::new();
    if let Some(cpus) = limits.cpus {
        shown.push_str(&format!(", capped at {cpus} cores"));
    }
    if let Some(cores) = &limits.cores {
        shown.push_str(&format!(", on cores {cores:?}"));
    }
    shown
}
