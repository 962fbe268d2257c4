//! A [`Plan`] as text: the shared assumptions, then per system its figures (value, unit and
//! the measured figure each rests on) and its own assumptions.

use std::fmt::Write as _;

use super::{Plan, PlanLine};
use crate::format::{bytes, trim_number};

/// The plan as text, ready for stdout.
pub fn render_text(plan: &Plan) -> String {
    let mut out = format!(
        "Capacity plan for {} req/s under {}\nfrom the {} run started {}\n\nAssumptions:\n",
        trim_number(plan.target_rps),
        plan.slo,
        plan.scenario,
        plan.started_at
    );
    for assumption in &plan.assumptions {
        let _ = writeln!(out, "  - {assumption}");
    }
    for system in &plan.systems {
        let _ = writeln!(out, "\n{}", system.name);
        if let Some(best) = &system.never_met {
            let _ = writeln!(
                out,
                "  no plan: {best}; no extrapolation beyond measured steps"
            );
            continue;
        }
        let values: Vec<String> = system.lines.iter().map(format_value).collect();
        let what_width = system
            .lines
            .iter()
            .map(|l| l.what.chars().count())
            .max()
            .unwrap_or(0);
        let value_width = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
        for (line, value) in system.lines.iter().zip(&values) {
            let _ = writeln!(
                out,
                "  {:<what_width$}  {value:>value_width$}  from {}",
                line.what, line.from
            );
        }
        let _ = writeln!(out, "  assumptions:");
        for assumption in &system.assumptions {
            let _ = writeln!(out, "    - {assumption}");
        }
    }
    out
}

/// `3 instances`, `0.87 cores`, `1.4 GiB`: the precision each unit deserves.
fn format_value(line: &PlanLine) -> String {
    let value = line.value;
    match line.unit.as_str() {
        "bytes" => bytes(value),
        "cores" => format!("{value:.2} cores"),
        "instances" => format!("{value:.0} instances"),
        unit if value != 0.0 && value.abs() < 10.0 => format!("{value:.2} {unit}"),
        unit => format!("{value:.0} {unit}"),
    }
}
