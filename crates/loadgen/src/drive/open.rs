//! The open model: flows start on an even schedule whatever the server's speed, each run by an
//! idle VU from a pool of at most `max_active`, and latency counts from each flow's intended
//! start (coordinated omission), with the raw figure beside it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::{Arrivals, Driver, pause_until};
use crate::flow::{TurnContext, Vu};
use crate::live::Live;
use crate::recording::Recorder;
use crate::recording::{LatencyModel, Recording};
use crate::scenario::Operation;

/// The scheduler wakes this much before a flow is due, because tokio's timer fires on whole
/// milliseconds: waking on time would make every flow up to a millisecond late. A flow started
/// early is timed from its actual send.
const TIMER_SLACK: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug)]
struct FlowStart {
    intended: Instant,
    waited_for_connection: bool,
}

/// A VU's task, which runs the flows it is handed one after another.
struct Worker {
    starts: mpsc::Sender<FlowStart>,
    task: JoinHandle<Vu>,
}

/// What every worker of one call shares.
struct Shared {
    recorder: Arc<Recorder>,
    live: Live,
    cancel: CancellationToken,
    end: Instant,
    freed: mpsc::UnboundedSender<usize>,
}

impl Driver {
    /// Starts flows (login -> balances -> \[refresh\] -> \[logout\], each from a fresh login) when
    /// `arrivals` has them due, for `duration`, each on an idle VU of a pool of at most
    /// `max_active`. A flow due while every VU is busy waits for one and is counted late; a
    /// scheduler that wakes late dispatches every flow already due at once. The first request of
    /// a flow is timed from its intended start (and, raw, from its actual send); the next ones
    /// are sent when the previous answer is in (plus think time), so for them both are the same.
    /// At the end no flow is started and flows in flight finish the request they are on (each
    /// bounded by the request timeout), so nothing is in flight on return.
    pub async fn open(
        &mut self,
        arrivals: Arrivals,
        max_active: usize,
        duration: Duration,
        live: &Live,
        cancel: &CancellationToken,
    ) -> Recording {
        let started = Instant::now();
        let end = started + duration;
        let (freed_sender, mut freed) = mpsc::unbounded_channel();
        let shared = Shared {
            recorder: Arc::new(Recorder::new(LatencyModel::Open)),
            live: live.clone(),
            cancel: cancel.clone(),
            end,
            freed: freed_sender,
        };
        let mut workers: Vec<Worker> = Vec::new();
        let mut idle: Vec<usize> = Vec::new();
        let total = if arrivals.is_valid() {
            arrivals.within(duration)
        } else {
            tracing::warn!(?arrivals, "no flows started: the rate must be positive");
            0
        };
        let mut dispatched: u64 = 0;
        // Until when the scheduler last sat waiting for a free VU: flows that fell due meanwhile
        // are late for want of a connection too, even if one is free by the time they go.
        let mut blocked_until: Option<Instant> = None;

        while dispatched < total {
            let intended = started + arrivals.due(dispatched);
            let wake = intended.checked_sub(TIMER_SLACK).unwrap_or(intended);
            if Instant::now() < wake {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = sleep_until(wake) => {}
                }
            }
            if cancel.is_cancelled() {
                break;
            }
            while let Ok(index) = freed.try_recv() {
                idle.push(index);
            }
            let index = match idle.pop() {
                Some(index) => index,
                None => match self.add_worker(&mut workers, max_active, &shared) {
                    Some(index) => index,
                    None => {
                        let index = tokio::select! {
                            biased;
                            () = cancel.cancelled() => break,
                            () = sleep_until(end) => break,
                            index = freed.recv() => match index {
                                Some(index) => index,
                                None => break,
                            },
                        };
                        blocked_until = Some(Instant::now());
                        index
                    }
                },
            };
            let start = FlowStart {
                intended,
                waited_for_connection: blocked_until.is_some_and(|until| intended < until),
            };
            if workers[index].starts.try_send(start).is_err() {
                tracing::error!(index, "a virtual user's task is gone; its flow is dropped");
            }
            dispatched += 1;
        }

        let intended = if cancel.is_cancelled() {
            arrivals.within(started.elapsed()).clamp(dispatched, total)
        } else {
            total
        };
        // Closing the start channels lets each worker end after its current flow.
        let tasks: Vec<_> = workers.into_iter().map(|worker| worker.task).collect();
        for (index, task) in tasks.into_iter().enumerate() {
            self.return_vu(index, task.await);
        }
        let mut recording = shared.recorder.take();
        let schedule = recording.schedule_mut();
        schedule.intended = intended;
        schedule.not_started = intended.saturating_sub(schedule.started);
        schedule.max_active = max_active as u64;
        recording.set_elapsed(started.elapsed());
        recording
    }

    /// Starts one more worker, unless the pool is full (or out of credentials).
    fn add_worker(
        &mut self,
        workers: &mut Vec<Worker>,
        max_active: usize,
        shared: &Shared,
    ) -> Option<usize> {
        let index = workers.len();
        if index >= max_active {
            return None;
        }
        let mut vu = self.take_vu(index)?;
        let (starts, mut flows) = mpsc::channel::<FlowStart>(1);
        let recorder = shared.recorder.clone();
        let live = shared.live.clone();
        let cancel = shared.cancel.clone();
        let freed = shared.freed.clone();
        let end = shared.end;
        let task = tokio::spawn(async move {
            let turn = TurnContext {
                recorder: &recorder,
                live: &live,
                deadline: end,
                cancel: &cancel,
            };
            while let Some(start) = flows.recv().await {
                run_flow(&mut vu, start, &turn).await;
                if freed.send(index).is_err() {
                    break;
                }
            }
            vu
        });
        workers.push(Worker { starts, task });
        Some(index)
    }
}

/// One flow from a fresh login. Returns whether it started (not when the turn ended before the
/// VU got to it). The flow ends early at the deadline, or when a request sends the VU back to
/// login.
async fn run_flow(vu: &mut Vu, start: FlowStart, turn: &TurnContext<'_>) -> bool {
    vu.start_over();
    let Some(first) = vu.request(Some(start.intended), turn).await else {
        return false;
    };
    let lag = first.started.saturating_duration_since(start.intended);
    turn.recorder
        .record_flow_start(lag, start.waited_for_connection);
    let mut last = first;
    while vu.next_operation() != Operation::Login {
        if !pause_until(last.finished, vu.think_time(), turn).await {
            break;
        }
        match vu.request(None, turn).await {
            Some(sent) => last = sent,
            None => break,
        }
    }
    true
}
