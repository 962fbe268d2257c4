//! `authbench run SCENARIO`: load the scenario with the command line's overrides, validate it once,
//! hand it to the load generator, print the summary table and where the results are.

use anyhow::Context as _;
use authbench_loadgen::run::{self, Options};
use authbench_loadgen::scenario::{self, Overrides};
use authbench_report::RunStatus;

use crate::args::RunArgs;

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        step_duration: args.step_duration.clone(),
        warmup: args.warmup.clone(),
        repeats: args.repeats,
        steps: args.steps,
    };
    let scenario = scenario::load_with(&args.scenario, &overrides)?;
    let exe = match &args.server_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find the authbench binary to spawn")?,
    };
    let options = Options {
        exe,
        results: args.results.clone(),
        overrides: overrides.applied(),
        shard: args.shard()?,
    };
    let outcome = run::run(&scenario, &options)?;
    print!("{}", authbench_report::summary::table(&outcome.report));
    if let RunStatus::Partial { reason } = &outcome.report.status {
        println!("partial run ({reason}); what was measured is kept");
    }
    match authbench_report::html::write(&outcome.report, &outcome.dir) {
        Ok(path) => println!("report: {}", path.display()),
        // The measurements are safe in report.json; `authbench report DIR` can try again.
        Err(error) => eprintln!("warning: report.html not written: {error:#}"),
    }
    println!("results: {}", outcome.dir.display());
    Ok(())
}
