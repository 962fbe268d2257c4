//! A [`Comparison`] for people: an aligned text table for the terminal and markdown for a pull
//! request, built from the same rows as the HTML page (see `html.rs`).

use std::fmt::Write as _;

use super::judge::{Delta, Verdict};
use super::{Comparison, StepComparison};
use crate::format::{latency_compact, trim_number};

/// How a figure is printed.
#[derive(Clone, Copy, Debug)]
pub(super) enum Unit {
    PerSecond,
    Micros,
    /// A share, shown in percent; its deltas in percentage points.
    Share,
    Decimals(usize),
}

impl Unit {
    fn value(self, value: f64) -> String {
        match self {
            Unit::PerSecond => format!("{value:.0}"),
            Unit::Micros => latency_compact(value),
            Unit::Share => format!("{:.2}%", value * 100.0),
            Unit::Decimals(places) => format!("{value:.places$}"),
        }
    }

    fn signed(self, value: f64) -> String {
        let sign = if value < 0.0 { "-" } else { "+" };
        match self {
            Unit::Share => format!("{sign}{:.2}pp", value.abs() * 100.0),
            _ => format!("{sign}{}", self.value(value.abs())),
        }
    }
}

/// One table cell: a label, a figure in both runs, or nothing (a figure one run lacks).
#[derive(Debug)]
pub(super) enum Cell {
    Label(String),
    Figure(Delta, Unit),
    Missing,
}

/// Whether a cell shows the absolute change beside the relative one (markdown and HTML have
/// the room; the terminal table stays readable at 160 columns without it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Detail {
    Relative,
    AbsoluteAndRelative,
}

impl Cell {
    pub(super) fn text(&self, detail: Detail) -> String {
        match self {
            Cell::Label(text) => text.clone(),
            Cell::Missing => "-".into(),
            Cell::Figure(delta, unit) => {
                let relative = match delta.relative {
                    Some(share) => format!("{:+.1}%", share * 100.0),
                    None if delta.new == delta.base => "+0.0%".into(),
                    None => "from 0".into(),
                };
                let change = match detail {
                    Detail::Relative => relative,
                    Detail::AbsoluteAndRelative => {
                        format!("({}, {relative})", unit.signed(delta.absolute))
                    }
                };
                let (base, new) = (unit.value(delta.base), unit.value(delta.new));
                format!("{base} → {new} {change}")
            }
        }
    }

    pub(super) fn verdict(&self) -> Verdict {
        match self {
            Cell::Figure(delta, _) => delta.verdict,
            Cell::Label(_) | Cell::Missing => Verdict::Steady,
        }
    }
}

pub(super) struct Table {
    pub title: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Names read best left-aligned, figures right-aligned.
    pub(super) fn is_text(&self, column: usize) -> bool {
        let first = self.rows.first().and_then(|row| row.get(column));
        matches!(first, Some(Cell::Label(text)) if text.parse::<f64>().is_err())
    }
}

pub(super) fn tables(comparison: &Comparison) -> [Table; 2] {
    let load = comparison.load_unit.to_owned();
    let key = |step: &StepComparison| {
        vec![
            Cell::Label(step.system.clone()),
            Cell::Label(trim_number(step.load)),
        ]
    };
    let cost = |delta: &Option<Delta>, unit| match delta {
        Some(delta) => Cell::Figure(delta.clone(), unit),
        None => Cell::Missing,
    };
    let steps = Table {
        title: "Per system and step: requests/s over every operation, costs per request",
        header: [
            "system",
            &load,
            "req/s",
            "store ops/req",
            "store CPU µs/req",
            "server CPU µs/req",
        ]
        .map(str::to_owned)
        .into(),
        rows: comparison
            .steps
            .iter()
            .map(|step| {
                let mut row = key(step);
                row.push(Cell::Figure(
                    step.requests_per_second.clone(),
                    Unit::PerSecond,
                ));
                row.push(cost(&step.store_operations_per_request, Unit::Decimals(3)));
                row.push(cost(&step.store_cpu_us_per_request, Unit::Decimals(1)));
                row.push(cost(&step.server_cpu_us_per_request, Unit::Decimals(1)));
                row
            })
            .collect(),
    };
    let operations = Table {
        title: "Per operation",
        header: [
            "system",
            &load,
            "operation",
            "req/s",
            "p50",
            "p99",
            "p99.9",
            "errors",
        ]
        .map(str::to_owned)
        .into(),
        rows: comparison
            .steps
            .iter()
            .flat_map(|step| {
                step.operations.iter().map(move |op| {
                    let mut row = key(step);
                    row.push(Cell::Label(op.operation.as_str().into()));
                    row.push(Cell::Figure(
                        op.requests_per_second.clone(),
                        Unit::PerSecond,
                    ));
                    row.push(Cell::Figure(op.p50_us.clone(), Unit::Micros));
                    row.push(Cell::Figure(op.p99_us.clone(), Unit::Micros));
                    row.push(Cell::Figure(op.p999_us.clone(), Unit::Micros));
                    row.push(Cell::Figure(op.error_rate.clone(), Unit::Share));
                    row
                })
            })
            .collect(),
    };
    [steps, operations]
}

/// `2 regressions beyond the 10% threshold; 1 change within noise (not counted); ...`
pub fn summary(comparison: &Comparison) -> String {
    let threshold = trim_number(comparison.max_regression * 100.0);
    let plural = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let regressions = comparison.count(Verdict::Regression);
    let mut summary = match regressions {
        0 => format!("No regressions beyond the {threshold}% threshold"),
        count => format!(
            "{} beyond the {threshold}% threshold",
            plural(count, "regression", "regressions")
        ),
    };
    let noise = comparison.count(Verdict::WithinNoise);
    let improved = comparison.count(Verdict::Improved);
    let _ = write!(
        summary,
        "; {} within noise (not counted); {}",
        plural(noise, "change", "changes"),
        plural(improved, "improvement", "improvements")
    );
    let few = comparison.count(Verdict::TooFewSamples);
    if few > 0 {
        let _ = write!(
            summary,
            "; {} on too few samples (not counted)",
            plural(few, "percentile change", "percentile changes")
        );
    }
    let unmatched = comparison.only_in_base.len() + comparison.only_in_new.len();
    if unmatched > 0 {
        let _ = write!(
            summary,
            "; {}",
            plural(unmatched, "row in one run only", "rows in one run only")
        );
    }
    summary
}

pub(super) fn runs_line(comparison: &Comparison) -> String {
    format!(
        "base: {} started {}; new: {} started {}",
        comparison.base.scenario,
        comparison.base.started_at,
        comparison.new.scenario,
        comparison.new.started_at
    )
}

pub(super) fn unmatched_lines(comparison: &Comparison) -> Vec<String> {
    let unit = comparison.load_unit;
    let side = |run: &str, rows: &[super::Unmatched]| {
        rows.iter()
            .map(|row| format!("only in {run}: {}", row.describe(unit)))
            .collect::<Vec<_>>()
    };
    let mut lines = side("base", &comparison.only_in_base);
    lines.extend(side("new", &comparison.only_in_new));
    lines
}

pub(super) const LEGEND: &str = "! regression beyond the threshold; ~ beyond the threshold but within the \
     repeats' spread (not counted); ? a percentile beyond the threshold with fewer than 10 requests \
     beyond it in a run (not counted); * improvement beyond the threshold. Judged: step req/s, \
     p50, p99, errors, costs per request; shown only: operation req/s, p99.9.";

/// Two characters for every verdict, so that figures stay aligned in the terminal.
pub(super) fn text_marker(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Steady => "  ",
        Verdict::Improved => " *",
        Verdict::WithinNoise => " ~",
        Verdict::Regression => " !",
        Verdict::TooFewSamples => " ?",
    }
}

/// An aligned text table for the terminal.
pub fn render_text(comparison: &Comparison) -> String {
    let mut out = format!("{}\n{}\n", summary(comparison), runs_line(comparison));
    for table in tables(comparison) {
        let cells: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| match cell {
                        Cell::Figure(..) | Cell::Missing => {
                            cell.text(Detail::Relative) + text_marker(cell.verdict())
                        }
                        Cell::Label(_) => cell.text(Detail::Relative),
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..table.header.len())
            .map(|column| {
                std::iter::once(&table.header[column])
                    .chain(cells.iter().map(|row| &row[column]))
                    .map(|text| text.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let _ = writeln!(out, "\n{}", table.title);
        let mut line = |texts: &[String]| {
            let padded: Vec<String> = texts
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (text, width))| match table.is_text(column) {
                    true => format!("{text:<width$}"),
                    false => format!("{text:>width$}"),
                })
                .collect();
            let _ = writeln!(out, "{}", padded.join("  ").trim_end());
        };
        line(&table.header);
        cells.iter().for_each(|row| line(row));
    }
    let extra: Vec<String> = unmatched_lines(comparison)
        .into_iter()
        .chain(comparison.notes.iter().map(|note| format!("note: {note}")))
        .collect();
    if !extra.is_empty() {
        out.push('\n');
    }
    for line in extra {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{LEGEND}");
    out
}

fn markdown_marker(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Steady => "",
        Verdict::Improved => " ✅",
        Verdict::WithinNoise => " (noise)",
        Verdict::Regression => " ❌",
        Verdict::TooFewSamples => " (few samples)",
    }
}

/// Markdown for a pull request: the summary line first, then tables GitHub renders.
pub fn render_markdown(comparison: &Comparison) -> String {
    let escape = |text: &str| text.replace('|', "\\|");
    let mut out = format!("**{}**\n\n{}\n", summary(comparison), runs_line(comparison));
    for table in tables(comparison) {
        let _ = writeln!(out, "\n#### {}\n", table.title);
        let _ = writeln!(out, "| {} |", table.header.join(" | "));
        let alignments: Vec<&str> = (0..table.header.len())
            .map(|column| if column == 0 { "---" } else { "--:" })
            .collect();
        let _ = writeln!(out, "|{}|", alignments.join("|"));
        for row in &table.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| {
                    let text = escape(&cell.text(Detail::AbsoluteAndRelative));
                    text + markdown_marker(cell.verdict())
                })
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    let extra: Vec<String> = unmatched_lines(comparison)
        .into_iter()
        .chain(comparison.notes.iter().cloned())
        .collect();
    if !extra.is_empty() {
        out.push('\n');
    }
    for line in extra {
        let _ = writeln!(out, "- {}", escape(&line));
    }
    let _ = writeln!(
        out,
        "\n❌ regression beyond the threshold; (noise) beyond the threshold but within the \
         repeats' spread, not counted; ✅ improvement beyond the threshold."
    );
    out
}
