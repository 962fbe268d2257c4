//! The scenario's faults (`[[faults]]`) done to a system's run-owned store during its measured
//! turn, at their offsets, recorded as they happened; and the store made whole again after the
//! turn, so the next system meets the same fault on a store that is up.

use authbench_report::FaultWindow;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stores::StoreControl;
use crate::scenario::{Fault, FaultKind};

/// Does each of `faults` to `store`, `fault.at` after `started`; returns what was done and
/// when, and what went wrong doing it. Cancelling stops starting faults, but a pause is always
/// resumed and a restart always started again.
pub(super) async fn apply(
    faults: &[Fault],
    store: &mut StoreControl<'_>,
    started: Instant,
    cancel: &CancellationToken,
) -> (Vec<FaultWindow>, Vec<String>) {
    let mut windows = Vec::with_capacity(faults.len());
    let mut problems = Vec::new();
    let seconds = || started.elapsed().as_secs_f64();
    for fault in faults {
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
        };
        if let Err(why) = done {
            problems.push(format!(
                "{} at {start_s:.1} s failed: {why}",
                fault.kind.as_str()
            ));
            continue;
        }
        let end_s = match fault.kind {
            FaultKind::Kill => None,
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
