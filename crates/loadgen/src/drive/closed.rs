//! The closed model: `vus` virtual users, each sending its next request as soon as the previous
//! answer (plus think time) is in, for a fixed time.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{CONNECT_RETRY_PAUSE, Driver, pause_until};
use crate::client::ErrorKind;
use crate::flow::{TurnContext, Vu};
use crate::live::Live;
use crate::recording::Recorder;
use crate::recording::{LatencyModel, Recording};

impl Driver {
    /// Runs VUs `0..vus` back to back for `duration` (or until `cancel`). Requests are recorded
    /// iff they were sent inside the window; the ones in flight at its end are finished, so when
    /// this returns no request is in flight. The elapsed time runs until then.
    pub async fn closed(
        &mut self,
        vus: usize,
        duration: Duration,
        live: &Live,
        cancel: &CancellationToken,
    ) -> Recording {
        let recorder = Arc::new(Recorder::new(LatencyModel::Closed));
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::with_capacity(vus);
        for index in 0..vus {
            let Some(mut vu) = self.take_vu(index) else {
                break;
            };
            let recorder = recorder.clone();
            let live = live.clone();
            let cancel = cancel.clone();
            let task = tokio::spawn(async move {
                let turn = TurnContext {
                    recorder: &recorder,
                    live: &live,
                    deadline,
                    cancel: &cancel,
                };
                run_until_deadline(&mut vu, &turn).await;
                vu
            });
            tasks.push((index, task));
        }
        for (index, task) in tasks {
            self.return_vu(index, task.await);
        }
        let mut recording = recorder.take();
        recording.set_elapsed(started.elapsed());
        recording
    }
}

/// Requests back to back (plus think time) until the turn's deadline.
async fn run_until_deadline(vu: &mut Vu, turn: &TurnContext<'_>) {
    while let Some(sent) = vu.request(None, turn).await {
        let pause = match sent.error {
            Some(ErrorKind::Connect) => vu.think_time().max(CONNECT_RETRY_PAUSE),
            _ => vu.think_time(),
        };
        if !pause_until(sent.finished, pause, turn).await {
            break;
        }
    }
}
