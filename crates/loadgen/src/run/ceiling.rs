//! Before the steps: each session system's store saturated with session lookups, and each JWT
//! system's with its revocation check where it has one (a denylist or cutoff lookup that finds
//! nothing), to measure its ceiling (see [`crate::probe::ceiling`]). Systems on the same store
//! and lookup share one measurement. A
//! store behind a delay relay is measured directly: distance changes how many requests a client
//! needs in flight, not what the store can answer. A
//! store that cannot be measured is an event on the system, not the end of the run: its steps
//! are then read without a ceiling, and the report says so.

use authbench_contract::error::Chain;
use authbench_report::StoreCeiling;

use super::setup::Sut;
use crate::probe::ceiling::{self, IN_FLIGHT, Lookup};
use crate::probe::redact;
use crate::progress::Progress;
use crate::scenario::{AccessToken, Revocation, Scenario, Server, Target};

/// `direct` maps a relayed store URL (what the servers use) to the store's own.
pub(super) async fn measure(
    scenario: &Scenario,
    systems: &mut [Sut],
    progress: &Progress,
    direct: &[(String, String)],
) {
    let Some(duration) = scenario.store_ceiling else {
        return;
    };
    let workers = scenario
        .server_workers
        .map(|n| n.get())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let mut measured: Vec<((String, Lookup), StoreCeiling)> = Vec::new();
    for (spec, sut) in scenario.systems.iter().zip(systems.iter_mut()) {
        let Target::Spawned(server) = &spec.target else {
            continue;
        };
        let Some(url) = server.store().server_url() else {
            continue;
        };
        // What the system's requests look up in the store; a JWT system without revocation
        // looks up nothing.
        let lookup = match server {
            // An opaque access token is looked up as a session is: a key that is there.
            Server::Session { .. }
            | Server::Jwt {
                access_token: AccessToken::Opaque,
                ..
            } => Lookup::Session,
            Server::Jwt {
                revocation: Revocation::None,
                ..
            } => continue,
            Server::Jwt { .. } => Lookup::Revocation,
        };
        let key = (url.to_owned(), lookup);
        if let Some((_, ceiling)) = measured.iter().find(|(seen, _)| *seen == key) {
            sut.info.store_ceiling = Some(ceiling.clone());
            continue;
        }
        let Some(probe) = &sut.probes.store else {
            continue;
        };
        let target = direct
            .iter()
            .find(|(served, _)| served == url)
            .map_or(url, |(_, own)| own.as_str());
        // As many connections as the servers on it hold: one per worker of each replica.
        let connections = spec.replicas.get() * workers;
        progress.note(&format!(
            "measuring the ceiling of {} for {} ({connections} connection{}, {} s)",
            redact(target),
            sut.info.name,
            if connections == 1 { "" } else { "s" },
            duration.as_secs_f64()
        ));
        match ceiling::measure(probe, target, connections, duration, lookup).await {
            Ok(found) => {
                let ceiling = StoreCeiling {
                    command: found.command.to_owned(),
                    operations_per_second: found.operations_per_second,
                    cpu_cores: found.cpu_cores,
                    connections: found.connections,
                    in_flight: IN_FLIGHT as u32,
                    seconds: found.seconds,
                };
                progress.note(&format!(
                    "store ceiling: {:.0} lookups/s{}",
                    ceiling.operations_per_second,
                    ceiling
                        .cpu_cores
                        .map_or(String::new(), |cores| format!(" at {cores:.2} cores"))
                ));
                measured.push((key, ceiling.clone()));
                sut.info.store_ceiling = Some(ceiling);
            }
            Err(error) => {
                let why = format!("store ceiling not measured: {}", Chain(&error));
                progress.note(&format!("{}: {why}", sut.info.name));
                sut.event(why);
            }
        }
    }
}
