//! Before the first step: seed main_DB once for every spawned system, start each server, read
//! each external system's accounts, and connect the probes. Any failure here stops the run before
//! anything is measured, with a message naming the system.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use authbench_report::{Event, SystemInfo};

use super::{Error, Options};
use crate::client::Endpoint;
use crate::drive::Driver;
use crate::output::RunDir;
use crate::probe::process::ProcessSample;
use crate::probe::{MetricsProbe, StoreProbe, redact};
use crate::progress::Progress;
use crate::scenario::{MainDb, Scenario, StoreSpec, Target};
use crate::system::{self, Credential, Launch, Spawned};

/// A system under test, ready for turns.
#[derive(Debug)]
pub(super) struct Sut {
    pub info: SystemInfo,
    pub spawned: Option<Spawned>,
    pub driver: Driver,
    pub metrics: MetricsProbe,
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
        let (spawned, base_url, metrics_url, credentials, store_spec, kind) = match &system.target {
            Target::Spawned(server) => {
                let log = dir.logs.join(format!("{}.log", system.name));
                let launch = Launch {
                    exe: &options.exe,
                    main_db_url: &main_db_url,
                    balance_source: scenario.balance_source,
                    argon2: scenario.argon2,
                    workers: scenario.server_workers.map(|n| n.get()),
                    cores: scenario.pinning.as_ref().map(|p| p.servers.as_slice()),
                    data_dir: &dir.data,
                    log,
                };
                let spawned = system::spawn(&system.name, server, &launch).await?;
                progress.note(&format!(
                    "started {} (pid {}) at {}",
                    system.name, spawned.pid, spawned.base_url
                ));
                let base_url = spawned.base_url.clone();
                let kind = match server {
                    crate::scenario::Server::Session { .. } => "session",
                    crate::scenario::Server::Jwt { .. } => "jwt",
                };
                (
                    Some(spawned),
                    base_url.clone(),
                    format!("{base_url}/metrics"),
                    seeded.clone(),
                    Some(server.store().clone()),
                    kind,
                )
            }
            Target::External(external) => {
                let credentials: Arc<[Credential]> =
                    system::read_credentials(&external.credentials_csv, needed)?.into();
                (
                    None,
                    external.base_url.clone(),
                    external.metrics_url.clone(),
                    credentials,
                    external.store.clone(),
                    "external",
                )
            }
        };
        let endpoint = Endpoint::resolve(&base_url)
            .await
            .map_err(|e| setup_error(format!("{base_url}: {e}")))?;
        let store = match &store_spec {
            Some(StoreSpec::Redis { url }) | Some(StoreSpec::Postgres { url }) => Some(
                StoreProbe::connect(url)
                    .await
                    .map_err(|e| setup_error(e.to_string()))?,
            ),
            _ => None,
        };
        let metrics = MetricsProbe::new(&metrics_url).map_err(|e| setup_error(e.to_string()))?;
        if let Err(error) = metrics.sample().await {
            return Err(setup_error(format!(
                "its /metrics is unreachable ({error}); the run compares the server's own counts \
                 with the load generator's"
            )));
        }
        let driver = Driver::new(
            endpoint,
            credentials,
            scenario.flow,
            scenario.request_timeout,
        )
        .rotating_accounts(needed);
        let pid = spawned.as_ref().map(|s| s.pid);
        let info = SystemInfo {
            name: system.name.clone(),
            kind: kind.into(),
            base_url: base_url.clone(),
            settings: settings(spawned.as_ref()),
            store: store_spec.as_ref().map(|s| s.kind().to_owned()),
            store_version: store.as_ref().map(|probe| probe.version().to_owned()),
            pid,
            cores: pid.and_then(|pid| ProcessSample::read(pid).ok().map(|s| s.allowed_cores)),
            log: spawned
                .as_ref()
                .map(|_| format!("logs/{}.log", system.name)),
            events: Vec::new(),
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
        if let Some(spawned) = spawned {
            stopping.spawn(spawned.stop());
        }
        infos.push(info);
    }
    stopping.join_all().await;
    infos
}
