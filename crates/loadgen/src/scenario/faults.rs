//! `[[faults]]`: faults against each system's run-owned store, or its own server processes (the
//! issuer), at an offset within every measured turn, so each system meets the same fault under
//! its own load. Checked with the timing (a fault must end before the step does), the stores
//! (only a store the run owns can be stopped and started again; a PostgreSQL server is many
//! processes, so only Redis pauses) and the systems (an issuer fault needs a system the run
//! started; a key rotation, a JWT system).

use std::time::Duration;

use super::checker::Checker;
use super::file::FaultFile;
use super::model::{
    AccessToken, Fault, FaultKind, OwnedServer, OwnedStore, Server, StoreSpec, System, Target,
    Timing,
};

const KINDS: &str = "\"pause\" (SIGSTOP, SIGCONT after `duration`), \"kill\" (SIGKILL, down to the \
                     turn's end), \"restart\" (SIGKILL, started again after `duration`, default \
                     at once), \"partition\" (the delay relay in front of a store with `rtt` \
                     stops forwarding for `duration`), \"issuer-pause\" (the system's own \
                     servers stop for `duration`) or \"rotate-key\" (a JWT system takes a new \
                     signing key)";

/// Every fault, in the order of their offsets; `Some(vec![])` without any.
pub fn faults(
    checker: &mut Checker<'_>,
    files: Vec<FaultFile>,
    timing: Option<&Timing>,
) -> Option<Vec<Fault>> {
    let problems_before = checker.problems.len();
    let mut faults = Vec::with_capacity(files.len());
    for (index, file) in files.into_iter().enumerate() {
        if let Some(fault) = fault(checker, file, &format!("faults[{index}]"), timing) {
            faults.push((index, fault));
        }
    }
    faults.sort_by_key(|(_, fault)| fault.at);
    for pair in faults.windows(2) {
        let ((_, earlier), (index, later)) = (&pair[0], &pair[1]);
        if later.at < earlier.end() {
            checker.problem(
                format!("faults[{index}].at"),
                format!(
                    "starts at {} into the step, before the fault at {} is over; faults take \
                     turns",
                    shown(later.at),
                    shown(earlier.at)
                ),
            );
        }
    }
    (checker.problems.len() == problems_before)
        .then(|| faults.into_iter().map(|(_, fault)| fault).collect())
}

fn fault(
    checker: &mut Checker<'_>,
    file: FaultFile,
    key: &str,
    timing: Option<&Timing>,
) -> Option<Fault> {
    let kind = checker
        .required(
            file.kind,
            &format!("{key}.kind"),
            &format!("allowed: {KINDS}"),
        )
        .and_then(|text| match text.as_str() {
            "pause" => Some(FaultKind::Pause),
            "kill" => Some(FaultKind::Kill),
            "restart" => Some(FaultKind::Restart),
            "partition" => Some(FaultKind::Partition),
            "issuer-pause" => Some(FaultKind::IssuerPause),
            "rotate-key" => Some(FaultKind::RotateKey),
            other => {
                checker.problem(
                    format!("{key}.kind"),
                    format!("{other:?} is not a fault; allowed: {KINDS}"),
                );
                None
            }
        });
    let at = checker
        .required(
            file.at,
            &format!("{key}.at"),
            "say when in each measured turn the fault starts, e.g. at = \"10s\"",
        )
        .and_then(|text| {
            checker.positive_duration(
                &text,
                &format!("{key}.at"),
                "no time before the fault would give the rate to recover to",
            )
        });
    let duration_key = format!("{key}.duration");
    let duration = checker.optional(file.duration, |checker, text| {
        checker.positive_duration(&text, &duration_key, "the fault would not last")
    });
    let (kind, at, duration) = (kind?, at?, duration?);
    let duration = match (kind, duration) {
        (FaultKind::Pause | FaultKind::Partition | FaultKind::IssuerPause, None) => {
            checker.problem(
                &duration_key,
                "is missing; say how long it stays away, e.g. duration = \"5s\"",
            );
            return None;
        }
        (FaultKind::RotateKey, Some(_)) => {
            checker.problem(
                &duration_key,
                "a key rotation is done at once, and the old key verifies on for its overlap; \
                 remove the duration",
            );
            return None;
        }
        (FaultKind::Kill, Some(_)) => {
            checker.problem(
                &duration_key,
                "a killed store stays down to the turn's end; for one that comes back, use \
                 kind = \"restart\" with a duration",
            );
            return None;
        }
        (FaultKind::Restart, None) => Some(Duration::ZERO),
        (_, duration) => duration,
    };
    let fault = Fault { kind, at, duration };
    if let Some(timing) = timing
        && fault.end() >= timing.step_duration
    {
        checker.problem(
            &duration_key,
            format!(
                "the fault is over at {} into the step, which is not before its end \
                 (timing.step_duration = {}); leave time after it to see the recovery",
                shown(fault.end()),
                shown(timing.step_duration)
            ),
        );
        return None;
    }
    Some(fault)
}

/// Store faults need a store the run owns, pauses Redis; issuer faults a system the run
/// starts, a key rotation a JWT system.
pub fn check_targets(
    checker: &mut Checker<'_>,
    faults: &[Fault],
    systems: &[System],
    stores: &[OwnedStore],
) {
    check_issuer_targets(checker, faults, systems);
    if !faults.iter().any(|fault| !fault.kind.is_issuer_fault()) {
        return;
    }
    let owned: Vec<&OwnedStore> = systems
        .iter()
        .filter_map(|system| match &system.target {
            Target::Spawned(server) => match server.store() {
                StoreSpec::Owned { name, .. } => stores.iter().find(|s| &s.name == name),
                _ => None,
            },
            Target::External(_) => None,
        })
        .collect();
    if owned.is_empty() {
        checker.problem(
            "faults",
            "no system uses a store the run starts ([[stores]]), and only those can be faulted; \
             name one as a system's `store`",
        );
        return;
    }
    if owned
        .iter()
        .any(|s| matches!(s.server, OwnedServer::RedisCluster { .. }))
    {
        checker.problem(
            "faults",
            "a fault acts on one store process, and a Redis Cluster store is several; fault a \
             \"redis\" or \"postgres\" store",
        );
        return;
    }
    let partitions = faults.iter().any(|f| f.kind == FaultKind::Partition);
    if partitions && owned.iter().any(|s| s.rtt.is_none()) {
        checker.problem(
            "faults",
            "a \"partition\" stops the delay relay in front of a store, and a store without \
             `rtt` has none; give every faulted store an `rtt` (\"0ms\" adds only the relay), or \
             use another kind",
        );
    }
    let pauses = faults.iter().any(|f| f.kind == FaultKind::Pause);
    if pauses
        && owned
            .iter()
            .any(|s| matches!(s.server, OwnedServer::Postgres(_)))
    {
        checker.problem(
            "faults",
            "a \"pause\" stops one process, and a PostgreSQL server is many; pause Redis stores \
             only, or use \"kill\" or \"restart\"",
        );
    }
}

fn check_issuer_targets(checker: &mut Checker<'_>, faults: &[Fault], systems: &[System]) {
    let spawned = || {
        systems.iter().filter_map(|system| match &system.target {
            Target::Spawned(server) => Some(server),
            Target::External(_) => None,
        })
    };
    if faults.iter().any(|f| f.kind.is_issuer_fault()) && spawned().next().is_none() {
        checker.problem(
            "faults",
            "an issuer fault stops or rotates the servers the run starts, and every system here \
             is external; remove it",
        );
        return;
    }
    let signs = spawned().any(|server| {
        matches!(
            server,
            Server::Jwt {
                access_token: AccessToken::Jwt,
                ..
            }
        )
    });
    if faults.iter().any(|f| f.kind == FaultKind::RotateKey) && !signs {
        checker.problem(
            "faults",
            "\"rotate-key\" gives a JWT system a new signing key, and no system here signs \
             JWTs; add a kind = \"jwt\" system, or remove it",
        );
    }
}

fn shown(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}
