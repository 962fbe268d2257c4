//! Starting what a scenario runs: main_DB seeded once for every spawned system, each spawned
//! system's server processes (one per replica), and each external system's accounts.

use std::sync::Arc;

use authbench_report::SystemKind;

use super::super::faults::KeyRotation;
use super::super::{Error, Options};
use super::log_name;
use crate::output::RunDir;
use crate::probe::redact;
use crate::progress::Progress;
use crate::scenario::{
    AccessToken, MainDb, Mapping, Resource, Scenario, Server, StoreSpec, System, Target,
};
use crate::system::{self, Credential, Launch, Spawned};

/// A system that is up: its processes (none for an external system), where to reach it, and
/// what it runs against.
#[derive(Debug)]
pub(super) struct Launched {
    pub spawned: Vec<Spawned>,
    /// One per replica.
    pub base_urls: Vec<String>,
    /// One per replica for a spawned system; what the scenario lists for an external one.
    pub metrics_urls: Vec<String>,
    pub credentials: Arc<[Credential]>,
    pub store: Option<StoreSpec>,
    pub kind: SystemKind,
    /// Its routes: authbench's own, or an external system's mapping.
    pub mapping: Mapping,
    /// A JWT system's signing key, which a `rotate-key` fault replaces.
    pub key_rotation: Option<KeyRotation>,
}

/// main_DB's URL: the scenario's Postgres, or a SQLite file in the run's data folder.
pub(super) fn main_db_url(scenario: &Scenario, dir: &RunDir) -> String {
    match &scenario.main_db {
        MainDb::Sqlite => format!("sqlite://{}/main.db", dir.data.display()),
        MainDb::Postgres { url } => url.clone(),
    }
}

/// Seeds main_DB once if any system is spawned (an external system brings its own accounts)
/// and returns the seeded logins.
pub(super) async fn seed(
    scenario: &Scenario,
    options: &Options,
    dir: &RunDir,
    progress: &Progress,
    main_db_url: &str,
) -> Result<Arc<[Credential]>, Error> {
    let spawns = scenario
        .systems
        .iter()
        .any(|system| matches!(system.target, Target::Spawned(_)));
    if !spawns {
        return Ok(Arc::from(Vec::new()));
    }
    progress.note(&format!(
        "seeding {} accounts into main_DB ({})",
        scenario.users.accounts,
        redact(main_db_url)
    ));
    let credentials = system::seed(
        &options.exe,
        main_db_url,
        scenario.users.accounts.get(),
        scenario.argon2,
        &dir.data.join("credentials.csv"),
    )
    .await?;
    Ok(credentials.into())
}

/// What the run needs to start one system's servers.
#[derive(Debug)]
pub(super) struct Context<'a> {
    pub scenario: &'a Scenario,
    pub options: &'a Options,
    pub dir: &'a RunDir,
    pub progress: &'a Progress,
    pub main_db_url: &'a str,
    pub seeded: &'a Arc<[Credential]>,
    /// Given to every spawned server: issuers answer introspection calls that present it,
    /// resource servers present it.
    pub introspection_secret: Option<&'a str>,
}

/// Starts `system`'s servers, or reads an external system's accounts.
pub(super) async fn launch(context: &Context<'_>, system: &System) -> Result<Launched, Error> {
    match &system.target {
        Target::Spawned(server) => spawn(context, system, server).await,
        Target::External(external) => {
            let needed = context.scenario.users.max_active.get() as usize;
            let credentials = system::read_credentials(&external.credentials_csv, needed)?;
            let credentials = match &context.options.shard {
                Some(shard) => shard.accounts(credentials),
                None => credentials,
            };
            Ok(Launched {
                spawned: Vec::new(),
                base_urls: external.base_urls.clone(),
                metrics_urls: external.metrics_urls.clone(),
                credentials: credentials.into(),
                store: external.store.clone(),
                kind: SystemKind::External,
                mapping: external.mapping.clone(),
                key_rotation: None,
            })
        }
    }
}

/// One server process per replica; replicas of a JWT system share one signing key, from a file
/// a rotation can replace.
async fn spawn(context: &Context<'_>, system: &System, server: &Server) -> Result<Launched, Error> {
    let Context {
        options,
        dir,
        progress,
        ..
    } = context;
    let key_rotation = match server {
        Server::Jwt {
            alg,
            access_token: AccessToken::Jwt,
            ..
        } => {
            let path = dir.data.join(format!("{}.key", system.name));
            system::keygen(&options.exe, &system.name, *alg, &path).await?;
            Some(KeyRotation {
                exe: options.exe.clone(),
                alg: *alg,
                key_file: path,
            })
        }
        _ => None,
    };
    let key_file = key_rotation.as_ref().map(|key| key.key_file.as_path());
    let mut spawned = Vec::new();
    for replica in 0..system.replicas.get() {
        let launch = context.launch(log_name(&system.name, replica), key_file);
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
        Server::Jwt {
            access_token: AccessToken::Opaque,
            ..
        } => SystemKind::Opaque,
        Server::Jwt { .. } => SystemKind::Jwt,
    };
    Ok(Launched {
        base_urls: spawned.iter().map(|one| one.base_url.clone()).collect(),
        metrics_urls: spawned
            .iter()
            .map(|one| format!("{}/metrics", one.base_url))
            .collect(),
        spawned,
        credentials: context.seeded.clone(),
        store: Some(server.store().clone()),
        kind,
        mapping: Mapping::reference(),
        key_rotation,
    })
}

/// The resource server beside `system`, reaching the issuer at `issuer_url` (the first
/// replica, or the balancer in front of them).
pub(super) async fn resource(
    context: &Context<'_>,
    system: &System,
    resource: &Resource,
    issuer_url: &str,
) -> Result<Option<Spawned>, Error> {
    let Target::Spawned(server) = &system.target else {
        return Ok(None);
    };
    let launch = context.launch(format!("{}.resource.log", system.name), None);
    let one = system::spawn_resource(&system.name, resource, (issuer_url, server), &launch).await?;
    context.progress.note(&format!(
        "started {}'s resource server ({}, pid {}) at {}",
        system.name, resource.verify, one.pid, one.base_url
    ));
    Ok(Some(one))
}

impl Context<'_> {
    /// How a server of this run starts: its log in the run's logs folder.
    fn launch<'a>(&'a self, log: String, key_file: Option<&'a std::path::Path>) -> Launch<'a> {
        let scenario = self.scenario;
        Launch {
            exe: &self.options.exe,
            main_db_url: self.main_db_url,
            balance_source: scenario.balance_source,
            workers: scenario.server_workers.map(|n| n.get()),
            request_timeout: scenario.server_timeout,
            cores: scenario.pinning.as_ref().map(|p| p.servers.as_slice()),
            data_dir: &self.dir.data,
            log: self.dir.logs.join(log),
            key_file,
            introspection_secret: self.introspection_secret,
        }
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
