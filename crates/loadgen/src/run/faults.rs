//! The scenario's faults (`[[faults]]`) done to a system's run-owned store, or to its own server
//! processes, during its measured turn, at their offsets, recorded as they happened; and the
//! store made whole again after the turn, so the next system meets the same fault on a store
//! that is up.

use std::path::PathBuf;

use authbench_report::FaultWindow;
use nix::sys::signal::Signal;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stores::StoreControl;
use crate::scenario::{Alg, Fault, FaultKind};

/// What a system's faults can act on: its run-owned store, its server processes.
#[derive(Debug)]
pub(super) struct Faulted<'a> {
    pub store: Option<StoreControl<'a>>,
    pub issuer: Option<IssuerControl>,
}

/// A system's own server processes, as an issuer fault sees them.
#[derive(Debug, Clone)]
pub(super) struct IssuerControl {
    pub pids: Vec<u32>,
    /// A JWT system's signing key: what a rotation replaces.
    pub key: Option<KeyRotation>,
}

/// How a JWT system's key is replaced: a new key written beside the file and renamed over it
/// (a replica reading it mid-write sees the old key or the new, whole), then SIGHUP to each.
#[derive(Debug, Clone)]
pub(super) struct KeyRotation {
    pub exe: PathBuf,
    pub alg: Alg,
    pub key_file: PathBuf,
}

impl IssuerControl {
    fn signal(&self, signal: Signal) -> Result<(), String> {
        self.pids
            .iter()
            .try_for_each(|&pid| super::stores::signal(Some(pid), signal))
    }

    async fn rotate(&self, key: &KeyRotation) -> Result<(), String> {
        let next = key.key_file.with_extension("next");
        let _ = std::fs::remove_file(&next);
        crate::system::keygen(&key.exe, "rotation", key.alg, &next)
            .await
            .map_err(|error| error.to_string())?;
        std::fs::rename(&next, &key.key_file).map_err(|error| error.to_string())?;
        self.signal(Signal::SIGHUP)
    }
}

/// Does each of `faults` that applies to `target`, `fault.at` after `started`; returns what was
/// done and when, and what went wrong doing it. Cancelling stops starting faults, but a pause is
/// always resumed and a restart always started again.
pub(super) async fn apply(
    faults: &[Fault],
    target: &mut Faulted<'_>,
    started: Instant,
    cancel: &CancellationToken,
) -> (Vec<FaultWindow>, Vec<String>) {
    let mut windows = Vec::with_capacity(faults.len());
    let mut problems = Vec::new();
    let seconds = || started.elapsed().as_secs_f64();
    for fault in faults {
        if fault.kind.is_issuer_fault() {
            let Some(issuer) = target.issuer.clone() else {
                continue;
            };
            if let Some(window) = issuer_fault(fault, &issuer, started, cancel, &mut problems).await
            {
                windows.push(window);
            }
            continue;
        }
        let Some(store) = target.store.as_mut() else {
            continue;
        };
        if !sleep_until(started + fault.at, cancel).await {
            break;
        }
        let start_s = seconds();
        let done = match fault.kind {
            FaultKind::Pause => store.pause(),
            FaultKind::Partition => store.partition(),
            // Blocks until the port refuses connections: off the runtime's worker.
            FaultKind::Kill | FaultKind::Restart => {
                tokio::task::block_in_place(|| store.kill());
                Ok(())
            }
            FaultKind::IssuerPause | FaultKind::RotateKey => continue,
        };
        if let Err(why) = done {
            problems.push(format!(
                "{} at {start_s:.1} s failed: {why}",
                fault.kind.as_str()
            ));
            continue;
        }
        let end_s = match fault.kind {
            FaultKind::Kill | FaultKind::IssuerPause | FaultKind::RotateKey => None,
            FaultKind::Pause | FaultKind::Partition | FaultKind::Restart => {
                // Even when cancelled: the store must come back.
                sleep_until(started + fault.end(), cancel).await;
                let back = match fault.kind {
                    FaultKind::Pause => store.resume(),
                    FaultKind::Partition => store.heal(),
                    _ => tokio::task::block_in_place(|| store.start()),
                };
                match back {
                    Ok(()) => Some(seconds()),
                    Err(why) => {
                        problems.push(format!("the store did not come back: {why}"));
                        None
                    }
                }
            }
        };
        windows.push(FaultWindow {
            kind: fault.kind.as_str().to_owned(),
            start_s,
            end_s,
        });
    }
    (windows, problems)
}

/// One issuer fault: the system's servers paused and resumed, or its key rotated. `None` when it
/// does not apply (a rotation on a system without a key) or the turn was cancelled first.
async fn issuer_fault(
    fault: &Fault,
    issuer: &IssuerControl,
    started: Instant,
    cancel: &CancellationToken,
    problems: &mut Vec<String>,
) -> Option<FaultWindow> {
    if fault.kind == FaultKind::RotateKey && issuer.key.is_none() {
        return None;
    }
    if !sleep_until(started + fault.at, cancel).await {
        return None;
    }
    let start_s = started.elapsed().as_secs_f64();
    let kind = fault.kind.as_str();
    let end_s = match (&fault.kind, &issuer.key) {
        (FaultKind::RotateKey, Some(key)) => match issuer.rotate(key).await {
            Ok(()) => Some(started.elapsed().as_secs_f64()),
            Err(why) => {
                problems.push(format!("{kind} at {start_s:.1} s failed: {why}"));
                return None;
            }
        },
        _ => {
            if let Err(why) = issuer.signal(Signal::SIGSTOP) {
                problems.push(format!("{kind} at {start_s:.1} s failed: {why}"));
                return None;
            }
            // Even when cancelled: the servers must run again.
            sleep_until(started + fault.end(), cancel).await;
            match issuer.signal(Signal::SIGCONT) {
                Ok(()) => Some(started.elapsed().as_secs_f64()),
                Err(why) => {
                    problems.push(format!("the servers did not resume: {why}"));
                    None
                }
            }
        }
    };
    Some(FaultWindow {
        kind: kind.to_owned(),
        start_s,
        end_s,
    })
}

/// After the turn: a store a fault left down is started again.
pub(super) fn make_whole(store: &mut StoreControl<'_>) -> Result<(), String> {
    if store.is_running() {
        return Ok(());
    }
    tokio::task::block_in_place(|| store.start())
}

/// False when cancelled first.
async fn sleep_until(when: Instant, cancel: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        () = cancel.cancelled() => false,
        () = tokio::time::sleep_until(when) => true,
    }
}
