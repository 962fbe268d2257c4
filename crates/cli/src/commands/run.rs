//! `authbench run SCENARIO`: load and check the scenario, apply the command line's overrides,
//! hand it to the load generator, print the summary table and where the results are.

use anyhow::Context as _;
use authbench_loadgen::run::{self, Options};
use authbench_loadgen::scenario::{self, Load, Scenario};
use authbench_report::RunStatus;

use crate::args::RunArgs;

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut scenario = scenario::load(&args.scenario)?;
    let overrides = apply_overrides(&mut scenario, &args);
    let exe = match &args.server_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find the authbench binary to spawn")?,
    };
    let options = Options {
        exe,
        results: args.results.clone(),
        overrides,
    };
    let outcome = run::run(&scenario, &options)?;
    print!("{}", run::summary_table(&outcome.report));
    if let RunStatus::Partial { reason } = &outcome.report.status {
        println!("partial run ({reason}); what was measured is kept");
    }
    match authbench_report::html::write(&outcome.dir) {
        Ok(path) => println!("report: {}", path.display()),
        // The measurements are safe in report.json; `authbench report DIR` can try again.
        Err(error) => eprintln!("warning: report.html not written: {error:#}"),
    }
    println!("results: {}", outcome.dir.display());
    Ok(())
}

/// Applies the timing flags to the scenario and lists them for the report.
fn apply_overrides(scenario: &mut Scenario, args: &RunArgs) -> Vec<String> {
    let mut applied = Vec::new();
    if let Some(duration) = args.step_duration {
        scenario.timing.step_duration = duration;
        applied.push(format!(
            "step_duration={}",
            humantime::format_duration(duration)
        ));
    }
    if let Some(warmup) = args.warmup {
        scenario.timing.warmup = warmup;
        applied.push(format!("warmup={}", humantime::format_duration(warmup)));
    }
    if let Some(repeats) = args.repeats {
        scenario.timing.repeats = repeats;
        applied.push(format!("repeats={repeats}"));
    }
    if let Some(steps) = args.steps {
        let keep = steps.get() as usize;
        match &mut scenario.load {
            Load::Closed { vus } => vus.truncate(keep),
            Load::Open { flows_per_second } => flows_per_second.truncate(keep),
        }
        applied.push(format!("steps={steps}"));
    }
    applied
}
