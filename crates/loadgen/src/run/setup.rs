//! Before the first step: seed main_DB once for every spawned system, start each server, read
//! each external system's accounts, and connect the probes. Any failure here stops the run before
//! anything is measured, with a message naming the system.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use authbench_contract::error::Chain;
use authbench_report::{Event, Replica, SystemInfo, SystemKind};

use super::{Error, Options};
use crate::client::Endpoint;
use crate::drive::Driver;
use crate::output::RunDir;
use crate::probe::process::ProcessSample;
use crate::probe::{MetricsProbe, StoreProbe, redact};
use crate::progress::Progress;
use crate::scenario::{MainDb, Scenario, Server, StoreSpec, Target};
use crate::system::{self, Credential, Launch, Spawned};

/// A system under test, ready for turns.
#[derive(Debug)]
pub(super) struct Sut {
    pub info: SystemInfo,
    /// Its server processes: one per replica; none for an external system.
    pub spawned: Vec<Spawned>,
    pub driver: Driver,
    /// Each replica's /metrics (one for an external system).
    pub metrics: Vec<MetricsProbe>,
    pub store: Option<StoreProbe>,
    /// `Some(why)` once the system stopped running; its later turns are skipped.
    pub down: Option<String>,
    pub started: Instant,
}

impl Sut {
    pub fn event(&mut self, message: String) {
        self.info.events.push(Event {
            at_s: self.started.elapsed().as_secs_f64(),
            message,
        });
    }
}

pub(super) async fn start(
    scenario: &Scenario,
    options: &Options,
    dir: &RunDir,
    progress: &Progress,
    started: Instant,
) -> Result<Vec<Sut>, Error> {
    let needed = scenario.users.max_active.get() as usize;
    let spawns = scenario
        .systems
        .iter()
        .any(|system| matches!(system.target, Target::Spawned(_)));
    let main_db_url = match &scenario.main_db {
        MainDb::Sqlite => format!("sqlite://{}/main.db", dir.data.display()),
        MainDb::Postgres { url } => url.clone(),
    };
    let seeded: Arc<[Credential]> = if spawns {
        progress.note(&format!(
            "seeding {} accounts into main_DB ({})",
            scenario.users.accounts,
            redact(&main_db_url)
        ));
        let credentials = system::seed(
            &options.exe,
            &main_db_url,
            scenario.users.accounts.get(),
            scenario.argon2,
            &dir.data.join("credentials.csv"),
        )
        .await?;
        credentials.into()
    } else {
        Arc::from(Vec::new())
    };

    let mut systems = Vec::with_capacity(scenario.systems.len());
    for system in &scenario.systems {
        let setup_error = |message: String| Error::Setup {
            system: system.name.clone(),
            message,
        };
        let (spawned, metrics_urls, credentials, store_spec, kind) = match &system.target {
            Target::Spawned(server) => {
                let key_file = match server {
                    Server::Jwt { alg, .. } if system.replicas.get() > 1 => {
                        let path = dir.data.join(format!("{}.key", system.name));
                        system::keygen(&options.exe, &system.name, *alg, &path).await?;
                        Some(path)
                    }
                    _ => None,
                };
                let mut spawned = Vec::new();
                for replica in 0..system.replicas.get() {
                    let log = dir.logs.join(log_name(&system.name, replica));
                    let launch = Launch {
                        exe: &options.exe,
                        main_db_url: &main_db_url,
                        balance_source: scenario.balance_source,
                        workers: scenario.server_workers.map(|n| n.get()),
                        cores: scenario.pinning.as_ref().map(|p| p.servers.as_slice()),
                        data_dir: &dir.data,
                        log,
                        key_file: key_file.as_deref(),
                    };
                    let one = system::spawn(&system.name, server, &launch).await?;
                    progress.note(&format!(
                        "started {}{} (pid {}) at {}",
                        system.name,
                        replica_label(system.replicas.get(), replica),
                        one.pid,
                        one.base_url
                    ));
                    spawned.push(one);
                }
                let kind = match server {
                    Server::Session { .. } => SystemKind::Session,
                    Server::Jwt { .. } => SystemKind::Jwt,
                };
                let metrics_urls = spawned
                    .iter()
                    .map(|one| format!("{}/metrics", one.base_url))
                    .collect();
                (
                    spawned,
                    metrics_urls,
                    seeded.clone(),
                    Some(server.store().clone()),
                    kind,
                )
            }
            Target::External(external) => {
                let credentials: Arc<[Credential]> =
                    system::read_credentials(&external.credentials_csv, needed)?.into();
                (
                    Vec::new(),
                    external.metrics_urls.clone(),
                    credentials,
                    external.store.clone(),
                    SystemKind::External,
                )
            }
        };
        let base_urls: Vec<String> = match &system.target {
            Target::Spawned(_) => spawned.iter().map(|one| one.base_url.clone()).collect(),
            Target::External(external) => external.base_urls.clone(),
        };
        let base_url = base_urls[0].clone();
        let mut endpoints = Vec::with_capacity(base_urls.len());
        for url in &base_urls {
            let endpoint = Endpoint::resolve(url)
                .await
                .map_err(|e| setup_error(format!("{url}: {}", Chain(&e))))?;
            endpoints.push(endpoint);
        }
        let endpoint = endpoints.remove(0);
        let store = match &store_spec {
            Some(StoreSpec::Redis { url }) | Some(StoreSpec::Postgres { url }) => Some(
                StoreProbe::connect(url)
                    .await
                    .map_err(|e| setup_error(Chain(&e).to_string()))?,
            ),
            _ => None,
        };
        let mut metrics = Vec::with_capacity(metrics_urls.len());
        for url in &metrics_urls {
            let probe = MetricsProbe::new(url).map_err(|e| setup_error(Chain(&e).to_string()))?;
            if let Err(error) = probe.sample().await {
                return Err(setup_error(format!(
                    "its /metrics is unreachable ({}); the run compares the server's own \
                     counts with the load generator's",
                    Chain(&error)
                )));
            }
            metrics.push(probe);
        }
        let driver = Driver::new(
            endpoint,
            credentials,
            scenario.flow,
            scenario.request_timeout,
        )
        .rotating_accounts(needed)
        .spread_over(endpoints, system.routing);
        let pid = spawned.first().map(|s| s.pid);
        let info = SystemInfo {
            name: system.name.clone(),
            kind,
            base_url: base_url.clone(),
            settings: settings(spawned.first()),
            store: store_spec.as_ref().map(StoreSpec::kind),
            store_version: store.as_ref().map(|probe| probe.version().to_owned()),
            pid,
            cores: pid.and_then(|pid| ProcessSample::read(pid).ok().map(|s| s.allowed_cores)),
            log: spawned
                .first()
                .map(|_| format!("logs/{}", log_name(&system.name, 0))),
            events: Vec::new(),
            replicas: replicas(&system.name, &spawned, &base_urls),
            routing: (base_urls.len() > 1).then_some(system.routing),
        };
        systems.push(Sut {
            info,
            spawned,
            driver,
            metrics,
            store,
            down: None,
            started,
        });
    }
    Ok(systems)
}

/// `logs/<system>.log` for the first (or only) replica, `<system>.<n>.log` for the others.
fn log_name(system: &str, replica: u32) -> String {
    match replica {
        0 => format!("{system}.log"),
        n => format!("{system}.{n}.log"),
    }
}

/// ` replica 2/3` in progress lines of a system that scales out; nothing otherwise.
fn replica_label(replicas: u32, replica: u32) -> String {
    if replicas > 1 {
        format!(" replica {}/{replicas}", replica + 1)
    } else {
        String::new()
    }
}

/// What the report says of each replica; nothing for a single process. An external system's
/// replicas are only their URLs: the run knows nothing of their processes.
fn replicas(system: &str, spawned: &[Spawned], base_urls: &[String]) -> Vec<Replica> {
    if base_urls.len() < 2 {
        return Vec::new();
    }
    if spawned.is_empty() {
        let external = base_urls.iter().map(|url| Replica {
            base_url: url.clone(),
            pid: None,
            cores: None,
            log: None,
        });
        return external.collect();
    }
    spawned
        .iter()
        .zip(0u32..)
        .map(|(one, index)| Replica {
            base_url: one.base_url.clone(),
            pid: Some(one.pid),
            cores: ProcessSample::read(one.pid).ok().map(|s| s.allowed_cores),
            log: Some(format!("logs/{}", log_name(system, index))),
        })
        .collect()
}

fn settings(spawned: Option<&Spawned>) -> BTreeMap<String, String> {
    spawned
        .map(|spawned| {
            spawned
                .settings
                .iter()
                .map(|(flag, value)| {
                    let value = if value.is_empty() {
                        "true".to_owned()
                    } else {
                        redact(value)
                    };
                    (flag.trim_start_matches("--").to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Stops every spawned server (SIGTERM, then SIGKILL) and hands back what the report says of each.
/// The load generator's connections close first: a draining server waits for open connections.
pub(super) async fn stop(systems: &mut Vec<Sut>) -> Vec<SystemInfo> {
    let mut infos = Vec::with_capacity(systems.len());
    let mut stopping = tokio::task::JoinSet::new();
    for system in systems.drain(..) {
        let Sut {
            info,
            spawned,
            driver,
            ..
        } = system;
        drop(driver);
        for one in spawned {
            stopping.spawn(one.stop());
        }
        infos.push(info);
    }
    stopping.join_all().await;
    infos
}
