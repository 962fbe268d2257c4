//! One system's turn at one step: warm up (not recorded), reset the per-step peaks, probe, run
//! the measured window, probe again. The driver returns only once no request is in flight, so the
//! server's own counters between the two probes cover exactly the requests recorded.

use authbench_contract::error::Chain;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::faults;
use super::faults::Faulted;
use super::setup::Sut;
use crate::drive::{Arrivals, Burst, Driver};
use crate::live::Live;
use crate::probe::{MetricsLoad, ProcessLoad, ProcessProbe, StoreLoad, Window, key_sample};
use crate::progress::{Progress, Rates};
use crate::recording::Recording;
use crate::scenario::{Load, Operation, Scenario};
use authbench_report::{FaultWindow, TimelinePoint};

/// How often the live line is redrawn.
const LIVE_EVERY: Duration = Duration::from_millis(500);

/// What one turn measured.
#[derive(Debug)]
pub(super) struct Turn {
    pub step: usize,
    pub repeat: u32,
    pub system: String,
    /// Since the run started.
    pub start: Duration,
    pub wall: Duration,
    /// The measured window by the wall clock, to line up shards of a split run.
    pub window: Option<authbench_report::MeasuredWindow>,
    /// `None` when the system was down and the turn was skipped.
    pub recording: Option<Recording>,
    pub server: Option<ProcessLoad>,
    /// The balancer in front of the replicas, where the run started one.
    pub balancer: Option<ProcessLoad>,
    pub loadgen: Option<ProcessLoad>,
    pub store: Option<StoreLoad>,
    pub metrics: Option<MetricsLoad>,
    /// The resource server beside the system: its process and its own counts.
    pub resource: Option<(Option<ProcessLoad>, Option<MetricsLoad>)>,
    /// The measured window, tick by tick, as the live line saw it.
    pub timeline: Vec<TimelinePoint>,
    /// The faults against the system's store in the measured window, as they happened.
    pub faults: Vec<FaultWindow>,
    /// Why the figures are incomplete (cancelled mid-turn, the system died).
    pub partial: Option<String>,
    pub skipped: Option<String>,
}

/// One turn; `faulted` is what the scenario's faults act on, when it has any.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    scenario: &Scenario,
    sut: &mut Sut,
    step: usize,
    repeat: u32,
    progress: &mut Progress,
    cancel: &CancellationToken,
    run_started: Instant,
    mut faulted: Option<Faulted<'_>>,
) -> Turn {
    let mut load = match &scenario.load {
        Load::Closed { vus } => format!("vus={}", vus[step]),
        Load::Open { flows_per_second } => format!("rate={}/s", flows_per_second[step]),
    };
    if let Some(population) = &scenario.population {
        load = format!("sessions={} {load}", population.sessions[step]);
    }
    progress.turn_started(format!(
        "{load} {} r{}/{}",
        sut.info.name,
        repeat + 1,
        scenario.timing.repeats
    ));
    let mut turn = Turn {
        step,
        repeat,
        system: sut.info.name.clone(),
        start: run_started.elapsed(),
        wall: Duration::ZERO,
        window: None,
        recording: None,
        server: None,
        balancer: None,
        loadgen: None,
        store: None,
        metrics: None,
        resource: None,
        timeline: Vec::new(),
        faults: Vec::new(),
        partial: None,
        skipped: sut.down.clone(),
    };
    if turn.skipped.is_some() {
        progress.turn_finished(Rates::default());
        return turn;
    }

    let live = Live::new();
    if !scenario.timing.warmup.is_zero() {
        let warmup = Span {
            duration: scenario.timing.warmup,
            burst: None,
        };
        let first_turn = step == 0 && repeat == 0;
        let sampled = sut.probes.store_url.clone().filter(|_| first_turn);
        let warm = drive(
            scenario,
            &mut sut.driver,
            step,
            warmup,
            &live,
            cancel,
            progress,
        );
        match sampled {
            None => drop(warm.await),
            Some(url) => {
                let sample = key_sample::of_store(&url, scenario.timing.warmup);
                let (_, sample) = tokio::join!(warm, sample);
                // Not a fault of the system: the run says what it could not see, and goes on.
                match sample {
                    Ok(sample) => sut.info.store_commands = Some(sample),
                    Err(error) => progress.note(&format!(
                        "{}: no sample of its store commands by key or statement: {}",
                        sut.info.name,
                        Chain(&error)
                    )),
                }
            }
        }
    }
    // Losing the per-step peak only makes the figure a peak since start; not worth a fault.
    let own = ProcessProbe::current();
    for process in sut.probes.processes.0.iter().chain([&own]) {
        let _ = process.reset_peak();
    }
    let servers = Window::open(&sut.probes.processes).await;
    let balancer = match &sut.probes.balancer {
        Some(probe) => Some(Window::open(probe).await),
        None => None,
    };
    let loadgen = Window::open(&own).await;
    let store = match &sut.probes.store {
        Some(probe) => Some(Window::open(probe).await),
        None => None,
    };
    let metrics = Window::open(&sut.probes.metrics).await;
    let resource = match &sut.probes.resource {
        Some((process, metrics)) => {
            Some((Window::open(process).await, Window::open(metrics).await))
        }
        None => None,
    };

    turn.start = run_started.elapsed();
    let started = Instant::now();
    let began = std::time::SystemTime::now();
    let measured = Span {
        duration: scenario.timing.step_duration,
        burst: scenario.overload.map(|overload| Burst {
            start: overload.start,
            end: overload.end(),
            factor: overload.factor,
        }),
    };
    // What the warmup left in the live counters is not the measured window's.
    live.snapshot_and_reset();
    let driven = drive(
        scenario,
        &mut sut.driver,
        step,
        measured,
        &live,
        cancel,
        progress,
    );
    let mut fault_problems = Vec::new();
    let (recording, timeline) = match faulted.as_mut() {
        None => driven.await,
        Some(control) => {
            let from = tokio::time::Instant::from_std(started);
            let faulting = faults::apply(&scenario.faults, control, from, cancel);
            let (driven, (windows, problems)) = tokio::join!(driven, faulting);
            turn.faults = windows;
            fault_problems = problems;
            driven
        }
    };
    turn.timeline = timeline;
    turn.wall = started.elapsed();
    turn.window = Some(authbench_report::MeasuredWindow {
        start_unix_ms: unix_ms(began),
        end_unix_ms: unix_ms(std::time::SystemTime::now()),
    });

    // A process gone by the end (the server died) is reported below, from its exit status.
    turn.server = servers.close().await.ok().flatten();
    if let Some(window) = balancer {
        turn.balancer = window.close().await.ok().flatten();
    }
    turn.loadgen = loadgen.close().await.ok().flatten();
    let mut events = Vec::new();
    if let Some(store) = store {
        match store.close().await {
            Ok(load) => turn.store = load,
            Err(error) => events.push(format!("store probe failed: {}", Chain(&error))),
        }
    }
    if let Some((process, metrics)) = resource {
        let process = process.close().await.ok().flatten();
        let metrics = match metrics.close().await {
            Ok(load) => load,
            Err(error) => {
                events.push(format!(
                    "the resource server's /metrics unreachable after the turn: {}",
                    Chain(&error)
                ));
                None
            }
        };
        turn.resource = Some((process, metrics));
    }
    match metrics.close().await {
        Ok(load) => turn.metrics = load,
        Err(error) => events.push(format!(
            "/metrics unreachable after the turn: {}",
            Chain(&error)
        )),
    }
    if let Some(control) = faulted.as_mut().and_then(|faulted| faulted.store.as_mut())
        && let Err(why) = faults::make_whole(control)
    {
        events.push(format!(
            "its store did not come back after the turn's faults: {why}"
        ));
    }
    events.extend(
        fault_problems
            .into_iter()
            .map(|why| format!("fault: {why}")),
    );
    for event in events {
        sut.event(event);
    }
    if cancel.is_cancelled() {
        turn.partial = Some("interrupted during this turn".into());
    }
    let exited = sut
        .spawned
        .iter_mut()
        .find_map(|one| one.exited().map(|status| (status, one.log.clone())));
    if let Some((status, log)) = exited {
        let why = format!("server exited ({status}); see {}", log.display());
        progress.note(&format!("{}: {why}", sut.info.name));
        sut.event(why.clone());
        sut.down = Some(why.clone());
        turn.partial = Some(why);
    }
    let requests = recording.total_requests();
    let errors = recording.total_errors();
    let wall = turn.wall.as_secs_f64().max(f64::EPSILON);
    progress.turn_finished(Rates {
        requests_per_second: requests as f64 / wall,
        p99: recording
            .percentile(&Operation::ALL, 99.0)
            .unwrap_or_default(),
        errors,
    });
    turn.recording = Some(recording);
    turn
}

/// How long to drive, and the burst within it.
struct Span {
    duration: Duration,
    burst: Option<Burst>,
}

/// Runs the load model for `window`, redrawing the live line as it goes; the live counters at
/// each redraw are the timeline.
async fn drive(
    scenario: &Scenario,
    driver: &mut Driver,
    step: usize,
    window: Span,
    live: &Live,
    cancel: &CancellationToken,
    progress: &Progress,
) -> (Recording, Vec<TimelinePoint>) {
    let duration = window.duration;
    let work = async {
        match &scenario.load {
            Load::Closed { vus } => {
                driver
                    .closed(vus[step].get() as usize, duration, live, cancel)
                    .await
            }
            Load::Open { flows_per_second } => {
                driver
                    .open(
                        Arrivals {
                            rate: flows_per_second[step],
                            burst: window.burst,
                        },
                        scenario.users.max_active.get() as usize,
                        duration,
                        live,
                        cancel,
                    )
                    .await
            }
        }
    };
    tokio::pin!(work);
    let mut ticker = tokio::time::interval(LIVE_EVERY);
    ticker.tick().await;
    let started = Instant::now();
    let mut last = started;
    let mut timeline = Vec::new();
    let mut tick = |last: &mut Instant| {
        let snapshot = live.snapshot_and_reset();
        let now = Instant::now();
        let seconds = now.duration_since(*last).as_secs_f64().max(f64::EPSILON);
        *last = now;
        timeline.push(TimelinePoint {
            at_s: now.duration_since(started).as_secs_f64(),
            seconds,
            requests: snapshot.requests,
            errors: snapshot.errors,
            p99_us: u64::try_from(snapshot.p99.as_micros()).unwrap_or(u64::MAX),
        });
        Rates {
            requests_per_second: snapshot.requests as f64 / seconds,
            p99: snapshot.p99,
            errors: snapshot.errors,
        }
    };
    loop {
        tokio::select! {
            recording = &mut work => {
                tick(&mut last);
                return (recording, timeline);
            }
            _ = ticker.tick() => progress.update(tick(&mut last)),
        }
    }
}

/// Milliseconds since the Unix epoch; 0 for a clock set before it.
pub(super) fn unix_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}
