//! One run of a scenario: seed main_DB, start the systems, then for every step, every repeat and
//! every system in turn (A, B, A, B, so drift on a noisy machine hits both), warm up, probe,
//! measure, probe; finally write the results folder. Ctrl-C ends the turn in progress cleanly and
//! keeps what was measured, marked partial.
//!
//! # Layout
//!
//! - `stores`: the stores the run starts itself, capped and pinned as the scenario says.
//! - `setup`: seeding, starting the systems, their probes.
//! - `ceiling`: each session store's ceiling, measured before the steps.
//! - `population`: a population scenario's stores topped up before each step.
//! - `turn`: one system's measured turn at one step.
//! - `faults`: the scenario's faults done to a system's run-owned store during its turn.
//! - `assemble`: turns into report.json's steps (merged repeats, derived figures, flags).
//! - [`shard`]: one share of a run split over several load generators (`--shard I/N`).

mod assemble;
mod ceiling;
mod faults;
mod population;
mod setup;
pub mod shard;
mod store_sum;
mod stores;
mod turn;

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use authbench_report::{Report, RunStatus};
use tokio_util::sync::CancellationToken;

use crate::output::{self, RunDir};
use crate::progress::Progress;
use crate::scenario::Scenario;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("pinning.{side}: {message}")]
    Pinning { side: &'static str, message: String },
    #[error("cannot start the load generator's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Output(#[from] output::Error),
    #[error(transparent)]
    System(#[from] crate::system::Error),
    #[error("system `{system}`: {message}")]
    Setup { system: String, message: String },
    #[error("store `{store}`")]
    Store {
        store: String,
        source: authbench_launch::Error,
    },
    #[error("--shard")]
    Shard(#[from] shard::ShardError),
}

/// What the command line adds to a scenario.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `authbench` binary that seeds and serves.
    pub exe: PathBuf,
    /// Folder that receives `<scenario>-<UTC time>/`.
    pub results: PathBuf,
    /// Settings changed from the file, recorded in the report (`step_duration=1s`).
    pub overrides: Vec<String>,
    /// This load generator's share of a split run, if it is one.
    pub shard: Option<shard::Shard>,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct Outcome {
    pub dir: PathBuf,
    pub report: Report,
}

/// Runs `scenario` to the end (or to Ctrl-C) and writes its results folder.
pub fn run(scenario: &Scenario, options: &Options) -> Result<Outcome, Error> {
    let shared;
    let scenario = match &options.shard {
        Some(shard) => {
            shared = shard.apply(scenario)?;
            &shared
        }
        None => scenario,
    };
    let loadgen_cores = match &scenario.pinning {
        Some(pinning) => {
            pin_current_thread(&pinning.loadgen)?;
            Some(pinning.loadgen.len())
        }
        None => None,
    };
    let workers = scenario
        .loadgen_workers
        .map(|n| n.get() as usize)
        .or(loadgen_cores)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(execute(scenario, options, workers as u32))
}

/// Restricts this thread, and every thread it starts later (the runtime's workers), to `cores`.
fn pin_current_thread(cores: &[u32]) -> Result<(), Error> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let pinning = |message: String| Error::Pinning {
        side: "loadgen",
        message,
    };
    let allowed = sched_getaffinity(Pid::from_raw(0)).map_err(|e| pinning(e.to_string()))?;
    let mut set = CpuSet::new();
    for &core in cores {
        let available = allowed.is_set(core as usize).unwrap_or(false);
        if !available {
            return Err(pinning(format!(
                "core {core} is not available to this process (this machine has {} cores)",
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            )));
        }
        set.set(core as usize).map_err(|e| pinning(e.to_string()))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| pinning(e.to_string()))
}

async fn execute(scenario: &Scenario, options: &Options, workers: u32) -> Result<Outcome, Error> {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let dir = RunDir::create(&options.results, &scenario.name, started_at)?;
    let mut progress = Progress::new(turns(scenario));
    progress.note(&format!("results: {}", dir.root.display()));

    let cancel = CancellationToken::new();
    let interrupt = cancel.clone();
    let note_progress = progress.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            note_progress
                .note("interrupted: finishing the turn in progress, keeping what was measured");
            interrupt.cancel();
        }
    });

    // Declared before the systems: dropped (stopped) after them.
    let owners = stores::OwnedStores::owners(scenario);
    let mut owned = match stores::OwnedStores::start(scenario, options, &progress).await {
        Ok(owned) => owned,
        Err(error) => {
            progress.finish();
            return Err(error);
        }
    };
    let resolved = owned.resolve(scenario);
    let scenario = &resolved;
    let mut systems = match setup::start(scenario, options, &dir, &progress, started).await {
        Ok(systems) => systems,
        Err(error) => {
            progress.finish();
            return Err(error);
        }
    };
    let direct = owned.direct_urls();
    ceiling::measure(scenario, &mut systems, &progress, &direct).await;
    let mut turns = Vec::new();
    let mut populations = Vec::new();
    let mut populator = population::Populator::new(&options.exe, scenario);
    let mut status = RunStatus::Complete;
    let mut turn_number = 0u64;
    'steps: for step in 0..scenario.load.steps() {
        if let Some(population) = &scenario.population
            && !cancel.is_cancelled()
        {
            let sessions = population.sessions[step];
            match populator
                .top_up(scenario, &systems, sessions, &direct, &progress)
                .await
            {
                Ok(figures) => populations.push(figures),
                Err(why) => {
                    progress.note(&format!("population: {why}"));
                    status = RunStatus::Partial {
                        reason: format!("the population of step {step} failed to load: {why}"),
                    };
                    break 'steps;
                }
            }
        }
        for repeat in 0..scenario.timing.repeats.get() {
            for system in systems.iter_mut() {
                if cancel.is_cancelled() {
                    status = RunStatus::Partial {
                        reason: "interrupted (Ctrl-C)".into(),
                    };
                    break 'steps;
                }
                if let Some(shard) = &options.shard {
                    let late = shard::wait_until(shard.turn_start(scenario, turn_number)).await;
                    if late > shard::TURN_GAP / 2 {
                        progress.note(&format!(
                            "shard {}: turn {turn_number} started {} ms late; its window may not \
                             line up with the other shards'",
                            shard.index,
                            late.as_millis()
                        ));
                    }
                }
                turn_number += 1;
                let faulted = (!scenario.faults.is_empty()).then(|| faults::Faulted {
                    store: owners
                        .get(&system.info.name)
                        .and_then(|name| owned.control(name)),
                    issuer: system.issuer_control(),
                });
                let result = turn::run(
                    scenario,
                    system,
                    step,
                    repeat,
                    &mut progress,
                    &cancel,
                    started,
                    faulted,
                )
                .await;
                turns.push(result);
            }
            if systems.iter().all(|system| system.down.is_some()) {
                status = RunStatus::Partial {
                    reason: "every system stopped running".into(),
                };
                break 'steps;
            }
        }
    }
    if cancel.is_cancelled() && matches!(status, RunStatus::Complete) {
        status = RunStatus::Partial {
            reason: "interrupted (Ctrl-C)".into(),
        };
    }
    progress.finish();
    let infos = setup::stop(&mut systems).await;

    let report = assemble::report(assemble::Measured {
        scenario,
        overrides: &options.overrides,
        stores: owned.infos(&dir.logs),
        systems: infos,
        turns: &turns,
        populations: &populations,
        status,
        started_at,
        finished_at: SystemTime::now(),
        machine: crate::probe::machine::describe(),
        loadgen: authbench_report::LoadgenInfo {
            pid: std::process::id(),
            cores: crate::probe::process::ProcessSample::read(std::process::id())
                .map(|sample| sample.allowed_cores)
                .unwrap_or_default(),
            worker_threads: workers,
        },
        shard: options.shard.as_ref().map(shard::Shard::info),
    })?;
    // The results folder, written in one place: the histograms' logs, then report.json.
    assemble::write_hlogs(scenario, &report.systems, &turns, &dir, started_at)?;
    authbench_report::write_json_atomic(&dir.report_json(), &report)
        .map_err(output::Error::from)?;
    dir.remove_data();
    Ok(Outcome {
        dir: dir.root,
        report,
    })
}

fn turns(scenario: &Scenario) -> u64 {
    scenario.load.steps() as u64
        * u64::from(scenario.timing.repeats.get())
        * scenario.systems.len() as u64
}
