//! Before the first step: seed main_DB once for every spawned system, start each system
//! (`spawn`), connect the probes on it (`probes`), and give it a driver. Any failure here stops
//! the run before anything is measured, with a message naming the system.

mod probes;
mod spawn;

use std::collections::BTreeMap;
use std::time::Instant;

use authbench_contract::error::Chain;
use authbench_launch::{BalancerRouting, NginxBalancer};
use authbench_report::{BalancerInfo, Event, Replica, ResourceInfo, SystemInfo};

use super::faults::{IssuerControl, KeyRotation};
use super::{Error, Options};
use crate::client::Endpoint;
use crate::drive::Driver;
use crate::output::RunDir;
use crate::probe::ProcessProbe;
use crate::probe::process::ProcessSample;
use crate::probe::redact;
use crate::progress::Progress;
use crate::scenario::{
    Balancer, Mapping, Resource, Routing, Scenario, ServerCounts, StoreSpec, System, Verify,
};
use crate::system::Spawned;
pub(crate) use probes::Probes;
use spawn::{Context, Launched};

/// A system under test, ready for turns.
#[derive(Debug)]
pub(super) struct Sut {
    pub info: SystemInfo,
    /// Its server processes: one per replica; none for an external system.
    pub spawned: Vec<Spawned>,
    /// nginx in front of the replicas, where the scenario asked for it; stopped with the run.
    pub balancer: Option<NginxBalancer>,
    pub driver: Driver,
    pub probes: Probes,
    /// `Some(why)` once the system stopped running; its later turns are skipped.
    pub down: Option<String>,
    pub started: Instant,
    /// The resource server beside it, which its balance requests go to.
    pub resource: Option<Spawned>,
    /// Its signing key, for a `rotate-key` fault (JWT systems).
    pub key_rotation: Option<KeyRotation>,
}

impl Sut {
    /// Its server processes and key, as an issuer fault acts on them; none for an external
    /// system.
    pub fn issuer_control(&self) -> Option<IssuerControl> {
        (!self.spawned.is_empty()).then(|| IssuerControl {
            pids: self.spawned.iter().map(|one| one.pid).collect(),
            key: self.key_rotation.clone(),
        })
    }

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
    let main_db_url = spawn::main_db_url(scenario, dir);
    let seeded = spawn::seed(scenario, options, dir, progress, &main_db_url).await?;
    let introspection_secret = introspection_secret();
    let context = Context {
        scenario,
        options,
        dir,
        progress,
        main_db_url: &main_db_url,
        seeded: &seeded,
        introspection_secret: introspection_secret.as_deref(),
    };
    let mut systems = Vec::with_capacity(scenario.systems.len());
    for system in &scenario.systems {
        let setup_error = |message: String| Error::Setup {
            system: system.name.clone(),
            message,
        };
        let launched = spawn::launch(&context, system).await?;
        let balancer = match system.balancer {
            Balancer::Nginx => Some(balancer(scenario, system, &launched, dir, progress).await?),
            Balancer::Loadgen => None,
        };
        let issuer_url = balancer.as_ref().map_or_else(
            || launched.base_urls[0].clone(),
            |nginx| format!("http://{}", nginx.address()),
        );
        let resource = match &system.resource {
            Some(resource) => spawn::resource(&context, system, resource, &issuer_url).await?,
            None => None,
        };
        let mut driver = driver(scenario, system, &launched, balancer.as_ref())
            .await
            .map_err(setup_error)?;
        if let Some(one) = &resource {
            let endpoint = Endpoint::resolve(&one.base_url)
                .await
                .map_err(|e| setup_error(format!("{}: {}", one.base_url, Chain(&e))))?;
            driver = driver.with_resource(endpoint);
        }
        let mut probes = probes::connect(&launched).await.map_err(setup_error)?;
        if let Some(one) = &resource {
            probes.resource = Some(probes::resource(one).await.map_err(setup_error)?);
        }
        probes.balancer = balancer
            .as_ref()
            .and_then(NginxBalancer::pid)
            .map(|pid| ProcessProbe { pid });
        if launched.mapping.server_counts == ServerCounts::None {
            progress.note(&format!(
                "{}: its mapping says it exposes no request counts, so the report has no \
                 server-side count to check the load generator's against",
                system.name
            ));
        }
        let mut info = info(system, &launched, &probes);
        info.balancer = balancer.as_ref().map(|nginx| balancer_info(system, nginx));
        info.resource = resource
            .as_ref()
            .zip(system.resource.as_ref())
            .map(|(one, resource)| resource_info(&system.name, one, resource));
        systems.push(Sut {
            info,
            spawned: launched.spawned,
            balancer,
            driver,
            probes,
            down: None,
            started,
            resource,
            key_rotation: launched.key_rotation,
        });
    }
    Ok(systems)
}

/// nginx in front of the system's replicas, pinned to the servers' cores (it is part of the
/// app tier), its configuration kept in the run's logs.
async fn balancer(
    scenario: &Scenario,
    system: &System,
    launched: &Launched,
    dir: &RunDir,
    progress: &Progress,
) -> Result<NginxBalancer, Error> {
    let failed = |message: String| Error::Setup {
        system: system.name.clone(),
        message,
    };
    let upstreams = launched
        .base_urls
        .iter()
        .map(|url| {
            url.trim_start_matches("http://")
                .parse::<std::net::SocketAddr>()
                .map_err(|error| failed(format!("replica {url}: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let routing = match system.routing {
        Routing::RoundRobin => BalancerRouting::RoundRobin,
        Routing::Sticky => BalancerRouting::Sticky,
    };
    let cores = scenario
        .pinning
        .as_ref()
        .map(|pinning| pinning.servers.iter().map(|&core| core as usize).collect());
    let nginx =
        tokio::task::spawn_blocking(move || NginxBalancer::start(&upstreams, routing, cores))
            .await
            .map_err(|error| failed(error.to_string()))?
            .map_err(|error| failed(format!("cannot start nginx: {}", Chain(&error))))?;
    let kept = dir.logs.join(format!("{}.nginx.conf", system.name));
    if let Err(error) = std::fs::copy(nginx.config_path(), &kept) {
        tracing::warn!(system = %system.name, %error, "could not keep nginx's configuration");
    }
    progress.note(&format!(
        "started {} at http://{} in front of {}'s {} replicas ({})",
        nginx.version(),
        nginx.address(),
        system.name,
        upstreams_len(launched),
        system.routing.as_str()
    ));
    Ok(nginx)
}

fn upstreams_len(launched: &Launched) -> usize {
    launched.base_urls.len()
}

fn resource_info(system: &str, one: &Spawned, resource: &Resource) -> ResourceInfo {
    ResourceInfo {
        verify: resource.verify,
        base_url: one.base_url.clone(),
        pid: Some(one.pid),
        introspect_cache_ms: (resource.verify == Verify::Introspect)
            .then(|| u64::try_from(resource.introspect_cache.as_millis()).unwrap_or(u64::MAX)),
        settings: settings(Some(one)),
        log: Some(format!("logs/{system}.resource.log")),
    }
}

/// A fresh secret for the run's issuers and resource servers to share: 256 bits, hex. `None`
/// when the OS gives no random bytes: introspection is then off, and a resource server that
/// needs it refuses to start, saying so.
fn introspection_secret() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn balancer_info(system: &System, nginx: &NginxBalancer) -> BalancerInfo {
    BalancerInfo {
        kind: Balancer::Nginx,
        version: nginx.version().to_owned(),
        base_url: format!("http://{}", nginx.address()),
        pid: nginx.pid(),
        routing: system.routing,
        config: Some(format!("logs/{}.nginx.conf", system.name)),
    }
}

/// The system's driver, spreading flows over its replicas, or sending them all to the
/// balancer in front of them.
async fn driver(
    scenario: &Scenario,
    system: &System,
    launched: &Launched,
    balancer: Option<&NginxBalancer>,
) -> Result<Driver, String> {
    let targets = match balancer {
        Some(nginx) => vec![format!("http://{}", nginx.address())],
        None => launched.base_urls.clone(),
    };
    let mut endpoints = Vec::with_capacity(targets.len());
    for url in &targets {
        let endpoint = Endpoint::resolve(url)
            .await
            .map_err(|e| format!("{url}: {}", Chain(&e)))?;
        endpoints.push(endpoint);
    }
    let endpoint = endpoints.remove(0);
    let driver = Driver::new(
        endpoint,
        launched.credentials.clone(),
        scenario.flow,
        scenario.request_timeout,
    )
    .rotating_accounts(scenario.users.max_active.get() as usize)
    .mapped(&launched.mapping)
    .spread_over(endpoints, system.routing);
    Ok(driver)
}

/// What the report says of the system as it starts; its events come during the run.
fn info(system: &System, launched: &Launched, probes: &Probes) -> SystemInfo {
    let first = launched.spawned.first();
    let pid = first.map(|s| s.pid);
    SystemInfo {
        name: system.name.clone(),
        kind: launched.kind,
        base_url: launched.base_urls[0].clone(),
        settings: if launched.mapping == Mapping::reference() {
            settings(first)
        } else {
            launched.mapping.describe()
        },
        store: launched.store.as_ref().map(StoreSpec::kind),
        store_version: probes
            .store
            .as_ref()
            .map(|probe| probe.version().to_owned()),
        // Measured once every system is up (`run::ceiling`).
        store_ceiling: None,
        pid,
        cores: pid.and_then(|pid| ProcessSample::read(pid).ok().map(|s| s.allowed_cores)),
        log: first.map(|_| format!("logs/{}", log_name(&system.name, 0))),
        events: Vec::new(),
        replicas: replicas(&system.name, &launched.spawned, &launched.base_urls),
        routing: (launched.base_urls.len() > 1).then_some(system.routing),
        // Taken during the first turn's warm-up (`run::turn`).
        store_commands: None,
        // Set once started (`balancer`).
        balancer: None,
        // Set once started (`resource_info`).
        resource: None,
    }
}

/// `logs/<system>.log` for the first (or only) replica, `<system>.<n>.log` for the others.
fn log_name(system: &str, replica: u32) -> String {
    match replica {
        0 => format!("{system}.log"),
        n => format!("{system}.{n}.log"),
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
            balancer,
            resource,
            ..
        } = system;
        drop(driver);
        // Before the servers behind it, as a balancer goes first in a real shutdown.
        drop(balancer);
        if let Some(one) = resource {
            stopping.spawn(one.stop());
        }
        for one in spawned {
            stopping.spawn(one.stop());
        }
        infos.push(info);
    }
    stopping.join_all().await;
    infos
}
