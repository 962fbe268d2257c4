//! Before each step of a population scenario: every system's store topped up to the step's
//! population by `authbench populate` (records loaded straight into the store, then counted by
//! the store itself), and weighed with the system's store probe. Systems on one store and
//! namespace share one load; the load goes to the store directly, not through a delay relay.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use authbench_contract::population::{PopulationLoad, namespace};
use authbench_report::Population;
use tokio::process::Command;

use super::setup::Sut;
use crate::probe::{StoreSample, redact};
use crate::progress::Progress;
use crate::scenario::{AccessToken, Revocation, Scenario, Server, Target};

/// How long loaded records outlive the run's planned end, so a run that overruns (slow loads,
/// a saturated store) still measures against a whole population.
const TTL_MARGIN: Duration = Duration::from_secs(30 * 60);

/// What has been loaded so far, per store.
pub(super) struct Populator<'a> {
    exe: &'a Path,
    ttl: Duration,
    stores: Vec<Tally>,
}

/// One store (by its own URL): its memory before the first load, and what went into it.
struct Tally {
    url: String,
    baseline_bytes: Option<u64>,
    /// Records loaded so far per namespace.
    loaded: Vec<(&'static str, u64)>,
}

impl Tally {
    fn records(&self) -> u64 {
        self.loaded.iter().map(|(_, records)| records).sum()
    }
}

impl<'a> Populator<'a> {
    pub fn new(exe: &'a Path, scenario: &Scenario) -> Self {
        Populator {
            exe,
            ttl: scenario.load_time().saturating_add(TTL_MARGIN),
            stores: Vec::new(),
        }
    }

    /// Tops every system's store up to `sessions` records in each of its namespaces. Returns
    /// each system's figures, in the systems' order (none for a system with nothing to load),
    /// or why a load failed: a step measured without its population would be mislabelled.
    pub async fn top_up(
        &mut self,
        scenario: &Scenario,
        systems: &[Sut],
        sessions: u64,
        direct: &[(String, String)],
        progress: &Progress,
    ) -> Result<Vec<Option<Population>>, String> {
        let mut figures = Vec::with_capacity(systems.len());
        for (spec, sut) in scenario.systems.iter().zip(systems) {
            let Some((url, namespaces)) = target(&spec.target) else {
                figures.push(None);
                continue;
            };
            let own = direct
                .iter()
                .find(|(served, _)| served == url)
                .map_or(url, |(_, own)| own.as_str());
            let memory = || memory_bytes(sut);
            let index = match self.stores.iter().position(|tally| tally.url == own) {
                Some(index) => index,
                None => {
                    let baseline_bytes = memory().await;
                    self.stores.push(Tally {
                        url: own.to_owned(),
                        baseline_bytes,
                        loaded: Vec::new(),
                    });
                    self.stores.len() - 1
                }
            };
            let (mut added, mut seconds, mut live) = (0, 0.0, 0);
            for &namespace in &namespaces {
                let from = self.stores[index]
                    .loaded
                    .iter()
                    .find(|(name, _)| *name == namespace)
                    .map_or(0, |(_, records)| *records);
                let load = if from < sessions {
                    progress.note(&format!(
                        "population: loading {namespace} {from}..{sessions} into {}",
                        redact(own)
                    ));
                    let load = self.populate(own, namespace, from, sessions).await?;
                    progress.note(&format!(
                        "population: {} {namespace} in {:.1} s; the store counts {} live",
                        load.loaded, load.seconds, load.live_records
                    ));
                    load
                } else {
                    // Already loaded for a system before this one on the same store: count only.
                    self.populate(own, namespace, sessions, sessions).await?
                };
                let tally = &mut self.stores[index];
                match tally.loaded.iter_mut().find(|(name, _)| *name == namespace) {
                    Some((_, records)) => *records = sessions,
                    None => tally.loaded.push((namespace, sessions)),
                }
                added += load.loaded;
                seconds += load.seconds;
                live += load.live_records;
            }
            let tally = &self.stores[index];
            let memory_bytes = memory().await;
            let bytes_per_record = match (tally.baseline_bytes, memory_bytes) {
                (Some(before), Some(after)) if tally.records() > 0 => {
                    Some((after as f64 - before as f64) / tally.records() as f64)
                }
                _ => None,
            };
            figures.push(Some(Population {
                namespaces: namespaces.iter().map(|name| (*name).to_owned()).collect(),
                live_records: live,
                added_records: added,
                load_seconds: seconds,
                memory_bytes,
                bytes_per_record,
            }));
        }
        Ok(figures)
    }

    /// Runs `authbench populate` for records `from..to` and reads its line back.
    async fn populate(
        &self,
        url: &str,
        namespace: &str,
        from: u64,
        to: u64,
    ) -> Result<PopulationLoad, String> {
        let output = Command::new(self.exe)
            .args(["populate", "--store", url, "--namespace", namespace])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args(["--ttl", &format!("{}s", self.ttl.as_secs())])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|error| format!("cannot run {}: {error}", self.exe.display()))?;
        let what = format!("loading {namespace} {from}..{to} into {}", redact(url));
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("{what}: {}", stderr.trim()));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(stdout.trim())
            .map_err(|error| format!("{what}: unreadable report {stdout:?}: {error}"))
    }
}

/// The store URL a spawned system's population goes to, and its namespaces; none for a system
/// whose store lives in the server.
fn target(target: &Target) -> Option<(&str, Vec<&'static str>)> {
    let Target::Spawned(server) = target else {
        return None;
    };
    let url = server.store().server_url()?;
    let namespaces = match server {
        Server::Session { .. } => vec![namespace::SESSIONS],
        Server::Jwt {
            access_token: AccessToken::Opaque,
            ..
        } => vec![namespace::REFRESH_FAMILIES, namespace::ACCESS_TOKENS],
        Server::Jwt { revocation, .. } => match revocation {
            Revocation::None => vec![namespace::REFRESH_FAMILIES],
            Revocation::Denylist => vec![namespace::REFRESH_FAMILIES, namespace::DENYLIST],
            Revocation::Cutoff => vec![namespace::REFRESH_FAMILIES, namespace::CUTOFFS],
        },
    };
    Some((url, namespaces))
}

/// The store's memory as its probe reads it: Redis `used_memory`, PostgreSQL relation sizes.
async fn memory_bytes(sut: &Sut) -> Option<u64> {
    match sut.probes.store.as_ref()?.sample().await.ok()? {
        StoreSample::Redis(sample) => Some(sample.used_memory_bytes),
        StoreSample::RedisCluster(sample) => Some(sample.used_memory_bytes()),
        StoreSample::Postgres(sample) => Some(sample.relation_bytes),
    }
}
