//! A capacity plan from one run: for a target request rate and a latency target, how many app
//! instances, how much session-store throughput, CPU and memory, and how much refresh and
//! revocation traffic each system would need.
//!
//! Every figure is a measured per-request figure of one step scaled to the target, and says
//! which one. Capacity per instance is the highest throughput of a step that met the target
//! (divided by the replica count where the system ran as several processes); a system that met
//! it at no measured step gets no plan, because anything else would be a guess beyond what was
//! measured.
//!
//! # Layout
//!
//! - `figures`: the plan of one system, line by line.
//! - `instance`: what one instance was: the measured server, or one replica of several.
//! - `lifetime`: how long a session or refresh family lives, and where that figure comes from.
//! - `render`: the plan as text.

mod figures;
mod instance;
mod lifetime;
mod render;

pub use render::render_text;

use std::time::Duration;

use crate::compare::step_unit;
use crate::format::trim_number;
use crate::model::{Flag, LoadModel, Report, RunStatus, Step, SystemStep};
use crate::slo::{SloError, SloTarget, SloVerdict};

/// What to plan for.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanInput {
    /// Requests per second of every operation, in the run's measured mix.
    pub target_rps: f64,
    /// What one instance must meet.
    pub slo: SloTarget,
    /// Spare capacity as a share: 0.3 plans for 130% of the target.
    pub headroom: f64,
    /// Session (or refresh-family) lifetime; `None`: the run's setting, else the server default.
    pub ttl: Option<Duration>,
}

impl PlanInput {
    /// No headroom, lifetimes from the run.
    pub fn new(target_rps: f64, slo: SloTarget) -> PlanInput {
        PlanInput {
            target_rps,
            slo,
            headroom: 0.0,
            ttl: None,
        }
    }
}

impl Default for PlanInput {
    /// The scenarios' usual SLO (`p99<50ms`), no headroom, lifetimes from the run. The target
    /// is 0, which [`plan`] refuses: it has no sensible default and must be set.
    fn default() -> Self {
        PlanInput::new(0.0, SloTarget::default())
    }
}

/// The plan for every system of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub scenario: String,
    pub started_at: String,
    pub target_rps: f64,
    pub headroom: f64,
    /// The target as given, with the operations and error limit it was judged on.
    pub slo: String,
    /// Assumptions shared by every system.
    pub assumptions: Vec<String>,
    pub systems: Vec<SystemPlan>,
}

/// One system's needs, or why it has none.
#[derive(Clone, Debug, PartialEq)]
pub struct SystemPlan {
    pub name: String,
    /// Set when no measured step met the SLO: what the best one achieved. No lines then.
    pub never_met: Option<String>,
    pub assumptions: Vec<String>,
    pub lines: Vec<PlanLine>,
}

/// One planned figure and the measured figure it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanLine {
    pub what: String,
    pub value: f64,
    pub unit: String,
    /// The measured figure, its step and field, and the arithmetic.
    pub from: String,
}

impl SystemPlan {
    /// The line named `what`, if the plan has one.
    pub fn line(&self, what: &str) -> Option<&PlanLine> {
        self.lines.iter().find(|line| line.what == what)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the target rate must be above 0 requests per second, not {0}")]
    InvalidTarget(f64),
    #[error("the headroom must be a share of 0 or more (0.3 for 30% spare), not {0}")]
    InvalidHeadroom(f64),
    #[error(
        "no system met {slo} at any measured step, so there is no measured capacity to plan \
         from, and authbench does not extrapolate beyond what it measured. Best measured: {}. \
         Plan against a looser SLO, or run the scenario with lower load steps",
        best.join("; ")
    )]
    NeverMetSlo { slo: String, best: Vec<String> },
    #[error(transparent)]
    Slo(#[from] SloError),
}

/// One system at one step, with its verdict under the plan's SLO.
#[derive(Debug)]
pub(crate) struct Judged<'a> {
    pub step: &'a Step,
    pub result: &'a SystemStep,
    pub verdict: SloVerdict,
}

/// Plans every system of `report` for `input`. Refuses when no system met the SLO anywhere.
pub fn plan(report: &Report, input: &PlanInput) -> Result<Plan, PlanError> {
    if !input.target_rps.is_finite() || input.target_rps <= 0.0 {
        return Err(PlanError::InvalidTarget(input.target_rps));
    }
    if !input.headroom.is_finite() || input.headroom < 0.0 {
        return Err(PlanError::InvalidHeadroom(input.headroom));
    }
    let slo = describe_slo(report, &input.slo);
    let unit = step_unit(report);
    let mut systems = Vec::new();
    let mut best_attempts = Vec::new();
    for system in &report.systems {
        let mut judged = Vec::new();
        for step in &report.steps {
            let Some(result) = step.results.iter().find(|r| r.system == system.name) else {
                continue;
            };
            let verdict = input.slo.evaluate(result, &report.slo)?;
            judged.push(Judged {
                step,
                result,
                verdict,
            });
        }
        let usable = |j: &&Judged| j.verdict.met && !j.result.flags.iter().any(is_partial);
        let capacity = judged.iter().filter(usable).max_by(|a, b| {
            a.result
                .requests_per_second
                .total_cmp(&b.result.requests_per_second)
        });
        match capacity {
            Some(capacity) => {
                let met = judged.iter().filter(usable).count();
                systems.push(figures::system_plan(
                    report, system, input, capacity, met, &judged,
                ));
            }
            None => {
                let best = best_attempt(&judged, unit);
                best_attempts.push(format!("{}: {best}", system.name));
                systems.push(SystemPlan {
                    name: system.name.clone(),
                    never_met: Some(best),
                    assumptions: Vec::new(),
                    lines: Vec::new(),
                });
            }
        }
    }
    if systems.iter().all(|system| system.never_met.is_some()) {
        if best_attempts.is_empty() {
            best_attempts.push("the run has no measured steps".into());
        }
        return Err(PlanError::NeverMetSlo {
            slo,
            best: best_attempts,
        });
    }
    Ok(Plan {
        scenario: report.scenario.name.clone(),
        started_at: report.started_at.clone(),
        target_rps: input.target_rps,
        headroom: input.headroom,
        assumptions: shared_assumptions(report, input, &slo),
        slo,
        systems,
    })
}

fn is_partial(flag: &Flag) -> bool {
    matches!(flag, Flag::Partial { .. } | Flag::SystemDown { .. })
}

/// `p99<50ms on balance, errors at most 0.1% (the run's limit)`.
fn describe_slo(report: &Report, target: &SloTarget) -> String {
    let operations: Vec<&str> = target
        .operations_for(&report.slo)
        .iter()
        .map(|op| op.as_str())
        .collect();
    let errors = match target.max_error_rate {
        Some(_) => String::new(),
        None => format!(
            ", errors at most {}% (the run's own limit)",
            trim_number(report.slo.max_error_rate * 100.0)
        ),
    };
    format!("{target} on {}{errors}", operations.join("+"))
}

/// The step that came closest to the target: the lowest latency, for the refusal message.
fn best_attempt(judged: &[Judged], unit: &str) -> String {
    let closest = judged
        .iter()
        .filter(|j| j.verdict.latency_us.is_some())
        .min_by_key(|j| j.verdict.latency_us);
    match closest {
        Some(j) => format!(
            "never met it at any measured step; closest at {unit}={} ({} req/s): {}",
            trim_number(j.step.position()),
            trim_number(j.result.requests_per_second.round()),
            j.verdict
        ),
        None => "never met it: no step measured a latency for the SLO operations".into(),
    }
}

fn shared_assumptions(report: &Report, input: &PlanInput, slo: &str) -> Vec<String> {
    let planned = input.target_rps * (1.0 + input.headroom);
    let mut assumptions = vec![
        format!(
            "target: {} req/s of every operation, in the mix each system was measured with{}",
            trim_number(input.target_rps),
            if input.headroom > 0.0 {
                format!(
                    ", plus {}% headroom: planned for {} req/s",
                    trim_number(input.headroom * 100.0),
                    trim_number(planned.round())
                )
            } else {
                String::new()
            }
        ),
        format!(
            "SLO: {slo}; judged per step from report.json's latencies, not from the run's slo_met"
        ),
        format!(
            "capacity per instance: the highest requests/s of a step that met the SLO{}; nothing \
             is extrapolated beyond a measured step",
            if report.systems.iter().any(|s| s.replica_count() > 1) {
                ", divided by the replica count for a system that ran as several server processes"
            } else {
                ""
            }
        ),
        "per-request costs (store operations, store and server CPU, store bytes per session) \
         are those of the capacity step, scaled linearly to the target"
            .into(),
        if report.systems.iter().any(|s| s.store_ceiling.is_some()) {
            "the store is shared by every instance: its throughput, CPU and memory are totals, \
             held against the store's ceiling where the run measured one"
                .into()
        } else {
            "the store is shared by every instance: its throughput, CPU and memory are totals; its \
             own limits (e.g. one Redis core) were not measured"
                .into()
        },
    ];
    if report.load_model == LoadModel::Open {
        assumptions.push(
            "open load model: a step's throughput is the arrival rate it was given, so the \
             capacity is the highest rate tried that met the SLO, a floor on what one instance \
             can carry"
                .into(),
        );
    }
    if matches!(report.status, RunStatus::Partial { .. }) {
        assumptions.push("the run is partial: later steps were not measured".into());
    }
    assumptions
}
