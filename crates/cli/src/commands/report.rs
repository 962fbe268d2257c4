//! `authbench report`, `compare`, `plan` and `merge`: read run folders, hand them to authbench-report,
//! print or write what comes back.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use authbench_report::compare::{self, CompareOptions};
use authbench_report::plan::{self, PlanInput};
use authbench_report::{Report, html, slo::SloTarget};

use crate::args::{CompareArgs, CompareFormat, MergeArgs, PlanArgs, ReportArgs};

fn read_run(dir: &Path) -> anyhow::Result<Report> {
    let path = if dir.is_file() {
        dir.to_owned()
    } else {
        dir.join("report.json")
    };
    Ok(authbench_report::read(&path)?)
}

pub fn report(args: &ReportArgs) -> anyhow::Result<()> {
    let report = read_run(&args.run_dir)?;
    let path = html::write(&report, &args.run_dir)?;
    println!("report: {}", path.display());
    Ok(())
}

pub fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    let mut shards = Vec::with_capacity(args.shards.len());
    for dir in &args.shards {
        shards.push((dir.display().to_string(), read_run(dir)?));
    }
    let merged = authbench_report::merge::merge(shards)?;
    std::fs::create_dir_all(&args.output).with_context(|| {
        format!(
            "--output {}: cannot create the folder",
            args.output.display()
        )
    })?;
    authbench_report::write_json_atomic(&args.output.join("report.json"), &merged)?;
    print!("{}", authbench_report::summary::table(&merged));
    let path = html::write(&merged, &args.output)?;
    println!("report: {}", path.display());
    Ok(())
}

pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let base = read_run(&args.base)?;
    let new = read_run(&args.new)?;
    let options = CompareOptions {
        max_regression: args.max_regression,
        force: args.force,
    };
    let comparison = compare::compare(&base, &new, &options)?;
    let text = match args.format {
        CompareFormat::Text => compare::render_text(&comparison),
        CompareFormat::Markdown => compare::render_markdown(&comparison),
        CompareFormat::Html => compare::render_html(&comparison),
    };
    match &args.output {
        Some(path) => {
            authbench_report::write_atomic(path, text.as_bytes())
                .with_context(|| format!("cannot write --output {}", path.display()))?;
            println!("comparison: {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(if comparison.has_regressions() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn plan(args: &PlanArgs) -> anyhow::Result<()> {
    let report = read_run(&args.run_dir)?;
    let slo: SloTarget = args
        .slo
        .parse()
        .with_context(|| format!("--slo {:?}", args.slo))?;
    let input = PlanInput {
        ttl: args.ttl,
        ..PlanInput::new(args.target_rps, slo)
    };
    let plan = plan::plan(&report, &input)?;
    print!("{}", plan::render_text(&plan));
    Ok(())
}
