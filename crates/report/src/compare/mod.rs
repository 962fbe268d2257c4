//! Two runs of one scenario side by side (before and after a change): per system, step and
//! operation, what changed, and which changes are regressions worth failing a CI job for.
//!
//! # Rules
//!
//! Rows are matched by system name, step load (VUs or flows/s) and operation; a row on one side
//! only is listed, never guessed at. A change is judged against `max_regression` (a share:
//! 0.10 is 10%):
//!
//! - throughput: the system's requests/s at the step (every operation) down by more than the
//!   threshold. Per-operation requests/s are shown but not judged: they follow the total, and
//!   their mix moves whenever the flow changes;
//! - latency: an operation's p50 or p99 up by more than the threshold, where each run has at
//!   least [`MIN_TAIL_SAMPLES`] requests beyond that percentile (else the change is marked "too
//!   few samples" and not counted: logins at a low step may number a few hundred, and their
//!   "p99" is then one of the five slowest). p99.9 is shown, not judged: a few seconds of load
//!   hold too few samples beyond it;
//! - errors: an operation's error rate above the new run's SLO error rate and up by more than
//!   the threshold (so from about zero to over the SLO counts);
//! - cost: store operations, store CPU µs or server CPU µs per request up by more than the
//!   threshold.
//!
//! Noise: a change beyond the threshold whose per-repeat ranges overlap (the lowest to the highest
//! repeat of the base run, against the same for the new run) is marked "within noise" and not
//! counted: the runs disagree by less than each run disagrees with itself. report.json keeps per
//! repeat the step's requests/s, each operation's p50, p99 and SLO percentile, and the
//! per-request store operations, store CPU and server CPU, so the rule covers every judged figure
//! but the error rate (judged against the SLO instead). Reports written before the p50, p99 and
//! cost figures were kept per repeat give the rule throughput and the SLO percentile only.
//!
//! # Layout
//!
//! - `judge`: deltas, verdicts and the noise rule.
//! - `notes`: what differs between the runs besides the figures (settings, machine, flags).
//! - `render`: the comparison as an aligned text table and as markdown; `html`: as a page.

mod html;
mod judge;
mod notes;
mod render;

pub use html::render_html;
pub use judge::{Delta, MIN_TAIL_SAMPLES, Spread, Verdict};
pub use render::{render_markdown, render_text, summary};

use crate::model::{LoadModel, Operation, OperationStats, Report, Step, SystemStep};

/// How a comparison judges and what it refuses.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// A share: 0.10 flags changes beyond 10%.
    pub max_regression: f64,
    /// Compare runs of different scenarios or load models anyway, row by matching row.
    pub force: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            max_regression: 0.10,
            force: false,
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum CompareError {
    #[error(
        "the runs are of different scenarios (base: `{base}`, new: `{new}`), so their steps and \
         systems need not mean the same thing; compare two runs of one scenario, or pass --force \
         to compare the rows that match"
    )]
    DifferentScenarios { base: String, new: String },
    #[error(
        "the runs use different load models (base: {base}, new: {new}): a step is a number of \
         virtual users in one and a flow arrival rate in the other; pass --force to compare anyway"
    )]
    DifferentLoadModels {
        base: &'static str,
        new: &'static str,
    },
    #[error("the regression threshold must be a share above 0 (0.10 for 10%), not {0}")]
    InvalidThreshold(f64),
}

/// Which run a figure came from, for headings.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLabel {
    pub scenario: String,
    pub started_at: String,
}

/// Everything two runs have in common, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub base: RunLabel,
    pub new: RunLabel,
    pub max_regression: f64,
    /// `vus` or `flows/s`: what a step's load counts (the new run's model).
    pub load_unit: &'static str,
    /// Differences a reader must know before trusting the deltas (settings, machine, flags).
    pub notes: Vec<String>,
    /// Matched system × step pairs, in the new run's order.
    pub steps: Vec<StepComparison>,
    pub only_in_base: Vec<Unmatched>,
    pub only_in_new: Vec<Unmatched>,
}

/// One system at one step in both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct StepComparison {
    pub system: String,
    pub load: f64,
    /// Every operation together; the judged throughput.
    pub requests_per_second: Delta,
    /// `None` where either run lacks the figure (e.g. no store CPU for an in-process store).
    pub store_operations_per_request: Option<Delta>,
    pub store_cpu_us_per_request: Option<Delta>,
    pub server_cpu_us_per_request: Option<Delta>,
    pub operations: Vec<OperationComparison>,
}

/// One operation of one system at one step in both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationComparison {
    pub operation: Operation,
    pub requests_per_second: Delta,
    pub p50_us: Delta,
    pub p99_us: Delta,
    pub p999_us: Delta,
    /// Failed over sent, a share in [0, 1].
    pub error_rate: Delta,
}

/// A row present in one run only. `operation: None`: the whole system at that step.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmatched {
    pub system: String,
    pub load: f64,
    pub operation: Option<Operation>,
}

impl Comparison {
    /// Whether any change counts as a regression: the CLI's exit code 1.
    pub fn has_regressions(&self) -> bool {
        self.count(Verdict::Regression) > 0
    }

    /// How many deltas carry `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.deltas()
            .filter(|delta| delta.verdict == verdict)
            .count()
    }

    /// Every delta, step figures first, then each operation's.
    pub fn deltas(&self) -> impl Iterator<Item = &Delta> {
        self.steps.iter().flat_map(|step| {
            let costs = [
                step.store_operations_per_request.as_ref(),
                step.store_cpu_us_per_request.as_ref(),
                step.server_cpu_us_per_request.as_ref(),
            ];
            std::iter::once(&step.requests_per_second)
                .chain(costs.into_iter().flatten())
                .chain(step.operations.iter().flat_map(|op| {
                    [
                        &op.requests_per_second,
                        &op.p50_us,
                        &op.p99_us,
                        &op.p999_us,
                        &op.error_rate,
                    ]
                }))
        })
    }
}

/// Compares `new` against `base`. Refuses runs of different scenarios or load models unless
/// `options.force`, since their steps would not measure the same thing.
pub fn compare(
    base: &Report,
    new: &Report,
    options: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let threshold = options.max_regression;
    if !threshold.is_finite() || threshold <= 0.0 {
        return Err(CompareError::InvalidThreshold(threshold));
    }
    let mut notes = Vec::new();
    if base.scenario.name != new.scenario.name {
        if !options.force {
            return Err(CompareError::DifferentScenarios {
                base: base.scenario.name.clone(),
                new: new.scenario.name.clone(),
            });
        }
        notes.push(format!(
            "different scenarios compared (--force): base `{}`, new `{}`",
            base.scenario.name, new.scenario.name
        ));
    }
    if base.load_model != new.load_model {
        if !options.force {
            return Err(CompareError::DifferentLoadModels {
                base: load_unit(base.load_model),
                new: load_unit(new.load_model),
            });
        }
        notes.push(format!(
            "different load models compared (--force): a base step counts {}, a new one {}",
            load_unit(base.load_model),
            load_unit(new.load_model)
        ));
    }
    notes.extend(notes::setting_differences(base, new));
    let judge = judge::Judge {
        threshold,
        base_slo: &base.slo,
        new_slo: &new.slo,
    };
    let mut steps = Vec::new();
    let mut only_in_base = Vec::new();
    let mut only_in_new = Vec::new();
    for (new_step, new_result) in results(new) {
        let Some(base_result) = find_result(base, new_step.position(), &new_result.system) else {
            only_in_new.push(Unmatched {
                system: new_result.system.clone(),
                load: new_step.position(),
                operation: None,
            });
            continue;
        };
        notes.extend(notes::flag_notes(
            new_step.position(),
            base_result,
            new_result,
        ));
        let mut operations = Vec::new();
        for new_op in &new_result.operations {
            match find_operation(base_result, new_op.operation) {
                Some(base_op) => {
                    operations.push(judge.operation((base_result, base_op), (new_result, new_op)))
                }
                None => only_in_new.push(unmatched_operation(new_step, new_result, new_op)),
            }
        }
        for base_op in &base_result.operations {
            if find_operation(new_result, base_op.operation).is_none() {
                only_in_base.push(unmatched_operation(new_step, base_result, base_op));
            }
        }
        steps.push(judge.step(new_step.position(), base_result, new_result, operations));
    }
    for (base_step, base_result) in results(base) {
        if find_result(new, base_step.position(), &base_result.system).is_none() {
            only_in_base.push(Unmatched {
                system: base_result.system.clone(),
                load: base_step.position(),
                operation: None,
            });
        }
    }
    Ok(Comparison {
        base: label(base),
        new: label(new),
        max_regression: threshold,
        load_unit: step_unit(new),
        notes,
        steps,
        only_in_base,
        only_in_new,
    })
}

/// What tells a report's steps apart: `sessions` in a population run (one load, rising
/// population), its load unit otherwise.
pub fn step_unit(report: &Report) -> &'static str {
    if report.steps_population() {
        "sessions"
    } else {
        load_unit(report.load_model)
    }
}

/// `vus` or `flows/s`: what a step's load value counts.
pub fn load_unit(model: LoadModel) -> &'static str {
    match model {
        LoadModel::Closed => "vus",
        LoadModel::Open => "flows/s",
    }
}

impl Unmatched {
    /// `session-sqlite at vus=8, login` or `session-sqlite at vus=8 (every operation)`.
    pub fn describe(&self, load_unit: &str) -> String {
        let load = crate::format::trim_number(self.load);
        match self.operation {
            Some(op) => format!("{} at {load_unit}={load}, {}", self.system, op.as_str()),
            None => format!("{} at {load_unit}={load} (every operation)", self.system),
        }
    }
}

fn label(report: &Report) -> RunLabel {
    RunLabel {
        scenario: report.scenario.name.clone(),
        started_at: report.started_at.clone(),
    }
}

fn results(report: &Report) -> impl Iterator<Item = (&Step, &SystemStep)> {
    report
        .steps
        .iter()
        .flat_map(|step| step.results.iter().map(move |result| (step, result)))
}

/// Loads are whole VU counts or rates copied from the same scenario text, so they match exactly
/// when they mean the same step; the tolerance only absorbs printing round trips.
fn same_load(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn find_result<'a>(report: &'a Report, load: f64, system: &str) -> Option<&'a SystemStep> {
    report
        .steps
        .iter()
        .filter(|step| same_load(step.position(), load))
        .flat_map(|step| &step.results)
        .find(|result| result.system == system)
}

fn find_operation(result: &SystemStep, operation: Operation) -> Option<&OperationStats> {
    result
        .operations
        .iter()
        .find(|op| op.operation == operation)
}

fn unmatched_operation(step: &Step, result: &SystemStep, op: &OperationStats) -> Unmatched {
    Unmatched {
        system: result.system.clone(),
        load: step.position(),
        operation: Some(op.operation),
    }
}
